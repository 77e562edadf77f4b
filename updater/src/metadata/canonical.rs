//! Canonical JSON as TUF signatures cover it, written byte for byte as the reference
//! implementation writes it: securesystemslib's `encode_canonical`, which python-tuf
//! signs and verifies with (go-tuf agrees).
//!
//! The form:
//! - object members sorted by the code points of their (unescaped) keys; a key that
//!   is a prefix of another comes first (`"report"` before `"report (old)"`);
//! - strings written as they are, with only `"` and `\` escaped (control characters
//!   and non-ASCII text are written raw, as UTF-8);
//! - no Unicode normalisation of any kind: two canonically equivalent strings
//!   (precomposed `é` and `e` + U+0301) stay two different strings;
//! - integers only (a float is refused), `true`, `false`, `null`, no white space.
//!
//! The encoding is injective: two different values never have the same canonical
//! bytes. Together with [`parse_signed_value`](super::parse_signed_value), which
//! refuses an object that names one key twice, this is what makes a signature over the
//! canonical bytes a signature over the document the client acts on.
//!
//! This was once delegated to the `olpc-cjson` crate, which NFC-normalises strings
//! and merges keys that normalise alike: two targets whose names differ only in
//! normalisation were then covered by one signed entry. The encoder is small, and
//! `tests/canonical_differential.rs` checks it against securesystemslib itself.

use super::ParseError;
use serde::Serialize;
use serde_json::Value;

/// Writes `value` in canonical JSON (see the module docs): what a signature over it
/// covers, byte-identical to securesystemslib's `encode_canonical`.
///
/// # Errors
/// [`ParseError::Canonical`] when the value holds a number that is not an integer
/// within i64/u64, or cannot be represented as JSON at all.
pub fn canonical_bytes<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, ParseError> {
    let value = serde_json::to_value(value).map_err(|e| ParseError::Canonical(e.to_string()))?;
    canonical_value_bytes(&value)
}

/// [`canonical_bytes`] of a JSON value, without the copy into a new value.
///
/// # Errors
/// As [`canonical_bytes`].
pub fn canonical_value_bytes(value: &Value) -> Result<Vec<u8>, ParseError> {
    let mut out = Vec::new();
    write_value(value, &mut out)?;
    Ok(out)
}

/// [`canonical_bytes`] as a `String`; canonical JSON of valid JSON is valid UTF-8.
///
/// # Errors
/// As [`canonical_bytes`].
pub fn canonical_json<T: Serialize + ?Sized>(value: &T) -> Result<String, ParseError> {
    String::from_utf8(canonical_bytes(value)?).map_err(|e| ParseError::Canonical(e.to_string()))
}

fn write_value(value: &Value, out: &mut Vec<u8>) -> Result<(), ParseError> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(number) => {
            if let Some(n) = number.as_u64() {
                out.extend_from_slice(n.to_string().as_bytes());
            } else if let Some(n) = number.as_i64() {
                out.extend_from_slice(n.to_string().as_bytes());
            } else {
                return Err(ParseError::Canonical(format!(
                    "{number} is not an integer; canonical JSON has no floats"
                )));
            }
        }
        Value::String(text) => write_string(text, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(item, out)?;
            }
            out.push(b']');
        }
        Value::Object(map) => {
            // `str` order is code point order (UTF-8 preserves it), which is Python's
            // `sorted()` over `str` keys. serde_json's map is already sorted unless a
            // dependency turned on its insertion-order feature; sort in any case.
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            if !members.is_sorted_by(|a, b| a.0 < b.0) {
                members.sort_unstable_by(|a, b| a.0.cmp(b.0));
            }
            out.push(b'{');
            for (i, (key, item)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(key, out);
                out.push(b':');
                write_value(item, out)?;
            }
            out.push(b'}');
        }
    }
    Ok(())
}

/// A string with only `"` and `\` escaped, every other byte as it is.
fn write_string(text: &str, out: &mut Vec<u8>) {
    out.reserve(text.len() + 2);
    out.push(b'"');
    let bytes = text.as_bytes();
    let mut plain_from = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'"' || b == b'\\' {
            out.extend_from_slice(&bytes[plain_from..i]);
            out.push(b'\\');
            plain_from = i;
        }
    }
    out.extend_from_slice(&bytes[plain_from..]);
    out.push(b'"');
}

/// True when `bytes` are one JSON value written exactly as [`canonical_bytes`]
/// writes it, so that a signature over the canonical form can be checked against
/// `bytes` themselves, with no parse-and-serialise round trip.
///
/// Guarantee: when this returns `true`, `bytes` parse (with every object's keys
/// distinct) and `canonical_bytes` of the value they parse to is byte-identical to
/// `bytes` (property-tested below, differentially tested against securesystemslib in
/// `tests/canonical_differential.rs`, fuzzed). It is conservative: it returns `false`
/// for some canonical texts (an escape in an object key; a control character, which
/// canonical JSON writes raw and JSON does not allow), and the caller then takes the
/// round trip.
pub fn is_canonical(bytes: &[u8]) -> bool {
    let mut checker = Checker { bytes, at: 0 };
    checker.value(0) && checker.at == bytes.len()
}

/// Nesting deeper than this is never taken as canonical (serde_json refuses deeper
/// documents anyway).
const MAX_DEPTH: usize = 128;

/// A recursive-descent reader that accepts only the canonical form.
struct Checker<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Checker<'a> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn eat(&mut self, byte: u8) -> bool {
        let found = self.peek() == Some(byte);
        if found {
            self.at += 1;
        }
        found
    }

    fn value(&mut self, depth: usize) -> bool {
        if depth > MAX_DEPTH {
            return false;
        }
        match self.peek() {
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(b'"') => self.string().is_some(),
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            Some(b'-' | b'0'..=b'9') => self.integer(),
            _ => false,
        }
    }

    /// Keys strictly increasing in the order the canonical writer sorts them: by code
    /// point, which for keys written without escapes is the order of their UTF-8
    /// bytes (a key that is a prefix of another comes first: `"a"` before `"a "`).
    /// Strictly increasing also means no key twice.
    fn object(&mut self, depth: usize) -> bool {
        self.at += 1;
        if self.eat(b'}') {
            return true;
        }
        let mut previous: Option<&'a [u8]> = None;
        loop {
            let Some((key, escaped)) = self.string() else {
                return false;
            };
            if escaped || previous.is_some_and(|p| p >= key) {
                return false;
            }
            previous = Some(key);
            if !self.eat(b':') || !self.value(depth + 1) {
                return false;
            }
            if self.eat(b'}') {
                return true;
            }
            if !self.eat(b',') {
                return false;
            }
        }
    }

    fn array(&mut self, depth: usize) -> bool {
        self.at += 1;
        if self.eat(b']') {
            return true;
        }
        loop {
            if !self.value(depth + 1) {
                return false;
            }
            if self.eat(b']') {
                return true;
            }
            if !self.eat(b',') {
                return false;
            }
        }
    }

    /// A string of valid UTF-8 with no control character, whose only escapes are
    /// `\"` and `\\`; its content as written (without the quotes), and whether it
    /// holds an escape.
    fn string(&mut self) -> Option<(&'a [u8], bool)> {
        if !self.eat(b'"') {
            return None;
        }
        let start = self.at;
        let mut escaped = false;
        let mut non_ascii = false;
        loop {
            self.skip_plain_ascii();
            match self.peek()? {
                b'"' => {
                    let content = &self.bytes[start..self.at];
                    if non_ascii && std::str::from_utf8(content).is_err() {
                        return None;
                    }
                    self.at += 1;
                    return Some((content, escaped));
                }
                b'\\' => {
                    escaped = true;
                    self.at += 1;
                    if !matches!(self.peek()?, b'"' | b'\\') {
                        return None;
                    }
                    self.at += 1;
                }
                0x20..=0x7f => self.at += 1,
                0x80..=0xff => {
                    non_ascii = true;
                    self.at += 1;
                }
                _ => return None,
            }
        }
    }

    /// Moves past a run of printable ASCII other than `"` and `\\`, eight bytes at a
    /// time, to the first other byte, which [`Checker::string`] then looks at (within
    /// the last eight bytes of the input it goes one byte at a time).
    fn skip_plain_ascii(&mut self) {
        const ONES: u64 = u64::from_le_bytes([0x01; 8]);
        const HIGH: u64 = u64::from_le_bytes([0x80; 8]);
        // The high bit of each zero byte of `x` is set, and possibly of bytes above a
        // zero byte (a borrow), never below: the lowest set bit marks the first.
        let has_zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
        while let Some(chunk) = self.bytes.get(self.at..self.at + 8) {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            let x = u64::from_le_bytes(word);
            let quote = has_zero(x ^ (ONES * u64::from(b'"')));
            let backslash = has_zero(x ^ (ONES * u64::from(b'\\')));
            // A byte below 0x20 (same borrow rule), or at or above 0x80.
            let control = x.wrapping_sub(ONES * 0x20) & !x & HIGH;
            let stop = quote | backslash | control | (x & HIGH);
            if stop != 0 {
                // Little-endian: byte i of the word is bits 8i..8i+8.
                self.at += (stop.trailing_zeros() / 8) as usize;
                return;
            }
            self.at += 8;
        }
    }

    fn literal(&mut self, word: &[u8]) -> bool {
        let found = self.bytes[self.at..].starts_with(word);
        if found {
            self.at += word.len();
        }
        found
    }

    /// `-?(0|[1-9][0-9]*)` within i64/u64 (what serde_json keeps as an integer), not
    /// `-0`.
    fn integer(&mut self) -> bool {
        let start = self.at;
        self.eat(b'-');
        let digits_start = self.at;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.at += 1;
        }
        let digits = &self.bytes[digits_start..self.at];
        if digits.is_empty() || digits.len() > 20 || (digits[0] == b'0' && digits.len() > 1) {
            return false;
        }
        // Up to 18 digits always fit an i64; only longer ones need the exact test.
        if digits.len() <= 18 {
            return !(digits == b"0" && self.at - start == 2);
        }
        let Ok(text) = std::str::from_utf8(&self.bytes[start..self.at]) else {
            return false;
        };
        match text.parse::<i128>() {
            Ok(0) => text == "0",
            Ok(n) => (i128::from(i64::MIN)..=i128::from(u64::MAX)).contains(&n),
            Err(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sorts_keys_and_drops_whitespace() {
        let v = json!({"b": [1, 2, {"z": null, "a": true}], "a": "x"});
        assert_eq!(
            canonical_json(&v).unwrap(),
            r#"{"a":"x","b":[1,2,{"a":true,"z":null}]}"#
        );
    }

    #[test]
    fn escapes_only_quote_and_backslash() {
        let v = json!({"k": "a\"b\\c\nd\u{1}é"});
        assert_eq!(
            canonical_json(&v).unwrap(),
            "{\"k\":\"a\\\"b\\\\c\nd\u{1}é\"}"
        );
    }

    #[test]
    fn refuses_floats() {
        assert!(canonical_bytes(&json!({"f": 1.5})).is_err());
    }

    #[test]
    fn sorts_by_code_point_with_prefixes_first() {
        // The reference sorts `str` keys; quoted bytes would put `"report (old)"`
        // first, since ' ' (0x20) sorts below '"' (0x22).
        let v = json!({"report (old)": 1, "report": 2, "réport": 3, "re\u{301}port": 4, "z": 5});
        assert_eq!(
            canonical_json(&v).unwrap(),
            "{\"report\":2,\"report (old)\":1,\"re\u{301}port\":4,\"réport\":3,\"z\":5}"
        );
    }

    #[test]
    fn never_normalises_unicode() {
        // Precomposed and decomposed forms of one name stay two keys and two values.
        let v = json!({"r\u{e9}sum\u{e9}": "\u{c5}", "re\u{301}sume\u{301}": "A\u{30a}"});
        let written = canonical_json(&v).unwrap();
        assert_eq!(
            written,
            "{\"re\u{301}sume\u{301}\":\"A\u{30a}\",\"r\u{e9}sum\u{e9}\":\"\u{c5}\"}"
        );
        assert!(is_canonical(written.as_bytes()));
    }

    #[test]
    fn keeps_negative_and_large_integers() {
        let v = json!({"n": -5, "u": u64::MAX});
        assert_eq!(
            canonical_json(&v).unwrap(),
            format!(r#"{{"n":-5,"u":{}}}"#, u64::MAX)
        );
    }
}

/// Property tests: the canonical writer against a reference written from securesystemslib's
/// definition, and the fast-path check against the writer.
#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;
    use serde_json::{Map, Value};

    /// JSON values of the shapes TUF metadata has: nested objects and arrays, ASCII
    /// strings (with quotes, backslashes, control characters), some non-ASCII,
    /// integers across i64 and u64.
    fn json() -> impl Strategy<Value = Value> {
        let text = prop_oneof![
            "[ -~]{0,12}",
            "[a-z\"\\\\\n\t\u{1}/]{0,8}",
            "[a-zé\u{301}\u{e9}ü]{0,6}",
            // Keys that are prefixes of one another, followed by bytes below and above '"'.
            "(re|ré|re\u{301})(port)?[ !#(\"\\\\]{0,2}",
        ];
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            text.clone().prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec((text.clone(), inner), 0..6)
                    .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
            ]
        })
    }

    /// Canonical JSON written from securesystemslib's definition: keys sorted by
    /// code point (Python's `sorted()` over `str`), only `"` and `\` escaped, no
    /// white space, integers.
    fn reference(value: &Value, out: &mut Vec<u8>) {
        fn string(s: &str, out: &mut Vec<u8>) {
            out.push(b'"');
            for b in s.bytes() {
                if b == b'"' || b == b'\\' {
                    out.push(b'\\');
                }
                out.push(b);
            }
            out.push(b'"');
        }
        match value {
            Value::Null => out.extend_from_slice(b"null"),
            Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
            Value::Number(n) => out.extend_from_slice(n.to_string().as_bytes()),
            Value::String(s) => string(s, out),
            Value::Array(items) => {
                out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    reference(item, out);
                }
                out.push(b']');
            }
            Value::Object(map) => {
                let mut entries: Vec<(Vec<u8>, Vec<char>, &Value)> = map
                    .iter()
                    .map(|(k, v)| {
                        let mut key = Vec::new();
                        string(k, &mut key);
                        (key, k.chars().collect(), v)
                    })
                    .collect();
                entries.sort_by(|a, b| a.1.cmp(&b.1));
                out.push(b'{');
                for (i, (key, _, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    out.extend_from_slice(key);
                    out.push(b':');
                    reference(v, out);
                }
                out.push(b'}');
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        #[test]
        fn canonical_bytes_match_the_reference(value in json()) {
            let written = canonical_bytes(&value).unwrap();
            let mut expected = Vec::new();
            reference(&value, &mut expected);
            prop_assert_eq!(String::from_utf8_lossy(&written), String::from_utf8_lossy(&expected));
        }

        /// Soundness: whatever the check accepts is exactly the canonical form of
        /// what it parses to, for compact, pretty and canonical writings.
        #[test]
        fn accepted_text_is_its_own_canonical_form(value in json()) {
            for text in [
                serde_json::to_vec(&value).unwrap(),
                serde_json::to_vec_pretty(&value).unwrap(),
                canonical_bytes(&value).unwrap(),
            ] {
                if is_canonical(&text) {
                    let parsed: Value = serde_json::from_slice(&text).unwrap();
                    prop_assert_eq!(canonical_bytes(&parsed).unwrap(), text);
                }
            }
        }

        /// Completeness where it matters: the canonical form of any value without
        /// control characters and with unescaped keys takes the fast path.
        #[test]
        fn canonical_text_without_control_characters_is_accepted(value in json()) {
            let written = canonical_bytes(&value).unwrap();
            let plain = written.iter().all(|b| *b >= 0x20);
            prop_assume!(plain && !has_escaped_key(&value));
            prop_assert!(is_canonical(&written), "{}", String::from_utf8_lossy(&written));
        }

        /// Soundness under corruption: one changed byte is either refused by the
        /// check or still its own canonical form.
        #[test]
        fn a_changed_byte_is_never_wrongly_accepted(
            value in json(), at in any::<prop::sample::Index>(), byte in any::<u8>()
        ) {
            let mut text = canonical_bytes(&value).unwrap();
            prop_assume!(!text.is_empty());
            let i = at.index(text.len());
            text[i] = byte;
            if is_canonical(&text) {
                let parsed: Value = serde_json::from_slice(&text).unwrap();
                prop_assert_eq!(canonical_bytes(&parsed).unwrap(), text);
            }
        }
    }

    fn has_escaped_key(value: &Value) -> bool {
        match value {
            Value::Array(items) => items.iter().any(has_escaped_key),
            Value::Object(map) => map
                .iter()
                .any(|(k, v)| k.contains(['"', '\\']) || has_escaped_key(v)),
            _ => false,
        }
    }

    #[test]
    fn every_byte_at_every_offset_of_a_long_string() {
        // The word-at-a-time scan must stop for each byte a string may not hold
        // plainly, wherever in an eight-byte word it falls.
        for at in 0..24 {
            for byte in 0u8..=255 {
                let mut text = b"{\"k\":\"".to_vec();
                let mut content = vec![b'a'; 24];
                content[at] = byte;
                text.extend_from_slice(&content);
                text.extend_from_slice(b"\"}");
                // A lone byte at or above 0x80 is not UTF-8.
                let plain = (0x20..0x80).contains(&byte) && byte != b'"' && byte != b'\\';
                assert_eq!(is_canonical(&text), plain, "byte {byte:#x} at {at}");
                // Two-byte UTF-8 sequences (U+0080..U+07FF) are taken at any offset.
                if (0xc2..=0xdf).contains(&byte) && at < 23 {
                    content[at + 1] = 0x80;
                    let mut text = b"{\"k\":\"".to_vec();
                    text.extend_from_slice(&content);
                    text.extend_from_slice(b"\"}");
                    assert!(is_canonical(&text), "sequence {byte:#x} 0x80 at {at}");
                }
            }
        }
        assert!(is_canonical(
            b"[\"aaaaaaaaaa\\\"bbbbbbbbbb\\\\cccccccccc\"]"
        ));
    }

    #[test]
    fn integers_at_the_edges_of_the_fast_path() {
        for (text, expected) in [
            ("999999999999999999", true), // 18 digits
            ("-999999999999999999", true),
            ("9223372036854775807", true),  // i64::MAX, 19 digits
            ("-9223372036854775808", true), // i64::MIN
            ("-9223372036854775809", false),
            ("18446744073709551615", true), // u64::MAX, 20 digits
            ("18446744073709551616", false),
            ("100000000000000000000", false), // 21 digits
            ("-0", false),
            ("-1", true),
            ("00", false),
        ] {
            assert_eq!(is_canonical(text.as_bytes()), expected, "{text}");
        }
    }

    #[test]
    fn refuses_what_canonical_json_never_writes() {
        for text in [
            &b"{\"b\":1,\"a\":2}"[..],       // unsorted
            b"{\"a\":1,\"a\":1}",            // duplicate key
            b"{\"a\": 1}",                   // white space
            b"{\"a\":1.0}",                  // float
            b"{\"a\":-0}",                   // negative zero
            b"{\"a\":01}",                   // leading zero
            b"{\"a\":18446744073709551616}", // above u64
            b"{\"a\":\"\\n\"}",              // escape canonical JSON does not use
            b"{\"a\":\"\\u0041\"}",
            b"{\"a\":\"\xc3\"}",         // not UTF-8
            b"{\"a\":\"\xed\xa0\x80\"}", // a surrogate, not UTF-8
            b"{\"a \":1,\"a\":2}",       // a prefix after the longer key
            b"{\"\xc3\xa9\":1,\"z\":2}", // U+00E9 after U+007A
            b"{\"a\\\"\":1}",            // an escaped key: taken the long way
            b"[1,]",
            b"{\"a\":1}x",
            b"",
        ] {
            assert!(!is_canonical(text), "{}", String::from_utf8_lossy(text));
        }
        for text in [
            &b"{}"[..],
            b"{\"a\":[true,false,null,-5,18446744073709551615,\"q\\\"b\\\\\"],\"a \":1}",
            b"{\"a\":\"\xc3\xa9\",\"e\xcc\x81\":\"\xe2\x80\xa8\",\"z\":1,\"\xc3\xa9\":2}",
            b"-9223372036854775808",
            b"0",
        ] {
            assert!(is_canonical(text), "{}", String::from_utf8_lossy(text));
        }
    }
}

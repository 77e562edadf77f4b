//! OLPC canonical JSON (the form TUF signatures cover), via the `olpc-cjson` crate.

use super::ParseError;
use serde::Serialize;

/// Writes `value` in OLPC canonical JSON: keys sorted, no insignificant white space,
/// only `"` and `\` escaped in strings, integers only.
///
/// # Errors
/// [`ParseError::Canonical`] when the value holds a float or cannot be serialised.
pub fn canonical_bytes<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, ParseError> {
    let mut out = Vec::new();
    let mut ser =
        serde_json::Serializer::with_formatter(&mut out, olpc_cjson::CanonicalFormatter::new());
    value
        .serialize(&mut ser)
        .map_err(|e| ParseError::Canonical(e.to_string()))?;
    Ok(out)
}

/// [`canonical_bytes`] as a `String`; canonical JSON of valid JSON is valid UTF-8.
///
/// # Errors
/// As [`canonical_bytes`].
pub fn canonical_json<T: Serialize + ?Sized>(value: &T) -> Result<String, ParseError> {
    String::from_utf8(canonical_bytes(value)?).map_err(|e| ParseError::Canonical(e.to_string()))
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
    fn keeps_negative_and_large_integers() {
        let v = json!({"n": -5, "u": u64::MAX});
        assert_eq!(
            canonical_json(&v).unwrap(),
            format!(r#"{{"n":-5,"u":{}}}"#, u64::MAX)
        );
    }
}

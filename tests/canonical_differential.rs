//! Differential tests against the reference implementation: our canonical JSON
//! encoder against securesystemslib's `encode_canonical` (what python-tuf signs and
//! verifies), and our delegation path patterns against python-tuf's, on thousands of
//! generated inputs rich in what tripped encoders before: non-ASCII text with
//! precomposed and decomposed twins, keys that are prefixes of one another followed
//! by bytes below and above `"`, escapes, control characters.
//!
//! Needs a Python with `tuf` installed, named by `UPDATER_INTEROP_PYTHON`;
//! `bash scripts/test.sh` creates one. This test fails (never skips) without it.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test fixtures: a failed setup is a failed test

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Map, Value};
use updater::metadata::{
    canonical_value_bytes, is_canonical, parse_strict_value, signed_bytes, DelegatedRole,
};

/// Documents generated per run; each is also written in three layouts.
const DOCUMENTS: usize = 4000;
/// Path and pattern pairs generated per run.
const PATTERNS: usize = 4000;

fn python() -> PathBuf {
    PathBuf::from(std::env::var_os("UPDATER_INTEROP_PYTHON").expect(
        "UPDATER_INTEROP_PYTHON must name a Python with python-tuf installed; `bash scripts/test.sh` sets it up",
    ))
}

/// A small deterministic generator (xorshift64*), so that a failure reproduces.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

/// Strings that collide, nest or sort differently under the mistakes encoders make.
const TRICKY: &[&str] = &[
    "report",
    "report (old)",
    "report!",
    "report#",
    "report\"",
    "report\\",
    "report\u{0}",
    "report\u{1f}",
    "report\u{7f}",
    "r\u{e9}port",
    "re\u{301}port",
    "r\u{e9}sum\u{e9}.txt",
    "re\u{301}sume\u{301}.txt",
    "\u{d55c}",                 // 한, precomposed Hangul
    "\u{1112}\u{1161}\u{11ab}", // 한, decomposed jamo
    "\u{304c}",                 // が
    "\u{304b}\u{3099}",         // か + combining voiced mark
    "\u{c5}",                   // Å
    "A\u{30a}",                 // A + ring
    "\u{212b}",                 // Angstrom sign (NFC: Å)
    "\u{fb01}",                 // ﬁ ligature (NFKC: fi)
    "fi",
    "\u{2028}",
    "\u{ffff}",
    "\u{10000}",
    "\u{1f600}",
    "",
    " ",
    "a",
    "a ",
    "a\"",
    "a\\",
    "A",
    "_type",
    "\n",
    "\t\r\u{8}\u{c}",
];

/// Characters random strings are made of.
const ALPHABET: &[char] = &[
    'a',
    'b',
    'z',
    'A',
    ' ',
    '!',
    '"',
    '#',
    '\\',
    '/',
    '(',
    ')',
    '-',
    '.',
    '\u{0}',
    '\u{1}',
    '\n',
    '\u{1f}',
    '\u{7f}',
    '\u{80}',
    '\u{e9}',
    '\u{301}',
    '\u{308}',
    'e',
    'u',
    '\u{fc}',
    '\u{d55c}',
    '\u{1100}',
    '\u{3099}',
    '\u{ffff}',
    '\u{10ffff}',
    '\u{1f600}',
    '\u{2028}',
];

fn random_string(g: &mut Gen) -> String {
    if g.below(3) == 0 {
        return g.pick(TRICKY).to_string();
    }
    let mut s = String::new();
    if g.below(2) == 0 {
        s.push_str(g.pick(TRICKY));
    }
    for _ in 0..g.below(6) {
        s.push(g.pick(ALPHABET));
    }
    s
}

fn random_value(g: &mut Gen, depth: usize) -> Value {
    let kinds = if depth >= 4 { 5 } else { 7 };
    match g.below(kinds) {
        0 => Value::Null,
        1 => Value::Bool(g.below(2) == 0),
        2 => match g.below(5) {
            0 => Value::from(i64::MIN),
            1 => Value::from(u64::MAX),
            2 => Value::from(g.next() as i64),
            3 => Value::from(g.next()),
            _ => Value::from(g.below(1000) as i64 - 500),
        },
        3 | 4 => Value::String(random_string(g)),
        5 => Value::Array(
            (0..g.below(5))
                .map(|_| random_value(g, depth + 1))
                .collect(),
        ),
        _ => {
            let mut map = Map::new();
            for _ in 0..g.below(7) {
                map.insert(random_string(g), random_value(g, depth + 1));
            }
            Value::Object(map)
        }
    }
}

/// Writes a string as JSON, each character raw or escaped at random (control
/// characters always escaped, since JSON requires it).
fn write_json_string(g: &mut Gen, s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        let escape = c < ' ' || g.below(6) == 0;
        match c {
            '"' if g.below(4) > 0 => out.push_str("\\\""),
            '\\' if g.below(4) > 0 => out.push_str("\\\\"),
            '\n' if g.below(2) == 0 => out.push_str("\\n"),
            '\t' if g.below(2) == 0 => out.push_str("\\t"),
            '/' if g.below(2) == 0 => out.push_str("\\/"),
            '"' | '\\' => write!(out, "\\u{:04x}", c as u32).unwrap(),
            c if escape => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    if g.below(2) == 0 {
                        write!(out, "\\u{unit:04x}").unwrap();
                    } else {
                        write!(out, "\\u{unit:04X}").unwrap();
                    }
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Writes a value as one line of JSON with random spacing, member order and escapes.
fn write_json(g: &mut Gen, value: &Value, out: &mut String) {
    let space = |g: &mut Gen, out: &mut String| {
        for _ in 0..g.below(3).saturating_sub(1) {
            out.push(g.pick(&[' ', '\t']));
        }
    };
    match value {
        Value::Object(map) => {
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            for i in (1..members.len()).rev() {
                members.swap(i, g.below(i + 1));
            }
            out.push('{');
            for (i, (key, item)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                space(g, out);
                write_json_string(g, key, out);
                space(g, out);
                out.push(':');
                space(g, out);
                write_json(g, item, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                space(g, out);
                write_json(g, item, out);
            }
            out.push(']');
        }
        Value::String(s) => write_json_string(g, s, out),
        other => out.push_str(&other.to_string()),
    }
}

/// Runs the reference over the documents and patterns; its answers, a line each.
fn reference(dir: &Path, docs: &[String], patterns: &[(String, String)]) -> Vec<String> {
    let docs_file = dir.join("docs.jsonl");
    let patterns_file = dir.join("patterns.jsonl");
    std::fs::write(&docs_file, docs.join("\n") + "\n").unwrap();
    let lines: Vec<String> = patterns
        .iter()
        .map(|p| serde_json::to_string(&[&p.0, &p.1]).unwrap())
        .collect();
    std::fs::write(&patterns_file, lines.join("\n") + "\n").unwrap();
    let output = Command::new(python())
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/canonical.py"))
        .arg(&docs_file)
        .arg(&patterns_file)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "canonical.py failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let answers: Vec<String> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(answers.len(), docs.len() + patterns.len());
    answers
}

/// A metadata envelope around `signed`, compact (the layout the fast path splits)
/// or indented.
fn envelope(signed: &str, compact: bool) -> Vec<u8> {
    if compact {
        format!("{{\"signatures\":[],\"signed\":{signed}}}").into_bytes()
    } else {
        format!("{{\n  \"signatures\": [],\n  \"signed\": {signed}\n}}\n").into_bytes()
    }
}

fn random_pattern_part(g: &mut Gen) -> (String, String) {
    const PIECES: &[&str] = &[
        "*",
        "?",
        "[a-z]",
        "[!a]",
        "[\u{e9}]",
        "[!\u{e9}]",
        "[]a]",
        "[!]a]",
        "[a-]",
        "[z-a]",
        "[\u{e0}-\u{ff}]",
        "[",
        "]",
        "\\",
        "a",
        "e",
        "\u{e9}",
        "\u{301}",
        "\u{d55c}",
        ".",
        "-",
        "[^a]",
        "[a-c-e]",
    ];
    const NAME: &[&str] = &[
        "a", "e", "\u{e9}", "e\u{301}", "\u{d55c}", "\u{1112}", "[", "]", "\\", "-", ".", "z", "^",
        "b", "\u{ff}",
    ];
    let pieces: Vec<&str> = (0..1 + g.below(4)).map(|_| g.pick(PIECES)).collect();
    let mut name = String::new();
    if g.below(4) == 0 {
        for _ in 0..g.below(5) {
            name.push_str(g.pick(NAME));
        }
    } else {
        // Mostly a name shaped like the pattern, so that about half match.
        for piece in &pieces {
            match *piece {
                "*" => (0..g.below(3)).for_each(|_| name.push_str(g.pick(NAME))),
                "?" => name.push_str(g.pick(NAME)),
                class if class.starts_with('[') && class.len() > 1 => {
                    let members: Vec<char> = class.chars().filter(|c| *c != '!').collect();
                    name.push(g.pick(&members[1..]));
                }
                literal => name.push_str(literal),
            }
        }
    }
    (name, pieces.concat())
}

#[test]
#[cfg_attr(
    windows,
    ignore = "runs python-tuf in the Linux venv, which the Wine process cannot start"
)]
fn canonical_json_and_path_patterns_agree_with_python_tuf() {
    let mut g = Gen(0x5eed_1234_abcd_0001);
    let values: Vec<Value> = (0..DOCUMENTS)
        .map(|i| {
            // Mostly objects (what metadata is), some bare values.
            let mut v = random_value(&mut g, 0);
            if i % 4 != 0 && !v.is_object() {
                let mut map = Map::new();
                map.insert(random_string(&mut g), v);
                map.insert(random_string(&mut g), random_value(&mut g, 1));
                v = Value::Object(map);
            }
            v
        })
        .collect();
    let docs: Vec<String> = values
        .iter()
        .map(|v| {
            let mut text = String::new();
            write_json(&mut g, v, &mut text);
            text
        })
        .collect();
    let patterns: Vec<(String, String)> = (0..PATTERNS)
        .map(|_| {
            let parts = 1 + g.below(2);
            let (mut name, mut pattern) = (Vec::new(), Vec::new());
            for _ in 0..parts {
                let (n, p) = random_pattern_part(&mut g);
                name.push(n);
                pattern.push(p);
            }
            if g.below(8) == 0 {
                name.push("x".into()); // a part count that differs
            }
            (name.join("/"), pattern.join("/"))
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let answers = reference(dir.path(), &docs, &patterns);

    let mut agreed = 0;
    let mut with_non_ascii = 0;
    let mut fast = 0;
    for (i, (text, expected)) in docs.iter().zip(&answers).enumerate() {
        let ours = parse_strict_value(text).and_then(|v| canonical_value_bytes(&v));
        let theirs = (expected != "ERR").then(|| hex::decode(expected).unwrap());
        let ours = match (ours, theirs) {
            (Ok(ours), Some(theirs)) => {
                assert!(
                    ours == theirs,
                    "document {i} encodes differently\n  input: {text}\n  ours:   {}\n  theirs: {}",
                    String::from_utf8_lossy(&ours),
                    String::from_utf8_lossy(&theirs)
                );
                ours
            }
            (Err(_), None) => continue,
            (ours, theirs) => {
                panic!("document {i}: ours {ours:?}, theirs {theirs:?}\n  input: {text}")
            }
        };
        agreed += 1;
        if !ours.is_ascii() {
            with_non_ascii += 1;
        }
        // The fast path agrees with the encoder: the canonical text is taken as it
        // is unless it holds a raw control character (then it is not JSON) or an
        // escaped key; any other text is taken only when it is that text.
        let plain = ours.iter().all(|&b| b >= 0x20);
        let escaped_key = has_escaped_key(&values[i]);
        assert_eq!(
            is_canonical(&ours),
            plain && !escaped_key,
            "document {i}: the fast path misjudges the canonical text {}",
            String::from_utf8_lossy(&ours)
        );
        if is_canonical(text.as_bytes()) {
            assert_eq!(
                text.as_bytes(),
                &ours[..],
                "document {i}: taken as canonical"
            );
        }
        // The envelope split, in both layouts, and with the canonical text itself.
        let mut candidates = vec![text.as_bytes().to_vec()];
        if plain {
            candidates.push(ours.clone());
        }
        for signed in &candidates {
            let signed = std::str::from_utf8(signed).unwrap();
            for compact in [true, false] {
                let file = envelope(signed, compact);
                let covered = signed_bytes(&file).unwrap();
                assert_eq!(&covered[..], &ours[..], "document {i}, compact {compact}");
                if matches!(covered, std::borrow::Cow::Borrowed(_)) {
                    fast += 1;
                }
            }
        }
    }
    // The generator must really exercise what it claims to.
    assert!(
        agreed > DOCUMENTS * 9 / 10,
        "only {agreed} documents compared"
    );
    assert!(
        with_non_ascii > DOCUMENTS / 2,
        "{with_non_ascii} non-ASCII documents"
    );
    assert!(fast > DOCUMENTS / 4, "only {fast} took the fast path");

    let mut matched = 0;
    for ((path, pattern), expected) in patterns.iter().zip(&answers[docs.len()..]) {
        let role: DelegatedRole = serde_json::from_value(serde_json::json!({
            "name": "r", "keyids": [], "threshold": 1, "terminating": false, "paths": [pattern]
        }))
        .unwrap();
        let ours = role.is_delegated_path(path);
        assert_eq!(
            ours,
            expected == "1",
            "path {path:?} against pattern {pattern:?}: ours {ours}, python-tuf {expected}"
        );
        matched += usize::from(ours);
    }
    assert!(
        (PATTERNS / 5..PATTERNS * 4 / 5).contains(&matched),
        "{matched} of {PATTERNS} patterns matched: the generator is off balance"
    );
}

fn has_escaped_key(value: &Value) -> bool {
    match value {
        Value::Array(items) => items.iter().any(has_escaped_key),
        Value::Object(map) => map.iter().any(|(k, v)| {
            k.contains(['"', '\\']) || k.chars().any(|c| c < ' ') || has_escaped_key(v)
        }),
        _ => false,
    }
}

#[test]
fn a_key_named_twice_is_refused_though_python_keeps_the_last() {
    // python's json keeps the last member, as serde_json does; we refuse the
    // document instead, naming the key.
    for text in [
        r#"{"a":1,"a":2}"#,
        r#"{"t":{"x":{"length":1},"x":{"length":2}}}"#,
        r#"{"r\u00e9":1,"ré":2}"#,
    ] {
        let error = parse_strict_value(text).unwrap_err().to_string();
        assert!(error.contains("appears twice"), "{error}");
        assert!(signed_bytes(&envelope(text, true)).is_err());
        assert!(signed_bytes(&envelope(text, false)).is_err());
    }
}

//! Canonical JSON depends only on the value, never on how the input was written:
//! the same value re-encoded with other whitespace and key order gives the same
//! canonical bytes (the property signatures rely on). Canonical JSON leaves
//! control characters in strings unescaped, so its output is not always strict JSON
//! and is not parsed back here.
//!
//! Also the fast path of signature checking: whatever `is_canonical` accepts parses,
//! and is byte for byte the canonical form of what it parses to.
#![no_main]

use libfuzzer_sys::fuzz_target;
use updater::metadata::{canonical_bytes, is_canonical};

fuzz_target!(|data: &[u8]| {
    if is_canonical(data) {
        let value: serde_json::Value =
            serde_json::from_slice(data).expect("text taken as canonical parses");
        assert_eq!(
            canonical_bytes(&value).expect("text taken as canonical encodes"),
            data,
            "text taken as canonical is not its own canonical form"
        );
    }
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let first = canonical_bytes(&value);
    let pretty = serde_json::to_vec_pretty(&value).expect("a parsed value encodes");
    let again: serde_json::Value = serde_json::from_slice(&pretty).expect("pretty JSON parses");
    let second = canonical_bytes(&again);
    match (first, second) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "canonical bytes depend on formatting"),
        (Err(_), Err(_)) => {}
        (a, b) => panic!("canonical encoding succeeded only once: {a:?} / {b:?}"),
    }
});

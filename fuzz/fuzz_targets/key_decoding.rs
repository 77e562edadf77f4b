//! Any bytes as a public key object, and any signature over any message: decoding
//! and verification never panic, and a garbage signature never verifies.
#![no_main]

use libfuzzer_sys::fuzz_target;
use updater::metadata::Key;

fuzz_target!(|input: (&[u8], &[u8], &[u8])| {
    let (key_json, message, signature) = input;
    let Ok(key) = serde_json::from_slice::<Key>(key_json) else {
        return;
    };
    let _ = key.key_id();
    let _ = key.public_value();
    if let Ok(verifying) = key.verifying_key() {
        let _ = verifying.public_bytes();
        let _ = verifying.verify(message, signature);
    }
});

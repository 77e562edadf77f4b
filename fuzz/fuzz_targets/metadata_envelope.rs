//! Any bytes as each kind of signed metadata: parsing never panics, and whatever
//! parses can be re-encoded canonically (the bytes signatures are checked over).
#![no_main]

use libfuzzer_sys::fuzz_target;
use updater::metadata::{canonical_bytes, peek_type, Envelope, Root, Snapshot, Targets, Timestamp};

fuzz_target!(|data: &[u8]| {
    let _ = peek_type(data);
    if let Ok(root) = Envelope::<Root>::from_slice(data) {
        let _ = canonical_bytes(&root.signed);
        for key in root.signed.keys.values() {
            let _ = key.key_id();
            let _ = key.verifying_key();
        }
    }
    if let Ok(timestamp) = Envelope::<Timestamp>::from_slice(data) {
        let _ = canonical_bytes(&timestamp.signed);
    }
    if let Ok(snapshot) = Envelope::<Snapshot>::from_slice(data) {
        let _ = canonical_bytes(&snapshot.signed);
    }
    if let Ok(targets) = Envelope::<Targets>::from_slice(data) {
        let _ = canonical_bytes(&targets.signed);
        if let Some(delegations) = &targets.signed.delegations {
            for path in ["a", "a/b", "release/1.0.0/app", ""] {
                let _ = delegations.roles_for_target(path);
            }
            let _ = delegations.roles_under("release/");
        }
    }
});

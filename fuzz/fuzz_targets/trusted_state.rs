//! Arbitrary bytes through the trusted-metadata state machine, starting from a real
//! trusted root (tuf-on-ci 0.11, at its reference time): every update is either
//! accepted or refused with an error; nothing panics, and a refusal poisons the set.
#![no_main]

use libfuzzer_sys::{arbitrary, fuzz_target};
use time::macros::datetime;
use updater::trust::{Origin, TrustedMetadata};

const ROOT: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/testdata/tuf-on-ci-0.11/metadata/1.root.json"
));

#[derive(Debug, arbitrary::Arbitrary)]
enum Update<'a> {
    Root(&'a [u8]),
    Timestamp(&'a [u8], bool),
    Snapshot(&'a [u8], bool),
    Targets(&'a [u8], bool),
    Delegated(&'a str, &'a [u8]),
    Verify(&'a str),
}

fuzz_target!(|updates: Vec<Update<'_>>| {
    let now = datetime!(2025-02-09 09:17:23 UTC);
    let Ok(mut trusted) = TrustedMetadata::new(ROOT, now) else {
        panic!("the seed root must load");
    };
    let origin = |cached: bool| {
        if cached {
            Origin::Cache
        } else {
            Origin::Repository
        }
    };
    for update in updates {
        let refused = match update {
            Update::Root(bytes) => trusted.update_root(bytes).is_err(),
            Update::Timestamp(bytes, cached) => {
                trusted.update_timestamp(bytes, origin(cached)).is_err()
            }
            Update::Snapshot(bytes, cached) => {
                trusted.update_snapshot(bytes, origin(cached)).is_err()
            }
            Update::Targets(bytes, cached) => trusted
                .update_targets("targets", "root", bytes, origin(cached))
                .is_err(),
            Update::Delegated(role, bytes) => trusted
                .update_targets(role, "targets", bytes, Origin::Repository)
                .is_err(),
            Update::Verify(role) => trusted.verify_delegation(role, "targets").is_err(),
        };
        let _ = refused;
        let _ = trusted.root();
        let _ = trusted.timestamp();
        let _ = trusted.snapshot();
        let _ = trusted.targets("targets");
    }
});

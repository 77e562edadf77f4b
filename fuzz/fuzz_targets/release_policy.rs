//! Release objects and rollout policies come from signed but application-defined
//! metadata: reading any bytes as either never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use updater::metadata::TargetFile;
use updater::release::{ReleaseInfo, RolloutPolicy};

fuzz_target!(|data: &[u8]| {
    if let Ok(policy) = RolloutPolicy::parse(data, "app") {
        for version in policy.releases.keys() {
            let _ = policy.exposure(version, time::OffsetDateTime::UNIX_EPOCH);
        }
    }
    if let Ok(custom) = serde_json::from_slice::<serde_json::Value>(data) {
        let target = TargetFile {
            length: 1,
            hashes: Default::default(),
            custom: Some(Box::new(custom)),
            unrecognized: Default::default(),
        };
        let _ = ReleaseInfo::from_target("app/1.0.0/x/app", &target);
    }
});

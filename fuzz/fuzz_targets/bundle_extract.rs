//! Bundle archives: whatever the bytes, extraction never panics and never creates
//! anything outside the staging directory. The first byte picks the format; for the
//! tar formats the rest is a tar stream, compressed here (zstd level 1, or gzip), so
//! the fuzzer works on what the tar reader and the extractor's gate see. The archive
//! is described to the extractor by its true length and SHA-256, as a verified
//! download would be.
#![no_main]

use std::io::Write;

use libfuzzer_sys::fuzz_target;
use updater::bundle::{extract_verified, ArchiveFormat, BundleSpec};
use updater::integrity::sha256_hex;
use updater::metadata::{Hashes, TargetFile};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let format = ArchiveFormat::ALL[usize::from(selector) % 3];
    let archive = match format {
        ArchiveFormat::TarZstd => zstd::stream::encode_all(rest, 1).unwrap(),
        ArchiveFormat::TarGzip => {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            gz.write_all(rest).unwrap();
            gz.finish().unwrap()
        }
        _ => rest.to_vec(),
    };
    let dir = tempfile::tempdir().unwrap();
    let (stage, outside, file) = (
        dir.path().join("stage"),
        dir.path().join("outside"),
        dir.path().join("archive"),
    );
    std::fs::create_dir(&stage).unwrap();
    std::fs::create_dir(&outside).unwrap();
    std::fs::write(&file, &archive).unwrap();
    let target = TargetFile {
        length: archive.len() as u64,
        hashes: Hashes::from([("sha256".to_string(), sha256_hex(&archive))]),
        custom: None,
        unrecognized: Default::default(),
    };
    let spec = BundleSpec {
        format,
        unpacked_size: 1 << 20,
        entries: 64,
        preserve: Vec::new(),
    };
    let _ = extract_verified(&file, &target, &spec, &stage);
    let mut names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    assert_eq!(names, ["archive", "outside", "stage"], "something was created next to the staging directory");
    assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0, "something was created outside");
});

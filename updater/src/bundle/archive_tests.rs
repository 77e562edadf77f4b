//! The extractor against well-formed and hostile archives. Hostile tar archives are
//! written header by header (the `tar` crate's builder refuses most of them), zip
//! ones with the `zip` crate's writer, which takes any name.

use std::fs;
use std::io::Write;
use std::path::Path;

use super::pack::{pack_dir, PackOptions};
use super::*;
use crate::integrity::sha256_hex;
use crate::metadata::{Hashes, TargetFile};

fn target_file(bytes: &[u8]) -> TargetFile {
    TargetFile {
        length: bytes.len() as u64,
        hashes: Hashes::from([("sha256".to_string(), sha256_hex(bytes))]),
        custom: None,
        unrecognized: Default::default(),
    }
}

/// One raw tar entry: the name and link name are written into the header as given.
struct Raw<'a> {
    name: &'a [u8],
    kind: tar::EntryType,
    mode: u32,
    data: &'a [u8],
    link: &'a [u8],
}

fn file<'a>(name: &'a str, data: &'a [u8]) -> Raw<'a> {
    Raw {
        name: name.as_bytes(),
        kind: tar::EntryType::Regular,
        mode: 0o644,
        data,
        link: b"",
    }
}

fn dir(name: &str) -> Raw<'_> {
    Raw {
        name: name.as_bytes(),
        kind: tar::EntryType::Directory,
        mode: 0o755,
        data: b"",
        link: b"",
    }
}

fn link<'a>(name: &'a str, target: &'a str) -> Raw<'a> {
    Raw {
        name: name.as_bytes(),
        kind: tar::EntryType::Symlink,
        mode: 0o777,
        data: b"",
        link: target.as_bytes(),
    }
}

fn raw_tar(entries: &[Raw<'_>]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for e in entries {
        let mut header = tar::Header::new_old();
        {
            let old = header.as_old_mut();
            old.name[..e.name.len()].copy_from_slice(e.name);
            old.linkname[..e.link.len()].copy_from_slice(e.link);
        }
        header.set_entry_type(e.kind);
        header.set_mode(e.mode);
        header.set_size(e.data.len() as u64);
        header.set_cksum();
        builder.append(&header, e.data).unwrap();
    }
    builder.into_inner().unwrap()
}

fn zstd(tar: &[u8]) -> Vec<u8> {
    zstd::stream::encode_all(tar, 3).unwrap()
}

fn spec_for(format: ArchiveFormat, entries: u64, unpacked_size: u64) -> BundleSpec {
    BundleSpec {
        format,
        unpacked_size,
        entries,
        preserve: Vec::new(),
    }
}

/// A sandbox: `stage/` to extract into, and `outside/` next to it, which no archive
/// may touch.
struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Sandbox {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("stage")).unwrap();
        fs::create_dir(dir.path().join("outside")).unwrap();
        fs::write(dir.path().join("outside/keep"), b"untouched").unwrap();
        Sandbox { dir }
    }

    fn stage(&self) -> std::path::PathBuf {
        self.dir.path().join("stage")
    }

    fn extract(&self, bytes: &[u8], spec: &BundleSpec) -> Result<Extracted, BundleError> {
        let archive = self.dir.path().join("archive");
        fs::write(&archive, bytes).unwrap();
        let result = extract_verified(&archive, &target_file(bytes), spec, &self.stage());
        fs::remove_file(&archive).unwrap();
        result
    }

    /// Only `stage/` and `outside/keep` exist, and `outside/` is as it was.
    fn assert_nothing_outside(&self) {
        let mut names: Vec<_> = fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["outside", "stage"]);
        let outside: Vec<_> = fs::read_dir(self.dir.path().join("outside"))
            .unwrap()
            .collect();
        assert_eq!(outside.len(), 1);
        assert_eq!(
            fs::read(self.dir.path().join("outside/keep")).unwrap(),
            b"untouched"
        );
    }
}

/// Extracts a tar.zst made of `entries`, declaring exactly what they hold, and
/// returns the refusal.
fn refused(entries: &[Raw<'_>]) -> BundleError {
    let count = entries.len() as u64;
    let bytes: u64 = entries
        .iter()
        .filter(|e| e.kind == tar::EntryType::Regular)
        .map(|e| e.data.len() as u64)
        .sum();
    let sandbox = Sandbox::new();
    let err = sandbox
        .extract(
            &zstd(&raw_tar(entries)),
            &spec_for(ArchiveFormat::TarZstd, count, bytes),
        )
        .unwrap_err();
    sandbox.assert_nothing_outside();
    err
}

fn assert_refused(entries: &[Raw<'_>], why: &str) {
    let err = refused(entries);
    assert!(
        matches!(err, BundleError::Refused { .. }) && err.to_string().contains(why),
        "expected a refusal mentioning {why:?}, got: {err}"
    );
}

fn sample_tree(root: &Path) {
    fs::create_dir_all(root.join("bin")).unwrap();
    fs::create_dir_all(root.join("share/res")).unwrap();
    fs::write(root.join("bin/app"), b"#!/bin/sh\necho 1\n").unwrap();
    fs::write(root.join("share/res/version.txt"), b"1.0.0\n").unwrap();
    fs::write(root.join("share/big"), vec![7u8; 300_000]).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(root.join("bin/app"), fs::Permissions::from_mode(0o755)).unwrap();
        std::os::unix::fs::symlink("../share/res/version.txt", root.join("bin/version")).unwrap();
    }
}

#[test]
fn every_format_packs_reproducibly_and_extracts_to_the_same_tree() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source");
    sample_tree(&source);
    for format in ArchiveFormat::ALL {
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        let options = PackOptions {
            format,
            level: Some(3),
        };
        let summary = pack_dir(&source, options, &a).unwrap();
        pack_dir(&source, options, &b).unwrap();
        assert_eq!(
            fs::read(&a).unwrap(),
            fs::read(&b).unwrap(),
            "{format} is reproducible"
        );
        let expected_entries = if cfg!(unix) { 7 } else { 6 };
        assert_eq!(summary.entries, expected_entries, "{format}");
        assert_eq!(summary.unpacked_size, 17 + 6 + 300_000);
        let sandbox = Sandbox::new();
        let spec = spec_for(format, summary.entries, summary.unpacked_size);
        let extracted = sandbox.extract(&fs::read(&a).unwrap(), &spec).unwrap();
        assert_eq!(extracted.bytes, summary.unpacked_size);
        assert_eq!(
            tree::manifest(&sandbox.stage(), &[]).unwrap(),
            tree::manifest(&source, &[]).unwrap(),
            "{format}"
        );
        sandbox.assert_nothing_outside();
    }
}

#[test]
fn path_traversal_in_every_form_is_refused() {
    for name in [
        "../evil",
        "/tmp/evil",
        "a/../../evil",
        "./../evil",
        "C:\\evil",
        "..\\evil",
        "a\\..\\..\\evil",
        "CON",
        "x/nul.txt",
        "trailing.",
    ] {
        assert_refused(&[file(name, b"x")], "");
    }
}

#[test]
fn links_that_leave_the_tree_and_entries_through_links_are_refused() {
    assert_refused(&[link("l", "../outside")], "outside the tree");
    assert_refused(&[link("l", "/etc")], "absolute");
    assert_refused(
        &[dir("a"), link("a/l", "../../outside/keep")],
        "outside the tree",
    );
    assert_refused(&[link("l", "sub/../../outside")], "follows a name");
}

/// Unix only: these links are inside the tree, so they are created (Windows refuses
/// every link, see `make_symlink`), and what comes after them is refused.
#[cfg(unix)]
#[test]
fn nothing_is_extracted_through_or_over_a_link() {
    // An inside link, then a file through it: refused even though it stays inside.
    assert_refused(
        &[dir("sub"), link("l", "sub"), file("l/x", b"x")],
        "symbolic link",
    );
    // A link, then the same name again as a directory (the tar crate's own
    // RUSTSEC-2026-0067 shape) or a file.
    assert_refused(&[link("l", "."), dir("l")], "twice");
    assert_refused(&[link("l", "."), file("l", b"x")], "twice");
}

#[test]
fn hard_links_devices_fifos_and_set_id_bits_are_refused() {
    let hard = Raw {
        kind: tar::EntryType::Link,
        link: b"outside/keep",
        ..file("h", b"")
    };
    assert_refused(&[hard], "hard link");
    for (kind, why) in [
        (tar::EntryType::Char, "device"),
        (tar::EntryType::Block, "device"),
        (tar::EntryType::Fifo, "FIFO"),
    ] {
        assert_refused(
            &[Raw {
                kind,
                ..file("d", b"")
            }],
            why,
        );
    }
    for mode in [0o4755, 0o2755, 0o1755] {
        assert_refused(
            &[Raw {
                mode,
                ..file("s", b"x")
            }],
            "set-user-ID",
        );
    }
}

#[test]
fn duplicates_case_collisions_and_non_utf8_names_are_refused() {
    assert_refused(&[file("a", b"1"), file("a", b"2")], "twice");
    assert_refused(&[file("a", b"1"), file("./a", b"2")], "twice");
    assert_refused(&[dir("d"), dir("d/")], "twice");
    assert_refused(
        &[file("README", b"1"), file("readme", b"2")],
        "only in case",
    );
    assert_refused(&[file("Dir/a", b"1"), file("dir/b", b"2")], "only in case");
    assert_refused(&[file("a", b"1"), file("a/b", b"2")], "which is a file");
    assert_refused(
        &[Raw {
            name: b"caf\xe9",
            ..file("", b"x")
        }],
        "UTF-8",
    );
    // Explicit directory entries after the files they hold are fine.
    let sandbox = Sandbox::new();
    let ok = zstd(&raw_tar(&[file("d/a", b"1"), dir("d")]));
    sandbox
        .extract(&ok, &spec_for(ArchiveFormat::TarZstd, 2, 1))
        .unwrap();
}

#[test]
fn more_bytes_or_entries_than_declared_are_refused() {
    let sandbox = Sandbox::new();
    let tar = zstd(&raw_tar(&[file("a", &[1; 100]), file("b", &[2; 100])]));
    for (entries, size, why) in [
        (2, 150, "more than the 50 left"),
        (1, 200, "one more than the 1 entries"),
        (3, 200, "it has 2 entries"),
        (2, 300, "hold 200 bytes"),
    ] {
        let err = sandbox
            .extract(&tar, &spec_for(ArchiveFormat::TarZstd, entries, size))
            .unwrap_err();
        assert!(err.to_string().contains(why), "{entries} {size}: {err}");
        fs::remove_dir_all(sandbox.stage()).unwrap();
        fs::create_dir(sandbox.stage()).unwrap();
    }
    sandbox.assert_nothing_outside();
}

#[test]
fn a_compression_bomb_stops_at_the_declared_size() {
    // 4 GiB of zeros compresses to a few hundred kilobytes; it is refused at its
    // header, before a byte of it is written.
    let mut header = tar::Header::new_gnu();
    header.set_path("bomb").unwrap();
    header.set_size(4 << 30);
    header.set_mode(0o644);
    header.set_cksum();
    let mut encoder = zstd::stream::write::Encoder::new(Vec::new(), 1).unwrap();
    encoder.write_all(header.as_bytes()).unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..64 {
        encoder.write_all(&zeros).unwrap();
    }
    let bytes = encoder.finish().unwrap();
    let sandbox = Sandbox::new();
    let err = sandbox
        .extract(&bytes, &spec_for(ArchiveFormat::TarZstd, 1, 1 << 20))
        .unwrap_err();
    assert!(
        err.to_string().contains("more than the 1048576 left"),
        "{err}"
    );
    assert_eq!(fs::read_dir(sandbox.stage()).unwrap().count(), 0);
}

#[test]
fn a_header_bomb_is_refused_with_bounded_memory() {
    // A PAX header of 64 MiB (the tar crate would read it into memory whole).
    let mut pax = tar::Header::new_ustar();
    pax.set_path("pax").unwrap();
    pax.set_entry_type(tar::EntryType::XHeader);
    pax.set_size(64 << 20);
    pax.set_cksum();
    let mut encoder = zstd::stream::write::Encoder::new(Vec::new(), 1).unwrap();
    encoder.write_all(pax.as_bytes()).unwrap();
    let filler = vec![b'a'; 1 << 20];
    for _ in 0..64 {
        encoder.write_all(&filler).unwrap();
    }
    let bytes = encoder.finish().unwrap();
    let sandbox = Sandbox::new();
    let err = sandbox
        .extract(&bytes, &spec_for(ArchiveFormat::TarZstd, 1, 1 << 30))
        .unwrap_err();
    assert!(err.to_string().contains("headers"), "{err}");
}

#[test]
fn an_archive_that_differs_from_its_signed_hashes_is_never_parsed() {
    let sandbox = Sandbox::new();
    let good = zstd(&raw_tar(&[file("a", b"1")]));
    let archive = sandbox.dir.path().join("archive");
    let mut evil = good.clone();
    let last = evil.len() - 1;
    evil[last] ^= 1;
    fs::write(&archive, &evil).unwrap();
    let err = extract_verified(
        &archive,
        &target_file(&good),
        &spec_for(ArchiveFormat::TarZstd, 1, 1),
        &sandbox.stage(),
    )
    .unwrap_err();
    assert!(matches!(err, BundleError::Recheck { .. }), "{err}");
    assert_eq!(fs::read_dir(sandbox.stage()).unwrap().count(), 0);
    fs::remove_file(&archive).unwrap();
}

#[test]
fn an_archive_in_another_format_than_declared_is_corrupt() {
    let sandbox = Sandbox::new();
    let tar = raw_tar(&[file("a", b"1")]);
    for format in [
        ArchiveFormat::TarZstd,
        ArchiveFormat::TarGzip,
        ArchiveFormat::Zip,
    ] {
        let err = sandbox.extract(&tar, &spec_for(format, 1, 1)).unwrap_err();
        assert!(
            matches!(err, BundleError::Corrupt { .. }),
            "{format}: {err}"
        );
    }
}

fn zip_of(entries: &[(&str, Option<&str>, &[u8])]) -> Vec<u8> {
    use zip::write::SimpleFileOptions;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, target, data) in entries {
        match target {
            Some(target) => zip
                .add_symlink(*name, *target, SimpleFileOptions::default())
                .unwrap(),
            None => {
                zip.start_file(*name, SimpleFileOptions::default()).unwrap();
                zip.write_all(data).unwrap();
            }
        }
    }
    zip.finish().unwrap().into_inner()
}

#[test]
fn hostile_zip_archives_are_refused() {
    for (entries, why) in [
        (vec![("../evil", None, &b"x"[..])], "`..`"),
        (vec![("/abs", None, &b"x"[..])], "absolute"),
        (vec![("a\\..\\..\\evil", None, &b"x"[..])], "\\\\"),
        (
            vec![("l", Some("../outside"), &b""[..])],
            "outside the tree",
        ),
        (vec![("l", Some("/etc"), &b""[..])], "absolute"),
        (
            vec![("A", None, &b"x"[..]), ("a", None, &b"y"[..])],
            "only in case",
        ),
    ] {
        let bytes = zip_of(&entries);
        let size = entries
            .iter()
            .filter(|e| e.1.is_none())
            .map(|e| e.2.len() as u64)
            .sum();
        let sandbox = Sandbox::new();
        let err = sandbox
            .extract(
                &bytes,
                &spec_for(ArchiveFormat::Zip, entries.len() as u64, size),
            )
            .unwrap_err();
        assert!(err.to_string().contains(why), "{entries:?}: {err}");
        sandbox.assert_nothing_outside();
    }
}

#[test]
fn global_headers_implied_directories_and_world_write_are_bounded() {
    let global = |name: &'static str| Raw {
        kind: tar::EntryType::XGlobalHeader,
        ..file(name, b"")
    };
    let mut entries: Vec<Raw<'_>> = (0..5).map(|_| global("g")).collect();
    entries.push(file("a", b"1"));
    let sandbox = Sandbox::new();
    let err = sandbox
        .extract(
            &zstd(&raw_tar(&entries)),
            &spec_for(ArchiveFormat::TarZstd, 1, 1),
        )
        .unwrap_err();
    assert!(err.to_string().contains("global header"), "{err}");

    // One entry may not imply more directories than the declared entry count.
    let deep = "d/".repeat(40) + "f";
    let tar = zstd(&raw_tar(&[file(&deep, b"1")]));
    let sandbox = Sandbox::new();
    let err = sandbox
        .extract(&tar, &spec_for(ArchiveFormat::TarZstd, 1, 1))
        .unwrap_err();
    assert!(
        err.to_string().contains("implies more directories"),
        "{err}"
    );

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let sandbox = Sandbox::new();
        let open = Raw {
            mode: 0o777,
            ..file("w", b"1")
        };
        sandbox
            .extract(
                &zstd(&raw_tar(&[open])),
                &spec_for(ArchiveFormat::TarZstd, 1, 1),
            )
            .unwrap();
        let mode = fs::metadata(sandbox.stage().join("w"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o775, "no write for others");
    }
}

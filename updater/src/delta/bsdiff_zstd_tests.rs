//! The streaming reader against the `bsdiff` crate's own `patch`, and hostile deltas.

use super::*;

fn sample(len: usize, seed: u32) -> Vec<u8> {
    (0..len as u32)
        .map(|i| (i.wrapping_add(seed).wrapping_mul(2_654_435_761) >> 11) as u8)
        .collect()
}

/// A new version of `old`: bytes changed in place, a block inserted, one removed.
fn edited(old: &[u8]) -> Vec<u8> {
    let mut new = old.to_vec();
    for i in (0..new.len()).step_by(997) {
        new[i] = new[i].wrapping_add(3);
    }
    let cut = new.len() / 3;
    new.splice(cut..cut, sample(5000, 7));
    let gone = new.len() / 2;
    new.drain(gone..gone + 2000);
    new
}

fn raw_diff(old: &[u8], new: &[u8]) -> Vec<u8> {
    let mut raw = Vec::new();
    bsdiff::diff(old, new, &mut raw).unwrap();
    raw
}

fn apply_bytes(old: &[u8], delta: &[u8], len: u64) -> Result<Vec<u8>, DeltaError> {
    let dir = tempfile::tempdir().unwrap();
    let (o, d) = (dir.path().join("old"), dir.path().join("delta"));
    std::fs::write(&o, old).unwrap();
    std::fs::write(&d, delta).unwrap();
    let mut out = Vec::new();
    apply(File::open(&o).unwrap(), &d, &mut out, len)?;
    Ok(out)
}

/// Builds a raw patch from records (mix bytes, extra bytes, seek).
fn raw_records(records: &[(&[u8], &[u8], i64)]) -> Vec<u8> {
    let offtout = |x: i64| {
        let mut v = x.unsigned_abs();
        if x < 0 {
            v |= 1 << 63;
        }
        v.to_le_bytes()
    };
    let mut raw = Vec::new();
    for (mix, extra, seek) in records {
        raw.extend_from_slice(&offtout(mix.len() as i64));
        raw.extend_from_slice(&offtout(extra.len() as i64));
        raw.extend_from_slice(&offtout(*seek));
        raw.extend_from_slice(mix);
        raw.extend_from_slice(extra);
    }
    raw
}

#[test]
fn rebuilds_what_the_reference_patch_rebuilds() {
    for (len, seed) in [
        (0usize, 1u32),
        (1, 2),
        (1000, 3),
        (200_000, 4),
        (1_100_000, 5),
    ] {
        let old = sample(len, seed);
        let new = edited(&old);
        let raw = raw_diff(&old, &new);
        let mut reference = Vec::new();
        bsdiff::patch(&old, &mut raw.as_slice(), &mut reference).unwrap();
        assert_eq!(reference, new);
        let delta = encode(&raw, new.len() as u64, 19).unwrap();
        assert_eq!(
            apply_bytes(&old, &delta, new.len() as u64).unwrap(),
            new,
            "len {len}"
        );
        if len >= 200_000 {
            assert!(
                delta.len() < new.len() / 10,
                "{} of {}",
                delta.len(),
                new.len()
            );
        }
    }
}

#[test]
fn agrees_with_the_reference_on_crafted_records() {
    let old = sample(10_000, 9);
    // Each case: the reference's verdict and ours must agree, byte for byte.
    let cases: Vec<Vec<u8>> = vec![
        raw_records(&[(&[1; 100], b"xyz", 50), (&[0; 10], b"", -160)]),
        raw_records(&[(&[0; 10_000], b"", 0)]),
        raw_records(&[(&[0; 10_001], b"", 0)]), // reads past the old file
        raw_records(&[(&[0; 10], b"", -11), (&[0; 1], b"", 0)]), // seeks before it
        raw_records(&[(&[0; 10], b"", 9_990), (&[], b"e", 0)]), // at the end, no read
        raw_records(&[(&[0; 10], b"", 9_991), (&[], b"e", 0)]), // past the end
        raw_records(&[(b"", b"only extra", i64::MAX)]),
    ];
    for (i, raw) in cases.iter().enumerate() {
        let mut reference = Vec::new();
        let expected = bsdiff::patch(&old, &mut raw.as_slice(), &mut reference).map(|()| reference);
        let new_len = match &expected {
            Ok(new) => new.len() as u64,
            Err(_) => raw_records_len(raw),
        };
        let delta = encode(raw, new_len, 3).unwrap();
        let ours = apply_bytes(&old, &delta, new_len);
        match (&expected, &ours) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "case {i}"),
            (Err(_), Err(DeltaError::Corrupt(_))) => {}
            _ => panic!("case {i}: reference {expected:?}, ours {ours:?}"),
        }
    }
}

/// The bytes a raw patch would make, by its records alone.
fn raw_records_len(raw: &[u8]) -> u64 {
    let mut rest = raw;
    let mut total = 0;
    while rest.len() >= 24 {
        let r = Record::parse(&rest[..24]).unwrap();
        total += r.mix_len + r.copy_len;
        rest = &rest[24 + (r.mix_len + r.copy_len) as usize..];
    }
    total
}

fn container(
    new_len: u64,
    control: &[u8],
    diff: &[u8],
    extra: &[u8],
    lens: Option<(u64, u64)>,
) -> Vec<u8> {
    let z = |d: &[u8]| compress(d, 3).unwrap();
    let (c, d, e) = (z(control), z(diff), z(extra));
    let (cl, dl) = lens.unwrap_or((c.len() as u64, d.len() as u64));
    let mut out = MAGIC.to_vec();
    for n in [new_len, cl, dl] {
        out.extend_from_slice(&n.to_le_bytes());
    }
    out.extend_from_slice(&c);
    out.extend_from_slice(&d);
    out.extend_from_slice(&e);
    out
}

fn control(records: &[(u64, u64, u64)]) -> Vec<u8> {
    records
        .iter()
        .flat_map(|(a, b, c)| [a.to_le_bytes(), b.to_le_bytes(), c.to_le_bytes()].concat())
        .collect()
}

#[test]
fn hostile_containers_are_refused() {
    let old = sample(1000, 1);
    let good = container(13, &control(&[(10, 3, 0)]), &[0; 10], b"abc", None);
    assert_eq!(
        apply_bytes(&old, &good, 13).unwrap(),
        [&old[..10], b"abc"].concat()
    );
    let refused = |delta: &[u8], len: u64, why: &str| {
        let result = apply_bytes(&old, delta, len);
        assert!(
            matches!(result, Err(DeltaError::Corrupt(_))),
            "{why}: {result:?}"
        );
    };
    refused(&good, 12, "declared length differs from the release's");
    refused(&good[..20], 13, "shorter than the header");
    let mut magic = good.clone();
    magic[0] = b'X';
    refused(&magic, 13, "wrong magic");
    refused(
        &container(
            13,
            &control(&[(10, 3, 0)]),
            &[0; 10],
            b"abc",
            Some((u64::MAX, 0)),
        ),
        13,
        "overflowing stream lengths",
    );
    refused(
        &container(
            13,
            &control(&[(10, 3, 0)]),
            &[0; 10],
            b"abc",
            Some((1 << 40, 5)),
        ),
        13,
        "streams past the end",
    );
    refused(
        &container(13, &control(&[(10, 4, 0)]), &[0; 10], b"abcd", None),
        13,
        "a record writes past the length",
    );
    refused(
        &container(13, &control(&[(10, 2, 0)]), &[0; 10], b"ab", None),
        13,
        "records make too few bytes",
    );
    refused(
        &container(13, &control(&[(10, 3, 0)]), &[0; 11], b"abc", None),
        13,
        "diff bytes left over",
    );
    refused(
        &container(13, &control(&[(10, 3, 0)]), &[0; 10], b"abcd", None),
        13,
        "extra bytes left over",
    );
    refused(
        &container(13, &control(&[(10, 3, 0)]), &[0; 9], b"abc", None),
        13,
        "diff stream ends early",
    );
    refused(
        &container(13, &control(&[(10, 3, 0)])[..20], &[0; 10], b"abc", None),
        13,
        "a partial record",
    );
    refused(
        &container(13, &control(&[(1 << 63 | 1, 3, 0)]), &[0; 10], b"abc", None),
        13,
        "a negative length",
    );
    refused(
        &container(13, &control(&[(0, 0, 0); 20]), b"", b"", None),
        13,
        "more records than bytes",
    );
    let mut garbage = good.clone();
    garbage.extend_from_slice(b"trailing");
    refused(&garbage, 13, "bytes after the extra stream");
    // A window larger than the limit is refused by the decoder.
    let mut encoder = zstd::stream::write::Encoder::new(Vec::new(), 1).unwrap();
    encoder.window_log(WINDOW_LOG + 2).unwrap();
    encoder.include_contentsize(false).unwrap();
    encoder.write_all(&vec![7u8; 1 << 20]).unwrap();
    let wide = encoder.finish().unwrap();
    let mut delta = container(1 << 20, &control(&[(0, 1 << 20, 0)]), b"", b"", None);
    delta.truncate(delta.len() - compress(b"", 3).unwrap().len());
    delta.extend_from_slice(&wide);
    refused(&delta, 1 << 20, "a window over the limit");
}

#[test]
fn encode_refuses_malformed_raw_patches() {
    let raw = raw_records(&[(&[0; 4], b"ab", 0)]);
    assert!(encode(&raw, 6, 3).is_ok());
    assert!(encode(&raw, 7, 3).is_err(), "wrong length");
    assert!(encode(&raw[..raw.len() - 1], 6, 3).is_err(), "cut short");
    assert!(encode(&raw[..10], 0, 3).is_err(), "partial record");
}

#[test]
fn offtin_reads_sign_magnitude() {
    assert_eq!(offtin(&5u64.to_le_bytes()), 5);
    assert_eq!(offtin(&(5u64 | 1 << 63).to_le_bytes()), -5);
    assert_eq!(offtin(&(1u64 << 63).to_le_bytes()), 0);
}

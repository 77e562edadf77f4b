//! Security tests of the trusted metadata set: one test per rule, each named for
//! what it proves, with real ed25519 signatures from [`RepoSim`]. Every rejection
//! test was checked by mutation: removing the rule it covers makes it fail.

use super::*;
use crate::metadata::format_expiry;
use crate::testing::*;
use time::Duration;

/// Asserts that `$result` is `Err` matching the pattern, printing what it got instead.
macro_rules! assert_rejects {
    ($result:expr, $pattern:pat $(if $guard:expr)? $(,)?) => {
        match $result {
            Err($pattern) $(if $guard)? => {}
            other => panic!("expected Err({}), got {:?}", stringify!($pattern), other),
        }
    };
}

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// The first signing key of `role`.
fn key<'a>(sim: &'a RepoSim, role: &str) -> &'a TestKey {
    &sim.signers[role][0]
}

/// An expiry one day before the reference time.
fn past() -> String {
    format_expiry(now() - Duration::days(1))
}

/// An expiry `days` after the reference time.
fn later(days: i64) -> String {
    format_expiry(now() + Duration::days(days))
}

/// A set trusting root version 1 of `sim`.
fn trusted(sim: &RepoSim) -> TrustedMetadata {
    TrustedMetadata::new(&sim.root_bytes(1).unwrap(), now()).unwrap()
}

/// [`trusted`], then the current timestamp of `sim`.
fn with_timestamp(sim: &RepoSim) -> TrustedMetadata {
    let mut t = trusted(sim);
    assert_eq!(
        t.update_timestamp(&sim.timestamp_bytes(), Origin::Repository)
            .unwrap(),
        TimestampUpdate::Updated
    );
    t
}

/// [`with_timestamp`], then the current snapshot of `sim`.
fn with_snapshot(sim: &RepoSim) -> TrustedMetadata {
    let mut t = with_timestamp(sim);
    t.update_snapshot(&sim.snapshot_bytes(), Origin::Repository)
        .unwrap();
    t
}

/// [`with_snapshot`], then the top-level targets of `sim`.
fn with_targets(sim: &RepoSim) -> TrustedMetadata {
    let mut t = with_snapshot(sim);
    load(&mut t, sim, "targets", ROOT_DELEGATOR).unwrap();
    t
}

/// Offers the current `role` metadata of `sim` from the repository, via `delegator`.
fn load(
    t: &mut TrustedMetadata,
    sim: &RepoSim,
    role: &str,
    delegator: &str,
) -> Result<(), TrustError> {
    t.update_targets(
        role,
        delegator,
        &sim.targets_bytes(role),
        Origin::Repository,
    )
}

/// Replaces the root key of `sim` with a new one and bumps root's version without
/// publishing it; returns the previous root key.
fn rotate_root_key(sim: &mut RepoSim) -> TestKey {
    let old = sim.signers.remove("root").unwrap().remove(0);
    sim.rotate_keys("root");
    sim.root.common.version += 1;
    old
}

/// `targets` delegates to `a` and `b`, each with its own key; snapshot v2 lists all.
fn sim_with_delegations() -> RepoSim {
    let mut sim = RepoSim::new();
    sim.add_delegation("targets", "a", &["a/*"], false);
    sim.add_delegation("targets", "b", &["b/*"], false);
    sim.publish_snapshot();
    sim
}

/// The diamond: `targets` delegates to `A` and `B`; `A` delegates `R` to key kA, `B`
/// delegates `R` to key kB. `R` is signed by kA only (`sim.signers["R"]`); kB is returned.
fn diamond() -> (RepoSim, TestKey) {
    let mut sim = RepoSim::new();
    sim.add_delegation("targets", "A", &["*"], false);
    sim.add_delegation("targets", "B", &["*"], false);
    sim.add_delegation("A", "R", &["*"], false);
    let ka = sim.signers.remove("R").unwrap();
    sim.add_delegation("B", "R", &["*"], false);
    let kb = sim.signers.insert("R".into(), ka).unwrap().remove(0);
    sim.publish_snapshot();
    (sim, kb)
}

/// Loads `targets`, `A` and `B` of a [`diamond`].
fn with_diamond_delegators(sim: &RepoSim) -> TrustedMetadata {
    let mut t = with_targets(sim);
    load(&mut t, sim, "A", "targets").unwrap();
    load(&mut t, sim, "B", "targets").unwrap();
    t
}

// The tests, by topic.
mod chains;
mod large_documents;
mod poisoning;
mod root;
mod targets;
mod thresholds;
mod timestamp_snapshot;

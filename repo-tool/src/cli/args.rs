//! The command line: `repo-tool`'s arguments and subcommands (clap), and the
//! parsers of argument values.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use time::OffsetDateTime;

/// The release engineer's tool for a TUF repository.
///
/// A release: `keygen` for each holder, `init` with their public keys, `add` targets,
/// `sign` (on each holder's machine, or `sign --detached` + `merge`), `publish`.
/// A cron job runs `timestamp` with the online key.
#[derive(Parser, Debug)]
#[command(name = "repo-tool", version, about, long_about = None)]
pub(crate) struct Cli {
    /// Name of an environment variable holding the passphrase of encrypted keys
    /// (otherwise it is asked for on the terminal; it is never taken from argv).
    #[arg(long, global = true, value_name = "VAR")]
    pub(crate) passphrase_env: Option<String>,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum KeyType {
    Ed25519,
    EcdsaP256,
}

#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    /// Create a key pair: PKCS#8 PEM private key (mode 0600) and KEY.pub (TUF public key JSON).
    Keygen {
        /// Where to write the private key; the public key goes to OUT.pub.
        #[arg(long)]
        out: PathBuf,
        /// Key type.
        #[arg(long = "type", value_enum, default_value = "ed25519")]
        key_type: KeyType,
        /// Encrypt the private key with a passphrase (see --passphrase-env).
        #[arg(long)]
        encrypt: bool,
        /// The role the key is for (root, targets, snapshot, timestamp, or a delegated
        /// role's name): only changes the advice printed on where to keep it.
        #[arg(long)]
        role: Option<String>,
    },
    /// Create a repository with staged (unsigned) root and targets version 1.
    Init {
        /// The repository directory.
        dir: PathBuf,
        /// Public key files of the root role (repeat).
        #[arg(long = "root-key", required = true)]
        root_keys: Vec<PathBuf>,
        /// How many root keys must sign.
        #[arg(long, default_value_t = 1)]
        root_threshold: u64,
        /// Public key files of the targets role (repeat).
        #[arg(long = "targets-key", required = true)]
        targets_keys: Vec<PathBuf>,
        /// How many targets keys must sign.
        #[arg(long, default_value_t = 1)]
        targets_threshold: u64,
        /// Public key file of the snapshot role (online key).
        #[arg(long = "snapshot-key", required = true)]
        snapshot_keys: Vec<PathBuf>,
        /// Public key file of the timestamp role (online key).
        #[arg(long = "timestamp-key", required = true)]
        timestamp_keys: Vec<PathBuf>,
        /// Days metadata stays valid, per role, e.g. `--expiry timestamp=1` (repeat).
        #[arg(long = "expiry", value_parser = parse_expiry)]
        expiries: Vec<(String, i64)>,
        /// Turn off version- and hash-prefixed file names.
        #[arg(long)]
        no_consistent_snapshot: bool,
        /// List only versions of targets metadata in the snapshot, not their length
        /// and hashes (smaller snapshots with very many bins; weaker against a
        /// stolen targets or bin key).
        #[arg(long)]
        no_snapshot_hashes: bool,
    },
    /// Add (or replace) target files in the staged metadata of the role responsible
    /// for them (its hash bin when targets delegates to hash bins, else targets).
    Add {
        /// The repository directory.
        dir: PathBuf,
        /// The files to publish.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The target path as clients ask for it (one file only; default: the file name).
        #[arg(long, conflicts_with = "prefix")]
        path: Option<String>,
        /// Prefix for the target paths of the files, e.g. `myapp/1.2.0/`.
        #[arg(long)]
        prefix: Option<String>,
        /// Add to this delegated role instead of the one chosen by routing.
        #[arg(long)]
        role: Option<String>,
        /// Custom JSON metadata, e.g. '{"version":"1.2.0","channel":"stable"}'.
        #[arg(long)]
        custom: Option<String>,
    },
    /// Stage a release of an application in the updater's convention: the file
    /// becomes target APP/VERSION/PLATFORM/NAME with an `updater` custom object.
    Release {
        /// The repository directory.
        dir: PathBuf,
        /// Application name (the first path segment of its targets).
        #[arg(long)]
        app: String,
        /// Release version (semver).
        #[arg(long)]
        version: String,
        /// Rust target triple the file runs on, e.g. x86_64-unknown-linux-gnu.
        #[arg(long)]
        platform: String,
        /// Channel to publish to (repeat for several; default stable).
        #[arg(long = "channel")]
        channels: Vec<String>,
        /// Skip staged-rollout waves.
        #[arg(long)]
        critical: bool,
        /// Installations older than this treat the release as critical.
        #[arg(long)]
        minimum_version: Option<String>,
        /// Release notes.
        #[arg(long)]
        notes: Option<String>,
        /// Release an application directory as a bundle: FILE is the directory
        /// (packed reproducibly) or a ready archive. Implied when FILE is a directory.
        #[arg(long)]
        bundle: bool,
        /// Archive format of a bundle: tar.zst (default), tar.gz or zip.
        #[arg(long, value_name = "FORMAT")]
        format: Option<String>,
        /// Compression level when packing a bundle (zstd 1-22, default 19; gzip and
        /// zip 0-9, default 9).
        #[arg(long)]
        level: Option<i32>,
        /// A path inside the application directory that belongs to the installation
        /// (user data, settings, caches): kept across updates and rollbacks. Repeat
        /// for several.
        #[arg(long = "preserve", value_name = "PATH")]
        preserve: Vec<String>,
        /// Make deltas from this many previous releases of the same app and
        /// platform (newest first) to this one; each is checked by applying it
        /// back. Single-file releases only. Default 0: none.
        #[arg(long, value_name = "N", default_value_t = 0)]
        deltas: usize,
        /// Delta format: auto (make each, keep the smallest), bsdiff-zstd or
        /// zstd-patch (files up to 24 MiB).
        #[arg(long, value_name = "FORMAT", default_value = "auto")]
        delta_format: String,
        /// The release file, or the application directory of a bundle.
        file: PathBuf,
    },
    /// Set the staged rollout of one release (the APP/rollout.json policy, listed in
    /// a short-expiry delegated role): waves, halt or resume.
    Rollout {
        /// The repository directory.
        dir: PathBuf,
        /// Application name.
        #[arg(long)]
        app: String,
        /// Release version (semver).
        #[arg(long)]
        version: String,
        /// A wave as START=PERCENT, START in RFC 3339 (repeat for several).
        #[arg(long = "wave")]
        waves: Vec<String>,
        /// Stop offering the release.
        #[arg(long, conflicts_with = "resume")]
        halt: bool,
        /// Clear a halt.
        #[arg(long)]
        resume: bool,
        /// The delegated role listing the policy.
        #[arg(long, default_value = "rollout")]
        role: String,
    },
    /// Remove a target from the staged targets metadata.
    Remove {
        /// The repository directory.
        dir: PathBuf,
        /// The target path.
        #[arg(long)]
        path: String,
    },
    /// Sign a staged role with one private key (or write a detached signature).
    Sign {
        /// The repository directory.
        dir: PathBuf,
        /// The role to sign (root, targets or a delegated role).
        #[arg(long, required_unless_present = "all")]
        role: Option<String>,
        /// Sign every staged role this key may sign (e.g. all hash bins).
        #[arg(long, conflicts_with_all = ["role", "detached"])]
        all: bool,
        /// The private key file.
        #[arg(long)]
        key: PathBuf,
        /// Write a detached signature to this file instead of changing the repository.
        #[arg(long)]
        detached: Option<PathBuf>,
    },
    /// Delegate target paths from targets to a new role, or to hash bins (TAP 15).
    Delegate {
        /// The repository directory.
        dir: PathBuf,
        /// Name of the delegated role.
        #[arg(long, required_unless_present = "hash_bins")]
        name: Option<String>,
        /// Path pattern the role is trusted for (repeat); `*` and `?` do not match `/`.
        #[arg(long = "path")]
        paths: Vec<String>,
        /// Hex prefix of SHA-256(target path) the role is trusted for (repeat).
        #[arg(long = "path-hash-prefix")]
        path_hash_prefixes: Vec<String>,
        /// Clients stop searching at this role even if it lacks the target.
        #[arg(long)]
        terminating: bool,
        /// Delegate every path to 2^BITS hash bins instead of a named role.
        #[arg(long, value_name = "BITS", conflicts_with_all = ["name", "paths", "path_hash_prefixes", "terminating"])]
        hash_bins: Option<u32>,
        /// Name prefix of the hash bins.
        #[arg(long, default_value = "bins")]
        name_prefix: String,
        /// Public key files of the delegated role(s) (repeat).
        #[arg(long = "key", required = true)]
        keys: Vec<PathBuf>,
        /// How many of the keys must sign.
        #[arg(long, default_value_t = 1)]
        threshold: u64,
        /// Metadata of the new role(s) expires this many hours after signing (for a
        /// rollout role, so a halt reaches clients within hours).
        #[arg(long, conflicts_with = "hash_bins")]
        expiry_hours: Option<i64>,
    },
    /// Merge detached signatures into the staged metadata (each is verified first).
    Merge {
        /// The repository directory.
        dir: PathBuf,
        /// Detached signature files.
        #[arg(required = true)]
        signatures: Vec<PathBuf>,
    },
    /// Attach a signature made by an external signer (HSM, KMS, openssl) over the
    /// bytes `canonical` printed; it is verified before it is merged.
    Attach {
        /// The repository directory.
        dir: PathBuf,
        /// The role signed.
        #[arg(long)]
        role: String,
        /// The key id of the signing key (as listed in the role).
        #[arg(long)]
        keyid: String,
        /// File with the signature: raw bytes, or hex text.
        #[arg(long)]
        signature: PathBuf,
    },
    /// Print the canonical bytes of a staged role: what an external signer (HSM, KMS) signs.
    Canonical {
        /// The repository directory.
        dir: PathBuf,
        /// The role.
        #[arg(long)]
        role: String,
    },
    /// Show every role's published version, expiry, and staged signatures.
    Status {
        /// The repository directory.
        dir: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Publish staged roles (thresholds must be met) with a new snapshot and timestamp.
    Publish {
        /// The repository directory.
        dir: PathBuf,
        /// Private key of the snapshot role.
        #[arg(long = "snapshot-key", required = true)]
        snapshot_keys: Vec<PathBuf>,
        /// Private key of the timestamp role.
        #[arg(long = "timestamp-key", required = true)]
        timestamp_keys: Vec<PathBuf>,
    },
    /// Refresh the timestamp (and the snapshot, with --snapshot-key), e.g. from cron.
    Timestamp {
        /// The repository directory.
        dir: PathBuf,
        /// Private key of the timestamp role.
        #[arg(long = "timestamp-key", required = true)]
        timestamp_keys: Vec<PathBuf>,
        /// Private key of the snapshot role: also re-sign the snapshot with a fresh expiry.
        #[arg(long = "snapshot-key")]
        snapshot_keys: Vec<PathBuf>,
    },
    /// Stage root N+1 with a role's keys or threshold changed; sign it with the old
    /// and the new root keys, then publish.
    Rotate {
        /// The repository directory.
        dir: PathBuf,
        /// The role whose keys change (root, targets, snapshot, timestamp).
        #[arg(long)]
        role: String,
        /// Public key file to add (repeat).
        #[arg(long = "add-key")]
        add_keys: Vec<PathBuf>,
        /// Key to remove: a key id or a public key file (repeat).
        #[arg(long = "remove-key")]
        remove_keys: Vec<String>,
        /// New threshold for the role.
        #[arg(long)]
        threshold: Option<u64>,
    },
    /// Check the published repository as a new client would; exit 1 if a client would
    /// refuse it, 3 if metadata expires within --warn-days, 0 otherwise.
    Verify {
        /// The repository directory (or a published tree).
        dir: PathBuf,
        /// Warn about metadata that expires within this many days.
        #[arg(long, default_value_t = 2)]
        warn_days: i64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Find code on the fly (inline interpreter code, download-and-execute without a
    /// check) in pipeline files: shell, PowerShell, batch, Makefiles, Dockerfiles,
    /// justfiles, package.json and the CI systems' files (GitHub Actions, GitLab CI,
    /// Azure Pipelines, CircleCI, Jenkinsfile, Bitbucket, Travis, Buildkite, Drone).
    /// Exit 0 clean, 1 findings at or above --fail-on, 2 errors.
    Audit(pipeline_guard::audit::cli::AuditArgs),
    /// Run a build command and watch every program executed in its process tree (Linux):
    /// code on the fly is reported with the chain of programs that ran it, or stopped
    /// before it runs with --enforce. Exit: the command's own status, 1 on findings at
    /// or above --fail-on.
    Watch(pipeline_guard::watch::WatchArgs),
    /// Print the man page or shell completions (see the README).
    #[command(subcommand)]
    Generate(cli_support::Generate),
    /// Serve a published repository over HTTP on loopback, for previews and tests.
    Serve {
        /// The repository directory (its published/ tree is served) or a published tree.
        dir: PathBuf,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
    },
}

fn parse_expiry(s: &str) -> Result<(String, i64), String> {
    let (role, days) = s.split_once('=').ok_or("expected ROLE=DAYS")?;
    let days: i64 = days
        .parse()
        .map_err(|_| format!("{days:?} is not a number of days"))?;
    if days <= 0 {
        return Err("days must be positive".into());
    }
    Ok((role.to_string(), days))
}

/// Parses `START=PERCENT` (START in RFC 3339).
pub(crate) fn parse_wave(text: &str) -> Result<updater::release::Wave> {
    let (start, percentage) = text
        .rsplit_once('=')
        .with_context(|| format!("--wave {text:?} must be START=PERCENT"))?;
    let start = OffsetDateTime::parse(start, &time::format_description::well_known::Rfc3339)
        .with_context(|| format!("--wave {text:?}: the start is not RFC 3339"))?;
    let percentage: f64 = percentage
        .parse()
        .with_context(|| format!("--wave {text:?}: the percentage is not a number"))?;
    Ok(updater::release::Wave { start, percentage })
}

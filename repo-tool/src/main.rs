//! `repo-tool`: keys, threshold signing and publishing for a TUF repository.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use repo_tool::keyfile::{read_private_key, read_public_key, write_key_pair};
use repo_tool::ops::{self, RoleSetup};
use repo_tool::project::{DetachedSignature, Project, Settings};
use repo_tool::release;
use repo_tool::signer::{FileKey, KeyKind, Signer};
use time::OffsetDateTime;

/// The release engineer's tool for a TUF repository.
///
/// A release: `keygen` for each holder, `init` with their public keys, `add` targets,
/// `sign` (on each holder's machine, or `sign --detached` + `merge`), `publish`.
/// A cron job runs `timestamp` with the online key.
#[derive(Parser, Debug)]
#[command(name = "repo-tool", version, about, long_about = None)]
struct Cli {
    /// Name of an environment variable holding the passphrase of encrypted keys
    /// (otherwise it is asked for on the terminal; it is never taken from argv).
    #[arg(long, global = true, value_name = "VAR")]
    passphrase_env: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum KeyType {
    Ed25519,
    EcdsaP256,
}

#[derive(Subcommand, Debug)]
enum Command {
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
        /// The release file.
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
    /// check) in pipeline files: shell, Makefiles, Dockerfiles, justfiles, GitHub
    /// Actions and GitLab CI. Exit 0 clean, 1 findings at or above --fail-on, 2 errors.
    Audit(repo_tool::audit::cli::AuditArgs),
    /// Run a build command and watch every program executed in its process tree (Linux):
    /// code on the fly is reported with the chain of programs that ran it, or stopped
    /// before it runs with --enforce. Exit: the command's own status, 1 on findings at
    /// or above --fail-on.
    Watch(repo_tool::watch::WatchArgs),
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

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    // audit has its own exit statuses (0 clean, 1 findings, 2 errors).
    if let Command::Audit(args) = &cli.command {
        return repo_tool::audit::cli::run(args);
    }
    // watch exits with the command's own status (or 1 on findings).
    if let Command::Watch(args) = &cli.command {
        return repo_tool::watch::run(args);
    }
    match run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", describe(&e));
            std::process::ExitCode::from(1)
        }
    }
}

/// Where passphrases come from: the variable named by --passphrase-env, else a
/// prompt on the terminal (no echo); never argv.
struct Passphrases {
    env: Option<String>,
}

impl Passphrases {
    fn get(&self, prompt: &str) -> std::result::Result<String, repo_tool::repository::RepoError> {
        use std::io::IsTerminal;
        let fail = |m: String| repo_tool::repository::RepoError::Invalid(m);
        if let Some(var) = &self.env {
            return std::env::var(var)
                .map_err(|_| fail(format!("environment variable {var} is not set")));
        }
        if !std::io::stdin().is_terminal() {
            return Err(fail(format!(
                "{prompt}: no terminal to ask on; use --passphrase-env VAR"
            )));
        }
        rpassword::prompt_password(format!("{prompt}: "))
            .map_err(|e| fail(format!("reading the passphrase: {e}")))
    }

    fn for_key(
        &self,
        path: &Path,
    ) -> std::result::Result<String, repo_tool::repository::RepoError> {
        self.get(&format!("passphrase for {}", path.display()))
    }

    fn new_passphrase(&self) -> Result<String> {
        let first = self.get("new passphrase")?;
        if first.len() < 8 {
            bail!("the passphrase must have at least 8 characters");
        }
        if self.env.is_none() && self.get("repeat the passphrase")? != first {
            bail!("the passphrases differ; nothing was written");
        }
        Ok(first)
    }
}

fn keys(paths: &[PathBuf], passphrases: &Passphrases) -> Result<Vec<FileKey>> {
    paths
        .iter()
        .map(|p| Ok(read_private_key(p, &|path| passphrases.for_key(path))?))
        .collect()
}

fn signers(keys: &[FileKey]) -> Vec<&dyn Signer> {
    keys.iter().map(|k| k as &dyn Signer).collect()
}

fn public_keys(paths: &[PathBuf]) -> Result<Vec<updater::metadata::Key>> {
    paths.iter().map(|p| Ok(read_public_key(p)?)).collect()
}

fn run(cli: Cli) -> Result<()> {
    let now = OffsetDateTime::now_utc();
    let passphrases = Passphrases {
        env: cli.passphrase_env.clone(),
    };
    match cli.command {
        Command::Keygen {
            out,
            key_type,
            encrypt,
        } => {
            let kind = match key_type {
                KeyType::Ed25519 => KeyKind::Ed25519,
                KeyType::EcdsaP256 => KeyKind::EcdsaP256,
            };
            let key = FileKey::generate(kind)?;
            let passphrase = encrypt.then(|| passphrases.new_passphrase()).transpose()?;
            let public = write_key_pair(&out, &key, passphrase.as_deref())?;
            println!("{}", key.key_id());
            eprintln!(
                "private key: {} (keep it offline), public key: {}",
                out.display(),
                public.display()
            );
        }
        Command::Init {
            dir,
            root_keys,
            root_threshold,
            targets_keys,
            targets_threshold,
            snapshot_keys,
            timestamp_keys,
            expiries,
            no_consistent_snapshot,
        } => {
            let mut settings = Settings {
                consistent_snapshot: !no_consistent_snapshot,
                ..Settings::default()
            };
            for (role, days) in expiries {
                settings.expiry_days.insert(role, days);
            }
            let roles = BTreeMap::from([
                (
                    "root".to_string(),
                    RoleSetup {
                        keys: public_keys(&root_keys)?,
                        threshold: root_threshold,
                    },
                ),
                (
                    "targets".to_string(),
                    RoleSetup {
                        keys: public_keys(&targets_keys)?,
                        threshold: targets_threshold,
                    },
                ),
                (
                    "snapshot".to_string(),
                    RoleSetup {
                        keys: public_keys(&snapshot_keys)?,
                        threshold: 1,
                    },
                ),
                (
                    "timestamp".to_string(),
                    RoleSetup {
                        keys: public_keys(&timestamp_keys)?,
                        threshold: 1,
                    },
                ),
            ]);
            ops::init(&dir, &roles, settings, now)?;
            eprintln!(
                "initialised {}: root and targets v1 are staged; sign them, then publish",
                dir.display()
            );
        }
        Command::Add {
            dir,
            files,
            path,
            prefix,
            role,
            custom,
        } => {
            let project = Project::open(&dir)?;
            if path.is_some() && files.len() > 1 {
                bail!("--path names one target; use --prefix for several files");
            }
            let custom = custom
                .map(|c| {
                    serde_json::from_str::<serde_json::Value>(&c)
                        .context("--custom is not valid JSON")
                })
                .transpose()?;
            let mut new = Vec::new();
            for file in &files {
                let content =
                    std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
                let name = file
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .context("a file has no name")?;
                let target_path = match &path {
                    Some(p) => p.clone(),
                    None => format!("{}{name}", prefix.as_deref().unwrap_or("")),
                };
                new.push(ops::NewTarget {
                    path: target_path,
                    content,
                    custom: custom.clone(),
                });
            }
            let paths: Vec<String> = new.iter().map(|t| t.path.clone()).collect();
            let added = ops::add_targets(&project, new, role.as_deref(), now)?;
            for (target, (role, info)) in paths.iter().zip(&added) {
                eprintln!(
                    "staged {target} in {role}: {} bytes, sha256 {}",
                    info.length, info.hashes["sha256"]
                );
            }
        }
        Command::Release {
            dir,
            app,
            version,
            platform,
            channels,
            critical,
            minimum_version,
            notes,
            file,
        } => {
            let project = Project::open(&dir)?;
            let content =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let name = file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .context("the release file has no name")?;
            let info = updater::release::ReleaseInfo {
                app,
                version: semver::Version::parse(&version)
                    .with_context(|| format!("--version {version:?} is not semver"))?,
                platform,
                channels,
                critical,
                minimum_version: minimum_version
                    .map(|v| semver::Version::parse(&v))
                    .transpose()
                    .context("--minimum-version is not semver")?,
                notes,
                post_install: None,
            };
            let path = release::add_release(&project, &info, &name, &content, now)?;
            eprintln!("staged release {path} ({} bytes)", content.len());
        }
        Command::Rollout {
            dir,
            app,
            version,
            waves,
            halt,
            resume,
            role,
        } => {
            let project = Project::open(&dir)?;
            let version = semver::Version::parse(&version)
                .with_context(|| format!("--version {version:?} is not semver"))?;
            let mut plan = release::current_rollout(&project, &role, &app)?
                .releases
                .remove(&version)
                .unwrap_or_default();
            if !waves.is_empty() {
                plan.waves = waves.iter().map(|w| parse_wave(w)).collect::<Result<_>>()?;
            }
            if halt {
                plan.halted = true;
            }
            if resume {
                plan.halted = false;
            }
            release::set_rollout(&project, &role, &app, &version, plan.clone(), now)?;
            eprintln!(
                "staged the rollout of {app} {version} in {role}: {}",
                if plan.halted {
                    "halted".to_string()
                } else {
                    format!("{} wave(s)", plan.waves.len())
                }
            );
        }
        Command::Remove { dir, path } => {
            ops::remove_target(&Project::open(&dir)?, &path, now)?;
            eprintln!("staged removal of {path}");
        }
        Command::Sign {
            dir,
            role,
            all,
            key,
            detached,
        } => {
            let project = Project::open(&dir)?;
            let key = read_private_key(&key, &|path| passphrases.for_key(path))?;
            if all {
                let roles = ops::sign_all(&project, &key)?;
                eprintln!("signed {} role(s) with {}", roles.len(), key.key_id());
                return Ok(());
            }
            let role = role.context("--role is required without --all")?;
            match detached {
                Some(out) => {
                    let sig = ops::sign_detached(&project, &role, &key)?;
                    let mut json = serde_json::to_vec_pretty(&sig)?;
                    json.push(b'\n');
                    updater::store::write_atomic(&out, &json)
                        .with_context(|| format!("writing {}", out.display()))?;
                    eprintln!(
                        "detached signature of {role} v{} by {} written to {}",
                        sig.version,
                        key.key_id(),
                        out.display()
                    );
                }
                None => {
                    ops::sign(&project, &role, &key)?;
                    eprintln!("signed {role} with {}", key.key_id());
                }
            }
        }
        Command::Delegate {
            dir,
            name,
            paths,
            path_hash_prefixes,
            terminating,
            hash_bins,
            name_prefix,
            keys,
            threshold,
            expiry_hours,
        } => {
            let mut project = Project::open(&dir)?;
            if let Some(hours) = expiry_hours {
                if hours <= 0 {
                    bail!("--expiry-hours must be positive");
                }
                // In memory only, so the new role is staged with it; saved below once
                // the delegation succeeded (a refused one changes nothing).
                if let Some(role) = &name {
                    project.settings.expiry_hours.insert(role.clone(), hours);
                }
            }
            let delegation = match hash_bins {
                Some(bits) => repo_tool::delegate::Delegation::HashBins {
                    bits,
                    prefix: name_prefix,
                },
                None => repo_tool::delegate::Delegation::Role {
                    name: name.context("--name is required")?,
                    paths,
                    path_hash_prefixes,
                    terminating,
                },
            };
            let created = repo_tool::delegate::delegate(
                &project,
                &delegation,
                &public_keys(&keys)?,
                threshold,
                now,
            )?;
            if expiry_hours.is_some() {
                let settings = project.settings.clone();
                project.save_settings(settings)?;
            }
            eprintln!(
                "targets now delegates to {} role(s) ({}); sign targets and the new roles, then publish",
                created.len(),
                created.first().map_or("", String::as_str)
            );
        }
        Command::Merge { dir, signatures } => {
            let project = Project::open(&dir)?;
            // Check every file before merging any, so a bad one changes nothing.
            let parsed: Vec<DetachedSignature> = signatures
                .iter()
                .map(|p| {
                    let bytes =
                        std::fs::read(p).with_context(|| format!("reading {}", p.display()))?;
                    serde_json::from_slice(&bytes)
                        .with_context(|| format!("{} is not a detached signature", p.display()))
                })
                .collect::<Result<_>>()?;
            for (sig, path) in parsed.iter().zip(&signatures) {
                ops::merge(&project, sig).with_context(|| format!("merging {}", path.display()))?;
                eprintln!("merged {} signature by {}", sig.role, sig.signature.keyid);
            }
        }
        Command::Attach {
            dir,
            role,
            keyid,
            signature,
        } => {
            let project = Project::open(&dir)?;
            let bytes = std::fs::read(&signature)
                .with_context(|| format!("reading {}", signature.display()))?;
            let text = String::from_utf8_lossy(&bytes);
            let raw = match hex::decode(text.trim()) {
                Ok(decoded) if !decoded.is_empty() => decoded,
                _ => bytes.clone(),
            };
            let detached = ops::external_signature(&project, &role, &keyid, &raw)?;
            ops::merge(&project, &detached)?;
            eprintln!("attached and verified the {role} signature by {keyid}");
        }
        Command::Canonical { dir, role } => {
            use std::io::Write;
            let bytes = ops::canonical(&Project::open(&dir)?, &role)?;
            std::io::stdout().write_all(&bytes)?;
        }
        Command::Status { dir, json } => status(&dir, json)?,
        Command::Publish {
            dir,
            snapshot_keys,
            timestamp_keys,
        } => {
            let project = Project::open(&dir)?;
            let (s, t) = (
                keys(&snapshot_keys, &passphrases)?,
                keys(&timestamp_keys, &passphrases)?,
            );
            repo_tool::publish::publish(&project, &signers(&s), &signers(&t), now)?;
            eprintln!("published to {}", project.dir().join("published").display());
        }
        Command::Timestamp {
            dir,
            timestamp_keys,
            snapshot_keys,
        } => {
            let project = Project::open(&dir)?;
            let (s, t) = (
                keys(&snapshot_keys, &passphrases)?,
                keys(&timestamp_keys, &passphrases)?,
            );
            let snapshot_signers = signers(&s);
            let snapshot = (!snapshot_signers.is_empty()).then_some(snapshot_signers.as_slice());
            repo_tool::publish::refresh_timestamp(&project, snapshot, &signers(&t), now)?;
            eprintln!("timestamp refreshed");
        }
        Command::Rotate {
            dir,
            role,
            add_keys,
            remove_keys,
            threshold,
        } => {
            let project = Project::open(&dir)?;
            let remove = remove_keys
                .iter()
                .map(|k| {
                    let path = Path::new(k);
                    if path.exists() {
                        Ok(read_public_key(path)?.key_id()?)
                    } else {
                        Ok(k.clone())
                    }
                })
                .collect::<Result<Vec<_>>>()?;
            let rotation = repo_tool::rotate::Rotation {
                role: role.clone(),
                add: public_keys(&add_keys)?,
                remove,
                threshold,
            };
            let root = repo_tool::rotate::rotate(&project, &rotation, now)?;
            eprintln!(
                "staged root v{} with new {role} keys; sign it with the previous root's keys and the new ones, then publish",
                root.common.version
            );
        }
        Command::Verify {
            dir,
            warn_days,
            json,
        } => return verify(&dir, warn_days, json, now),
        Command::Audit(_) => unreachable!("audit is handled in main"),
        Command::Watch(_) => unreachable!("watch is handled in main"),
        Command::Serve { dir, listen } => {
            let served = if dir.join(Project::SETTINGS).exists() {
                dir.join("published")
            } else {
                dir
            };
            let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
            runtime.block_on(async {
                let server = repo_tool::serve::StaticServer::start(&served, listen)
                    .await
                    .with_context(|| format!("listening on {listen}"))?;
                println!("serving {} at {}", served.display(), server.base_url());
                tokio::signal::ctrl_c()
                    .await
                    .context("waiting for Ctrl-C")?;
                Ok::<(), anyhow::Error>(())
            })?;
        }
    }
    Ok(())
}

fn verify(dir: &Path, warn_days: i64, json: bool, now: OffsetDateTime) -> Result<()> {
    let published = if dir.join(Project::SETTINGS).exists() {
        dir.join("published")
    } else {
        dir.to_path_buf()
    };
    let published = std::path::absolute(&published)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let report = runtime
        .block_on(repo_tool::verify::verify(
            &published,
            now,
            time::Duration::days(warn_days),
        ))
        .map_err(|e| anyhow::anyhow!("a client would refuse this repository: {e}"))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        for (role, version, expires) in &report.roles {
            println!("{role:<10} v{version:<6} expires {expires}");
        }
        println!(
            "{} target(s) match their length and hashes",
            report.targets_checked
        );
    }
    if !report.expiring_soon.is_empty() {
        eprintln!(
            "warning: {} expire(s) within {warn_days} day(s); refresh with `repo-tool timestamp` or re-sign",
            report.expiring_soon.join(", ")
        );
        std::process::exit(3);
    }
    Ok(())
}

fn status(dir: &Path, json: bool) -> Result<()> {
    let project = Project::open(dir)?;
    let rows = ops::status(&project)?;
    let blocked = rows
        .iter()
        .any(|r| r.signatures.iter().any(|c| c.valid < c.threshold));
    if json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        println!(
            "{:<10} {:>9}  {:<22} {:>7}  signatures",
            "role", "published", "expires", "staged"
        );
        // Many delegated roles (hash bins) are summarised rather than listed.
        let delegated = rows.len().saturating_sub(4);
        let shown = if delegated > 10 {
            &rows[..4]
        } else {
            &rows[..]
        };
        if delegated > 10 {
            let ready = rows[4..]
                .iter()
                .filter(|r| r.signatures.iter().all(|c| c.valid >= c.threshold))
                .count();
            println!("{delegated} delegated role(s) staged: {ready} fully signed");
        }
        for row in shown {
            let (version, expires) = row
                .published
                .clone()
                .map_or(("-".to_string(), "-".to_string()), |(v, e)| {
                    (v.to_string(), e)
                });
            let staged = row.staged.map_or("-".to_string(), |v| v.to_string());
            let sigs: Vec<String> = row
                .signatures
                .iter()
                .map(|c| format!("{}/{} ({})", c.valid, c.threshold, c.who))
                .collect();
            println!(
                "{:<10} {:>9}  {:<22} {:>7}  {}",
                row.role,
                version,
                expires,
                staged,
                sigs.join(", ")
            );
        }
    }
    if blocked {
        bail!("staged metadata lacks signatures; publishing would be refused");
    }
    Ok(())
}

/// Parses `START=PERCENT` (START in RFC 3339).
fn parse_wave(text: &str) -> Result<updater::release::Wave> {
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

/// The error and its causes on one line, leaving out causes whose text the message
/// already includes.
fn describe(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&cause);
        }
    }
    text
}

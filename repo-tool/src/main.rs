//! `repo-tool`: keys, threshold signing and publishing for a TUF repository.

mod cli;

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context, Result};
use clap::Parser;
use cli::args::{parse_wave, Cli, Command, KeyType};
use cli::keys::{keys, public_keys, signers, Passphrases};
use cli::report::{status, verify};
use repo_tool::keyfile::{read_private_key, read_public_key, write_key_pair};
use repo_tool::ops::{self, RoleSetup};
use repo_tool::project::{DetachedSignature, Project, Settings};
use repo_tool::release;
use repo_tool::signer::{FileKey, KeyKind, Signer};
use time::OffsetDateTime;

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    // audit has its own exit statuses (0 clean, 1 findings, 2 errors).
    if let Command::Audit(args) = &cli.command {
        return pipeline_guard::audit::cli::run(args);
    }
    // watch exits with the command's own status (or 1 on findings).
    if let Command::Watch(args) = &cli.command {
        return pipeline_guard::watch::run(args);
    }
    match run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", cli_support::describe(&e));
            std::process::ExitCode::from(1)
        }
    }
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
            role,
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
                "private key: {}, public key: {}\n{}",
                out.display(),
                public.display(),
                key_advice(role.as_deref())
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
            no_snapshot_hashes,
        } => {
            let mut settings = Settings {
                consistent_snapshot: !no_consistent_snapshot,
                snapshot_hashes: !no_snapshot_hashes,
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
            release::check_plain_targets(
                &project,
                new.iter().map(|t| (t.path.as_str(), t.custom.as_ref())),
            )?;
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
            bundle,
            format,
            level,
            preserve,
            deltas,
            delta_format,
            file,
        } => {
            let project = Project::open(&dir)?;
            let (name, content, bundle) = if bundle || file.is_dir() || format.is_some() {
                let format = format
                    .map(|f| updater::bundle::ArchiveFormat::from_name(&f))
                    .transpose()
                    .map_err(anyhow::Error::msg)?;
                let prepared = repo_tool::bundle::prepare_bundle(&file, format, level, preserve)?;
                eprintln!(
                    "bundle {}: {} entries, {} bytes unpacked, {} as {}",
                    file.display(),
                    prepared.spec.entries,
                    prepared.spec.unpacked_size,
                    prepared.content.len(),
                    prepared.spec.format
                );
                (prepared.file_name, prepared.content, Some(prepared.spec))
            } else {
                if !preserve.is_empty() || level.is_some() {
                    anyhow::bail!("--preserve and --level are for bundles; add --bundle");
                }
                let content =
                    std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
                let name = file
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .context("the release file has no name")?;
                (name, content, None)
            };
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
                bundle,
                deltas: Vec::new(),
            };
            if deltas > 0 && info.bundle.is_some() {
                anyhow::bail!("--deltas is for single-file releases; bundles have no deltas yet");
            }
            let options = repo_tool::delta::DeltaOptions {
                previous: deltas,
                format: delta_format.parse().map_err(anyhow::Error::msg)?,
                ..Default::default()
            };
            let (path, made) = repo_tool::delta::add_release_with_deltas(
                &project, &info, &name, &content, options, now,
            )?;
            for delta in &made {
                eprintln!(
                    "delta from {} ({}): {} bytes, {:.1}% of the release",
                    delta.from_version,
                    delta.spec.format,
                    delta.target.content.len(),
                    100.0 * delta.target.content.len() as f64 / content.len().max(1) as f64
                );
            }
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
            release::remove_release(&Project::open(&dir)?, &path, now)?;
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
        Command::Generate(what) => cli_support::generate::<Cli>(&what, "repo-tool")
            .context("writing to standard output")?,
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

/// Where a new key of `role` belongs: offline for the roles that vouch for releases,
/// on the publishing machine for the online roles that only keep clients fresh.
fn key_advice(role: Option<&str>) -> &'static str {
    // Top-level names in any case: `--role Root` is root's key, not a delegated one.
    let role = role.map(str::to_ascii_lowercase);
    match role.as_deref() {
        Some("root") => {
            "root key: keep it offline (an air-gapped machine, a hardware token or a safe); it is needed only to sign a new root, and several holders with a threshold protect it best"
        }
        Some("targets") => {
            "targets key: keep it offline, or with the release engineers who approve releases; it signs what clients install"
        }
        Some("snapshot") | Some("timestamp") => {
            "online key: it lives on the machine that publishes (the cron job refreshing the timestamp needs it); protect that machine and encrypt the key, and rotate it with `repo-tool rotate` if it leaks; it cannot make clients install anything on its own"
        }
        Some(_) => {
            "delegated role key: keep it with the people or the service that role stands for; it signs only the paths delegated to it"
        }
        None => {
            "root and targets keys belong offline; snapshot and timestamp keys are online keys for the publishing machine (pass --role ROLE for advice on this key)"
        }
    }
}

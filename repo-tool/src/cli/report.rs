//! The commands that report on a repository: `verify` and `status`.

use std::path::Path;

use anyhow::{bail, Result};
use repo_tool::ops;
use repo_tool::project::Project;
use time::OffsetDateTime;

pub(crate) fn verify(dir: &Path, warn_days: i64, json: bool, now: OffsetDateTime) -> Result<()> {
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

pub(crate) fn status(dir: &Path, json: bool) -> Result<()> {
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

//! `pipeline-guard`: `audit` pipeline files before a build, `watch` a build as it runs.

use clap::{Parser, Subcommand};

/// Find code on the fly and unverified download-and-execute in release pipelines.
#[derive(Parser, Debug)]
#[command(name = "pipeline-guard", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
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
}

fn main() -> std::process::ExitCode {
    match Cli::parse().command {
        Command::Audit(args) => pipeline_guard::audit::cli::run(&args),
        Command::Watch(args) => pipeline_guard::watch::run(&args),
        Command::Generate(what) => match cli_support::generate::<Cli>(&what, "pipeline-guard") {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: writing to standard output: {e}");
                std::process::ExitCode::from(2)
            }
        },
    }
}

//! `pipeline-guard`: `audit` pipeline files before a build, `watch` a build as it runs.

use clap::{Parser, Subcommand};

/// Find code on the fly and unverified download-and-execute in release pipelines.
#[derive(Parser, Debug)]
#[command(name = "pipeline-guard", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// What `generate` writes to standard output.
#[derive(Subcommand, Debug, Clone)]
enum Generate {
    /// The man page (roff): `generate man > NAME.1`.
    Man,
    /// Shell completions: `generate completions bash > /etc/bash_completion.d/NAME`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Find code on the fly (inline interpreter code, download-and-execute without a
    /// check) in pipeline files: shell, Makefiles, Dockerfiles, justfiles, GitHub
    /// Actions and GitLab CI. Exit 0 clean, 1 findings at or above --fail-on, 2 errors.
    Audit(pipeline_guard::audit::cli::AuditArgs),
    /// Run a build command and watch every program executed in its process tree (Linux):
    /// code on the fly is reported with the chain of programs that ran it, or stopped
    /// before it runs with --enforce. Exit: the command's own status, 1 on findings at
    /// or above --fail-on.
    Watch(pipeline_guard::watch::WatchArgs),
    /// Print the man page or shell completions (see the README).
    #[command(subcommand)]
    Generate(Generate),
}

fn main() -> std::process::ExitCode {
    match Cli::parse().command {
        Command::Audit(args) => pipeline_guard::audit::cli::run(&args),
        Command::Watch(args) => pipeline_guard::watch::run(&args),
        Command::Generate(what) => match generate(&what) {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: writing to standard output: {e}");
                std::process::ExitCode::from(2)
            }
        },
    }
}

/// Writes the man page or the completions of `pipeline-guard` to standard output, from the
/// same clap definitions the program parses with.
fn generate(what: &Generate) -> std::io::Result<()> {
    use clap::CommandFactory;
    let mut command = Cli::command();
    let mut out = std::io::stdout();
    match what {
        Generate::Man => clap_mangen::Man::new(command).render(&mut out),
        Generate::Completions { shell } => {
            clap_complete::generate(*shell, &mut command, "pipeline-guard", &mut out);
            Ok(())
        }
    }
}

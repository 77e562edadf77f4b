//! What the workspace's command-line tools (`updater-cli`, `repo-tool`,
//! `pipeline-guard`, `updater-demo`) share, so that they behave alike: `generate man`
//! and `generate completions SHELL`, errors printed as one line with their causes,
//! colour only for a person at a terminal, and download progress bars.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::io::IsTerminal;

use clap::Subcommand;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// What `generate` writes to standard output.
#[derive(Subcommand, Debug, Clone)]
pub enum Generate {
    /// The man page (roff): `generate man > NAME.1`.
    Man,
    /// Shell completions: `generate completions bash > /etc/bash_completion.d/NAME`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// Writes the man page or the completions of the program `C` (named `name`) to
/// standard output, from the same clap definitions it parses its arguments with. A
/// reader that stops early (`| head`) is not an error.
///
/// # Errors
/// When standard output cannot be written.
pub fn generate<C: clap::CommandFactory>(what: &Generate, name: &str) -> std::io::Result<()> {
    let mut command = C::command();
    let mut out = std::io::stdout();
    let written = match what {
        Generate::Man => clap_mangen::Man::new(command).render(&mut out),
        Generate::Completions { shell } => {
            clap_complete::generate(*shell, &mut command, name, &mut out);
            Ok(())
        }
    };
    match written {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// `println!` for a command's output: when the reader has gone away (`| head`) the
/// program ends quietly with status 0 instead of panicking; any other failure to
/// write ends it with an error and status 1.
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = writeln!(std::io::stdout().lock(), $($arg)*) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                std::process::exit(0);
            }
            eprintln!("error: writing to standard output: {e}");
            std::process::exit(1);
        }
    }};
}

/// The error and its causes on one line, leaving out causes whose text the message
/// already includes (the library's errors name their cause themselves).
pub fn describe(error: &anyhow::Error) -> String {
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

/// True when stderr may carry colour: it is a terminal, and `NO_COLOR` is unset or
/// empty (no-color.org). Never for a pipe or a file (CI logs, captured output).
pub fn colour_on_stderr() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Logs to stderr through `tracing`, filtered by `RUST_LOG` or else by
/// `default_filter`, without targets, and in colour only when
/// [`colour_on_stderr`] says so.
pub fn init_logging(default_filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colour_on_stderr())
        .with_target(false)
        .init();
}

/// A progress bar for downloading `name` of `length` bytes, hidden unless stderr is a
/// terminal (logs and scripts stay clean).
pub fn bar_for(name: &str, length: u64) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(length), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template(
        "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ");
    bar.set_style(style);
    bar.set_message(name.to_string());
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_already_in_the_message_are_not_repeated() {
        let inner = anyhow::anyhow!("disk full");
        let e = inner
            .context("writing /x: disk full")
            .context("saving state");
        assert_eq!(describe(&e), "saving state: writing /x: disk full");
    }
}

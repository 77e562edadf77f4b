//! `updater-demo`: the whole loop on a built-in local setup, with no input: keys, a
//! repository signed with repo-tool's engine and served over HTTPS on loopback, an
//! application installed at version 1 that updates itself to version 2 through the
//! `updater` library, and a tampered release refused.
//!
//! The same executable, copied as `demo-app`, is the demo's application (see
//! `demo_app`): it is a real program that links the library and replaces itself.

mod demo;
mod demo_app;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

fn main() -> ExitCode {
    if invoked_as_demo_app() {
        return run_demo_app();
    }
    if std::env::args().len() > 1 {
        eprintln!(
            "usage: updater-demo (no arguments; RUST_LOG=updater=info for the library's log)"
        );
        return ExitCode::from(2);
    }
    init_logging();
    let outcome = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
        .and_then(|rt| rt.block_on(demo::run()));
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", cli_support::describe(&e));
            ExitCode::from(1)
        }
    }
}

/// True when this executable was installed as the demo's example application.
fn invoked_as_demo_app() -> bool {
    std::env::args_os()
        .next()
        .map(PathBuf::from)
        .and_then(|p| p.file_name().map(|n| n == demo_app::APP))
        .unwrap_or(false)
}

fn run_demo_app() -> ExitCode {
    init_logging();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let outcome = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
        .and_then(|rt| rt.block_on(demo_app::run(&args)));
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            println!("demo-app: error: {}", cli_support::describe(&e));
            ExitCode::from(1)
        }
    }
}

/// The demo prints its own narrative: only the library's warnings unless RUST_LOG
/// asks for more; colour only on a terminal, never with NO_COLOR.
fn init_logging() {
    cli_support::init_logging("warn");
}

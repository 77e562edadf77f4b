//! The parts of the `repo-tool` binary besides its entry point and the dispatch of
//! subcommands (in `main.rs`).

pub(crate) mod args;
pub(crate) mod keys;
pub(crate) mod report;

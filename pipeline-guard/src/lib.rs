//! # pipeline-guard: code on the fly and unverified downloads in release pipelines
//!
//! A program that downloads code and runs it without checking where it came from
//! (CWE-494), or that runs code handed to it on the command line (`python -c`,
//! `sh -c "$(curl …)"`), gives whoever controls the server, the DNS or the wire a way
//! into every build it runs in. This crate finds them:
//!
//! - [`detect`]: the detector. Pure: an argv or shell text in, [`detect::Finding`]s
//!   out; no IO. Always built; it is all that `updater` uses (to refuse a
//!   post-install hook whose command line runs inline code).
//! - `audit` (feature `audit`): pipeline files (shell, PowerShell and batch scripts,
//!   Makefiles, Dockerfiles, justfiles, `package.json`, and the files of nine CI
//!   systems) scanned before a build, with an allow-list and text, JSON or SARIF
//!   reports.
//! - `watch` (feature `watch`, Linux): a build command run under ptrace, with every
//!   program executed anywhere in its process tree passed through the detector as
//!   it starts; `--enforce` kills an offender before its first instruction.
//!
//! The `pipeline-guard` binary offers `audit` and `watch`; `repo-tool audit` and
//! `repo-tool watch` are the same commands for release engineers who already have
//! repo-tool.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod detect;

#[cfg(feature = "audit")]
pub mod audit;

#[cfg(feature = "watch")]
pub mod watch;

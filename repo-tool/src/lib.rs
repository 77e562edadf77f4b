//! # repo-tool: the release engineer's side of a TUF repository
//!
//! Keys and signing ([`signer`]: the [`signer::Signer`] trait and PKCS#8 file keys;
//! [`keyfile`]), the on-disk release flow ([`project`] and [`ops`]: stage, sign by
//! several holders, merge, publish; one engine for every command, test and
//! benchmark), errors ([`error`]), a throwaway repository with every key in memory for demos,
//! tests and benchmarks ([`sandbox`]), and a loopback static server for previews
//! ([`serve`]).
//!
//! Metadata types, canonical JSON and verification are shared with the `updater`
//! client crate, so what this tool signs is checked by exactly the code that clients run.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod bundle;
pub mod delegate;
pub mod delta;
pub mod error;
pub mod keyfile;
pub mod ops;
pub mod project;
pub mod publish;
pub mod release;
pub mod rotate;
pub mod sandbox;
pub mod serve;
pub mod signer;
pub mod target_files;
pub mod verify;

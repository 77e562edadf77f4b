//! # updater: signed auto-updates on The Update Framework
//!
//! `updater` keeps trusted [TUF](https://theupdateframework.io) metadata (root,
//! timestamp, snapshot, targets and delegations; specification 1.0.x), finds the
//! target a program asks for, downloads it and verifies every byte against
//! threshold-signed metadata before anything else may see it.
//!
//! ## Threat model
//!
//! Anyone may control the repository's server, its mirrors, DNS or the network in
//! between (CWE-494). They may serve old metadata (rollback), withhold new metadata
//! (freeze), combine files from different releases (mix-and-match), send endless or
//! very slow responses, or hold some, but fewer than a threshold of, signing keys.
//! The client refuses all of these; what it installs is only ever what a threshold of
//! the repository's keys signed, and never older than what it trusted before.
//!
//! ## Design: data flows one way
//!
//! ```text
//!  fetch (bytes, bounded)  ->  trust (verify, decide)  ->  store (persist trusted state)
//!                                    |
//!                                    v
//!                    client: delegation search  ->  download target (stream, hash)
//!                                                              |
//!                                                              v
//!                              release selection  ->  install (stage, swap, confirm/rollback)
//! ```
//!
//! - [`metadata`]: the data model, canonical JSON and signature verification. Pure.
//! - [`trust`]: the trusted metadata set, a pure state machine; every security
//!   decision about metadata is made there.
//! - [`integrity`]: the length-and-hashes check for payloads and referenced metadata.
//! - [`fetch`]: bounded transports (`https://`, `http://` when allowed, `file://`).
//! - [`store`]: atomic, durable persistence of trusted metadata.
//! - [`client`]: the workflow of specification section 5 over the parts above.
//! - [`release`]: which verified target is the next release for this installation
//!   (channels, platforms, staged rollouts, downgrade rules). Pure.
//! - [`install`]: stage, re-check, swap atomically, journal, confirm or roll back.
//! - [`update`]: the [`Updater`] facade an application calls (async), and
//!   [`blocking::Updater`] for programs without a runtime.
//!
//! Rule of the house: no byte from the network reaches the store, a target path, or
//! an executable bit before [`trust`] (for metadata) or the length and hashes (for
//! payloads) have accepted it.
//!
//! ## Cargo features
//!
//! Both on by default; each only adds code, and CI builds and tests every combination.
//!
//! - `http`: the built-in transport (`fetch::DefaultFetcher`: https on hyper and
//!   rustls with the ring provider, proxies, redirects). Without it, give the client
//!   your own [`fetch::Fetcher`]; [`fetch::FileFetcher`] is always there.
//! - `self-update`: releases, install and rollback, and the `Updater` facade. A
//!   program that only verifies downloads uses [`Client`] with
//!   `default-features = false` (93 crates in its tree instead of 140).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "self-update")]
pub mod blocking;
#[cfg(feature = "self-update")]
pub mod bundle;
pub mod client;
#[cfg(feature = "self-update")]
pub mod delta;
pub mod error;
pub mod fetch;
#[cfg(feature = "self-update")]
pub mod install;
pub mod integrity;
pub mod metadata;
pub mod names;
#[cfg(feature = "self-update")]
pub mod release;
pub mod store;
pub mod trust;
#[cfg(feature = "self-update")]
pub mod update;
mod writeback;

#[cfg(test)]
pub(crate) mod testing;

pub use client::{Client, ClientConfig, Limits};
pub use error::Error;
#[cfg(feature = "self-update")]
pub use update::{Updater, UpdaterBuilder};

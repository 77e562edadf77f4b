//! The TUF 1.0.x data model: root, timestamp, snapshot, targets and delegations.
//!
//! This module is pure: it parses bytes, computes canonical forms and checks
//! signatures, but it never decides whether metadata is *trusted*. That decision
//! belongs to [`crate::trust`].
//!
//! Every struct keeps fields it does not know in an `unrecognized` map, so that
//! metadata written by other implementations (custom fields, future spec
//! additions) round-trips unchanged and signatures over it still verify.

mod canonical;
mod delegation;
mod expiry;
mod hashes;
mod keys;
mod sorted_map;
mod strict_value;

pub use canonical::{canonical_bytes, canonical_json, canonical_value_bytes, is_canonical};
pub use delegation::{
    is_top_level_name, path_matches_pattern, DelegatedRole, Delegations, RolesUnder, SuccinctRoles,
};
pub use expiry::{format_expiry, parse_expiry};
pub use hashes::Hashes;
pub use keys::{Key, KeyError, KeyId};
pub use strict_value::parse_strict_value;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use time::OffsetDateTime;

/// The name of one of the four top-level roles, or of a delegated targets role.
pub type RoleName = String;

/// Fields that a parser does not know, kept verbatim for round trips.
pub type Unrecognized = BTreeMap<String, Value>;

/// The four top-level role types of TUF (spec 2.1), plus `targets` for delegated roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RoleType {
    /// `root`: the keys of every top-level role.
    Root,
    /// `timestamp`: the newest snapshot version, for freshness.
    Timestamp,
    /// `snapshot`: the versions of every targets metadata file.
    Snapshot,
    /// `targets`: target files and delegations (top-level or delegated).
    Targets,
}

impl RoleType {
    /// The value of the `_type` field for this role type.
    pub fn as_str(self) -> &'static str {
        match self {
            RoleType::Root => "root",
            RoleType::Timestamp => "timestamp",
            RoleType::Snapshot => "snapshot",
            RoleType::Targets => "targets",
        }
    }
}

impl fmt::Display for RoleType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a metadata document could not be read. This says nothing about trust.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The bytes are not a JSON object of the TUF envelope shape.
    #[error("not valid TUF metadata JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The `signed` object cannot be written in canonical JSON (e.g. it holds a float).
    #[error("the signed part cannot be canonicalised: {0}")]
    Canonical(String),
    /// A field holds a value the specification does not allow.
    #[error("invalid metadata: {0}")]
    Invalid(String),
}

/// One entry of the `signatures` list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signature {
    /// The key id the signature claims to be made with.
    pub keyid: KeyId,
    /// The signature, hex-encoded. May be empty (a holder who has not signed yet).
    pub sig: String,
    /// Fields this implementation does not know.
    #[serde(flatten)]
    pub unrecognized: Unrecognized,
}

/// A parsed metadata document: the typed `signed` part, its signatures, and the
/// exact canonical bytes that those signatures cover.
///
/// The canonical bytes are computed from the `signed` object *as it was received*
/// (not from a re-serialised struct), so fields unknown to this crate are covered.
#[derive(Debug, Clone)]
pub struct Envelope<T> {
    /// The typed `signed` part.
    pub signed: T,
    /// The `signatures` list as received; no key id appears twice.
    pub signatures: Vec<Signature>,
    /// Canonical JSON of the received `signed` object: what signatures cover, and
    /// what `signed` was built from.
    pub canonical_signed: Vec<u8>,
}

/// The envelope with `signed` left as the bytes received.
#[derive(Deserialize)]
struct RawEnvelope<'a> {
    #[serde(borrow)]
    signed: &'a serde_json::value::RawValue,
    signatures: Vec<Signature>,
}

/// The first signature whose key id an earlier one already names.
fn repeated_keyid(signatures: &[Signature]) -> Option<&Signature> {
    let mut keyids = std::collections::HashSet::new();
    signatures.iter().find(|s| !keyids.insert(&s.keyid))
}

/// A metadata file whose envelope has been read (its `signatures` parsed, no key id
/// twice) but whose `signed` part is still the bytes received. The first half of
/// [`BorrowedEnvelope::from_slice`], so that the trusted set can check signatures
/// over a large, already canonical `signed` part while it is being parsed.
pub(crate) struct UnparsedEnvelope<'a> {
    /// The `signed` object exactly as received.
    pub(crate) signed: &'a str,
    /// The `signatures` list as received; no key id appears twice.
    pub(crate) signatures: Vec<Signature>,
}

impl<'a> UnparsedEnvelope<'a> {
    /// Reads the envelope.
    ///
    /// # Errors
    /// [`ParseError`] when the bytes are not JSON, not of the envelope shape, or carry
    /// two signatures with one key id (ambiguous, refused as python-tuf does).
    pub(crate) fn from_slice(bytes: &'a [u8]) -> Result<Self, ParseError> {
        let raw: RawEnvelope<'a> = serde_json::from_slice(bytes)?;
        if let Some(dup) = repeated_keyid(&raw.signatures) {
            return Err(ParseError::Invalid(format!(
                "more than one signature with key id {:?}",
                dup.keyid
            )));
        }
        Ok(UnparsedEnvelope {
            signed: raw.signed.get(),
            signatures: raw.signatures,
        })
    }

    /// Splits a file written compactly, `{"signatures":[...],"signed":{...}}` with
    /// nothing else, without reading the `signed` part at all (a full read only to
    /// find where it ends costs a millisecond for a 3 MB `targets.json`).
    ///
    /// Only a candidate: the result is the file's envelope exactly when
    /// [`UnparsedEnvelope::canonical_as_received`] then returns `Some` (the `signed`
    /// part is one canonical value reaching to the closing brace). Otherwise, or when
    /// this returns `None` (another layout, a malformed or ambiguous signature list),
    /// read the file with [`UnparsedEnvelope::from_slice`].
    pub(crate) fn split_compact(bytes: &'a [u8]) -> Option<Self> {
        const HEAD: &[u8] = b"{\"signatures\":";
        const MIDDLE: &[u8] = b",\"signed\":";
        let inner = bytes.strip_prefix(HEAD)?.strip_suffix(b"}")?;
        let mut stream = serde_json::Deserializer::from_slice(inner).into_iter::<Vec<Signature>>();
        let signatures = stream.next()?.ok()?;
        let signed = inner[stream.byte_offset()..].strip_prefix(MIDDLE)?;
        if repeated_keyid(&signatures).is_some() {
            return None;
        }
        Some(UnparsedEnvelope {
            signed: std::str::from_utf8(signed).ok()?,
            signatures,
        })
    }

    /// The received `signed` bytes when they are already canonical (see
    /// [`is_canonical`]): then they are exactly what signatures cover.
    pub(crate) fn canonical_as_received(&self) -> Option<&'a [u8]> {
        is_canonical(self.signed.as_bytes()).then_some(self.signed.as_bytes())
    }

    /// Parses `signed` as role type `T`.
    ///
    /// # Errors
    /// As [`BorrowedEnvelope::from_slice`].
    pub(crate) fn parse<T: serde::de::DeserializeOwned + SignedCommon>(
        self,
    ) -> Result<BorrowedEnvelope<'a, T>, ParseError> {
        let canonical = self.canonical_as_received();
        self.parse_with(canonical)
    }

    /// [`UnparsedEnvelope::parse`] for a caller that has already computed
    /// [`UnparsedEnvelope::canonical_as_received`]: `canonical` is its result.
    ///
    /// # Errors
    /// As [`BorrowedEnvelope::from_slice`].
    pub(crate) fn parse_with<T: serde::de::DeserializeOwned + SignedCommon>(
        self,
        canonical: Option<&'a [u8]>,
    ) -> Result<BorrowedEnvelope<'a, T>, ParseError> {
        debug_assert_eq!(canonical, self.canonical_as_received());
        match canonical {
            // Already canonical (as repo-tool and most repositories write it):
            // signatures are checked over the bytes received, parsed once.
            Some(received) => {
                let signed = self.parse_signed()?;
                self.into_envelope(signed, Cow::Borrowed(received))
            }
            // Otherwise the signatures cover the canonical form of the value the
            // bytes hold, and the document is built from that same value: canonical
            // JSON is injective (no normalisation), and a key named twice is refused,
            // so the document is a function of the bytes the signatures cover.
            None => {
                let value = parse_strict_value(self.signed)?;
                let canonical = canonical_value_bytes(&value)?;
                let signed = T::deserialize(&value)?;
                self.into_envelope(signed, Cow::Owned(canonical))
            }
        }
    }

    /// The `signed` part parsed straight from the bytes received. Only valid as the
    /// document's content when those bytes are canonical (otherwise signatures cover
    /// the canonical form of the parsed value; see [`UnparsedEnvelope::parse`]).
    ///
    /// # Errors
    /// [`ParseError::Json`] when `signed` is not of the shape of `T`.
    pub(crate) fn parse_signed<T: serde::de::DeserializeOwned>(&self) -> Result<T, ParseError> {
        Ok(serde_json::from_str(self.signed)?)
    }

    /// The document from its parsed `signed` part and the canonical bytes its
    /// signatures cover, after the checks every role gets (`_type`, spec version, and
    /// the role's own rules).
    ///
    /// # Errors
    /// [`ParseError`] when a check fails.
    pub(crate) fn into_envelope<T: SignedCommon>(
        self,
        signed: T,
        canonical_signed: Cow<'a, [u8]>,
    ) -> Result<BorrowedEnvelope<'a, T>, ParseError> {
        signed.common().check(T::ROLE_TYPE)?;
        signed.validate()?;
        Ok(BorrowedEnvelope {
            signed,
            signatures: self.signatures,
            canonical_signed,
        })
    }
}

impl<T: serde::de::DeserializeOwned + SignedCommon> Envelope<T> {
    /// Parses one metadata file. Checks shape, field types, `_type` and `spec_version`.
    ///
    /// # Errors
    /// As [`BorrowedEnvelope::from_slice`].
    pub fn from_slice(bytes: &[u8]) -> Result<Self, ParseError> {
        BorrowedEnvelope::from_slice(bytes).map(BorrowedEnvelope::into_owned)
    }
}

/// A parsed metadata document whose canonical bytes are, when the file was already
/// in canonical form, a slice of the bytes received rather than a copy (a large
/// `targets.json` need not be held twice while it is checked).
#[derive(Debug, Clone)]
pub struct BorrowedEnvelope<'a, T> {
    /// The typed `signed` part.
    pub signed: T,
    /// The `signatures` list as received; no key id appears twice.
    pub signatures: Vec<Signature>,
    /// Canonical JSON of the received `signed` object: what signatures cover, and
    /// what `signed` was built from.
    pub canonical_signed: Cow<'a, [u8]>,
}

impl<'a, T: serde::de::DeserializeOwned + SignedCommon> BorrowedEnvelope<'a, T> {
    /// Parses one metadata file. Checks shape, field types, `_type` and `spec_version`.
    ///
    /// # Errors
    /// [`ParseError`] when the bytes are not JSON, not of the envelope shape, carry two
    /// signatures with one key id (ambiguous, refused as python-tuf does), not of
    /// role type `T`, use an unsupported major spec version, or cannot be canonicalised.
    pub fn from_slice(bytes: &'a [u8]) -> Result<Self, ParseError> {
        UnparsedEnvelope::from_slice(bytes)?.parse()
    }

    /// The same document, owning its canonical bytes.
    pub fn into_owned(self) -> Envelope<T> {
        Envelope {
            signed: self.signed,
            signatures: self.signatures,
            canonical_signed: self.canonical_signed.into_owned(),
        }
    }
}

/// The bytes that signatures over the `signed` part of the metadata file `file` cover,
/// found the way the trusted set finds them: the `signed` part as received when a
/// compactly written file's `signed` part is already canonical (no copy), otherwise
/// the canonical form of the value it holds.
///
/// Guarantee: the result is canonical JSON (see [`canonical_bytes`]) of the `signed`
/// value, whichever way it was found.
///
/// # Errors
/// [`ParseError`] when the file is not of the envelope shape, its `signed` part names
/// a key twice in one object, or holds a float.
pub fn signed_bytes(file: &[u8]) -> Result<Cow<'_, [u8]>, ParseError> {
    if let Some(received) = UnparsedEnvelope::split_compact(file)
        .as_ref()
        .and_then(UnparsedEnvelope::canonical_as_received)
    {
        return Ok(Cow::Borrowed(received));
    }
    let envelope = UnparsedEnvelope::from_slice(file)?;
    match envelope.canonical_as_received() {
        Some(received) => Ok(Cow::Borrowed(received)),
        None => Ok(Cow::Owned(canonical_value_bytes(&parse_strict_value(
            envelope.signed,
        )?)?)),
    }
}

/// Reads just the `_type` of a metadata file, for error messages about wrong files.
pub fn peek_type(bytes: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Peek {
        signed: PeekSigned,
    }
    #[derive(Deserialize)]
    struct PeekSigned {
        #[serde(rename = "_type")]
        type_: String,
    }
    serde_json::from_slice::<Peek>(bytes)
        .ok()
        .map(|p| p.signed.type_)
}

/// Fields shared by the `signed` part of every role (spec 4.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Common {
    /// The role type: `root`, `timestamp`, `snapshot` or `targets`.
    #[serde(rename = "_type")]
    pub type_: String,
    /// The specification version the metadata follows, e.g. `1.0.31`.
    pub spec_version: String,
    /// The metadata version, an integer greater than zero.
    pub version: u64,
    /// When the metadata expires, as an RFC 3339 UTC timestamp.
    pub expires: String,
}

/// The major specification version this client implements.
pub const SUPPORTED_SPEC_MAJOR: &str = "1";
/// The specification version written by this crate.
pub const SPEC_VERSION: &str = "1.0.31";

impl Common {
    /// Checks `_type`, `spec_version` (major 1, two or three numeric parts), a
    /// positive version, and a well-formed expiry.
    ///
    /// # Errors
    /// [`ParseError::Invalid`] naming the field at fault.
    pub fn check(&self, expected: RoleType) -> Result<(), ParseError> {
        if self.type_ != expected.as_str() {
            return Err(ParseError::Invalid(format!(
                "expected _type {:?}, found {:?}",
                expected.as_str(),
                self.type_
            )));
        }
        let parts: Vec<&str> = self.spec_version.split('.').collect();
        let numeric = parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
        if !(2..=3).contains(&parts.len()) || !numeric {
            return Err(ParseError::Invalid(format!(
                "spec_version {:?} is not of the form MAJOR.MINOR[.PATCH]",
                self.spec_version
            )));
        }
        if parts[0] != SUPPORTED_SPEC_MAJOR {
            return Err(ParseError::Invalid(format!(
                "unsupported spec_version {:?}: this client implements major version {}",
                self.spec_version, SUPPORTED_SPEC_MAJOR
            )));
        }
        if self.version == 0 {
            return Err(ParseError::Invalid("version must be at least 1".into()));
        }
        parse_expiry(&self.expires)?;
        Ok(())
    }

    /// The expiry as a point in time. The expiry was validated at parse time.
    pub fn expires_at(&self) -> OffsetDateTime {
        parse_expiry(&self.expires).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    /// True when the metadata is expired at `now` (spec 5.3.10, 5.4.4, 5.5.6, 5.6.5):
    /// metadata is valid strictly before its expiry.
    pub fn is_expired(&self, now: OffsetDateTime) -> bool {
        self.expires_at() <= now
    }
}

/// Implemented by the `signed` part of every role type.
pub trait SignedCommon {
    /// The role type this struct represents.
    const ROLE_TYPE: RoleType;
    /// The common fields.
    fn common(&self) -> &Common;
    /// Role-specific checks beyond serde's (non-empty hashes, thresholds ≥ 1, ...).
    ///
    /// # Errors
    /// [`ParseError::Invalid`] naming what is wrong.
    fn validate(&self) -> Result<(), ParseError> {
        Ok(())
    }
}

/// Which keys may sign for a role, and how many of them must (spec 4.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleKeys {
    /// Key ids allowed to sign; duplicates count once.
    pub keyids: Vec<KeyId>,
    /// How many distinct keys must sign; at least 1.
    pub threshold: u64,
    /// Fields this implementation does not know.
    #[serde(flatten)]
    pub unrecognized: Unrecognized,
}

/// The `signed` part of `root.json` (spec 4.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Root {
    /// Shared fields.
    #[serde(flatten)]
    pub common: Common,
    /// Whether metadata and target file names are version- and hash-prefixed.
    pub consistent_snapshot: bool,
    /// Every key used by a top-level role, by key id.
    pub keys: BTreeMap<KeyId, Key>,
    /// The keys and threshold of each top-level role.
    pub roles: BTreeMap<String, RoleKeys>,
    /// Fields this implementation does not know.
    #[serde(flatten)]
    pub unrecognized: Unrecognized,
}

impl Root {
    /// The keys and threshold of a top-level role. Presence was validated at parse time.
    pub fn role(&self, role: RoleType) -> Option<&RoleKeys> {
        self.roles.get(role.as_str())
    }
}

impl SignedCommon for Root {
    const ROLE_TYPE: RoleType = RoleType::Root;
    fn common(&self) -> &Common {
        &self.common
    }
    /// Besides the four top-level roles, `roles` may name nothing: python-tuf
    /// refuses such a root too, and a role only root could name has no meaning in
    /// the specification (delegated roles are named by targets roles).
    fn validate(&self) -> Result<(), ParseError> {
        if let Some(other) = self
            .roles
            .keys()
            .find(|name| !["root", "timestamp", "snapshot", "targets"].contains(&name.as_str()))
        {
            return Err(ParseError::Invalid(format!(
                "root names the role {other:?}; root.roles may hold only root, timestamp, snapshot and targets"
            )));
        }
        for role in [
            RoleType::Root,
            RoleType::Timestamp,
            RoleType::Snapshot,
            RoleType::Targets,
        ] {
            let keys = self.role(role).ok_or_else(|| {
                ParseError::Invalid(format!("root does not define the {role} role"))
            })?;
            if keys.threshold == 0 {
                return Err(ParseError::Invalid(format!(
                    "the {role} role has threshold 0"
                )));
            }
        }
        Ok(())
    }
}

/// An entry of timestamp's or snapshot's `meta` map (spec 4.4, 4.5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetaFile {
    /// The version of the referenced metadata file.
    pub version: u64,
    /// Its length in bytes, when the repository lists it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<u64>,
    /// Its hashes, when the repository lists them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hashes: Option<Hashes>,
    /// Fields this implementation does not know.
    #[serde(flatten)]
    pub unrecognized: Unrecognized,
}

impl MetaFile {
    fn validate(&self, name: &str) -> Result<(), ParseError> {
        if self.version == 0 {
            return Err(ParseError::Invalid(format!(
                "meta entry {name:?} has version 0"
            )));
        }
        if matches!(&self.hashes, Some(h) if h.is_empty()) {
            return Err(ParseError::Invalid(format!(
                "meta entry {name:?} has an empty hashes object"
            )));
        }
        Ok(())
    }
}

/// The `signed` part of `timestamp.json` (spec 4.6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timestamp {
    /// Shared fields.
    #[serde(flatten)]
    pub common: Common,
    /// Exactly one entry, `snapshot.json`.
    pub meta: BTreeMap<String, MetaFile>,
    /// Fields this implementation does not know.
    #[serde(flatten)]
    pub unrecognized: Unrecognized,
}

impl Timestamp {
    /// The `snapshot.json` entry. Presence was validated at parse time.
    pub fn snapshot_meta(&self) -> &MetaFile {
        // validate() guarantees the entry exists; `meta` has exactly that key.
        self.meta
            .get("snapshot.json")
            .or_else(|| self.meta.values().next())
            .unwrap_or(&EMPTY_META)
    }
}

static EMPTY_META: MetaFile = MetaFile {
    version: 0,
    length: None,
    hashes: None,
    unrecognized: BTreeMap::new(),
};

impl SignedCommon for Timestamp {
    const ROLE_TYPE: RoleType = RoleType::Timestamp;
    fn common(&self) -> &Common {
        &self.common
    }
    fn validate(&self) -> Result<(), ParseError> {
        if self.meta.len() != 1 || !self.meta.contains_key("snapshot.json") {
            return Err(ParseError::Invalid(
                "timestamp meta must have exactly one entry, \"snapshot.json\"".into(),
            ));
        }
        self.snapshot_meta().validate("snapshot.json")
    }
}

/// The `signed` part of `snapshot.json` (spec 4.4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Shared fields.
    #[serde(flatten)]
    pub common: Common,
    /// `ROLE.json` to the version (and optionally length and hashes) of each targets role.
    pub meta: BTreeMap<String, MetaFile>,
    /// Fields this implementation does not know.
    #[serde(flatten)]
    pub unrecognized: Unrecognized,
}

impl SignedCommon for Snapshot {
    const ROLE_TYPE: RoleType = RoleType::Snapshot;
    fn common(&self) -> &Common {
        &self.common
    }
    fn validate(&self) -> Result<(), ParseError> {
        self.meta.iter().try_for_each(|(name, m)| m.validate(name))
    }
}

/// A target file's description (spec 4.5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetFile {
    /// Its exact length in bytes.
    pub length: u64,
    /// Its hashes; every one is checked on download.
    pub hashes: Hashes,
    /// Application-specific data (versions, channels, ...), opaque to TUF. Boxed:
    /// most targets of a large repository have none, and the entry stays small.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom: Option<Box<Value>>,
    /// Fields this implementation does not know.
    #[serde(flatten)]
    pub unrecognized: Unrecognized,
}

/// The `signed` part of `targets.json` or of a delegated targets role (spec 4.5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Targets {
    /// Shared fields.
    #[serde(flatten)]
    pub common: Common,
    /// Target path to description.
    #[serde(deserialize_with = "sorted_map::deserialize")]
    pub targets: BTreeMap<String, TargetFile>,
    /// Roles this role delegates to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delegations: Option<Delegations>,
    /// Fields this implementation does not know.
    #[serde(flatten)]
    pub unrecognized: Unrecognized,
}

impl SignedCommon for Targets {
    const ROLE_TYPE: RoleType = RoleType::Targets;
    fn common(&self) -> &Common {
        &self.common
    }
    fn validate(&self) -> Result<(), ParseError> {
        for (path, target) in &self.targets {
            if target.hashes.is_empty() {
                return Err(ParseError::Invalid(format!(
                    "target {path:?} lists no hashes"
                )));
            }
        }
        match &self.delegations {
            Some(d) => d.validate(),
            None => Ok(()),
        }
    }
}

/// Serialises a `signed` struct and signatures into the metadata file layout.
///
/// Used by writers (repo-tool, tests). Readers persist the exact bytes they verified
/// and never call this.
///
/// # Errors
/// When the value cannot be represented as JSON.
pub fn to_envelope_json<T: Serialize>(
    signed: &T,
    signatures: &[Signature],
) -> Result<Vec<u8>, serde_json::Error> {
    let mut obj = Map::new();
    obj.insert("signatures".into(), serde_json::to_value(signatures)?);
    obj.insert("signed".into(), serde_json::to_value(signed)?);
    let mut out = serde_json::to_vec_pretty(&Value::Object(obj))?;
    out.push(b'\n');
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_compact_split_finds_what_a_full_read_finds() {
        let file = br#"{"signatures":[{"keyid":"ab","sig":"cd"}],"signed":{"a":[1,{"b":"]}"}]}}"#;
        let split = UnparsedEnvelope::split_compact(file).unwrap();
        let full = UnparsedEnvelope::from_slice(file).unwrap();
        assert_eq!(split.signed, full.signed);
        assert_eq!(split.signatures, full.signatures);
        assert!(split.canonical_as_received().is_some());
    }

    #[test]
    fn a_compact_split_is_only_tried_on_the_compact_layout() {
        for file in [
            &b"{\n \"signatures\": [],\n \"signed\": {}\n}"[..],
            br#"{"signed":{},"signatures":[]}"#,
            br#"{"signatures":[{"keyid":"ab","sig":"cd"},{"keyid":"ab","sig":"ef"}],"signed":{}}"#,
            br#"{"signatures":[1],"signed":{}}"#,
        ] {
            assert!(
                UnparsedEnvelope::split_compact(file).is_none(),
                "{}",
                String::from_utf8_lossy(file)
            );
        }
        // Found, but more follows the signed part: not canonical, so not trusted
        // as the envelope (a full read decides).
        let more = br#"{"signatures":[],"signed":{"a":1},"x":2}"#;
        let split = UnparsedEnvelope::split_compact(more).unwrap();
        assert!(split.canonical_as_received().is_none());
        assert_eq!(
            UnparsedEnvelope::from_slice(more).unwrap().signed,
            r#"{"a":1}"#
        );
        // Truncated: the candidate is `{`, not canonical; a full read refuses it.
        let cut = br#"{"signatures":[],"signed":{}"#;
        let split = UnparsedEnvelope::split_compact(cut).unwrap();
        assert!(split.canonical_as_received().is_none());
        assert!(UnparsedEnvelope::from_slice(cut).is_err());
    }

    fn common(type_: &str, spec: &str) -> Common {
        Common {
            type_: type_.into(),
            spec_version: spec.into(),
            version: 1,
            expires: "2030-01-01T00:00:00Z".into(),
        }
    }

    #[test]
    fn accepts_spec_versions_with_major_one() {
        for v in ["1.0", "1.0.0", "1.0.31", "1.99.7"] {
            assert!(common("root", v).check(RoleType::Root).is_ok(), "{v}");
        }
    }

    #[test]
    fn rejects_other_major_or_malformed_spec_versions() {
        for v in ["2.0.0", "0.9", "1", "1.0.0.0", "1.x", "", "1..0"] {
            assert!(common("root", v).check(RoleType::Root).is_err(), "{v}");
        }
    }

    #[test]
    fn rejects_wrong_type() {
        assert!(common("snapshot", "1.0.0").check(RoleType::Root).is_err());
    }

    #[test]
    fn rejects_version_zero() {
        let mut c = common("root", "1.0.0");
        c.version = 0;
        assert!(c.check(RoleType::Root).is_err());
    }

    #[test]
    fn expiry_is_exclusive() {
        let c = common("root", "1.0.0");
        let at = parse_expiry("2030-01-01T00:00:00Z").unwrap();
        assert!(c.is_expired(at));
        assert!(!c.is_expired(at - time::Duration::seconds(1)));
    }

    #[test]
    fn keeps_unrecognized_fields_in_canonical_bytes() {
        let doc =
            br#"{"signatures":[],"signed":{"_type":"timestamp","spec_version":"1.0.0","version":1,
            "expires":"2030-01-01T00:00:00Z","x-custom":{"b":1,"a":"\u00e9"},
            "meta":{"snapshot.json":{"version":1,"x-more":true}}}}"#;
        let env = Envelope::<Timestamp>::from_slice(doc).unwrap();
        let canon = String::from_utf8(env.canonical_signed.clone()).unwrap();
        assert!(canon.contains(r#""x-custom":{"a":"é","b":1}"#), "{canon}");
        assert!(canon.contains(r#""x-more":true"#));
        assert_eq!(env.signed.unrecognized["x-custom"]["b"], 1);
    }

    #[test]
    fn timestamp_must_reference_only_snapshot() {
        let doc =
            br#"{"signatures":[],"signed":{"_type":"timestamp","spec_version":"1.0.0","version":1,
            "expires":"2030-01-01T00:00:00Z","meta":{"targets.json":{"version":1}}}}"#;
        assert!(Envelope::<Timestamp>::from_slice(doc).is_err());
    }

    #[test]
    fn rejects_float_in_signed() {
        let doc =
            br#"{"signatures":[],"signed":{"_type":"snapshot","spec_version":"1.0.0","version":1,
            "expires":"2030-01-01T00:00:00Z","meta":{},"x":1.5}}"#;
        assert!(Envelope::<Snapshot>::from_slice(doc).is_err());
    }
}

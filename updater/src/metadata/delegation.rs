//! Delegations (spec 4.5): which delegated role is trusted for which target path,
//! by path pattern, by path hash prefix, or by succinct hash bins (TAP 15).

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};

use super::{Key, KeyId, ParseError, RoleKeys, Unrecognized};

/// The `delegations` object of a targets role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delegations {
    /// Keys of the delegated roles, by key id.
    pub keys: BTreeMap<KeyId, Key>,
    /// Delegated roles in priority order (searched first to last).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<DelegatedRole>>,
    /// Succinct hash-bin delegations (TAP 15), instead of `roles`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub succinct_roles: Option<SuccinctRoles>,
    /// Fields this implementation does not know.
    #[serde(flatten)]
    pub unrecognized: Unrecognized,
}

/// One delegated role (spec 4.5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DelegatedRole {
    /// The role name; also its metadata file name (`NAME.json`, percent-encoded).
    pub name: String,
    /// Keys allowed to sign for the role.
    pub keyids: Vec<KeyId>,
    /// How many distinct keys must sign.
    pub threshold: u64,
    /// When true, the search stops here whether or not the target is found below.
    pub terminating: bool,
    /// Shell-style patterns (`*`, `?`, `[...]`, matched per `/`-separated part).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paths: Option<Vec<String>>,
    /// Hex prefixes of the SHA-256 of the target path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_hash_prefixes: Option<Vec<String>>,
    /// Fields this implementation does not know.
    #[serde(flatten)]
    pub unrecognized: Unrecognized,
}

/// Succinct hash-bin delegations (TAP 15): `2^bit_length` roles named
/// `{name_prefix}-{bin in hex}`, sharing one set of keys and threshold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuccinctRoles {
    /// Keys allowed to sign for every bin.
    pub keyids: Vec<KeyId>,
    /// How many distinct keys must sign each bin.
    pub threshold: u64,
    /// Number of leading bits of the target path hash that select the bin (1..=32).
    pub bit_length: u32,
    /// Prefix of the bin role names.
    pub name_prefix: String,
    /// Fields this implementation does not know.
    #[serde(flatten)]
    pub unrecognized: Unrecognized,
}

/// Role names reserved for top-level roles; never valid as delegated names.
const TOP_LEVEL: [&str; 4] = ["root", "timestamp", "snapshot", "targets"];

/// True when `name` is a top-level role's name in any letter case, including the
/// case mappings of Unicode that file systems apply (`Root`, `ROOT`, `ſnapshot`,
/// whose upper case is `SNAPSHOT`). On a case-insensitive file system (macOS,
/// Windows) such a delegated role's file would be the trusted top-level file.
pub fn is_top_level_name(name: &str) -> bool {
    let lower = name.to_lowercase();
    let folded = name.to_uppercase().to_lowercase();
    TOP_LEVEL.iter().any(|top| *top == lower || *top == folded)
}

impl Delegations {
    pub(super) fn validate(&self) -> Result<(), ParseError> {
        match (&self.roles, &self.succinct_roles) {
            (Some(roles), None) => {
                let mut seen = HashSet::new();
                for role in roles {
                    if !seen.insert(role.name.as_str()) {
                        return Err(ParseError::Invalid(format!(
                            "delegated role {:?} is listed twice",
                            role.name
                        )));
                    }
                    role.validate()?;
                }
                Ok(())
            }
            (None, Some(succinct)) => succinct.validate(),
            _ => Err(ParseError::Invalid(
                "delegations must have exactly one of \"roles\" and \"succinct_roles\"".into(),
            )),
        }
    }

    /// The delegated roles responsible for `target_path`, in search order, each with
    /// its `terminating` flag (succinct bins are terminating).
    pub fn roles_for_target(&self, target_path: &str) -> Vec<(String, bool)> {
        if let Some(succinct) = &self.succinct_roles {
            return vec![(succinct.role_for_target(target_path), true)];
        }
        self.roles
            .iter()
            .flatten()
            .filter(|r| r.is_delegated_path(target_path))
            .map(|r| (r.name.clone(), r.terminating))
            .collect()
    }

    /// Every delegated role that may be trusted for some target path starting with the
    /// directory `prefix` (which ends in `/`), in search order. Used to list targets
    /// under a directory; the answer may include roles that turn out to list nothing
    /// there (hash-prefix delegations and hash bins can hold any path), never fewer.
    ///
    /// Lazy: hash bins are named one at a time as the caller asks, so a delegation to
    /// `2^32` bins costs nothing until it is walked (and a walk stops at its limit).
    pub fn roles_under(&self, prefix: &str) -> RolesUnder {
        if let Some(succinct) = &self.succinct_roles {
            return RolesUnder::Bins {
                bins: succinct.clone(),
                next: 0,
            };
        }
        let names: Vec<String> = self
            .roles
            .iter()
            .flatten()
            .filter(|r| r.may_delegate_under(prefix))
            .map(|r| r.name.clone())
            .collect();
        RolesUnder::Named(names.into_iter())
    }

    /// The keys and threshold this delegator assigns to `role`, if it delegates to it.
    pub fn role_keys(&self, role: &str) -> Option<RoleKeys> {
        if let Some(succinct) = &self.succinct_roles {
            return succinct.is_bin(role).then(|| RoleKeys {
                keyids: succinct.keyids.clone(),
                threshold: succinct.threshold,
                unrecognized: Unrecognized::new(),
            });
        }
        self.roles
            .iter()
            .flatten()
            .find(|r| r.name == role)
            .map(|r| RoleKeys {
                keyids: r.keyids.clone(),
                threshold: r.threshold,
                unrecognized: Unrecognized::new(),
            })
    }
}

/// The roles of [`Delegations::roles_under`], in search order.
#[derive(Debug, Clone)]
pub enum RolesUnder {
    /// Named roles whose patterns may match under the prefix.
    Named(std::vec::IntoIter<String>),
    /// Every hash bin, named as it is reached.
    Bins {
        /// The bins.
        bins: SuccinctRoles,
        /// The next bin number.
        next: u64,
    },
}

impl Iterator for RolesUnder {
    type Item = String;

    fn next(&mut self) -> Option<String> {
        match self {
            RolesUnder::Named(names) => names.next(),
            RolesUnder::Bins { bins, next } => {
                let bin = *next;
                (bin < bins.bin_count()).then(|| {
                    *next += 1;
                    bins.bin_name(bin)
                })
            }
        }
    }
}

impl DelegatedRole {
    fn validate(&self) -> Result<(), ParseError> {
        if is_top_level_name(&self.name) {
            return Err(ParseError::Invalid(format!(
                "a delegated role may not be named {:?}: in some letter case it is a top-level role's name",
                self.name
            )));
        }
        if self.threshold == 0 {
            return Err(ParseError::Invalid(format!(
                "delegated role {:?} has threshold 0",
                self.name
            )));
        }
        if self.paths.is_some() && self.path_hash_prefixes.is_some() {
            return Err(ParseError::Invalid(format!(
                "delegated role {:?} sets both paths and path_hash_prefixes",
                self.name
            )));
        }
        Ok(())
    }

    /// True when this role may be trusted for some path inside the directory `prefix`
    /// (ending in `/`): a path pattern whose leading parts match the prefix's parts and
    /// that has at least one part more, or any hash-prefix delegation.
    pub fn may_delegate_under(&self, prefix: &str) -> bool {
        if let Some(patterns) = &self.paths {
            let dirs: Vec<&str> = prefix.trim_end_matches('/').split('/').collect();
            return patterns.iter().any(|pattern| {
                let parts: Vec<&str> = pattern.split('/').collect();
                parts.len() > dirs.len() && dirs.iter().zip(&parts).all(|(d, p)| glob_part(d, p))
            });
        }
        self.path_hash_prefixes.is_some()
    }

    /// True when this role is trusted for `target_path` (spec 5.6.7.2).
    pub fn is_delegated_path(&self, target_path: &str) -> bool {
        if let Some(patterns) = &self.paths {
            return patterns
                .iter()
                .any(|p| path_matches_pattern(target_path, p));
        }
        if let Some(prefixes) = &self.path_hash_prefixes {
            let hash = hex::encode(sha256(target_path.as_bytes()));
            return prefixes.iter().any(|p| hash.starts_with(p.as_str()));
        }
        false
    }
}

impl SuccinctRoles {
    fn validate(&self) -> Result<(), ParseError> {
        if !(1..=32).contains(&self.bit_length) {
            return Err(ParseError::Invalid(format!(
                "succinct_roles bit_length {} is not within 1..=32",
                self.bit_length
            )));
        }
        if self.threshold == 0 {
            return Err(ParseError::Invalid("succinct_roles has threshold 0".into()));
        }
        Ok(())
    }

    /// The number of bins, `2^bit_length`.
    pub fn bin_count(&self) -> u64 {
        1u64 << self.bit_length
    }

    fn suffix_len(&self) -> usize {
        format!("{:x}", self.bin_count() - 1).len()
    }

    /// The name of bin number `bin`.
    pub fn bin_name(&self, bin: u64) -> String {
        format!(
            "{}-{:0width$x}",
            self.name_prefix,
            bin,
            width = self.suffix_len()
        )
    }

    /// The bin role responsible for `target_path`: the first `bit_length` bits of
    /// SHA-256(target_path).
    pub fn role_for_target(&self, target_path: &str) -> String {
        let hash = sha256(target_path.as_bytes());
        let first = u32::from_be_bytes([hash[0], hash[1], hash[2], hash[3]]);
        let bin = u64::from(first) >> (32 - self.bit_length);
        self.bin_name(bin)
    }

    /// True when `role` is one of this delegation's bin names.
    pub fn is_bin(&self, role: &str) -> bool {
        let Some(suffix) = role
            .strip_prefix(self.name_prefix.as_str())
            .and_then(|r| r.strip_prefix('-'))
        else {
            return false;
        };
        suffix.len() == self.suffix_len()
            && suffix
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
            && u64::from_str_radix(suffix, 16).is_ok_and(|n| n < self.bin_count())
    }
}

fn sha256(data: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, data).as_ref());
    out
}

/// Spec 5.6.7.2 path matching, as python-tuf does it: target and pattern have the
/// same number of `/`-separated parts and each part matches the pattern's part as
/// Python's `fnmatch` matches it (`*` any run of characters, `?` one character,
/// `[abc]`, `[a-z]` and `[!x]` classes; an unclosed `[` is literal). Matching is per
/// Unicode character, never per byte: `é` is one character for `?` and `[é]`.
pub fn path_matches_pattern(target_path: &str, pattern: &str) -> bool {
    let targets: Vec<&str> = target_path.split('/').collect();
    let patterns: Vec<&str> = pattern.split('/').collect();
    targets.len() == patterns.len() && targets.iter().zip(&patterns).all(|(t, p)| glob_part(t, p))
}

/// fnmatch-style matching of one path part, iterative with single backtracking.
fn glob_part(text: &str, pattern: &str) -> bool {
    let text: Vec<char> = text.chars().collect();
    let pattern: Vec<char> = pattern.chars().collect();
    let (mut t, mut p) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() {
            match pattern[p] {
                '*' => {
                    star = Some((p, t));
                    p += 1;
                    continue;
                }
                '?' => {
                    t += 1;
                    p += 1;
                    continue;
                }
                '[' => {
                    if let Some((matched, next)) = class_match(&pattern[p..], text[t]) {
                        if matched {
                            t += 1;
                            p += next;
                            continue;
                        }
                    } else if text[t] == '[' {
                        // An unclosed '[' is a literal.
                        t += 1;
                        p += 1;
                        continue;
                    }
                }
                c if c == text[t] => {
                    t += 1;
                    p += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some((sp, st)) => {
                p = sp + 1;
                t = st + 1;
                star = Some((sp, st + 1));
            }
            None => return false,
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

/// Matches a `[...]` class at the start of `pattern` against `c`. Returns whether
/// it matched and the class's length, or `None` if the class is not closed.
fn class_match(pattern: &[char], c: char) -> Option<(bool, usize)> {
    let mut i = 1;
    let negate = matches!(pattern.get(i), Some('!'));
    if negate {
        i += 1;
    }
    let start = i;
    let mut matched = false;
    while i < pattern.len() {
        if pattern[i] == ']' && i > start {
            return Some((matched != negate, i + 1));
        }
        if i + 2 < pattern.len() && pattern[i + 1] == '-' && pattern[i + 2] != ']' {
            if pattern[i] <= c && c <= pattern[i + 2] {
                matched = true;
            }
            i += 3;
        } else {
            if pattern[i] == c {
                matched = true;
            }
            i += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_matching_follows_the_spec() {
        let cases = [
            ("targets/foo.tgz", "targets/*.tgz", true),
            ("targets/a/foo.tgz", "targets/*.tgz", false),
            ("foo-version-a.gz", "foo-version-?.gz", true),
            ("foo-version-alpha.gz", "foo-version-?.gz", false),
            ("a/b/c", "*/*/*", true),
            ("a/b", "*", false),
            ("file.txt", "*", true),
            ("file.txt", "file.txt", true),
            ("file.txt", "file.tx", false),
            ("x1.bin", "x[0-9].bin", true),
            ("xa.bin", "x[0-9].bin", false),
            ("xa.bin", "x[!0-9].bin", true),
            ("abc", "a*c*", true),
            ("abbbbc", "a*b*c", true),
            ("abd", "a*c", false),
            ("", "", true),
            ("[x", "[x", true),
            // Per character, as python-tuf's fnmatch: é is one character.
            ("docs/é", "docs/?", true),
            ("docs/é", "docs/??", false),
            ("docs/é", "docs/[é]", true),
            ("docs/é", "docs/[!é]", false),
            ("docs/ü", "docs/[à-ÿ]", true),
            ("한국", "?국", true),
            ("e\u{301}", "?", false), // decomposed: two characters
            ("e\u{301}", "??", true),
        ];
        for (target, pattern, expected) in cases {
            assert_eq!(
                path_matches_pattern(target, pattern),
                expected,
                "{target} ~ {pattern}"
            );
        }
    }

    fn succinct(bits: u32) -> SuccinctRoles {
        SuccinctRoles {
            keyids: vec![],
            threshold: 1,
            bit_length: bits,
            name_prefix: "bin".into(),
            unrecognized: Unrecognized::new(),
        }
    }

    #[test]
    fn succinct_bins_follow_tap15_naming() {
        let s = succinct(8);
        assert_eq!(s.bin_name(0), "bin-00");
        assert_eq!(s.bin_name(255), "bin-ff");
        assert!(s.is_bin("bin-0a"));
        assert!(!s.is_bin("bin-a"));
        assert!(!s.is_bin("bin-100"));
        assert!(!s.is_bin("other-00"));
        let s = succinct(10);
        assert_eq!(s.bin_name(1023), "bin-3ff");
        assert!(!s.is_bin("bin-400"));
    }

    #[test]
    fn succinct_bin_uses_leading_hash_bits() {
        // sha256("a") = ca978112..., first byte 0xca.
        assert_eq!(succinct(8).role_for_target("a"), "bin-ca");
        assert_eq!(succinct(4).role_for_target("a"), "bin-c");
        assert_eq!(succinct(1).role_for_target("a"), "bin-1");
        assert_eq!(succinct(32).role_for_target("a"), "bin-ca978112");
    }

    #[test]
    fn roles_under_a_directory() {
        let role = |paths: &[&str]| DelegatedRole {
            name: "r".into(),
            keyids: vec![],
            threshold: 1,
            terminating: false,
            paths: Some(paths.iter().map(|p| p.to_string()).collect()),
            path_hash_prefixes: None,
            unrecognized: Unrecognized::new(),
        };
        assert!(role(&["app/*"]).may_delegate_under("app/"));
        assert!(role(&["app/*/linux/*"]).may_delegate_under("app/"));
        assert!(role(&["*/rollout.json"]).may_delegate_under("app/"));
        assert!(role(&["a?p/*"]).may_delegate_under("app/"));
        assert!(!role(&["other/*"]).may_delegate_under("app/"));
        // A pattern with no part below the directory names the directory itself.
        assert!(!role(&["app"]).may_delegate_under("app/"));
        assert!(!role(&["app*"]).may_delegate_under("app/"));
        let mut hashed = role(&[]);
        hashed.paths = None;
        hashed.path_hash_prefixes = Some(vec!["ab".into()]);
        assert!(hashed.may_delegate_under("app/"));
        let bins = Delegations {
            keys: BTreeMap::new(),
            roles: None,
            succinct_roles: Some(succinct(2)),
            unrecognized: Unrecognized::new(),
        };
        assert_eq!(bins.roles_under("app/").count(), 4);
        // 2^32 bins: named lazily, so taking the first few allocates nothing more.
        let huge = Delegations {
            succinct_roles: Some(succinct(32)),
            ..bins
        };
        let first: Vec<String> = huge.roles_under("app/").take(2).collect();
        assert_eq!(first, ["bin-00000000", "bin-00000001"]);
    }

    #[test]
    fn top_level_names_are_reserved_in_every_letter_case() {
        for name in [
            "root",
            "Root",
            "ROOT",
            "Timestamp",
            "sNaPsHoT",
            "TARGETS",
            "\u{17f}napshot",
            "t\u{131}mestamp",
        ] {
            assert!(is_top_level_name(name), "{name}");
            let role = DelegatedRole {
                name: name.into(),
                keyids: vec![],
                threshold: 1,
                terminating: false,
                paths: Some(vec!["*".into()]),
                path_hash_prefixes: None,
                unrecognized: Unrecognized::new(),
            };
            let delegations = Delegations {
                keys: BTreeMap::new(),
                roles: Some(vec![role]),
                succinct_roles: None,
                unrecognized: Unrecognized::new(),
            };
            assert!(delegations.validate().is_err(), "{name}");
        }
        for name in ["roots", "my-root", "snapshots", "docs"] {
            assert!(!is_top_level_name(name), "{name}");
        }
    }

    #[test]
    fn hash_prefix_delegation() {
        let role = DelegatedRole {
            name: "r".into(),
            keyids: vec![],
            threshold: 1,
            terminating: false,
            paths: None,
            path_hash_prefixes: Some(vec!["ca9".into()]),
            unrecognized: Unrecognized::new(),
        };
        assert!(role.is_delegated_path("a"));
        assert!(!role.is_delegated_path("b"));
    }
}

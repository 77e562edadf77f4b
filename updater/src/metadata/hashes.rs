//! The `hashes` object of a target or metadata file: algorithm name -> hex digest.

use std::borrow::Cow;
use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Hash algorithm name -> hex digest, as metadata lists them for a target or a
/// metadata file; serialised as a JSON object.
///
/// A small sorted list rather than a `BTreeMap`: a target lists one to three hashes,
/// and a map would allocate a node of about 500 bytes for each of the tens of
/// thousands of targets a repository may list (the usual algorithm names are not
/// allocated at all). Iteration is in algorithm-name order, and each algorithm
/// appears once (a repeated name keeps the last digest, as a JSON object does).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Hashes(Vec<(Cow<'static, str>, String)>);

/// Algorithm names shared by every entry instead of allocated for each.
const KNOWN_ALGORITHMS: [&str; 5] = ["sha256", "sha384", "sha512", "sha512_256", "sha224"];

fn algorithm_name(name: String) -> Cow<'static, str> {
    match known_algorithm(&name) {
        Some(known) => Cow::Borrowed(known),
        None => Cow::Owned(name),
    }
}

fn known_algorithm(name: &str) -> Option<&'static str> {
    KNOWN_ALGORITHMS
        .iter()
        .find(|known| **known == name)
        .copied()
}

/// An algorithm name read from JSON: a known name is not allocated at all.
struct AlgorithmName(Cow<'static, str>);

impl<'de> Deserialize<'de> for AlgorithmName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NameVisitor;

        impl Visitor<'_> for NameVisitor {
            type Value = AlgorithmName;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a hash algorithm name")
            }

            fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<AlgorithmName, E> {
                Ok(AlgorithmName(match known_algorithm(name) {
                    Some(known) => Cow::Borrowed(known),
                    None => Cow::Owned(name.to_owned()),
                }))
            }

            fn visit_string<E: serde::de::Error>(self, name: String) -> Result<AlgorithmName, E> {
                Ok(AlgorithmName(algorithm_name(name)))
            }
        }

        deserializer.deserialize_str(NameVisitor)
    }
}

impl Hashes {
    /// No hashes.
    pub fn new() -> Hashes {
        Hashes(Vec::new())
    }

    /// Sets the digest of `algorithm`; the digest it replaces, if any.
    pub fn insert(&mut self, algorithm: String, digest: String) -> Option<String> {
        self.insert_named(algorithm_name(algorithm), digest)
    }

    fn insert_named(&mut self, algorithm: Cow<'static, str>, digest: String) -> Option<String> {
        match self.0.binary_search_by(|(a, _)| a.as_ref().cmp(&algorithm)) {
            Ok(at) => Some(std::mem::replace(&mut self.0[at].1, digest)),
            Err(at) => {
                self.0.insert(at, (algorithm, digest));
                None
            }
        }
    }

    /// The digest listed for `algorithm`.
    pub fn get(&self, algorithm: &str) -> Option<&String> {
        self.0
            .binary_search_by(|(a, _)| a.as_ref().cmp(algorithm))
            .ok()
            .map(|at| &self.0[at].1)
    }

    /// True when `algorithm` is listed.
    pub fn contains_key(&self, algorithm: &str) -> bool {
        self.get(algorithm).is_some()
    }

    /// How many algorithms are listed.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when none is listed.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Removes every hash.
    pub fn clear(&mut self) {
        self.0.clear();
    }

    /// (algorithm, digest) pairs in algorithm-name order.
    pub fn iter(&self) -> Iter<'_> {
        Iter(self.0.iter())
    }

    /// The algorithm names, in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(a, _)| a.as_ref())
    }

    /// The digests, in algorithm-name order.
    pub fn values(&self) -> impl Iterator<Item = &String> {
        self.0.iter().map(|(_, d)| d)
    }
}

/// Iterator over (algorithm, digest) pairs of [`Hashes`].
#[derive(Debug, Clone)]
pub struct Iter<'a>(std::slice::Iter<'a, (Cow<'static, str>, String)>);

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a str, &'a String);

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(|(a, d)| (a.as_ref(), d))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl<'a> IntoIterator for &'a Hashes {
    type Item = (&'a str, &'a String);
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl FromIterator<(String, String)> for Hashes {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(pairs: I) -> Hashes {
        let mut hashes = Hashes::new();
        for (algorithm, digest) in pairs {
            hashes.insert(algorithm, digest);
        }
        hashes
    }
}

impl<const N: usize> From<[(String, String); N]> for Hashes {
    fn from(pairs: [(String, String); N]) -> Hashes {
        pairs.into_iter().collect()
    }
}

impl std::ops::Index<&str> for Hashes {
    type Output = String;

    /// # Panics
    /// When `algorithm` is not listed (as `BTreeMap`'s index does).
    fn index(&self, algorithm: &str) -> &String {
        match self.get(algorithm) {
            Some(digest) => digest,
            None => panic!("no {algorithm:?} hash listed"),
        }
    }
}

impl Serialize for Hashes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (algorithm, digest) in &self.0 {
            map.serialize_entry(algorithm, digest)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Hashes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Hashes, D::Error> {
        struct HashesVisitor;

        impl<'de> Visitor<'de> for HashesVisitor {
            type Value = Hashes;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of hash algorithm names to hex digests")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Hashes, A::Error> {
                let mut hashes = Hashes(Vec::with_capacity(map.size_hint().unwrap_or(1).min(8)));
                while let Some((AlgorithmName(algorithm), digest)) =
                    map.next_entry::<AlgorithmName, String>()?
                {
                    hashes.insert_named(algorithm, digest);
                }
                hashes.0.shrink_to_fit();
                Ok(hashes)
            }
        }

        deserializer.deserialize_map(HashesVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_names_sorted_and_unique_like_a_json_object() {
        let hashes: Hashes =
            serde_json::from_str(r#"{"sha512":"bb","sha256":"aa","sha256":"cc"}"#).unwrap();
        assert_eq!(hashes.len(), 2);
        assert_eq!(hashes.keys().collect::<Vec<_>>(), ["sha256", "sha512"]);
        assert_eq!(hashes["sha256"], "cc");
        assert_eq!(
            serde_json::to_string(&hashes).unwrap(),
            r#"{"sha256":"cc","sha512":"bb"}"#
        );
    }

    #[test]
    fn get_insert_and_iterate() {
        let mut hashes = Hashes::from([("sha512".to_string(), "b".to_string())]);
        assert!(
            matches!(hashes.0[0].0, Cow::Borrowed("sha512")),
            "known names are shared"
        );
        assert_eq!(hashes.insert("sha256".into(), "a".into()), None);
        assert_eq!(hashes.insert("sha256".into(), "c".into()), Some("a".into()));
        assert!(hashes.contains_key("sha512"));
        assert_eq!(hashes.get("md5"), None);
        let pairs: Vec<_> = hashes.iter().collect();
        assert_eq!(
            pairs,
            [("sha256", &"c".to_string()), ("sha512", &"b".to_string())]
        );
        hashes.clear();
        assert!(hashes.is_empty());
    }

    #[test]
    fn refuses_what_is_not_an_object_of_strings() {
        assert!(serde_json::from_str::<Hashes>(r#"["sha256"]"#).is_err());
        assert!(serde_json::from_str::<Hashes>(r#"{"sha256": 1}"#).is_err());
    }
}

//! Reading a large JSON object into a `BTreeMap` in one bulk build.
//!
//! Metadata is written in canonical JSON, whose object keys are sorted, so the
//! entries of a large `targets` object arrive in order. Inserting them one by one
//! searches the tree for each; collecting them first and building the tree from the
//! sorted run (which `BTreeMap`'s `FromIterator` does after a stable sort, linear on
//! sorted input) is about twice as fast for 25,000 targets. Keys out of order cost
//! only the sort. A key that appears twice keeps its last value, as with inserts.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};

/// Entries reserved up front at most, whatever size the input claims.
const MAX_RESERVE: usize = 4096;

/// Deserializes a map with string keys as [`BTreeMap::from_iter`] of its entries.
///
/// # Errors
/// The deserializer's error when the input is not a map of `V`.
pub(crate) fn deserialize<'de, D, V>(deserializer: D) -> Result<BTreeMap<String, V>, D::Error>
where
    D: Deserializer<'de>,
    V: Deserialize<'de>,
{
    struct Entries<V>(PhantomData<V>);

    impl<'de, V: Deserialize<'de>> Visitor<'de> for Entries<V> {
        type Value = BTreeMap<String, V>;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a map")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0).min(MAX_RESERVE));
            while let Some(entry) = map.next_entry::<String, V>()? {
                entries.push(entry);
            }
            Ok(entries.into_iter().collect())
        }
    }

    deserializer.deserialize_map(Entries(PhantomData))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct Holder {
        #[serde(deserialize_with = "deserialize")]
        map: BTreeMap<String, u32>,
    }

    fn read(json: &str) -> BTreeMap<String, u32> {
        serde_json::from_str::<Holder>(json).unwrap().map
    }

    #[test]
    fn same_as_inserting_one_by_one() {
        let json = r#"{"map":{"b":2,"a":1,"c":3,"a0":4}}"#;
        let expected: BTreeMap<String, u32> = serde_json::from_str::<serde_json::Value>(json)
            .unwrap()["map"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_u64().unwrap() as u32))
            .collect();
        assert_eq!(read(json), expected);
        assert!(read(r#"{"map":{}}"#).is_empty());
    }

    #[test]
    fn a_repeated_key_keeps_its_last_value() {
        assert_eq!(read(r#"{"map":{"a":1,"b":2,"a":3}}"#)["a"], 3);
    }

    #[test]
    fn not_a_map_is_an_error() {
        assert!(serde_json::from_str::<Holder>(r#"{"map":[1]}"#).is_err());
        assert!(serde_json::from_str::<Holder>(r#"{"map":{"a":"x"}}"#).is_err());
    }
}

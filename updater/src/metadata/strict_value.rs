//! Reading JSON into a [`Value`] with every object's keys distinct.
//!
//! `serde_json` keeps the last of two members with the same key, and so does
//! Python's `json`. A signed document that names one key twice is ambiguous (which
//! member did the signer mean?), so the `signed` part of metadata is read here
//! instead, and refused as malformed when any object in it, at any depth, names a
//! key twice. Keys are compared after unescaping: `"a"` and `"\u0061"` are the same
//! key.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, Error as _, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::ParseError;

/// Parses `text` as one JSON value.
///
/// Guarantee: the value is exactly what `serde_json::from_str::<Value>` returns, and
/// no object in the text names a key twice.
///
/// # Errors
/// [`ParseError::Json`] when the text is not JSON, or an object names a key twice
/// (the message names the key, the line and the column).
pub fn parse_strict_value(text: &str) -> Result<Value, ParseError> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let value = StrictValue.deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(value)
}

/// A JSON value whose objects have distinct keys.
#[derive(Clone, Copy)]
struct StrictValue;

impl<'de> DeserializeSeed<'de> for StrictValue {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictValue {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        // JSON has no NaN or infinity, so this is always a number; canonical JSON
        // refuses it later, naming it.
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut members = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if members.contains_key(&key) {
                return Err(A::Error::custom(format!(
                    "the key {key:?} appears twice in one object; a signed document must name each key once"
                )));
            }
            let item = map.next_value_seed(self)?;
            members.insert(key, item);
        }
        Ok(Value::Object(members))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_serde_json_reads() {
        for text in [
            r#"{"b":[1,-2,18446744073709551615,1.5,"x\u00e9",null,true,{}],"a":{"c":false}}"#,
            "[]",
            "\"\\\"\"",
            " 7 ",
        ] {
            let expected: Value = serde_json::from_str(text).unwrap();
            assert_eq!(parse_strict_value(text).unwrap(), expected, "{text}");
        }
    }

    #[test]
    fn refuses_a_key_named_twice_at_any_depth() {
        for text in [
            r#"{"a":1,"a":1}"#,
            r#"{"a":1,"b":{"c":[{"d":1,"e":2,"d":3}]}}"#,
            r#"{"a":1,"\u0061":2}"#,
            r#"{"r\u00e9sum\u00e9":1,"résumé":2}"#,
        ] {
            let error = parse_strict_value(text).unwrap_err().to_string();
            assert!(error.contains("appears twice"), "{text}: {error}");
        }
        // Canonically equivalent but different strings are different keys.
        let v = parse_strict_value("{\"r\u{e9}sum\u{e9}\":1,\"re\u{301}sume\u{301}\":2}").unwrap();
        assert_eq!(v.as_object().unwrap().len(), 2);
    }

    #[test]
    fn refuses_what_is_not_one_json_value() {
        for text in ["", "{", "{} {}", "[1,]", "{\"a\":\"\\ud800\"}"] {
            assert!(parse_strict_value(text).is_err(), "{text}");
        }
    }
}

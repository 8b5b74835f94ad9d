//! How body fields are read: as leniently as Whereby's own clients need (null is as good as absent)
//! and with a rule in words when a field has the wrong shape. Each helper's message completes the
//! field's name: "isLocked" + " must be a boolean".

use std::str::FromStr;

use serde::Deserialize;
use serde::de::{Deserializer, Error};
use serde_json::Value;

fn raw<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Ok(Option::<Value>::deserialize(d)?.filter(|v| !v.is_null()))
}

fn text<'de, D: Deserializer<'de>>(d: D, rule: &str) -> Result<Option<String>, D::Error> {
    match raw(d)? {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(D::Error::custom(format!("must be {rule}"))),
    }
}

/// A string, or null.
pub fn string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    text(d, "a string")
}

/// A date-time as text (its format is checked with the rest of the request), or null.
pub fn date<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    text(d, DATE_RULE)
}

pub const DATE_RULE: &str = "an ISO 8601 date-time such as 2026-11-24T15:00:00Z";

/// A boolean, or null.
pub fn boolean<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    match raw(d)? {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(b)),
        Some(_) => Err(D::Error::custom("must be a boolean")),
    }
}

/// One of an enum's names, or null.
pub fn choice<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr + strum::VariantNames,
{
    let rule = format!("one of: {}", T::VARIANTS.join(", "));
    match text(d, &rule)? {
        None => Ok(None),
        Some(raw) => raw
            .parse()
            .map(Some)
            .map_err(|_| D::Error::custom(format!("must be {rule}, not {raw:?}"))),
    }
}

/// An array of strings, or null.
pub fn strings<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    strings_or(d, "must be an array of strings")
}

/// An array of strings, or null; `rule` says what else it may not be.
pub fn strings_or<'de, D: Deserializer<'de>>(
    d: D,
    rule: &str,
) -> Result<Option<Vec<String>>, D::Error> {
    match raw(d)? {
        None => Ok(None),
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|item| match item {
                Value::String(s) => Ok(s),
                _ => Err(D::Error::custom("must be an array of strings")),
            })
            .collect::<Result<_, _>>()
            .map(Some),
        Some(_) => Err(D::Error::custom(rule)),
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    use crate::meeting::RoomMode;

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Probe {
        #[serde(default, deserialize_with = "super::boolean")]
        is_locked: Option<bool>,
        #[serde(default, deserialize_with = "super::choice")]
        room_mode: Option<RoomMode>,
    }

    fn error(value: serde_json::Value) -> String {
        let err = serde_path_to_error::deserialize::<_, Probe>(value).unwrap_err();
        format!("{} {}", err.path(), err.inner())
    }

    #[test]
    fn wrong_shapes_are_named_with_their_rule() {
        assert_eq!(
            error(json!({"isLocked": "yes"})),
            "isLocked must be a boolean"
        );
        assert_eq!(
            error(json!({"roomMode": "huge"})),
            "roomMode must be one of: normal, group, not \"huge\""
        );
        assert_eq!(
            error(json!({"roomMode": 3})),
            "roomMode must be one of: normal, group"
        );
        let ok: Probe = serde_json::from_value(json!({"isLocked": null, "other": 1})).unwrap();
        assert_eq!((ok.is_locked, ok.room_mode), (None, None));
    }
}

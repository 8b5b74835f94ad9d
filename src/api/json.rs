//! Request-body and query-string extraction that fails with our `{"error": ...}` body, never axum's
//! plain-text rejections.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use serde_json::{Map, Value};

use super::error::ApiError;

/// A request body that must be a JSON object. The content type is not checked: clients that forget
/// `Content-Type: application/json` still work, as they do against Whereby.
pub struct JsonObject(pub Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for JsonObject {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge("request body is too large".into())
            } else {
                ApiError::bad_request(format!("cannot read the request body: {rejection}"))
            }
        })?;
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(map)) => Ok(JsonObject(map)),
            Ok(_) => Err(ApiError::bad_request("request body must be a JSON object")),
            Err(err) => Err(ApiError::bad_request(format!(
                "request body is not valid JSON: {err}"
            ))),
        }
    }
}

/// The query string as ordered key/value pairs (keys such as `roomName[startsWith]` keep their brackets).
pub fn query_pairs(raw: Option<&str>) -> Vec<(String, String)> {
    form_urlencoded::parse(raw.unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

/// The single value of a query parameter; a parameter given twice is an error rather than a guess.
pub fn single_param<'a>(
    pairs: &'a [(String, String)],
    name: &str,
) -> Result<Option<&'a str>, ApiError> {
    let mut values = pairs.iter().filter(|(k, _)| k == name).map(|(_, v)| v);
    let first = values.next();
    if values.next().is_some() {
        return Err(ApiError::bad_request(format!(
            "{name} is given more than once"
        )));
    }
    Ok(first.map(String::as_str))
}

/// Pages hold at most this many results.
pub const MAX_PAGE: u32 = 100;

/// `limit`: 1 to 100, `default` when absent.
pub fn parse_limit(raw: Option<&str>, default: u32) -> Result<u32, ApiError> {
    let Some(raw) = raw else {
        return Ok(default);
    };
    raw.trim()
        .parse::<u32>()
        .ok()
        .filter(|limit| (1..=MAX_PAGE).contains(limit))
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "limit must be an integer from 1 to {MAX_PAGE}, not {raw:?}"
            ))
        })
}

/// Cursors are a position (a last id, or an offset) in 16 hex digits: opaque to clients, cheap to check.
pub fn encode_cursor(position: u64) -> String {
    format!("{position:016x}")
}

pub fn decode_cursor(raw: &str) -> Result<u64, ApiError> {
    let malformed = || {
        ApiError::bad_request(
            "cursor is malformed; pass the cursor value returned by the previous page",
        )
    };
    if raw.len() != 16 {
        return Err(malformed());
    }
    let position = u64::from_str_radix(raw, 16).map_err(|_| malformed())?;
    if position > i64::MAX as u64 {
        return Err(malformed());
    }
    Ok(position)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trip() {
        assert_eq!(decode_cursor(&encode_cursor(12345)).unwrap(), 12345);
        assert!(decode_cursor("zz").is_err());
        assert!(decode_cursor("ffffffffffffffff").is_err());
    }
}

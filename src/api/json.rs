//! Request-body and query-string extraction that fails with our `{"error": ...}` body, never axum's
//! plain-text rejections. Bodies are read into typed structs; a field of the wrong shape is named in
//! the error ("isLocked must be a boolean").

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::error::ApiError;

/// A request body that must be a JSON object, read into `T`. The content type is not checked:
/// clients that forget `Content-Type: application/json` still work, as they do against Whereby.
/// Unknown fields are ignored.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|rejection| body_error(rejection.status(), &rejection))?;
        let value = match serde_json::from_slice::<Value>(&bytes) {
            Ok(value @ Value::Object(_)) => value,
            Ok(_) => return Err(ApiError::bad_request("request body must be a JSON object")),
            Err(err) => {
                return Err(ApiError::bad_request(format!(
                    "request body is not valid JSON: {err}"
                )));
            }
        };
        serde_path_to_error::deserialize(value)
            .map(JsonBody)
            .map_err(|err| {
                let path = err.path().to_string();
                if path == "." {
                    ApiError::bad_request(err.inner())
                } else {
                    ApiError::bad_request(format!("{path} {}", err.inner()))
                }
            })
    }
}

/// Why a request body could not be read: too large (413), too slow (408), or broken (400).
pub fn body_error(
    status: axum::http::StatusCode,
    rejection: &(dyn std::error::Error + 'static),
) -> ApiError {
    if status == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::PayloadTooLarge("request body is too large".into());
    }
    let mut cause = Some(rejection);
    while let Some(err) = cause {
        if err.is::<tower_http::timeout::TimeoutError>() {
            return ApiError::RequestTimeout("the request body did not arrive in time".into());
        }
        cause = err.source();
    }
    ApiError::bad_request(format!("cannot read the request body: {rejection}"))
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

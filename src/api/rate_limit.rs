//! Whereby's point budget on the wire: what a request costs (reads 1, deletes 2, writes 3), the
//! `X-RateLimit-*` headers and the 429. The budget itself (a server's, or a cluster's) is kept by
//! `services/limits.rs`.

use axum::Json;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Serialize;

pub use crate::services::limits::Verdict;

pub fn points_for(method: &Method) -> u32 {
    match *method {
        Method::GET | Method::HEAD | Method::OPTIONS => 1,
        Method::DELETE => 2,
        _ => 3,
    }
}

#[derive(Serialize)]
struct Refusal {
    data: RefusalData,
    error: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RefusalData {
    ms_left: u64,
}

/// The budget's headers and refusal, as Whereby sends them.
pub trait VerdictHttp {
    fn apply_headers(&self, headers: &mut HeaderMap);
    fn refusal(&self) -> Response;
}

impl VerdictHttp for Verdict {
    fn apply_headers(&self, headers: &mut HeaderMap) {
        let reset_at = Utc::now() + self.resets_in;
        let pairs = [
            ("x-ratelimit-limit", self.limit.to_string()),
            ("x-ratelimit-remaining", self.remaining.to_string()),
            (
                "x-ratelimit-reset",
                reset_at.format("%a, %d %b %Y %H:%M:%S GMT").to_string(),
            ),
        ];
        for (name, value) in pairs {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(name, value);
            }
        }
    }

    /// The 429 of the spec: `{"error", "data": {"msLeft"}}` with `Retry-After` in whole seconds.
    fn refusal(&self) -> Response {
        let ms_left = u64::try_from(self.resets_in.as_millis()).unwrap_or(u64::MAX);
        let body = Refusal {
            data: RefusalData { ms_left },
            error: "Rate limit active for throttle key: organization:1",
        };
        let mut response = (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response();
        let headers = response.headers_mut();
        self.apply_headers(headers);
        headers.insert(
            "retry-after",
            HeaderValue::from(self.resets_in.as_secs_f64().ceil() as u64),
        );
        response
    }
}

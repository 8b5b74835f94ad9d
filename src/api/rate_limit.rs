//! Whereby's point budget: reads cost 1, deletes 2, writes 3, out of N points per minute for the whole
//! server (shared by every key). A fixed one-minute window that opens with the first request after the
//! previous one closed, so `X-RateLimit-Remaining` and `X-RateLimit-Reset` are exact.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::Json;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Serialize;

pub const WINDOW: Duration = Duration::from_secs(60);

pub fn points_for(method: &Method) -> u32 {
    match *method {
        Method::GET | Method::HEAD | Method::OPTIONS => 1,
        Method::DELETE => 2,
        _ => 3,
    }
}

#[derive(Debug)]
pub struct RateLimiter {
    budget: u32,
    window: Mutex<Window>,
}

#[derive(Debug)]
struct Window {
    /// None until the first request.
    opened: Option<Instant>,
    used: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Time until the window closes and the full budget is back.
    pub resets_in: Duration,
}

impl RateLimiter {
    pub fn new(budget: u32) -> Self {
        RateLimiter {
            budget,
            window: Mutex::new(Window {
                opened: None,
                used: 0,
            }),
        }
    }

    /// Spends `points` if the budget allows; a refused request spends nothing.
    pub fn consume(&self, points: u32, now: Instant) -> Verdict {
        // The lock is held for a few instructions; a poisoned lock only means another request panicked
        // mid-update of two integers, which leaves them usable.
        let mut window = self
            .window
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let opened = match window.opened {
            Some(opened) if now.duration_since(opened) < WINDOW => opened,
            _ => {
                window.opened = Some(now);
                window.used = 0;
                now
            }
        };
        let allowed = window.used + points <= self.budget;
        if allowed {
            window.used += points;
        }
        Verdict {
            allowed,
            limit: self.budget,
            remaining: self.budget.saturating_sub(window.used),
            resets_in: WINDOW.saturating_sub(now.duration_since(opened)),
        }
    }
}

/// The spec's 429 body (keys in the order they have always had).
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

impl Verdict {
    pub fn apply_headers(&self, headers: &mut HeaderMap) {
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
    pub fn refusal(&self) -> Response {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_is_spent_by_weight_and_refills_after_the_window() {
        let limiter = RateLimiter::new(10);
        let t0 = Instant::now();
        assert!(limiter.consume(3, t0).allowed);
        assert!(limiter.consume(3, t0).allowed);
        assert!(limiter.consume(3, t0).allowed);
        let refused = limiter.consume(3, t0 + Duration::from_secs(10));
        assert!(!refused.allowed);
        assert_eq!(refused.remaining, 1);
        assert_eq!(refused.resets_in, Duration::from_secs(50));
        // A cheaper request still fits what is left.
        assert!(limiter.consume(1, t0).allowed);
        let next_window = limiter.consume(3, t0 + WINDOW);
        assert!(next_window.allowed);
        assert_eq!(next_window.remaining, 7);
    }
}

//! API keys: generated with 256 bits of randomness, shown once, stored only as a SHA-256 hash (a slow
//! password hash buys nothing for a secret this long). The middleware checks the bearer key, then
//! charges the request to the server's rate-limit budget.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::error::ApiError;
use super::rate_limit::points_for;
use crate::app::AppState;
use crate::store::{ApiKeyInfo, Store, StoreError};

const KEY_MARKER: &str = "ar_";

/// How long a key found valid is trusted without asking the store again; a revocation (made by the
/// CLI, maybe in another process) takes effect within this time.
pub const KEY_CACHE_TTL: Duration = Duration::from_secs(1);
const KEY_CACHE_MAX: usize = 1024;

/// Recently verified key hashes, so a busy integrator's every call does not cost a database read.
#[derive(Debug, Default)]
pub struct KeyCache {
    verified: Mutex<HashMap<String, Instant>>,
}

impl KeyCache {
    fn is_fresh(&self, hash: &str, now: Instant) -> bool {
        let verified = self.verified.lock().unwrap_or_else(|p| p.into_inner());
        verified
            .get(hash)
            .is_some_and(|at| now.duration_since(*at) < KEY_CACHE_TTL)
    }

    fn remember(&self, hash: String, now: Instant) {
        let mut verified = self.verified.lock().unwrap_or_else(|p| p.into_inner());
        if verified.len() >= KEY_CACHE_MAX {
            verified.retain(|_, at| now.duration_since(*at) < KEY_CACHE_TTL);
            if verified.len() >= KEY_CACHE_MAX {
                verified.clear();
            }
        }
        verified.insert(hash, now);
    }
}

pub fn hash_api_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// Creates and stores a new key; returns the key itself (the only time it exists in clear) and its record.
pub async fn issue_api_key(
    store: &dyn Store,
    name: &str,
) -> Result<(String, ApiKeyInfo), StoreError> {
    let mut secret = [0u8; 32];
    rand::rng().fill_bytes(&mut secret);
    let key = format!("{KEY_MARKER}{}", URL_SAFE_NO_PAD.encode(secret));
    let prefix = key[..KEY_MARKER.len() + 6].to_owned();
    let info = store
        .create_api_key(name, &hash_api_key(&key), &prefix, Utc::now())
        .await?;
    Ok((key, info))
}

fn bearer_token(req: &Request) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|token| !token.is_empty())
}

/// Guards every REST route: a valid key (401 otherwise), then the point budget (429 when spent).
pub async fn require_key_and_budget(
    State(state): State<Arc<AppState>>,
    req: Request,
    next: Next,
) -> Response {
    let Some(token) = bearer_token(&req) else {
        return ApiError::Unauthorized.into_response();
    };
    let hash = hash_api_key(token);
    let now = Instant::now();
    if !state.key_cache.is_fresh(&hash, now) {
        match state.store.find_active_api_key(&hash).await {
            Ok(Some(_)) => state.key_cache.remember(hash, now),
            Ok(None) => return ApiError::Unauthorized.into_response(),
            Err(err) => return ApiError::from(err).into_response(),
        }
    }
    let verdict = state.rate_limiter.consume(points_for(req.method()), now);
    if !verdict.allowed {
        tracing::warn!(
            method = %req.method(),
            path = %req.uri().path(),
            "rate limit budget spent; request refused"
        );
        return verdict.refusal();
    }
    let mut response = next.run(req).await;
    verdict.apply_headers(response.headers_mut());
    response
}

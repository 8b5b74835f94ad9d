//! API keys: generated with 256 bits of randomness, shown once, stored only as a SHA-256 hash (a slow
//! password hash buys nothing for a secret this long). The middleware checks the bearer key, then
//! charges the request to the server's rate-limit budget.

use std::sync::Arc;
use std::time::Instant;

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
    match state.store.find_active_api_key(&hash_api_key(token)).await {
        Ok(Some(_)) => {}
        Ok(None) => return ApiError::Unauthorized.into_response(),
        Err(err) => return ApiError::from(err).into_response(),
    }
    let verdict = state
        .rate_limiter
        .consume(points_for(req.method()), Instant::now());
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

//! The gate in front of every REST route: a valid API key (401 otherwise), then the point budget
//! (429 when spent).

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::rate_limit::{VerdictHttp, points_for};
use crate::cluster::NODE_HEADER;
use crate::services::api_keys::ApiKeys;
use crate::services::limits::DynLimits;

#[derive(Clone)]
pub struct ApiGate {
    pub keys: ApiKeys,
    pub limits: DynLimits,
    /// In a cluster: a request another node forwarded (it checked the key and spent the budget).
    pub cluster: Option<crate::cluster::Cluster>,
}

fn bearer_token(req: &Request) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|token| !token.is_empty())
}

pub async fn require_key_and_budget(
    State(gate): State<ApiGate>,
    req: Request,
    next: Next,
) -> Response {
    if gate.cluster.as_ref().is_some_and(|cluster| {
        cluster.is_node(req.headers().get(NODE_HEADER).map(|v| v.as_bytes()))
    }) {
        return next.run(req).await;
    }
    let Some(token) = bearer_token(&req) else {
        return ApiError::Unauthorized.into_response();
    };
    match gate.keys.is_valid(token).await {
        Ok(true) => {}
        Ok(false) => return ApiError::Unauthorized.into_response(),
        Err(err) => return ApiError::from(err).into_response(),
    }
    let verdict = gate.limits.spend(points_for(req.method())).await;
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

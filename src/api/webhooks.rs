//! `/v1/webhooks`: anteroom's own resource (Whereby manages webhooks in its dashboard) to add, list
//! and remove the endpoints that receive events. The signing secret is shown once, at creation.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde_json::{Value, json};

use super::error::ApiError;
use super::json::JsonObject;
use crate::app::AppState;
use crate::meeting::format_date;
use crate::store::WebhookEndpoint;
use crate::webhooks::{check_url, new_secret, parse_event_types};

fn endpoint_body(endpoint: &WebhookEndpoint) -> Value {
    json!({
        "id": endpoint.id.to_string(),
        "url": endpoint.url,
        "events": endpoint.events,
        "createdAt": format_date(endpoint.created_at),
    })
}

fn not_found() -> ApiError {
    ApiError::NotFound("Could not find webhook".into())
}

fn parse_id(raw: &str) -> Option<i64> {
    raw.parse::<i64>().ok().filter(|id| *id > 0)
}

pub async fn create(
    State(state): State<Arc<AppState>>,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
    let url = body
        .get("url")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::bad_request("url is required (a string)"))?;
    check_url(url).map_err(ApiError::BadRequest)?;
    let names: Vec<&str> = match body.get("events") {
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .ok_or_else(|| ApiError::bad_request("events must be an array of strings"))
            })
            .collect::<Result<_, _>>()?,
        _ => {
            return Err(ApiError::bad_request(
                "events is required (an array of event types)",
            ));
        }
    };
    let events =
        parse_event_types(names).map_err(|e| ApiError::BadRequest(format!("events: {e}")))?;
    let endpoint = state
        .store
        .create_webhook(url, &events, &new_secret(), Utc::now())
        .await?;
    tracing::info!(id = endpoint.id, url = %endpoint.url, "webhook endpoint added");
    let mut response = endpoint_body(&endpoint);
    response["secret"] = json!(endpoint.secret);
    Ok((StatusCode::CREATED, Json(response)).into_response())
}

pub async fn list(State(state): State<Arc<AppState>>) -> Result<Json<Value>, ApiError> {
    let endpoints = state.store.list_webhooks().await?;
    let results: Vec<Value> = endpoints.iter().map(endpoint_body).collect();
    Ok(Json(json!({ "results": results })))
}

pub async fn get_one(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id).ok_or_else(not_found)?;
    let endpoint = state.store.get_webhook(id).await?.ok_or_else(not_found)?;
    Ok(Json(endpoint_body(&endpoint)))
}

/// Idempotent, like meetings: 204 whether or not the endpoint existed.
pub async fn delete(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if let Some(id) = parse_id(&id)
        && state.store.remove_webhook(id, Utc::now()).await?
    {
        tracing::info!(id, "webhook endpoint removed");
    }
    Ok(StatusCode::NO_CONTENT)
}

//! `/v1/webhooks`: anteroom's own resource (Whereby manages webhooks in its dashboard) to add, list
//! and remove the endpoints that receive events. The signing secret is shown once, at creation.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::error::ApiError;
use super::json::JsonBody;
use super::lenient;
use crate::meeting::format_date;
use crate::store::WebhookEndpoint;
use crate::webhooks::endpoints::Endpoints;

#[derive(Debug, Deserialize)]
pub struct CreateWebhook {
    #[serde(default, deserialize_with = "lenient::string")]
    url: Option<String>,
    #[serde(default, deserialize_with = "lenient::strings")]
    events: Option<Vec<String>>,
}

/// An endpoint as the API shows it (keys in alphabetical order, as they have always been).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EndpointBody {
    created_at: String,
    events: Vec<String>,
    id: String,
    /// Only in the answer to its creation.
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
    url: String,
}

impl EndpointBody {
    fn of(endpoint: &WebhookEndpoint) -> Self {
        EndpointBody {
            created_at: format_date(endpoint.created_at),
            events: endpoint.events.clone(),
            id: endpoint.id.to_string(),
            secret: None,
            url: endpoint.url.clone(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct EndpointList {
    results: Vec<EndpointBody>,
}

fn not_found() -> ApiError {
    ApiError::NotFound("Could not find webhook".into())
}

fn parse_id(raw: &str) -> Option<i64> {
    raw.parse::<i64>().ok().filter(|id| *id > 0)
}

pub async fn create(
    State(endpoints): State<Endpoints>,
    JsonBody(body): JsonBody<CreateWebhook>,
) -> Result<Response, ApiError> {
    let url = body
        .url
        .ok_or_else(|| ApiError::bad_request("url is required (a string)"))?;
    let events = body
        .events
        .ok_or_else(|| ApiError::bad_request("events is required (an array of event types)"))?;
    let endpoint = endpoints
        .add(&url, events.iter().map(String::as_str))
        .await?;
    let mut response = EndpointBody::of(&endpoint);
    response.secret = Some(endpoint.secret);
    Ok((StatusCode::CREATED, Json(response)).into_response())
}

pub async fn list(State(endpoints): State<Endpoints>) -> Result<Json<EndpointList>, ApiError> {
    let results = endpoints
        .list()
        .await?
        .iter()
        .map(EndpointBody::of)
        .collect();
    Ok(Json(EndpointList { results }))
}

pub async fn get_one(
    State(endpoints): State<Endpoints>,
    Path(id): Path<String>,
) -> Result<Json<EndpointBody>, ApiError> {
    let id = parse_id(&id).ok_or_else(not_found)?;
    let endpoint = endpoints.get(id).await?.ok_or_else(not_found)?;
    Ok(Json(EndpointBody::of(&endpoint)))
}

/// Idempotent, like meetings: 204 whether or not the endpoint existed.
pub async fn delete(
    State(endpoints): State<Endpoints>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if let Some(id) = parse_id(&id) {
        endpoints.remove(id).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_keys_are_in_their_old_order() {
        let body = EndpointBody {
            created_at: "c".into(),
            events: vec!["e".into()],
            id: "1".into(),
            secret: Some("s".into()),
            url: "u".into(),
        };
        let direct = serde_json::to_string(&body).unwrap();
        let sorted = serde_json::to_string(&serde_json::to_value(&body).unwrap()).unwrap();
        assert_eq!(direct, sorted);
    }
}

//! The one error type of the HTTP layer: every failure becomes a status and a `{"error": "..."}` body.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::services::themes::ThemeError;
use crate::store::StoreError;
use crate::webhooks::endpoints::EndpointError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is malformed; the message names the field and the rule it broke.
    #[error("{0}")]
    BadRequest(String),
    #[error("Access token is missing or invalid")]
    Unauthorized,
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    /// The request is fine but the state of things does not allow it now (a full room).
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    /// The client did not send its request in time.
    #[error("{0}")]
    RequestTimeout(String),
    /// A per-address limit outside the REST budget (whose 429 has the spec's own body).
    #[error("{0}")]
    TooManyRequests(String),
    #[error("storage failure: {0}")]
    Store(#[from] StoreError),
    /// Our fault, not the store's: the message goes to the log only.
    #[error("{0}")]
    Internal(String),
}

/// When a client may try again after the store was unavailable (seconds): a few of the health
/// heartbeat's beats, by which `/healthz` knows whether it is back.
const RETRY_AFTER_SECS: &str = "5";

/// Every error body.
#[derive(Serialize)]
pub struct ErrorBody {
    pub error: String,
}

impl ApiError {
    pub fn bad_request(message: impl ToString) -> Self {
        ApiError::BadRequest(message.to_string())
    }

    pub fn meeting_not_found() -> Self {
        ApiError::NotFound("Could not find meeting".into())
    }

    fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::RequestTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            ApiError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Store(err) if err.is_unavailable() => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Store(_) | ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<ThemeError> for ApiError {
    fn from(err: ThemeError) -> Self {
        match err {
            ThemeError::RoomNotFound => ApiError::NotFound(err.to_string()),
            ThemeError::Store(err) => ApiError::Store(err),
            ThemeError::Internal(_) => ApiError::Internal(err.to_string()),
            other => ApiError::BadRequest(other.to_string()),
        }
    }
}

impl From<EndpointError> for ApiError {
    fn from(err: EndpointError) -> Self {
        match err {
            EndpointError::Store(err) => ApiError::Store(err),
            events if events.is_about_events() => ApiError::BadRequest(format!("events: {events}")),
            other => ApiError::BadRequest(other.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let error = if status == StatusCode::SERVICE_UNAVAILABLE {
            // For now (a store locked, read-only, full or away): the client may try again.
            tracing::warn!(error = %self, "request failed: the store is unavailable");
            "the server's store is unavailable for now; try again in a few seconds".to_owned()
        } else if status.is_server_error() {
            // Logged once here, with the cause; the client learns only that it was our fault.
            tracing::error!(error = %self, "request failed");
            "internal server error; the server log has the cause".to_owned()
        } else {
            self.to_string()
        };
        let mut response = (status, Json(ErrorBody { error })).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from_static(RETRY_AFTER_SECS),
            );
        }
        response
    }
}

//! The Whereby-compatible REST API under `/v1`. Files mirror Whereby's URL tree. Each handler takes
//! only the service it needs (axum's `FromRef`), never the whole application state.

pub mod auth;
pub mod error;
pub mod forward;
pub mod insights;
pub mod json;
pub mod knocks;
pub mod lenient;
pub mod meetings;
pub mod rate_limit;
pub mod recordings;
pub mod rooms;
pub mod webhooks;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRef};
use axum::middleware;
use axum::routing::{get, put};

use self::auth::ApiGate;
use crate::ops::Ops;
use crate::services::insights::Insights;
use crate::services::meetings::Meetings;
use crate::services::rooms::Rooms;
use crate::services::themes::Themes;
use crate::webhooks::endpoints::Endpoints;

/// JSON bodies of this API are small; theme uploads set their own, larger limit.
const JSON_BODY_LIMIT: usize = 64 * 1024;

pub fn router<S>(gate: ApiGate, forwarder: Option<forward::Forwarder>) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Meetings: FromRef<S>,
    Rooms: FromRef<S>,
    Themes: FromRef<S>,
    Insights: FromRef<S>,
    Endpoints: FromRef<S>,
    Ops: FromRef<S>,
{
    Router::new()
        .route("/v1/meetings", get(meetings::list).post(meetings::create))
        .route(
            "/v1/meetings/{meeting_id}",
            get(meetings::get_one).delete(meetings::delete),
        )
        .route("/v1/webhooks", get(webhooks::list).post(webhooks::create))
        .route(
            "/v1/webhooks/{id}",
            get(webhooks::get_one).delete(webhooks::delete),
        )
        .route("/v1/insights/rooms", get(insights::rooms))
        .route("/v1/insights/room-sessions", get(insights::room_sessions))
        .route(
            "/v1/insights/participants",
            get(insights::participants).delete(insights::forget),
        )
        .route("/v1/insights/participant", get(insights::participant))
        .merge(recordings::router())
        // Room counts are nobody's business but the operator's: behind the key too.
        .route("/metrics", get(crate::ops::metrics))
        .layer(DefaultBodyLimit::max(JSON_BODY_LIMIT))
        // Uploads get a larger body limit than the JSON routes.
        .route(
            "/v1/rooms/{*path}",
            put(rooms::put_theme)
                .layer(DefaultBodyLimit::max(rooms::UPLOAD_BODY_LIMIT))
                .get(knocks::get)
                .post(knocks::post)
                .layer(DefaultBodyLimit::max(JSON_BODY_LIMIT)),
        )
        // In a cluster, a call that touches a live room goes to the node that runs it (after the
        // key and the budget: the layer below runs first).
        .route_layer(middleware::from_fn_with_state(
            forwarder,
            forward::to_the_room,
        ))
        // route_layer: only matched routes need a key, so an unknown path is a plain 404.
        .route_layer(middleware::from_fn_with_state(
            gate,
            auth::require_key_and_budget,
        ))
}

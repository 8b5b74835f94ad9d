//! In a cluster: a REST call that touches a live room (its knocks, its participants, a decision, a
//! theme change, the meeting's deletion) runs on the node that runs the room, wherever the call
//! lands. The node it lands on checks the key and spends the budget, then passes the request on
//! whole; the owner answers it as if it had come straight there.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ErrorBody;
use crate::cluster::{Cluster, NODE_HEADER};
use crate::meeting::{MeetingId, RoomName};
use crate::services::rooms::Rooms;
use crate::store::DynStore;

/// The largest body passed on: a theme image's upload.
const LIMIT: usize = super::rooms::UPLOAD_BODY_LIMIT + 64 * 1024;

#[derive(Clone)]
pub struct Forwarder {
    pub cluster: Cluster,
    pub rooms: Rooms,
    pub store: DynStore,
    pub http: reqwest::Client,
}

pub async fn to_the_room(
    State(forwarder): State<Option<Forwarder>>,
    request: Request,
    next: Next,
) -> Response {
    let Some(forwarder) = forwarder else {
        return next.run(request).await;
    };
    if forwarder
        .cluster
        .is_node(request.headers().get(NODE_HEADER).map(|v| v.as_bytes()))
    {
        return next.run(request).await;
    }
    // Owned before awaiting: a request's body is not shareable across threads.
    let (method, path) = (request.method().clone(), request.uri().path().to_owned());
    let Some(room) = forwarder.room_of(&method, &path).await else {
        return next.run(request).await;
    };
    let Some(owner) = forwarder.rooms.owner_elsewhere(&room).await else {
        return next.run(request).await;
    };
    forwarder.forward(&owner, request).await
}

impl Forwarder {
    /// The room a request is about, if it touches one that may be live.
    async fn room_of(&self, method: &Method, path: &str) -> Option<RoomName> {
        if let Some(rest) = path.strip_prefix("/v1/rooms/") {
            let name = rest.split('/').find(|s| !s.is_empty())?;
            return RoomName::parse(name).ok();
        }
        if method == Method::DELETE
            && let Some(id) = path
                .strip_prefix("/v1/meetings/")
                .and_then(MeetingId::parse)
        {
            return Some(self.store.get_meeting(id).await.ok()??.room_name);
        }
        None
    }

    async fn forward(&self, owner: &str, request: Request) -> Response {
        let (parts, body) = request.into_parts();
        let Ok(body) = axum::body::to_bytes(body, LIMIT).await else {
            return unavailable("the request's body could not be read");
        };
        let target = format!(
            "{owner}{}",
            parts.uri.path_and_query().map_or("/", |p| p.as_str())
        );
        let mut outgoing = self
            .http
            .request(parts.method, target)
            .header(NODE_HEADER, &self.cluster.token)
            .body(body);
        if let Some(kind) = parts.headers.get(header::CONTENT_TYPE) {
            outgoing = outgoing.header(header::CONTENT_TYPE, kind);
        }
        let answer = match outgoing.send().await {
            Ok(answer) => answer,
            Err(err) => {
                tracing::warn!(%owner, error = %err, "cannot reach the node that runs the room");
                return unavailable("the room's server cannot be reached now; try again shortly");
            }
        };
        let status = answer.status();
        let kind = answer.headers().get(header::CONTENT_TYPE).cloned();
        let retry = answer.headers().get(header::RETRY_AFTER).cloned();
        let Ok(bytes) = answer.bytes().await else {
            return unavailable("the room's server did not finish its answer; try again");
        };
        let mut response = Response::new(Body::from(bytes));
        *response.status_mut() = status;
        for (name, value) in [(header::CONTENT_TYPE, kind), (header::RETRY_AFTER, retry)] {
            if let Some(value) = value {
                response.headers_mut().insert(name, value);
            }
        }
        response
    }
}

fn unavailable(error: &str) -> Response {
    let mut response = (
        StatusCode::SERVICE_UNAVAILABLE,
        axum::Json(ErrorBody {
            error: error.to_owned(),
        }),
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
    response
}

//! `/v1/rooms/{roomName}/knocks`: the knock queue and decisions from the integrator's backend, with
//! no host page open (ours, beyond Whereby's API). A decision follows the same rule as a host's:
//! each knock is decided once, whoever is first. `/v1/rooms/{roomName}/participants`: who is in.

use axum::Json;
use axum::extract::State;
use chrono::Utc;
use serde::{Deserialize, Serialize};

use super::error::ApiError;
use super::json::JsonBody;
use super::lenient;
use crate::meeting::text;
use crate::meeting::{ClientId, Meeting, RoomName, format_date};
use crate::room::event::{KnockView, Refusal, RefusalCode};
use crate::room::model::{KnockAction, KnockState, KnockTarget, Resolution};
use crate::services::rooms::{LookupError, Rooms};

/// What a room path names: the knock queue, one knock in it, or the people in the room.
#[derive(Debug, PartialEq, Eq)]
pub enum RoomPath {
    Queue(RoomName),
    One(RoomName, ClientId),
    Participants(RoomName),
}

/// `{roomName}/knocks`, `{roomName}/knocks/{clientId}` or `{roomName}/participants`; the room may
/// have any leading slashes.
pub fn parse_path(path: &str) -> Option<RoomPath> {
    let room = |raw: &str| RoomName::parse(raw).ok();
    if let Some(raw) = path.strip_suffix("/knocks") {
        return room(raw).map(RoomPath::Queue);
    }
    if let Some(raw) = path.strip_suffix("/participants") {
        return room(raw).map(RoomPath::Participants);
    }
    let (raw, client) = path.rsplit_once("/knocks/")?;
    let client = client.strip_suffix('/').unwrap_or(client);
    if client.is_empty() || client.contains('/') {
        return None;
    }
    Some(RoomPath::One(room(raw)?, ClientId::new(client)))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::EnumString, strum::VariantNames)]
#[strum(serialize_all = "lowercase")]
pub enum Action {
    Accept,
    Hold,
    Reject,
}

impl From<Action> for KnockAction {
    fn from(action: Action) -> Self {
        match action {
            Action::Accept => KnockAction::Accept,
            Action::Hold => KnockAction::Hold,
            Action::Reject => KnockAction::Reject,
        }
    }
}

/// `POST .../knocks/{clientId}` (one knock) or `POST .../knocks` with `all: true` (every one).
#[derive(Debug, Deserialize)]
pub struct Decision {
    #[serde(default, deserialize_with = "lenient::choice")]
    action: Option<Action>,
    #[serde(default, deserialize_with = "lenient::string")]
    message: Option<String>,
    #[serde(default, deserialize_with = "lenient::boolean")]
    all: Option<bool>,
}

/// A knock as the REST API shows it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KnockBody {
    client_id: String,
    display_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    external_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    avatar_url: Option<String>,
    knocked_at: String,
    waiting_seconds: i64,
    state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    hold_message: Option<String>,
    position: usize,
    /// The knocker's connection dropped; its knock keeps its place for the resume grace.
    away: bool,
}

impl KnockBody {
    fn of(knock: KnockView) -> Self {
        KnockBody {
            client_id: knock.client_id.as_str().to_owned(),
            display_name: knock.display_name,
            external_id: knock.external_id,
            metadata: knock.metadata,
            avatar_url: knock.avatar_url,
            knocked_at: format_date(knock.knocked_at),
            waiting_seconds: (Utc::now() - knock.knocked_at).num_seconds().max(0),
            state: match knock.state {
                KnockState::Waiting => "waiting",
                KnockState::Held => "held",
            },
            hold_message: knock.hold_message,
            position: knock.position,
            away: knock.away,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Queue {
    results: Vec<KnockBody>,
}

/// Someone in the room as the REST API shows them.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ParticipantBody {
    audio: bool,
    client_id: String,
    display_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    external_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    avatar_url: Option<String>,
    role: &'static str,
    screen: bool,
    video: bool,
}

#[derive(Debug, Serialize)]
pub struct Participants {
    results: Vec<ParticipantBody>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DecisionBody {
    client_id: String,
    resolution: &'static str,
}

impl DecisionBody {
    fn of((client, resolution): (ClientId, Resolution)) -> Self {
        DecisionBody {
            client_id: client.as_str().to_owned(),
            resolution: match resolution {
                Resolution::Accepted => "accepted",
                Resolution::Held => "held",
                Resolution::Rejected => "rejected",
            },
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Decisions {
    results: Vec<DecisionBody>,
}

async fn meeting(rooms: &Rooms, room: &RoomName) -> Result<std::sync::Arc<Meeting>, ApiError> {
    rooms.meeting(room).await.map_err(|err| match err {
        LookupError::NotFound | LookupError::Expired => {
            ApiError::NotFound("Could not find room".into())
        }
        LookupError::Store(err) => ApiError::Store(err),
    })
}

fn refusal(refusal: Refusal) -> ApiError {
    match refusal.code {
        RefusalCode::KnockNotFound => ApiError::NotFound(refusal.message),
        RefusalCode::RoomFull => ApiError::Conflict(refusal.message),
        _ => ApiError::BadRequest(refusal.message),
    }
}

pub async fn list(rooms: &Rooms, room: &RoomName) -> Result<Json<Queue>, ApiError> {
    let meeting = meeting(rooms, room).await?;
    let queue = rooms.knocks(&meeting).await.map_err(refusal)?;
    Ok(Json(Queue {
        results: queue.into_iter().map(KnockBody::of).collect(),
    }))
}

pub async fn participants(rooms: &Rooms, room: &RoomName) -> Result<Json<Participants>, ApiError> {
    let meeting = meeting(rooms, room).await?;
    let members = rooms.members(&meeting).await;
    Ok(Json(Participants {
        results: members
            .into_iter()
            .map(|member| ParticipantBody {
                audio: member.media.audio,
                client_id: member.id.as_str().to_owned(),
                display_name: member.display_name,
                external_id: member.external_id,
                metadata: member.metadata,
                avatar_url: member.avatar_url,
                role: member.role.as_str(),
                screen: member.media.screen,
                video: member.media.video,
            })
            .collect(),
    }))
}

async fn decide(
    rooms: &Rooms,
    room: &RoomName,
    target: KnockTarget,
    decision: Decision,
) -> Result<Vec<DecisionBody>, ApiError> {
    let action = decision
        .action
        .ok_or_else(|| ApiError::bad_request("action is required: accept, hold or reject"))?;
    let message = text::host_message(decision.message.as_deref()).map_err(ApiError::bad_request)?;
    let meeting = meeting(rooms, room).await?;
    let decided = rooms
        .decide(&meeting, target, action.into(), message)
        .await
        .map_err(refusal)?;
    Ok(decided.into_iter().map(DecisionBody::of).collect())
}

pub async fn decide_one(
    rooms: &Rooms,
    room: &RoomName,
    client: ClientId,
    decision: Decision,
) -> Result<Json<DecisionBody>, ApiError> {
    let mut decided = decide(rooms, room, KnockTarget::One(client), decision).await?;
    decided
        .pop()
        .map(Json)
        .ok_or_else(|| ApiError::Internal("a decision on one knock decided nothing".into()))
}

pub async fn decide_all(
    rooms: &Rooms,
    room: &RoomName,
    decision: Decision,
) -> Result<Json<Decisions>, ApiError> {
    if decision.all != Some(true) {
        return Err(ApiError::bad_request(
            "set \"all\": true to decide every waiting knock, or POST to .../knocks/{clientId}",
        ));
    }
    let results = decide(rooms, room, KnockTarget::All, decision).await?;
    Ok(Json(Decisions { results }))
}

/// `GET /v1/rooms/{*path}`: the knock queue, or the people in the room.
pub async fn get(
    State(rooms): State<Rooms>,
    axum::extract::Path(path): axum::extract::Path<String>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    match parse_path(&path) {
        Some(RoomPath::Queue(room)) => Ok(list(&rooms, &room).await?.into_response()),
        Some(RoomPath::Participants(room)) => {
            Ok(participants(&rooms, &room).await?.into_response())
        }
        _ => Err(ApiError::NotFound("no such endpoint".into())),
    }
}

/// `POST /v1/rooms/{*path}`: a decision on one knock, or on all.
pub async fn post(
    State(rooms): State<Rooms>,
    axum::extract::Path(path): axum::extract::Path<String>,
    JsonBody(decision): JsonBody<Decision>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    match parse_path(&path) {
        Some(RoomPath::One(room, client)) => Ok(decide_one(&rooms, &room, client, decision)
            .await?
            .into_response()),
        Some(RoomPath::Queue(room)) => {
            Ok(decide_all(&rooms, &room, decision).await?.into_response())
        }
        Some(RoomPath::Participants(_)) => Err(ApiError::MethodNotAllowed(
            "the participants of a room are read with GET".into(),
        )),
        None => Err(ApiError::NotFound("no such endpoint".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knock_paths() {
        let room = RoomName::parse("/r-1").unwrap();
        assert_eq!(
            parse_path("r-1/knocks"),
            Some(RoomPath::Queue(room.clone()))
        );
        assert_eq!(
            parse_path("//r-1/knocks"),
            Some(RoomPath::Queue(room.clone()))
        );
        assert_eq!(
            parse_path("/r-1/knocks/abc"),
            Some(RoomPath::One(room, ClientId::new("abc")))
        );
        assert_eq!(
            parse_path("r-1/participants"),
            Some(RoomPath::Participants(RoomName::parse("/r-1").unwrap()))
        );
        assert_eq!(parse_path("r-1/knocks/"), None);
        assert_eq!(parse_path("r-1/theme/logo"), None);
        assert_eq!(parse_path("a b/knocks"), None);
    }
}

//! `/v1/insights/...`: rooms, sessions and participants, computed from what rooms recorded.

use std::sync::Arc;

use axum::Json;
use axum::extract::{RawQuery, State};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::error::ApiError;
use super::json::{decode_cursor, encode_cursor, parse_limit, query_pairs, single_param};
use super::meetings::{parse_date, parse_room_filter};
use crate::app::AppState;
use crate::meeting::format_date;
use crate::store::insights::{
    Page, ParticipantInsight, ParticipantQuery, ParticipantSort, ParticipantsOf, RoomInsightQuery,
    RoomSort, SessionInsightQuery, SessionSort, SortDir,
};

const DEFAULT_PAGE: u32 = 10;

/// `sortBy=field:asc|desc` (direction optional, ascending by default).
fn parse_sort<T: Copy>(
    raw: Option<&str>,
    fields: &[(&str, T)],
    default: (T, SortDir),
) -> Result<(T, SortDir), ApiError> {
    let Some(raw) = raw else {
        return Ok(default);
    };
    let (name, dir) = raw.split_once(':').unwrap_or((raw, "asc"));
    let dir = match dir {
        "asc" => SortDir::Asc,
        "desc" => SortDir::Desc,
        other => {
            return Err(ApiError::bad_request(format!(
                "sortBy direction must be asc or desc, not {other:?}"
            )));
        }
    };
    let field = fields
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, f)| *f)
        .ok_or_else(|| {
            let names: Vec<&str> = fields.iter().map(|(n, _)| *n).collect();
            ApiError::bad_request(format!(
                "cannot sort by {name:?}; sortBy takes one of: {}",
                names.join(", ")
            ))
        })?;
    Ok((field, dir))
}

/// The page asked for, and the cursor of the next one when the page came back full.
fn page(pairs: &[(String, String)]) -> Result<Page, ApiError> {
    let limit = parse_limit(single_param(pairs, "limit")?, DEFAULT_PAGE)?;
    let offset = single_param(pairs, "cursor")?
        .filter(|c| !c.is_empty())
        .map(decode_cursor)
        .transpose()?
        .unwrap_or(0);
    Ok(Page { offset, limit })
}

/// Asks for one more row than the page holds; the extra tells whether a next page exists.
fn plus_one(page: Page) -> Page {
    Page {
        offset: page.offset,
        limit: page.limit + 1,
    }
}

fn finish<T>(mut rows: Vec<T>, page: Page, body: impl Fn(&T) -> Value) -> Value {
    let more = rows.len() > page.limit as usize;
    rows.truncate(page.limit as usize);
    let cursor = if more {
        json!(encode_cursor(page.offset + u64::from(page.limit)))
    } else {
        Value::Null
    };
    json!({ "results": rows.iter().map(body).collect::<Vec<_>>(), "cursor": cursor })
}

fn date_param(pairs: &[(String, String)], name: &str) -> Result<Option<DateTime<Utc>>, ApiError> {
    single_param(pairs, name)?
        .map(|raw| {
            parse_date(raw).ok_or_else(|| {
                ApiError::bad_request(format!("{name} must be an ISO 8601 date-time, not {raw:?}"))
            })
        })
        .transpose()
}

fn required<'a>(pairs: &'a [(String, String)], name: &str) -> Result<&'a str, ApiError> {
    single_param(pairs, name)?
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ApiError::bad_request(format!("{name} is required")))
}

pub async fn rooms(
    State(state): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let pairs = query_pairs(query.as_deref());
    let page = page(&pairs)?;
    let sort = parse_sort(
        single_param(&pairs, "sortBy")?,
        &[
            ("roomName", RoomSort::RoomName),
            ("createdAt", RoomSort::CreatedAt),
            ("endAt", RoomSort::EndAt),
            ("firstSessionStartedAt", RoomSort::FirstSessionStartedAt),
            ("lastSessionStartedAt", RoomSort::LastSessionStartedAt),
            ("totalParticipantMinutes", RoomSort::TotalParticipantMinutes),
            ("totalUniqueParticipants", RoomSort::TotalUniqueParticipants),
            ("totalSessions", RoomSort::TotalSessions),
        ],
        (RoomSort::CreatedAt, SortDir::Desc),
    )?;
    let query = RoomInsightQuery {
        room_name: parse_room_filter(&pairs)?,
        created_from: date_param(&pairs, "createdAt[from]")?,
        created_to: date_param(&pairs, "createdAt[to]")?,
        sort,
        page: plus_one(page),
    };
    let rows = state.store.room_insights(&query, Utc::now()).await?;
    Ok(Json(finish(rows, page, |r| {
        json!({
            "roomName": r.room_name,
            "createdAt": format_date(r.created_at),
            "endAt": format_date(r.end_at),
            "firstSessionStartedAt": format_date(r.first_session_started_at),
            "lastSessionStartedAt": format_date(r.last_session_started_at),
            "totalParticipantMinutes": r.total_participant_minutes,
            "totalRecorderMinutes": 0,
            "totalStreamerMinutes": 0,
            "totalUniqueParticipants": r.total_unique_participants,
            "totalUniqueRecorders": 0,
            "totalUniqueStreamers": 0,
            "totalSessions": r.total_sessions,
            "rating": null,
            "totalRatings": null,
        })
    })))
}

pub async fn room_sessions(
    State(state): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let pairs = query_pairs(query.as_deref());
    let room = crate::meeting::RoomName::parse(required(&pairs, "roomName")?)
        .map_err(|e| ApiError::bad_request(format!("roomName: {e}")))?;
    let page = page(&pairs)?;
    let sort = parse_sort(
        single_param(&pairs, "sortBy")?,
        &[
            ("createdAt", SessionSort::StartedAt),
            ("startedAt", SessionSort::StartedAt),
            ("endedAt", SessionSort::EndedAt),
            (
                "totalParticipantMinutes",
                SessionSort::TotalParticipantMinutes,
            ),
            (
                "totalUniqueParticipants",
                SessionSort::TotalUniqueParticipants,
            ),
        ],
        (SessionSort::StartedAt, SortDir::Desc),
    )?;
    let query = SessionInsightQuery {
        room_name: room.as_str().to_owned(),
        session_id: single_param(&pairs, "roomSessionId")?.map(str::to_owned),
        sort,
        page: plus_one(page),
    };
    let rows = state.store.session_insights(&query, Utc::now()).await?;
    Ok(Json(finish(rows, page, |s| {
        let mut body = json!({
            "roomSessionId": s.session_id,
            "roomName": s.room_name,
            "createdAt": format_date(s.started_at),
            "endAt": format_date(s.end_at),
            "startedAt": format_date(s.started_at),
            "totalParticipantMinutes": s.total_participant_minutes,
            "totalRecorderMinutes": 0,
            "totalStreamerMinutes": 0,
            "totalUniqueParticipants": s.total_unique_participants,
            "totalUniqueRecorders": 0,
            "totalUniqueStreamers": 0,
            "rating": null,
            "totalRatings": null,
        });
        if let Some(ended) = s.ended_at {
            body["endedAt"] = json!(format_date(ended));
        }
        body
    })))
}

fn participant_body(p: &ParticipantInsight) -> Value {
    json!({
        "roomSessionId": p.session_id,
        "participantId": p.participant_id,
        // No accounts or device registry here: a participant is its connection's client id.
        "deviceId": p.participant_id,
        "userId": p.participant_id,
        "roleName": p.role,
        "displayName": p.display_name,
        "joinedAt": format_date(p.joined_at),
        "leftAt": format_date(p.left_at),
        "externalId": p.external_id.clone().unwrap_or_default(),
        "rating": null,
        "tags": null,
        "comment": null,
    })
}

pub async fn participants(
    State(state): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let pairs = query_pairs(query.as_deref());
    let of = match (
        single_param(&pairs, "roomSessionId")?.filter(|v| !v.is_empty()),
        single_param(&pairs, "externalId")?.filter(|v| !v.is_empty()),
    ) {
        (Some(session), None) => ParticipantsOf::Session(session.to_owned()),
        (None, Some(external)) => ParticipantsOf::ExternalId(external.to_owned()),
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request(
                "give either roomSessionId or externalId, not both",
            ));
        }
        (None, None) => {
            return Err(ApiError::bad_request(
                "roomSessionId or externalId is required",
            ));
        }
    };
    let page = page(&pairs)?;
    let sort = parse_sort(
        single_param(&pairs, "sortBy")?,
        &[
            ("joinedAt", ParticipantSort::JoinedAt),
            ("leftAt", ParticipantSort::LeftAt),
        ],
        (ParticipantSort::JoinedAt, SortDir::Asc),
    )?;
    let rows = state
        .store
        .participant_insights(&ParticipantQuery {
            of,
            sort,
            page: plus_one(page),
        })
        .await?;
    Ok(Json(finish(rows, page, participant_body)))
}

pub async fn participant(
    State(state): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let pairs = query_pairs(query.as_deref());
    let session = required(&pairs, "roomSessionId")?;
    let participant = required(&pairs, "participantId")?;
    let (stays, events) = state.store.participant_detail(session, participant).await?;
    if stays.is_empty() {
        return Err(ApiError::NotFound(
            "Could not find participant in that session".into(),
        ));
    }
    let events: Vec<Value> = events
        .iter()
        .map(|e| json!({ "type": e.kind, "timestamp": format_date(e.at) }))
        .collect();
    let body: Vec<Value> = stays
        .iter()
        .map(|stay| {
            json!({
                "displayName": stay.display_name,
                "userRole": stay.role,
                "userAgent": stay.user_agent.clone().unwrap_or_default(),
                "timeStamp": format_date(stay.joined_at),
                // Media flows browser to browser; the server has no network samples to give.
                "sampleRateMs": 0,
                "samples": { "packetLossSend": [], "packetLossRecv": [], "bitrateSend": [], "bitrateRecv": [] },
                "events": events,
            })
        })
        .collect();
    Ok(Json(Value::Array(body)))
}

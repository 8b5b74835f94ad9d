//! `/v1/insights/...`: rooms, sessions and participants, computed from what rooms recorded.

use axum::Json;
use axum::extract::{RawQuery, State};
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::error::ApiError;
use super::json::{decode_cursor, encode_cursor, parse_limit, query_pairs, single_param};
use super::meetings::{parse_date, parse_room_filter};
use crate::meeting::format_date;
use crate::meeting::network::NetworkSample;
use crate::services::insights::{Insights, Stay};
use crate::store::insights::{
    Page, ParticipantEvent, ParticipantInsight, ParticipantQuery, ParticipantSort, ParticipantsOf,
    RoomInsight, RoomInsightQuery, RoomSort, SessionInsight, SessionInsightQuery, SessionSort,
    SortDir,
};

const DEFAULT_PAGE: u32 = 10;

/// `sortBy=field:asc|desc` (direction optional, ascending by default).
pub(super) fn parse_sort<T: Copy>(
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

/// A page of results and the cursor of the next page, if there is one.
#[derive(Debug, Serialize)]
pub struct ResultPage<T> {
    cursor: Option<String>,
    results: Vec<T>,
}

fn finish<R, T>(mut rows: Vec<R>, page: Page, body: impl Fn(&R) -> T) -> ResultPage<T> {
    let more = rows.len() > page.limit as usize;
    rows.truncate(page.limit as usize);
    ResultPage {
        cursor: more.then(|| encode_cursor(page.offset + u64::from(page.limit))),
        results: rows.iter().map(body).collect(),
    }
}

/// Whereby's figures for recordings, streams and ratings: anteroom has none of them.
const NONE_RECORDED: i64 = 0;

/// A room, as `/v1/insights/rooms` shows it (keys in the alphabetical order they have always had).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RoomBody {
    created_at: String,
    end_at: String,
    first_session_started_at: String,
    last_session_started_at: String,
    rating: Option<f64>,
    room_name: String,
    total_participant_minutes: i64,
    total_ratings: Option<i64>,
    total_recorder_minutes: i64,
    total_sessions: i64,
    total_streamer_minutes: i64,
    total_unique_participants: i64,
    total_unique_recorders: i64,
    total_unique_streamers: i64,
}

impl RoomBody {
    fn of(r: &RoomInsight) -> Self {
        RoomBody {
            created_at: format_date(r.created_at),
            end_at: format_date(r.end_at),
            first_session_started_at: format_date(r.first_session_started_at),
            last_session_started_at: format_date(r.last_session_started_at),
            rating: None,
            room_name: r.room_name.clone(),
            total_participant_minutes: r.total_participant_minutes,
            total_ratings: None,
            total_recorder_minutes: NONE_RECORDED,
            total_sessions: r.total_sessions,
            total_streamer_minutes: NONE_RECORDED,
            total_unique_participants: r.total_unique_participants,
            total_unique_recorders: NONE_RECORDED,
            total_unique_streamers: NONE_RECORDED,
        }
    }
}

/// A session, as `/v1/insights/room-sessions` shows it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionBody {
    created_at: String,
    end_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    ended_at: Option<String>,
    rating: Option<f64>,
    room_name: String,
    room_session_id: String,
    started_at: String,
    total_participant_minutes: i64,
    total_ratings: Option<i64>,
    total_recorder_minutes: i64,
    total_streamer_minutes: i64,
    total_unique_participants: i64,
    total_unique_recorders: i64,
    total_unique_streamers: i64,
}

impl SessionBody {
    fn of(s: &SessionInsight) -> Self {
        SessionBody {
            created_at: format_date(s.started_at),
            end_at: format_date(s.end_at),
            ended_at: s.ended_at.map(format_date),
            rating: None,
            room_name: s.room_name.clone(),
            room_session_id: s.session_id.clone(),
            started_at: format_date(s.started_at),
            total_participant_minutes: s.total_participant_minutes,
            total_ratings: None,
            total_recorder_minutes: NONE_RECORDED,
            total_streamer_minutes: NONE_RECORDED,
            total_unique_participants: s.total_unique_participants,
            total_unique_recorders: NONE_RECORDED,
            total_unique_streamers: NONE_RECORDED,
        }
    }
}

/// A participant's stay, as `/v1/insights/participants` shows it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ParticipantBody {
    comment: Option<String>,
    device_id: String,
    display_name: String,
    external_id: String,
    joined_at: String,
    left_at: String,
    participant_id: String,
    rating: Option<f64>,
    role_name: String,
    room_session_id: String,
    tags: Option<Vec<String>>,
    user_id: String,
}

impl ParticipantBody {
    fn of(p: &ParticipantInsight) -> Self {
        ParticipantBody {
            comment: None,
            // No accounts or device registry here: a participant is its connection's client id.
            device_id: p.participant_id.clone(),
            display_name: p.display_name.clone(),
            external_id: p.external_id.clone().unwrap_or_default(),
            joined_at: format_date(p.joined_at),
            left_at: format_date(p.left_at),
            participant_id: p.participant_id.clone(),
            rating: None,
            role_name: p.role.clone(),
            room_session_id: p.session_id.clone(),
            tags: None,
            user_id: p.participant_id.clone(),
        }
    }
}

/// One stay in `/v1/insights/participant`, with what happened to the participant.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StayBody {
    display_name: String,
    events: Vec<EventBody>,
    sample_rate_ms: u32,
    samples: Samples,
    time_stamp: String,
    user_agent: String,
    user_role: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct EventBody {
    timestamp: String,
    #[serde(rename = "type")]
    kind: String,
}

/// A stay's network samples, one array a measure (bits a second; per cent lost): taken by the media
/// server in a group room, reported by the member's browser in a normal one (empty when it sent
/// none).
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Samples {
    bitrate_recv: Vec<u32>,
    bitrate_send: Vec<u32>,
    packet_loss_recv: Vec<f32>,
    packet_loss_send: Vec<f32>,
}

impl Samples {
    fn of(samples: &[NetworkSample]) -> Self {
        Samples {
            bitrate_recv: samples.iter().map(|s| s.bitrate_recv).collect(),
            bitrate_send: samples.iter().map(|s| s.bitrate_send).collect(),
            packet_loss_recv: samples.iter().map(|s| s.packet_loss_recv).collect(),
            packet_loss_send: samples.iter().map(|s| s.packet_loss_send).collect(),
        }
    }
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
    State(insights): State<Insights>,
    RawQuery(query): RawQuery,
) -> Result<Json<ResultPage<RoomBody>>, ApiError> {
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
    let rows = insights.rooms(&query, Utc::now()).await?;
    Ok(Json(finish(rows, page, RoomBody::of)))
}

pub async fn room_sessions(
    State(insights): State<Insights>,
    RawQuery(query): RawQuery,
) -> Result<Json<ResultPage<SessionBody>>, ApiError> {
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
    let rows = insights.sessions(&query, Utc::now()).await?;
    Ok(Json(finish(rows, page, SessionBody::of)))
}

pub async fn participants(
    State(insights): State<Insights>,
    RawQuery(query): RawQuery,
) -> Result<Json<ResultPage<ParticipantBody>>, ApiError> {
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
    let rows = insights
        .participants(&ParticipantQuery {
            of,
            sort,
            page: plus_one(page),
        })
        .await?;
    Ok(Json(finish(rows, page, ParticipantBody::of)))
}

/// `DELETE /v1/insights/participants?externalId=...` (ours: a person's right to be forgotten):
/// everything kept of the person the integrator gave this id, and how much that was.
pub async fn forget(
    State(insights): State<Insights>,
    RawQuery(query): RawQuery,
) -> Result<Json<serde_json::Value>, ApiError> {
    let pairs = query_pairs(query.as_deref());
    if pairs.iter().any(|(name, _)| name != "externalId") {
        return Err(ApiError::bad_request(
            "only externalId says whom to forget (a person, across every room)",
        ));
    }
    let external_id = required(&pairs, "externalId")?;
    let forgotten = insights.forget(external_id).await?;
    tracing::info!(
        stays = forgotten.stays,
        events = forgotten.events,
        network_samples = forgotten.network_samples,
        "forgot a person's history on request (by external id)"
    );
    Ok(Json(serde_json::json!({
        "externalId": external_id,
        "forgotten": {
            "stays": forgotten.stays,
            "roomEvents": forgotten.events,
            "networkSamples": forgotten.network_samples,
        },
    })))
}

pub async fn participant(
    State(insights): State<Insights>,
    RawQuery(query): RawQuery,
) -> Result<Json<Vec<StayBody>>, ApiError> {
    let pairs = query_pairs(query.as_deref());
    let session = required(&pairs, "roomSessionId")?;
    let participant = required(&pairs, "participantId")?;
    let stays = insights.participant(session, participant).await?;
    if stays.is_empty() {
        return Err(ApiError::NotFound(
            "Could not find participant in that session".into(),
        ));
    }
    let body = stays.into_iter().map(StayBody::of).collect();
    Ok(Json(body))
}

impl StayBody {
    fn of(stay: Stay) -> Self {
        StayBody {
            display_name: stay.stay.display_name,
            events: stay.events.iter().map(event_body).collect(),
            sample_rate_ms: stay.interval_ms,
            samples: Samples::of(&stay.samples),
            time_stamp: format_date(stay.stay.joined_at),
            user_agent: stay.stay.user_agent.unwrap_or_default(),
            user_role: stay.stay.role,
        }
    }
}

fn event_body(event: &ParticipantEvent) -> EventBody {
    EventBody {
        timestamp: format_date(event.at),
        kind: event.kind.clone(),
    }
}

#[cfg(test)]
mod tests {
    use serde::Serialize;

    use super::*;

    fn in_old_order(body: &impl Serialize) {
        let direct = serde_json::to_string(body).unwrap();
        let sorted = serde_json::to_string(&serde_json::to_value(body).unwrap()).unwrap();
        assert_eq!(direct, sorted, "keys out of their old (alphabetical) order");
    }

    /// Responses keep the order of keys they have always had.
    #[test]
    fn response_keys_are_in_their_old_order() {
        let at = Utc::now();
        in_old_order(&RoomBody::of(&RoomInsight {
            room_name: "/r".into(),
            created_at: at,
            end_at: at,
            first_session_started_at: at,
            last_session_started_at: at,
            total_participant_minutes: 1,
            total_unique_participants: 1,
            total_sessions: 1,
        }));
        in_old_order(&SessionBody::of(&SessionInsight {
            session_id: "s".into(),
            room_name: "/r".into(),
            started_at: at,
            ended_at: Some(at),
            end_at: at,
            total_participant_minutes: 1,
            total_unique_participants: 1,
        }));
        let stay = ParticipantInsight {
            session_id: "s".into(),
            participant_id: "p".into(),
            role: "host".into(),
            display_name: "n".into(),
            external_id: None,
            user_agent: None,
            joined_at: at,
            left_at: at,
        };
        in_old_order(&finish(
            vec![stay],
            Page {
                offset: 0,
                limit: 1,
            },
            ParticipantBody::of,
        ));
        in_old_order(&StayBody {
            display_name: "n".into(),
            events: vec![EventBody {
                timestamp: "t".into(),
                kind: "k".into(),
            }],
            sample_rate_ms: 0,
            samples: Samples::default(),
            time_stamp: "t".into(),
            user_agent: String::new(),
            user_role: "host".into(),
        });
    }
}

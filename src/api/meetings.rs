//! `/v1/meetings`: create, read, list and delete meetings, shaped as Whereby's API shapes them.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Datelike, NaiveDateTime, Utc};
use serde_json::{Map, Value, json};

use super::error::ApiError;
use super::json::{
    JsonObject, decode_cursor, encode_cursor, parse_limit, query_pairs, single_param,
};
use crate::app::AppState;
use crate::meeting::{
    Meeting, MeetingId, NewMeeting, RoomMode, RoomNamePattern, format_date, is_room_name_byte,
};
use crate::store::{MeetingQuery, RoomNameFilter, StoreError};
use crate::tokens::KeyRole;

pub const PREFIX_MAX_LEN: usize = 39;
const DEFAULT_PAGE: u32 = 50;
/// Fresh random names collide almost never; a few draws make a collision invisible to the client.
const NAME_ATTEMPTS: usize = 5;

/// Which optional URLs a response carries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Fields {
    pub host_room_url: bool,
    pub viewer_room_url: bool,
}

impl Fields {
    fn add(&mut self, name: &str) -> Result<(), ApiError> {
        match name {
            "hostRoomUrl" => self.host_room_url = true,
            "viewerRoomUrl" => self.viewer_room_url = true,
            other => {
                return Err(ApiError::bad_request(format!(
                    "fields has unknown value {other:?}; allowed: hostRoomUrl, viewerRoomUrl"
                )));
            }
        }
        Ok(())
    }

    /// `fields` as the POST body carries it: a JSON array of names.
    fn from_json(value: Option<&Value>) -> Result<Self, ApiError> {
        let mut fields = Fields::default();
        match value {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => {
                for item in items {
                    let name = item.as_str().ok_or_else(|| {
                        ApiError::bad_request("fields must be an array of strings")
                    })?;
                    fields.add(name)?;
                }
            }
            Some(_) => {
                return Err(ApiError::bad_request(
                    "fields must be an array of strings: hostRoomUrl, viewerRoomUrl",
                ));
            }
        }
        Ok(fields)
    }

    /// `fields` as a query string carries it: a comma list, possibly repeated.
    fn from_query(pairs: &[(String, String)]) -> Result<Self, ApiError> {
        let mut fields = Fields::default();
        for (_, value) in pairs.iter().filter(|(k, _)| k == "fields") {
            for name in value.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                fields.add(name)?;
            }
        }
        Ok(fields)
    }
}

/// The meeting as the API shows it.
pub fn meeting_body(state: &AppState, meeting: &Meeting, fields: Fields) -> Value {
    let room_url = format!("{}/{}", state.public_url, meeting.room_name.path_segment());
    let mut body = json!({
        "meetingId": meeting.id.to_string(),
        "roomName": meeting.room_name.as_str(),
        "roomUrl": room_url,
        "startDate": format_date(meeting.start_date),
        "endDate": format_date(meeting.end_date),
    });
    // A viewer-mode meeting always carries both URLs, as Whereby's template promises.
    let keyed_urls = [
        ("hostRoomUrl", KeyRole::Host, fields.host_room_url),
        ("viewerRoomUrl", KeyRole::Viewer, fields.viewer_room_url),
    ];
    for (name, role, wanted) in keyed_urls {
        if wanted || meeting.viewer_mode {
            let key = state.tokens.room_key(meeting, role);
            body[name] = Value::String(format!("{room_url}?roomKey={key}"));
        }
    }
    body
}

/// A validated create request.
#[derive(Debug, Clone)]
pub struct MeetingSpec {
    pub end_date: DateTime<Utc>,
    pub is_locked: bool,
    pub room_mode: RoomMode,
    pub prefix: String,
    pub pattern: RoomNamePattern,
    pub viewer_mode: bool,
    pub fields: Fields,
}

fn present<'a>(body: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    body.get(name).filter(|v| !v.is_null())
}

fn string_field<'a>(
    body: &'a Map<String, Value>,
    name: &str,
    rule: &str,
) -> Result<Option<&'a str>, ApiError> {
    match present(body, name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ApiError::bad_request(format!("{name} must be {rule}"))),
    }
}

fn enum_field<T>(
    body: &Map<String, Value>,
    name: &str,
    allowed: &str,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<Option<T>, ApiError> {
    let rule = format!("one of: {allowed}");
    match string_field(body, name, &rule)? {
        None => Ok(None),
        Some(raw) => parse(raw)
            .map(Some)
            .ok_or_else(|| ApiError::bad_request(format!("{name} must be {rule}, not {raw:?}"))),
    }
}

/// Parses an ISO 8601 date-time; one without an offset is UTC, as Whereby reads it.
pub fn parse_date(raw: &str) -> Option<DateTime<Utc>> {
    if let Ok(date) = DateTime::parse_from_rfc3339(raw) {
        return Some(date.with_timezone(&Utc));
    }
    NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|naive| naive.and_utc())
}

/// Whereby's rule: lower-cased, spaces removed; we also accept (and drop) a leading `/`.
fn normalise_prefix(raw: &str) -> Result<String, ApiError> {
    let prefix: String = raw
        .trim_start_matches('/')
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect();
    if prefix.chars().count() > PREFIX_MAX_LEN || !prefix.bytes().all(is_room_name_byte) {
        return Err(ApiError::bad_request(format!(
            "roomNamePrefix must be at most {PREFIX_MAX_LEN} characters of a-z, 0-9 and '-' \
             (after lower-casing and removing spaces), not {raw:?}"
        )));
    }
    Ok(prefix)
}

fn parse_create(body: &Map<String, Value>, now: DateTime<Utc>) -> Result<MeetingSpec, ApiError> {
    const DATE_RULE: &str = "an ISO 8601 date-time such as 2026-11-24T15:00:00Z";
    let raw_end = string_field(body, "endDate", DATE_RULE)?
        .ok_or_else(|| ApiError::bad_request("endDate is required"))?;
    let end_date = parse_date(raw_end).ok_or_else(|| {
        ApiError::bad_request(format!("endDate must be {DATE_RULE}, not {raw_end:?}"))
    })?;
    // Dates past year 9999 have no RFC 3339 form, and arithmetic on them could overflow.
    if end_date.year() > 9999 {
        return Err(ApiError::bad_request(format!(
            "endDate must be before the year 10000, not {raw_end:?}"
        )));
    }
    // Whereby allows an end date equal to now; compare at whole seconds so "now" sent by a client
    // with second precision is not refused.
    if end_date.timestamp() < now.timestamp() {
        return Err(ApiError::bad_request(format!(
            "endDate must not be in the past (it is {}, the server's time is {})",
            format_date(end_date),
            format_date(now)
        )));
    }
    let is_locked = match present(body, "isLocked") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(ApiError::bad_request("isLocked must be a boolean")),
    };
    let room_mode = enum_field(body, "roomMode", "normal, group", RoomMode::parse)?;
    let pattern = enum_field(
        body,
        "roomNamePattern",
        "uuid, human-short",
        RoomNamePattern::parse,
    )?;
    let viewer_mode = enum_field(body, "templateType", "viewerMode", |raw| {
        (raw == "viewerMode").then_some(())
    })?
    .is_some();
    let prefix = match string_field(body, "roomNamePrefix", "a string")? {
        Some(raw) => normalise_prefix(raw)?,
        None => String::new(),
    };
    let mut fields = Fields::from_json(body.get("fields"))?;
    if viewer_mode {
        fields = Fields {
            host_room_url: true,
            viewer_room_url: true,
        };
    }
    Ok(MeetingSpec {
        end_date,
        // The viewer-mode template locks the room and makes it a group room, whatever else was asked.
        is_locked: is_locked || viewer_mode,
        room_mode: if viewer_mode {
            RoomMode::Group
        } else {
            room_mode.unwrap_or(RoomMode::Normal)
        },
        prefix,
        pattern: pattern.unwrap_or(RoomNamePattern::Uuid),
        viewer_mode,
        fields,
    })
}

/// Stores a meeting under a freshly drawn room name.
pub async fn create_meeting(
    state: &AppState,
    spec: &MeetingSpec,
    now: DateTime<Utc>,
) -> Result<Meeting, StoreError> {
    let mut attempt = 0;
    let meeting = loop {
        attempt += 1;
        let new = NewMeeting {
            room_name: spec.pattern.generate(&spec.prefix),
            start_date: now,
            end_date: spec.end_date,
            room_mode: spec.room_mode,
            is_locked: spec.is_locked,
            viewer_mode: spec.viewer_mode,
        };
        match state.store.create_meeting(new).await {
            Ok(meeting) => break meeting,
            Err(StoreError::RoomNameTaken(name)) if attempt < NAME_ATTEMPTS => {
                tracing::debug!(%name, "generated room name was taken; drawing another");
            }
            Err(err) => return Err(err),
        }
    };
    tracing::info!(meeting_id = %meeting.id, room = %meeting.room_name, "meeting created");
    Ok(meeting)
}

pub async fn create(
    State(state): State<Arc<AppState>>,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
    let now = Utc::now();
    let spec = parse_create(&body, now)?;
    let meeting = create_meeting(&state, &spec, now).await?;
    let body = meeting_body(&state, &meeting, spec.fields);
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

pub async fn get_one(
    State(state): State<Arc<AppState>>,
    Path(meeting_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let fields = Fields::from_query(&query_pairs(query.as_deref()))?;
    let id = MeetingId::parse(&meeting_id).ok_or_else(ApiError::meeting_not_found)?;
    let meeting = state
        .store
        .get_meeting(id)
        .await?
        .ok_or_else(ApiError::meeting_not_found)?;
    Ok(Json(meeting_body(&state, &meeting, fields)))
}

/// `roomName[startsWith|exact|contains]`. Values are matched against the name with its leading `/`;
/// for `startsWith` and `exact` a value without the slash gets one.
pub fn parse_room_filter(pairs: &[(String, String)]) -> Result<RoomNameFilter, ApiError> {
    let with_slash = |v: &str| {
        let v = v.to_ascii_lowercase();
        if v.starts_with('/') {
            v
        } else {
            format!("/{v}")
        }
    };
    for (key, _) in pairs {
        if key.starts_with("roomName")
            && !matches!(
                key.as_str(),
                "roomName[startsWith]" | "roomName[exact]" | "roomName[contains]"
            )
        {
            return Err(ApiError::bad_request(format!(
                "unknown filter {key:?}; use roomName[startsWith], roomName[exact] or roomName[contains]"
            )));
        }
    }
    Ok(RoomNameFilter {
        starts_with: single_param(pairs, "roomName[startsWith]")?.map(with_slash),
        exact: single_param(pairs, "roomName[exact]")?.map(with_slash),
        contains: single_param(pairs, "roomName[contains]")?.map(str::to_ascii_lowercase),
    })
}

pub async fn list(
    State(state): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let pairs = query_pairs(query.as_deref());
    let limit = parse_limit(single_param(&pairs, "limit")?, DEFAULT_PAGE)?;
    let after = single_param(&pairs, "cursor")?
        .filter(|c| !c.is_empty())
        .map(decode_cursor)
        .transpose()?
        .map(|n| MeetingId(n as i64));
    let fields = Fields::from_query(&pairs)?;
    let room_name = parse_room_filter(&pairs)?;
    // One extra row tells whether another page follows.
    let mut meetings = state
        .store
        .list_meetings(&MeetingQuery {
            after,
            limit: limit + 1,
            room_name,
        })
        .await?;
    let more = meetings.len() > limit as usize;
    meetings.truncate(limit as usize);
    let cursor = match meetings.last() {
        Some(last) if more => Value::String(encode_cursor(last.id.0 as u64)),
        _ => Value::Null,
    };
    let results: Vec<Value> = meetings
        .iter()
        .map(|m| meeting_body(&state, m, fields))
        .collect();
    Ok(Json(json!({ "results": results, "cursor": cursor })))
}

pub async fn delete(
    State(state): State<Arc<AppState>>,
    Path(meeting_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    // Idempotent: an unknown or already deleted meeting gets the same 204.
    if let Some(id) = MeetingId::parse(&meeting_id)
        && let Some(meeting) = state.store.delete_meeting(id, Utc::now()).await?
    {
        tracing::info!(meeting_id = %meeting.id, room = %meeting.room_name, "meeting deleted");
        state.meeting_deleted(&meeting).await;
    }
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => unreachable!("test bodies are objects"),
        }
    }

    #[test]
    fn prefixes_are_normalised_or_refused() {
        assert_eq!(normalise_prefix("/My Room-").unwrap(), "myroom-");
        assert!(normalise_prefix("under_score").is_err());
        assert!(normalise_prefix(&"a".repeat(40)).is_err());
        assert_eq!(normalise_prefix(&"a".repeat(39)).unwrap().len(), 39);
    }

    #[test]
    fn dates_with_and_without_offset() {
        let with = parse_date("2030-05-07T17:42:49-05:00").unwrap();
        assert_eq!(format_date(with), "2030-05-07T22:42:49.000Z");
        let without = parse_date("2030-05-07T17:42:49").unwrap();
        assert_eq!(format_date(without), "2030-05-07T17:42:49.000Z");
        assert!(parse_date("tomorrow").is_none());
    }

    #[test]
    fn absurd_years_are_refused_not_overflowed() {
        for raw in [
            "262143-12-31T23:59:59",
            "+262143-12-31T23:59:59Z",
            "10000-01-01T00:00:00",
        ] {
            let body = body(json!({ "endDate": raw }));
            assert!(parse_create(&body, Utc::now()).is_err(), "{raw}");
        }
    }

    #[test]
    fn viewer_mode_template_forces_group_locked_and_urls() {
        let request = parse_create(
            &body(
                json!({"endDate": "2099-01-01T00:00:00Z", "templateType": "viewerMode",
                         "roomMode": "normal", "isLocked": false}),
            ),
            Utc::now(),
        )
        .unwrap();
        assert!(request.is_locked && request.viewer_mode);
        assert_eq!(request.room_mode, RoomMode::Group);
        assert!(request.fields.host_room_url && request.fields.viewer_room_url);
    }
}

//! `/v1/meetings`: create, read, list and delete meetings, shaped as Whereby's API shapes them.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Datelike, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};

use super::error::ApiError;
use super::json::{JsonBody, decode_cursor, encode_cursor, parse_limit, query_pairs, single_param};
use super::lenient::{self, DATE_RULE};
use crate::meeting::{
    Meeting, MeetingId, RecordingKind, RoomMode, RoomNamePattern, format_date, is_room_name_byte,
};
use crate::services::meetings::{Fields, MeetingSpec, Meetings};
use crate::store::{MeetingQuery, RoomNameFilter};

pub const PREFIX_MAX_LEN: usize = 39;
const DEFAULT_PAGE: u32 = 50;
const FIELD_NAMES: &str = "hostRoomUrl, viewerRoomUrl";

/// Whereby's only template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::EnumString, strum::VariantNames)]
enum TemplateType {
    #[strum(serialize = "viewerMode")]
    ViewerMode,
}

/// `POST /v1/meetings`. Unknown fields (and `startDate`, which Whereby ignores too) are ignored.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateMeeting {
    #[serde(default, deserialize_with = "lenient::date")]
    end_date: Option<String>,
    #[serde(default, deserialize_with = "lenient::boolean")]
    is_locked: Option<bool>,
    #[serde(default, deserialize_with = "lenient::choice")]
    room_mode: Option<RoomMode>,
    #[serde(default, deserialize_with = "lenient::choice")]
    room_name_pattern: Option<RoomNamePattern>,
    #[serde(default, deserialize_with = "lenient::choice")]
    template_type: Option<TemplateType>,
    #[serde(default, deserialize_with = "lenient::string")]
    room_name_prefix: Option<String>,
    #[serde(default, deserialize_with = "fields_array")]
    fields: Option<Vec<String>>,
    #[serde(default)]
    recording: Option<RecordingOptions>,
}

/// `recording`: only its `type` means anything here (`destination` and `startTrigger` are for
/// Whereby's cloud, and are ignored).
#[derive(Debug, Deserialize)]
struct RecordingOptions {
    #[serde(rename = "type", default, deserialize_with = "lenient::choice")]
    kind: Option<RecordingKind>,
}

fn fields_array<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    lenient::strings_or(d, &format!("must be an array of strings: {FIELD_NAMES}"))
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CreateError {
    #[error("endDate is required")]
    EndDateMissing,
    #[error("endDate must be {DATE_RULE}, not {0:?}")]
    EndDateUnreadable(String),
    #[error("endDate must be before the year 10000, not {0:?}")]
    EndDateTooLate(String),
    #[error("endDate must not be in the past (it is {end}, the server's time is {now})")]
    EndDateInPast { end: String, now: String },
    #[error(
        "roomNamePrefix must be at most {max} characters of a-z, 0-9 and '-' \
         (after lower-casing and removing spaces), not {0:?}",
        max = PREFIX_MAX_LEN
    )]
    Prefix(String),
    #[error("fields has unknown value {0:?}; allowed: {FIELD_NAMES}")]
    UnknownField(String),
}

fn fields_of<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<Fields, CreateError> {
    let mut fields = Fields::default();
    for name in names {
        match name {
            "hostRoomUrl" => fields.host_room_url = true,
            "viewerRoomUrl" => fields.viewer_room_url = true,
            other => return Err(CreateError::UnknownField(other.to_owned())),
        }
    }
    Ok(fields)
}

/// `fields` as a query string carries it (a comma list, possibly repeated), on reads: names we do
/// not know are ignored, as Whereby's own sample app sends `fields=undefined`.
fn fields_in_query(pairs: &[(String, String)]) -> Fields {
    let mut fields = Fields::default();
    let names = pairs
        .iter()
        .filter(|(k, _)| k == "fields")
        .flat_map(|(_, value)| value.split(','))
        .map(str::trim);
    for name in names {
        // Only the known names do anything; anything else asks for nothing.
        if let Ok(known) = fields_of([name]) {
            fields.host_room_url |= known.host_room_url;
            fields.viewer_room_url |= known.viewer_room_url;
        }
    }
    fields
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
fn normalise_prefix(raw: &str) -> Result<String, CreateError> {
    let prefix: String = raw
        .trim_start_matches('/')
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect();
    if prefix.chars().count() > PREFIX_MAX_LEN || !prefix.bytes().all(is_room_name_byte) {
        return Err(CreateError::Prefix(raw.to_owned()));
    }
    Ok(prefix)
}

impl CreateMeeting {
    /// The rules that need more than one field, or the clock.
    pub fn validate(self, now: DateTime<Utc>) -> Result<MeetingSpec, CreateError> {
        let raw_end = self.end_date.ok_or(CreateError::EndDateMissing)?;
        let end_date =
            parse_date(&raw_end).ok_or_else(|| CreateError::EndDateUnreadable(raw_end.clone()))?;
        // Dates past year 9999 have no RFC 3339 form, and arithmetic on them could overflow.
        if end_date.year() > 9999 {
            return Err(CreateError::EndDateTooLate(raw_end));
        }
        // Whereby allows an end date equal to now; compare at whole seconds so "now" sent by a
        // client with second precision is not refused.
        if end_date.timestamp() < now.timestamp() {
            return Err(CreateError::EndDateInPast {
                end: format_date(end_date),
                now: format_date(now),
            });
        }
        let prefix = match self.room_name_prefix {
            Some(raw) => normalise_prefix(&raw)?,
            None => String::new(),
        };
        let mut fields = fields_of(self.fields.iter().flatten().map(String::as_str))?;
        let viewer_mode = self.template_type == Some(TemplateType::ViewerMode);
        if viewer_mode {
            fields = Fields {
                host_room_url: true,
                viewer_room_url: true,
            };
        }
        Ok(MeetingSpec {
            end_date,
            // The viewer-mode template locks the room and makes it a group room, whatever else
            // was asked.
            is_locked: self.is_locked.unwrap_or(false) || viewer_mode,
            room_mode: if viewer_mode {
                RoomMode::Group
            } else {
                self.room_mode.unwrap_or(RoomMode::Normal)
            },
            prefix,
            pattern: self.room_name_pattern.unwrap_or(RoomNamePattern::Uuid),
            viewer_mode,
            recording: self
                .recording
                .and_then(|options| options.kind)
                .unwrap_or_default(),
            fields,
        })
    }
}

/// A meeting as the API shows it. Fields in alphabetical order: the order responses have always
/// had (and that a test holds them to).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MeetingBody {
    end_date: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    host_room_url: Option<String>,
    meeting_id: String,
    room_name: String,
    room_url: String,
    start_date: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    viewer_room_url: Option<String>,
}

impl MeetingBody {
    fn of(meetings: &Meetings, meeting: &Meeting, fields: Fields) -> Self {
        let links = meetings.links(meeting, fields);
        MeetingBody {
            end_date: format_date(meeting.end_date),
            host_room_url: links.host_room_url,
            meeting_id: meeting.id.to_string(),
            room_name: meeting.room_name.as_str().to_owned(),
            room_url: links.room_url,
            start_date: format_date(meeting.start_date),
            viewer_room_url: links.viewer_room_url,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct MeetingPage {
    cursor: Option<String>,
    results: Vec<MeetingBody>,
}

pub async fn create(
    State(meetings): State<Meetings>,
    JsonBody(body): JsonBody<CreateMeeting>,
) -> Result<Response, ApiError> {
    let now = Utc::now();
    let spec = body.validate(now).map_err(ApiError::bad_request)?;
    let meeting = meetings.create(&spec, now).await?;
    let body = MeetingBody::of(&meetings, &meeting, spec.fields);
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

pub async fn get_one(
    State(meetings): State<Meetings>,
    Path(meeting_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<MeetingBody>, ApiError> {
    let fields = fields_in_query(&query_pairs(query.as_deref()));
    let id = MeetingId::parse(&meeting_id).ok_or_else(ApiError::meeting_not_found)?;
    let meeting = meetings
        .get(id)
        .await?
        .ok_or_else(ApiError::meeting_not_found)?;
    Ok(Json(MeetingBody::of(&meetings, &meeting, fields)))
}

/// `roomName[startsWith|exact|contains]`, and a plain `roomName` as `roomName[exact]` (sent by a
/// popular workflow-automation node). Values are matched against the name with its leading `/`; for
/// `startsWith` and `exact` a value without the slash gets one.
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
                "roomName" | "roomName[startsWith]" | "roomName[exact]" | "roomName[contains]"
            )
        {
            return Err(ApiError::bad_request(format!(
                "unknown filter {key:?}; use roomName[startsWith], roomName[exact] or roomName[contains]"
            )));
        }
    }
    let exact = match (
        single_param(pairs, "roomName[exact]")?,
        single_param(pairs, "roomName")?,
    ) {
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request(
                "give roomName or roomName[exact], not both",
            ));
        }
        (exact, plain) => exact.or(plain),
    };
    Ok(RoomNameFilter {
        starts_with: single_param(pairs, "roomName[startsWith]")?.map(with_slash),
        exact: exact.map(with_slash),
        contains: single_param(pairs, "roomName[contains]")?.map(str::to_ascii_lowercase),
    })
}

pub async fn list(
    State(meetings): State<Meetings>,
    RawQuery(query): RawQuery,
) -> Result<Json<MeetingPage>, ApiError> {
    let pairs = query_pairs(query.as_deref());
    let limit = parse_limit(single_param(&pairs, "limit")?, DEFAULT_PAGE)?;
    let after = single_param(&pairs, "cursor")?
        .filter(|c| !c.is_empty())
        .map(decode_cursor)
        .transpose()?
        .map(|n| MeetingId(n as i64));
    let fields = fields_in_query(&pairs);
    let room_name = parse_room_filter(&pairs)?;
    // One extra row tells whether another page follows.
    let mut found = meetings
        .list(&MeetingQuery {
            after,
            limit: limit + 1,
            room_name,
        })
        .await?;
    let more = found.len() > limit as usize;
    found.truncate(limit as usize);
    let cursor = match found.last() {
        Some(last) if more => Some(encode_cursor(last.id.0 as u64)),
        _ => None,
    };
    let results = found
        .iter()
        .map(|m| MeetingBody::of(&meetings, m, fields))
        .collect();
    Ok(Json(MeetingPage { cursor, results }))
}

pub async fn delete(
    State(meetings): State<Meetings>,
    Path(meeting_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    // Idempotent: an unknown or already deleted meeting gets the same 204.
    if let Some(id) = MeetingId::parse(&meeting_id) {
        meetings.delete(id, Utc::now()).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn create(value: Value) -> Result<MeetingSpec, String> {
        // Field errors read as the API says them: the field's path, then its rule.
        let body: CreateMeeting = serde_path_to_error::deserialize(value)
            .map_err(|e| format!("{} {}", e.path(), e.inner()))?;
        body.validate(Utc::now()).map_err(|e| e.to_string())
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
        let micros = parse_date("2030-05-07T17:42:49.123456Z").unwrap();
        assert_eq!(format_date(micros), "2030-05-07T17:42:49.123Z");
        assert!(parse_date("tomorrow").is_none());
    }

    #[test]
    fn absurd_years_are_refused_not_overflowed() {
        for raw in [
            "262143-12-31T23:59:59",
            "+262143-12-31T23:59:59Z",
            "10000-01-01T00:00:00",
        ] {
            assert!(create(json!({ "endDate": raw })).is_err(), "{raw}");
        }
    }

    #[test]
    fn lenient_where_clients_need_it() {
        let spec = create(json!({
            "endDate": "2099-01-01T00:00:00+02:00", "startDate": "whatever", "roomNamePrefix": null,
            "isLocked": null, "fields": null, "someday": [1, 2],
        }))
        .unwrap();
        assert!(!spec.is_locked && spec.prefix.is_empty());
        assert_eq!(
            create(json!({"endDate": "2099-01-01T00:00:00Z", "roomNamePrefix": ""}))
                .unwrap()
                .prefix,
            ""
        );
    }

    #[test]
    fn viewer_mode_template_forces_group_locked_and_urls() {
        let request = create(
            json!({"endDate": "2099-01-01T00:00:00Z", "templateType": "viewerMode",
                         "roomMode": "normal", "isLocked": false}),
        )
        .unwrap();
        assert!(request.is_locked && request.viewer_mode);
        assert_eq!(request.room_mode, RoomMode::Group);
        assert!(request.fields.host_room_url && request.fields.viewer_room_url);
    }

    #[test]
    fn recording_type_is_kept_and_checked() {
        let kind = |recording: serde_json::Value| {
            create(json!({"endDate": "2099-01-01T00:00:00Z", "recording": recording}))
                .map(|spec| spec.recording)
        };
        assert_eq!(kind(json!(null)), Ok(RecordingKind::None));
        assert_eq!(kind(json!({})), Ok(RecordingKind::None));
        assert_eq!(
            kind(json!({"type": "local", "destination": null, "startTrigger": "none"})),
            Ok(RecordingKind::Local)
        );
        assert_eq!(
            kind(json!({"type": "cloud", "destination": {"provider": "whereby"}})),
            Ok(RecordingKind::Cloud)
        );
        assert_eq!(
            kind(json!({"type": "tape"})),
            Err("recording.type must be one of: none, local, cloud, not \"tape\"".to_owned())
        );
        let not_object = kind(json!("local")).unwrap_err();
        assert!(
            not_object.starts_with("recording invalid type"),
            "{not_object}"
        );
    }

    /// Responses keep the order of keys they have always had (alphabetical).
    #[test]
    fn response_keys_are_in_their_old_order() {
        let body = MeetingBody {
            end_date: "e".into(),
            host_room_url: Some("h".into()),
            meeting_id: "1".into(),
            room_name: "/r".into(),
            room_url: "u".into(),
            start_date: "s".into(),
            viewer_room_url: Some("v".into()),
        };
        let page = MeetingPage {
            cursor: None,
            results: vec![body],
        };
        let direct = serde_json::to_string(&page).unwrap();
        let sorted = serde_json::to_string(&serde_json::to_value(&page).unwrap()).unwrap();
        assert_eq!(direct, sorted);
    }
}

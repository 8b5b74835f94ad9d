//! `/v1/recordings`, `/v1/transcriptions` and `/v1/summaries`. anteroom records nothing, so these
//! collections are always empty, and say so the way Whereby's API says it of an empty collection:
//! a list is an empty page, an id is not found, a delete is the idempotent 204 Whereby gives for
//! what is already gone, and asking to transcribe a recording (or summarise a transcription) names
//! one that does not exist. Requests are checked as Whereby documents them, so an integration's
//! mistakes show here as they would there, and its code that lists recordings keeps working.

use axum::Router;
use axum::extract::RawQuery;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, extract::Path};
use serde::Serialize;
use serde_json::{Map, Value};

use super::error::ApiError;
use super::insights::parse_sort;
use super::json::{JsonBody, decode_cursor, parse_limit, query_pairs, single_param};
use crate::store::insights::SortDir;

const DEFAULT_PAGE: u32 = 50;
/// `validForSeconds` of an access link, as Whereby bounds it.
const LINK_SECONDS: std::ops::RangeInclusive<u64> = 1..=43_200;
/// The summary templates Whereby offers.
const SUMMARY_TEMPLATES: [&str; 6] = [
    "SOAP",
    "Extended SOAP",
    "General Narrative",
    "General Bulleted",
    "Educational Lecture",
    "Educational Tutoring",
];

/// One of the three collections, and what its requests are checked against.
#[derive(Clone, Copy)]
struct Collection {
    /// "recording": in messages.
    thing: &'static str,
    /// What `sortBy` accepts on its list.
    sort_fields: &'static [&'static str],
    /// Whether its items are files: with access links, and deleted in bulk.
    has_files: bool,
}

const RECORDINGS: Collection = Collection {
    thing: "recording",
    sort_fields: &["roomName", "startDate", "duration", "sizeInMegaBytes"],
    has_files: true,
};
const TRANSCRIPTIONS: Collection = Collection {
    thing: "transcription",
    sort_fields: &["roomName", "startDate", "durationInSeconds"],
    has_files: true,
};
const SUMMARIES: Collection = Collection {
    thing: "summary",
    sort_fields: &["roomName", "startDate", "durationInSeconds"],
    has_files: false,
};

impl Collection {
    fn not_found(self) -> ApiError {
        ApiError::NotFound(format!("Could not find {}", self.thing))
    }
}

/// Routes of the three collections. Stateless: there is nothing to look up.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    let mut router = Router::new()
        .route(
            "/v1/transcriptions",
            post(|body| create(RECORDINGS, "recordingId", body)),
        )
        .route("/v1/summaries", post(create_summary));
    for (path, collection) in [
        ("/v1/recordings", RECORDINGS),
        ("/v1/transcriptions", TRANSCRIPTIONS),
        ("/v1/summaries", SUMMARIES),
    ] {
        router = router
            .route(
                path,
                get(move |RawQuery(query): RawQuery| async move { list(collection, query) }),
            )
            .route(
                &format!("{path}/{{id}}"),
                get(move |_: Path<String>| async move { Err::<(), _>(collection.not_found()) })
                    // Idempotent, as Whereby's: what does not exist is as deleted as it gets.
                    .delete(|_: Path<String>| async { StatusCode::NO_CONTENT }),
            );
        if collection.has_files {
            let ids = format!("{}Ids", collection.thing);
            router = router
                .route(
                    &format!("{path}/{{id}}/access-link"),
                    get(
                        move |_: Path<String>, RawQuery(query): RawQuery| async move {
                            access_link(collection, query)
                        },
                    ),
                )
                .route(
                    &format!("{path}/bulk-delete"),
                    post(
                        move |JsonBody(body): JsonBody<Map<String, Value>>| async move {
                            bulk_delete(&ids, &body)
                        },
                    ),
                );
        }
    }
    router
}

/// A page of a collection: always the last, and empty.
#[derive(Debug, Serialize)]
struct EmptyPage {
    cursor: Option<String>,
    results: [(); 0],
}

fn list(collection: Collection, query: Option<String>) -> Result<Json<EmptyPage>, ApiError> {
    let pairs = query_pairs(query.as_deref());
    parse_limit(single_param(&pairs, "limit")?, DEFAULT_PAGE)?;
    if let Some(cursor) = single_param(&pairs, "cursor")?.filter(|c| !c.is_empty()) {
        decode_cursor(cursor)?;
    }
    let fields: Vec<(&str, ())> = collection.sort_fields.iter().map(|f| (*f, ())).collect();
    parse_sort(single_param(&pairs, "sortBy")?, &fields, ((), SortDir::Asc))?;
    Ok(Json(EmptyPage {
        cursor: None,
        results: [],
    }))
}

fn access_link(collection: Collection, query: Option<String>) -> Result<(), ApiError> {
    let pairs = query_pairs(query.as_deref());
    if let Some(raw) = single_param(&pairs, "validForSeconds")? {
        raw.trim()
            .parse::<u64>()
            .ok()
            .filter(|seconds| LINK_SECONDS.contains(seconds))
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "validForSeconds must be an integer from {} to {}, not {raw:?}",
                    LINK_SECONDS.start(),
                    LINK_SECONDS.end()
                ))
            })?;
    }
    Err(collection.not_found())
}

fn bulk_delete(ids: &str, body: &Map<String, Value>) -> Result<StatusCode, ApiError> {
    match body.get(ids) {
        None | Some(Value::Null) => Err(ApiError::bad_request(format!("{ids} is required"))),
        Some(Value::Array(items)) if items.iter().all(Value::is_string) => {
            Ok(StatusCode::NO_CONTENT)
        }
        Some(_) => Err(ApiError::bad_request(format!(
            "{ids} must be an array of strings"
        ))),
    }
}

/// A string field the body must have.
fn required_string<'a>(body: &'a Map<String, Value>, name: &str) -> Result<&'a str, ApiError> {
    match body.get(name) {
        None | Some(Value::Null) => Err(ApiError::bad_request(format!("{name} is required"))),
        Some(Value::String(value)) => Ok(value),
        Some(_) => Err(ApiError::bad_request(format!("{name} must be a string"))),
    }
}

/// `POST /v1/transcriptions` names the recording to transcribe, which cannot exist.
async fn create(
    source: Collection,
    field: &'static str,
    JsonBody(body): JsonBody<Map<String, Value>>,
) -> Result<(), ApiError> {
    required_string(&body, field)?;
    Err(source.not_found())
}

/// `POST /v1/summaries` names the transcription to summarise, and optionally a template.
async fn create_summary(JsonBody(body): JsonBody<Map<String, Value>>) -> Result<(), ApiError> {
    if let Some(template) = body.get("template").filter(|t| !t.is_null())
        && !template
            .as_str()
            .is_some_and(|t| SUMMARY_TEMPLATES.contains(&t))
    {
        return Err(ApiError::bad_request(format!(
            "template must be one of: {}",
            SUMMARY_TEMPLATES.join(", ")
        )));
    }
    create(TRANSCRIPTIONS, "transcriptionId", JsonBody(body)).await
}

//! `/v1/meetings`: create, read, list, delete, and every kind of bad input.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::helpers::{LATER, Server, jwt_claims, room_key, status_and_json};
use crate::schema::{MEETING, MEETING_LIST, assert_valid};

fn date(value: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(value.as_str().expect("a date string"))
        .expect("an RFC 3339 date")
        .with_timezone(&Utc)
}

/// The dates our API returns: UTC, milliseconds, `Z`.
fn assert_api_date(value: &Value) {
    let s = value.as_str().expect("a date string");
    assert_eq!(s.len(), 24, "{s} should look like 2026-11-24T15:00:00.000Z");
    assert!(s.ends_with('Z') && s.as_bytes()[19] == b'.', "{s}");
}

#[tokio::test]
async fn waiting_room_example_creates_a_meeting() {
    let server = Server::start().await;
    let end = (Utc::now() + chrono::Duration::hours(2)).to_rfc3339();
    let before = Utc::now();
    let meeting = server
        .create_meeting(json!({
            "isLocked": true,
            "roomNamePrefix": "/Clinic ",
            "roomNamePattern": "uuid",
            "roomMode": "normal",
            "endDate": end,
            "fields": ["hostRoomUrl", "viewerRoomUrl"],
        }))
        .await;
    assert_valid(MEETING, &meeting);

    let id = meeting["meetingId"].as_str().unwrap();
    assert!(id.bytes().all(|b| b.is_ascii_digit()), "numeric id: {id}");
    let room_name = meeting["roomName"].as_str().unwrap();
    assert!(
        room_name.starts_with("/clinic"),
        "prefix normalised: {room_name}"
    );
    let uuid_part = &room_name["/clinic".len()..];
    assert!(
        uuid::Uuid::parse_str(uuid_part).is_ok(),
        "uuid pattern: {room_name}"
    );
    assert_eq!(
        meeting["roomUrl"],
        format!("{}/{}", server.base, &room_name[1..])
    );
    for field in ["startDate", "endDate"] {
        assert_api_date(&meeting[field]);
    }
    let start = date(&meeting["startDate"]);
    assert!(start >= before - chrono::Duration::seconds(1) && start <= Utc::now());
    assert_eq!(
        date(&meeting["endDate"]).timestamp(),
        DateTime::parse_from_rfc3339(&end).unwrap().timestamp()
    );

    let end_ts = date(&meeting["endDate"]).timestamp();
    for (field, role) in [("hostRoomUrl", "host"), ("viewerRoomUrl", "viewer")] {
        let url = meeting[field].as_str().unwrap();
        assert!(url.starts_with(&format!(
            "{}?roomKey=",
            meeting["roomUrl"].as_str().unwrap()
        )));
        let claims = jwt_claims(&room_key(url));
        assert_eq!(claims["role"], role);
        assert_eq!(claims["sub"], id);
        assert_eq!(claims["room"], room_name);
        assert_eq!(claims["exp"], end_ts + 3600, "valid until endDate + 1 hour");
    }
}

#[tokio::test]
async fn optional_urls_appear_only_when_asked() {
    let server = Server::start().await;
    let plain = server.create_meeting(json!({ "endDate": LATER })).await;
    assert!(plain.get("hostRoomUrl").is_none() && plain.get("viewerRoomUrl").is_none());
    let host_only = server
        .create_meeting(json!({ "endDate": LATER, "fields": ["hostRoomUrl"] }))
        .await;
    assert!(host_only.get("hostRoomUrl").is_some() && host_only.get("viewerRoomUrl").is_none());

    let id = plain["meetingId"].as_str().unwrap();
    let (status, got) = server.get_json(&format!("/v1/meetings/{id}")).await;
    assert_eq!(status, 200);
    assert_valid(MEETING, &got);
    assert_eq!(got, plain, "GET returns what POST returned");
    let (_, with_fields) = server
        .get_json(&format!(
            "/v1/meetings/{id}?fields=hostRoomUrl,viewerRoomUrl"
        ))
        .await;
    assert_valid(MEETING, &with_fields);
    assert!(with_fields["hostRoomUrl"].is_string() && with_fields["viewerRoomUrl"].is_string());
    let again = server
        .get(&format!("/v1/meetings/{id}?fields=hostRoomUrl"))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(
        again["hostRoomUrl"], with_fields["hostRoomUrl"],
        "keys are stable"
    );
}

#[tokio::test]
async fn viewer_mode_template_and_human_short_names() {
    let server = Server::start().await;
    let viewer = server
        .create_meeting(json!({ "endDate": LATER, "templateType": "viewerMode" }))
        .await;
    assert_valid(MEETING, &viewer);
    assert!(viewer["hostRoomUrl"].is_string() && viewer["viewerRoomUrl"].is_string());

    let short = server
        .create_meeting(json!({ "endDate": LATER, "roomNamePattern": "human-short", "roomNamePrefix": "tutor-" }))
        .await;
    let name = short["roomName"].as_str().unwrap();
    let suffix = name.strip_prefix("/tutor-").expect("prefix kept");
    assert_eq!(suffix.len(), 6, "{name}");
    assert!(
        suffix
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    );
}

#[tokio::test]
async fn lenient_where_real_clients_need_it() {
    let server = Server::start().await;
    // Unknown fields, a deprecated startDate, an offset end date, a prefix with a slash, no content type.
    let response = server
        .post("/v1/meetings")
        .body(
            json!({
                "endDate": "2099-05-07T17:42:49-05:00",
                "startDate": "1999-01-01T00:00:00Z",
                "roomNamePrefix": "/team",
                "somethingNew": {"nested": true},
                "recording": {"type": "none"},
            })
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    let (status, meeting) = status_and_json(response).await;
    assert_eq!(status, 201, "{meeting}");
    assert_eq!(
        meeting["endDate"], "2099-05-07T22:42:49.000Z",
        "converted to UTC"
    );
    assert!(meeting["roomName"].as_str().unwrap().starts_with("/team"));
    assert!(
        date(&meeting["startDate"]) > Utc::now() - chrono::Duration::minutes(1),
        "startDate ignored"
    );
}

#[tokio::test]
async fn bad_create_bodies_get_400_naming_the_field() {
    let server = Server::start().await;
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "missing endDate",
            json!({}).to_string(),
            "endDate is required",
        ),
        (
            "null endDate",
            json!({"endDate": null}).to_string(),
            "endDate is required",
        ),
        (
            "unparsable endDate",
            json!({"endDate": "next tuesday"}).to_string(),
            "endDate must be an ISO 8601",
        ),
        (
            "numeric endDate",
            json!({"endDate": 12}).to_string(),
            "endDate must be",
        ),
        (
            "past endDate",
            json!({"endDate": "2020-01-01T00:00:00Z"}).to_string(),
            "endDate must not be in the past",
        ),
        (
            "unknown roomMode",
            json!({"endDate": LATER, "roomMode": "huge"}).to_string(),
            "roomMode must be one of: normal, group",
        ),
        (
            "unknown roomNamePattern",
            json!({"endDate": LATER, "roomNamePattern": "words"}).to_string(),
            "roomNamePattern must be one of: uuid, human-short",
        ),
        (
            "unknown field",
            json!({"endDate": LATER, "fields": ["hostRoomUrl", "secretUrl"]}).to_string(),
            "fields has unknown value \"secretUrl\"",
        ),
        (
            "fields not an array",
            json!({"endDate": LATER, "fields": "hostRoomUrl"}).to_string(),
            "fields must be an array",
        ),
        (
            "unknown templateType",
            json!({"endDate": LATER, "templateType": "webinar"}).to_string(),
            "templateType must be one of: viewerMode",
        ),
        (
            "unknown recording type",
            json!({"endDate": LATER, "recording": {"type": "tape"}}).to_string(),
            "recording.type must be one of: none, local, cloud",
        ),
        (
            "isLocked not boolean",
            json!({"endDate": LATER, "isLocked": "yes"}).to_string(),
            "isLocked must be a boolean",
        ),
        (
            "prefix with bad characters",
            json!({"endDate": LATER, "roomNamePrefix": "my_room!"}).to_string(),
            "roomNamePrefix must be",
        ),
        (
            "prefix too long",
            json!({"endDate": LATER, "roomNamePrefix": "a".repeat(40)}).to_string(),
            "roomNamePrefix must be at most 39",
        ),
        (
            "not JSON",
            "{endDate: tomorrow".to_owned(),
            "request body is not valid JSON",
        ),
        (
            "empty body",
            String::new(),
            "request body is not valid JSON",
        ),
        (
            "JSON but not an object",
            "[1,2]".to_owned(),
            "request body must be a JSON object",
        ),
    ];
    for (name, body, expected) in cases {
        let response = server.post("/v1/meetings").body(body).send().await.unwrap();
        let (status, json) = status_and_json(response).await;
        assert_eq!(status, 400, "{name}: {json}");
        let error = json["error"]
            .as_str()
            .unwrap_or_else(|| panic!("{name}: no error string in {json}"));
        assert!(
            error.contains(expected),
            "{name}: {error:?} should contain {expected:?}"
        );
    }
    // None of them created anything.
    let (_, list) = server.get_json("/v1/meetings").await;
    assert_eq!(list["results"], json!([]));
}

#[tokio::test]
async fn oversized_body_is_refused_with_json() {
    let server = Server::start().await;
    let body = json!({"endDate": LATER, "padding": "x".repeat(200_000)}).to_string();
    let (status, json) =
        status_and_json(server.post("/v1/meetings").body(body).send().await.unwrap()).await;
    assert_eq!(status, 413);
    assert!(json["error"].as_str().unwrap().contains("too large"));
}

#[tokio::test]
async fn listing_pages_with_a_cursor_and_filters() {
    let server = Server::start().await;
    let mut created = Vec::new();
    for prefix in ["alpha-", "alpha-", "beta-", "gamma-", "alphabet-"] {
        let m = server
            .create_meeting(json!({ "endDate": LATER, "roomNamePrefix": prefix }))
            .await;
        created.push(m);
    }
    // Page through two at a time.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut path = "/v1/meetings?limit=2&fields=hostRoomUrl".to_owned();
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let (status, page) = server.get_json(&path).await;
        assert_eq!(status, 200, "{page}");
        assert_valid(MEETING_LIST, &page);
        pages += 1;
        for m in page["results"].as_array().unwrap() {
            assert!(m["hostRoomUrl"].is_string(), "fields apply to every result");
            seen.push(m["meetingId"].as_str().unwrap().to_owned());
        }
        match &page["cursor"] {
            Value::Null => break,
            Value::String(c) => cursor = Some(c.clone()),
            other => panic!("cursor must be a string or null, not {other}"),
        }
        assert!(pages < 10, "pagination does not end");
    }
    assert_eq!(pages, 3);
    let expected: Vec<String> = created
        .iter()
        .map(|m| m["meetingId"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(seen, expected, "every meeting once, in creation order");

    let names = |page: &Value| -> Vec<String> {
        page["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["roomName"].as_str().unwrap().to_owned())
            .collect()
    };
    let (_, starts) = server
        .get_json("/v1/meetings?roomName[startsWith]=alpha-")
        .await;
    assert_eq!(names(&starts).len(), 2);
    let (_, starts_slash) = server
        .get_json("/v1/meetings?roomName%5BstartsWith%5D=%2Falpha")
        .await;
    assert_eq!(names(&starts_slash).len(), 3, "alpha- twice and alphabet-");
    let exact_name = created[2]["roomName"].as_str().unwrap();
    let (_, exact) = server
        .get_json(&format!("/v1/meetings?roomName[exact]={exact_name}"))
        .await;
    assert_eq!(names(&exact), vec![exact_name.to_owned()]);
    let (_, contains) = server.get_json("/v1/meetings?roomName[contains]=amm").await;
    assert_eq!(names(&contains).len(), 1);
    assert_valid(MEETING_LIST, &contains);
    let (_, none) = server.get_json("/v1/meetings?roomName[contains]=zzz").await;
    assert_eq!(none, json!({"results": [], "cursor": null}));
}

#[tokio::test]
async fn bad_list_queries_get_400() {
    let server = Server::start().await;
    let cases = [
        ("limit=0", "limit must be an integer from 1 to 100"),
        ("limit=101", "limit must be an integer from 1 to 100"),
        ("limit=ten", "limit must be an integer from 1 to 100"),
        ("limit=-1", "limit must be an integer from 1 to 100"),
        ("cursor=notacursor", "cursor is malformed"),
        ("cursor=zzzzzzzzzzzzzzzz", "cursor is malformed"),
        ("roomName[startsLike]=a", "unknown filter"),
        ("limit=1&limit=2", "limit is given more than once"),
    ];
    for (query, expected) in cases {
        let (status, json) = server.get_json(&format!("/v1/meetings?{query}")).await;
        assert_eq!(status, 400, "{query}: {json}");
        assert!(
            json["error"].as_str().unwrap().contains(expected),
            "{query}: {json}"
        );
    }
    let (status, _) = server.get_json("/v1/meetings?limit=100").await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn delete_is_idempotent_and_hides_the_meeting() {
    let server = Server::start().await;
    let meeting = server.create_locked_meeting().await;
    let id = meeting["meetingId"].as_str().unwrap();
    for _ in 0..2 {
        let response = server
            .delete(&format!("/v1/meetings/{id}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 204);
        assert!(response.text().await.unwrap().is_empty());
    }
    // Unknown and malformed ids: the same 204.
    for other in ["999999", "not-a-number"] {
        let response = server
            .delete(&format!("/v1/meetings/{other}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 204);
    }
    let (status, json) = server.get_json(&format!("/v1/meetings/{id}")).await;
    assert_eq!(status, 404);
    assert_eq!(json, json!({"error": "Could not find meeting"}));
    let (_, list) = server.get_json("/v1/meetings").await;
    assert_eq!(list["results"], json!([]));
}

#[tokio::test]
async fn unknown_meetings_are_404() {
    let server = Server::start().await;
    for id in ["424242", "abc", "0", "-5"] {
        let (status, json) = server.get_json(&format!("/v1/meetings/{id}")).await;
        assert_eq!(status, 404, "{id}");
        assert_eq!(json, json!({"error": "Could not find meeting"}));
    }
    let (status, json) = server.get_json("/v1/nothing-here").await;
    assert_eq!(status, 404);
    assert!(json["error"].is_string());
    let (status, json) = status_and_json(
        server
            .http
            .put(server.url("/v1/meetings"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 405);
    assert!(json["error"].is_string());
}

/// Whereby's own sample app asks for `fields=undefined`: reads ignore names they do not know.
#[tokio::test]
async fn reads_ignore_fields_they_do_not_know() {
    let server = Server::start().await;
    let meeting = server.create_meeting(json!({"endDate": LATER})).await;
    let id = meeting["meetingId"].as_str().unwrap();
    let (status, got) = server
        .get_json(&format!("/v1/meetings/{id}?fields=undefined"))
        .await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["roomName"], meeting["roomName"]);
    assert!(got.get("hostRoomUrl").is_none());
    let (_, got) = server
        .get_json(&format!("/v1/meetings/{id}?fields=undefined,hostRoomUrl"))
        .await;
    assert!(got["hostRoomUrl"].is_string(), "known names still count");
    let (status, list) = server.get_json("/v1/meetings?fields=everything").await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["results"].as_array().unwrap().len(), 1);
}

//! Insights computed from what rooms recorded: rooms, sessions, participants, across restarts.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{LATER, Server, room_key};
use crate::schema::{
    INSIGHT_PARTICIPANT, INSIGHT_PARTICIPANTS, INSIGHT_ROOMS, INSIGHT_SESSIONS, assert_valid,
};
use crate::ws::Ws;

/// A meeting in which two people met and left: one session, two stays.
async fn a_finished_session(server: &Server, prefix: &str) -> (String, String) {
    let meeting = server
        .create_meeting(
            json!({"endDate": LATER, "roomNamePrefix": prefix, "fields": ["hostRoomUrl"]}),
        )
        .await;
    let name = meeting["roomName"].as_str().unwrap().to_owned();
    let key = room_key(meeting["hostRoomUrl"].as_str().unwrap());
    let mut host = Ws::connect_as(server, "Mozilla/5.0 (Host browser)").await;
    let host_id = host.join(&name, Some(&key), "Dr Host").await["selfId"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut guest = Ws::connect(server).await;
    guest.send("join_room", json!({"roomName": name, "displayName": "Pat", "externalId": format!("{prefix}patient")})).await;
    guest.recv_type("room_joined").await;
    host.recv_type("new_client").await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    guest.send("leave_room", json!({})).await;
    guest.recv_type("room_left").await;
    host.send("leave_room", json!({})).await;
    host.recv_type("room_left").await;
    (name, host_id)
}

/// Waits until the session has ended (the grace is 1 s in these tests) and the facts are written.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(1800)).await;
}

#[tokio::test]
async fn rooms_sessions_and_participants() {
    let mut server = Server::start_with(&["--session-end-grace-secs", "1"]).await;
    let (name, host_id) = a_finished_session(&server, "ward-a-").await;
    settle().await;

    let (status, rooms) = server.get_json("/v1/insights/rooms").await;
    assert_eq!(status, 200, "{rooms}");
    assert_valid(INSIGHT_ROOMS, &rooms);
    let room = &rooms["results"][0];
    assert_eq!(room["roomName"], name.as_str());
    assert_eq!(room["totalSessions"], 1);
    assert_eq!(room["totalUniqueParticipants"], 2);
    assert_eq!(
        room["totalParticipantMinutes"], 2,
        "each short stay rounds up to a minute"
    );
    assert_eq!(rooms["cursor"], Value::Null);

    let (status, sessions) = server
        .get_json(&format!("/v1/insights/room-sessions?roomName={name}"))
        .await;
    assert_eq!(status, 200);
    assert_valid(INSIGHT_SESSIONS, &sessions);
    let session = &sessions["results"][0];
    let session_id = session["roomSessionId"].as_str().unwrap().to_owned();
    assert!(
        session["endedAt"].is_string(),
        "the session ended: {session}"
    );
    assert_eq!(session["totalUniqueParticipants"], 2);

    let (status, participants) = server
        .get_json(&format!(
            "/v1/insights/participants?roomSessionId={session_id}"
        ))
        .await;
    assert_eq!(status, 200);
    assert_valid(INSIGHT_PARTICIPANTS, &participants);
    let names: Vec<&str> = participants["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["displayName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Dr Host", "Pat"]);
    let roles: Vec<&str> = participants["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["roleName"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["host", "visitor"]);
    let (_, by_external) = server
        .get_json("/v1/insights/participants?externalId=ward-a-patient")
        .await;
    assert_eq!(by_external["results"].as_array().unwrap().len(), 1);
    assert_eq!(by_external["results"][0]["displayName"], "Pat");

    let (status, detail) = server
        .get_json(&format!(
            "/v1/insights/participant?roomSessionId={session_id}&participantId={host_id}"
        ))
        .await;
    assert_eq!(status, 200, "{detail}");
    assert_valid(INSIGHT_PARTICIPANT, &detail);
    assert_eq!(detail[0]["userAgent"], "Mozilla/5.0 (Host browser)");
    assert_eq!(detail[0]["userRole"], "host");
    let kinds: Vec<&str> = detail[0]["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["room.client.joined", "room.client.left"]);
    let (status, _) = server
        .get_json(&format!(
            "/v1/insights/participant?roomSessionId={session_id}&participantId=nobody"
        ))
        .await;
    assert_eq!(status, 404);

    // All of it survives a restart.
    assert!(server.terminate().await);
    let server = server.restart().await;
    let (_, again) = server.get_json("/v1/insights/rooms").await;
    assert_eq!(again, rooms);
}

#[tokio::test]
async fn filters_sorting_and_pages() {
    let server = Server::start_with(&["--session-end-grace-secs", "1"]).await;
    for prefix in ["alpha-", "beta-", "gamma-"] {
        a_finished_session(&server, prefix).await;
    }
    settle().await;
    let (_, first) = server
        .get_json("/v1/insights/rooms?limit=2&sortBy=roomName:asc")
        .await;
    assert_valid(INSIGHT_ROOMS, &first);
    let names = |page: &Value| -> Vec<String> {
        page["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["roomName"].as_str().unwrap()[..6].to_owned())
            .collect()
    };
    assert_eq!(names(&first), ["/alpha", "/beta-"]);
    let cursor = first["cursor"].as_str().expect("a next page").to_owned();
    let (_, second) = server
        .get_json(&format!(
            "/v1/insights/rooms?limit=2&sortBy=roomName:asc&cursor={cursor}"
        ))
        .await;
    assert_eq!(names(&second), ["/gamma"]);
    assert_eq!(second["cursor"], Value::Null);
    let (_, desc) = server
        .get_json("/v1/insights/rooms?sortBy=roomName:desc")
        .await;
    assert_eq!(names(&desc), ["/gamma", "/beta-", "/alpha"]);
    let (_, filtered) = server
        .get_json("/v1/insights/rooms?roomName[startsWith]=/beta")
        .await;
    assert_eq!(names(&filtered), ["/beta-"]);
    let (_, future) = server
        .get_json("/v1/insights/rooms?createdAt[from]=2098-01-01T00:00:00Z")
        .await;
    assert_eq!(future["results"], json!([]));

    for (path, expected) in [
        ("/v1/insights/rooms?limit=0", "limit must be"),
        ("/v1/insights/rooms?cursor=nope", "cursor is malformed"),
        ("/v1/insights/rooms?sortBy=mood:asc", "cannot sort by"),
        ("/v1/insights/rooms?sortBy=roomName:sideways", "asc or desc"),
        (
            "/v1/insights/rooms?createdAt[from]=yesterday",
            "createdAt[from] must be",
        ),
        ("/v1/insights/room-sessions", "roomName is required"),
        (
            "/v1/insights/participants",
            "roomSessionId or externalId is required",
        ),
        (
            "/v1/insights/participant?roomSessionId=x",
            "participantId is required",
        ),
    ] {
        let (status, body) = server.get_json(path).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert!(
            body["error"].as_str().unwrap().contains(expected),
            "{path}: {body}"
        );
    }
    let response = server
        .http
        .get(server.url("/v1/insights/rooms"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}

/// A plain `roomName` (as a popular workflow-automation node sends it) filters as
/// `roomName[exact]`, with or without its slash.
#[tokio::test]
async fn a_plain_room_name_filters_exactly() {
    let server = Server::start_with(&["--session-end-grace-secs", "1"]).await;
    let (first, _) = a_finished_session(&server, "ward-a-").await;
    a_finished_session(&server, "ward-b-").await;
    settle().await;
    for name in [first.clone(), first.trim_start_matches('/').to_owned()] {
        let (status, rooms) = server
            .get_json(&format!("/v1/insights/rooms?roomName={name}"))
            .await;
        assert_eq!(status, 200, "{rooms}");
        let names: Vec<&str> = rooms["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["roomName"].as_str().unwrap())
            .collect();
        assert_eq!(names, [first.as_str()]);
    }
    let (status, _) = server
        .get_json(&format!(
            "/v1/insights/rooms?roomName={first}&roomName[exact]={first}"
        ))
        .await;
    assert_eq!(status, 400, "one exact name, not two");
}

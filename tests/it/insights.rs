//! Insights computed from what rooms recorded: rooms, sessions, participants, across restarts.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{LATER, Server, host, open_store, room, room_key, store_execute, store_rows};
use crate::media_client::negotiate;
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

/// With `--insights-retention-days`, what ended before it is forgotten: a room's session, its
/// stays (names, external ids, browsers) and its events are gone from the store and from insights;
/// a recent room's are kept whole. Without the setting, nothing is.
#[tokio::test]
async fn history_past_its_retention_is_forgotten() {
    let server = Server::start_with(&["--session-end-grace-secs", "1"]).await;
    let (old, _) = a_finished_session(&server, "ward-old-").await;
    let (recent, _) = a_finished_session(&server, "ward-new-").await;
    settle().await;
    let (_, stays) = server
        .get_json("/v1/insights/participants?externalId=ward-old-patient")
        .await;
    assert_eq!(
        stays["results"].as_array().map(Vec::len),
        Some(1),
        "{stays}"
    );
    let mut server = server;
    assert!(server.terminate().await);
    // The first room's history made 40 days old, as if it had happened then.
    let days_40 = 40 * 86_400_000_i64;
    for (table, columns) in [
        ("room_events", &["at_ms"][..]),
        ("participations", &["joined_ms", "left_ms"]),
        ("room_sessions", &["started_ms", "ended_ms"]),
    ] {
        let set: Vec<String> = columns
            .iter()
            .map(|c| format!("{c} = {c} - {days_40}"))
            .collect();
        let sql = format!(
            "UPDATE {table} SET {} WHERE room_name = '{old}'",
            set.join(", ")
        );
        assert!(
            store_execute(server.data_dir.path(), &sql).await > 0,
            "{sql}"
        );
    }
    // Kept by a server not told to forget, however often it sweeps.
    let mut server = server.restart_with(&["--sweep-interval-secs", "1"]).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        history_rows(&server, &old).await > 5,
        "{old}'s history is kept"
    );
    assert!(server.terminate().await);
    let server = server
        .restart_with(&["--insights-retention-days", "30"])
        .await;
    server.wait_for_log("forgot room history").await;
    assert_eq!(
        history_rows(&server, &old).await,
        0,
        "{old}'s history is gone"
    );
    assert!(
        history_rows(&server, &recent).await > 5,
        "{recent}'s is kept"
    );
    let (_, rooms) = server.get_json("/v1/insights/rooms").await;
    let named: Vec<&str> = rooms["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|room| room["roomName"].as_str())
        .collect();
    assert_eq!(named, [recent.as_str()], "{rooms}");
    let (_, stays) = server
        .get_json("/v1/insights/participants?externalId=ward-old-patient")
        .await;
    assert_eq!(stays["results"], json!([]), "{stays}");
}

/// Forgetting goes a batch at a time, to the last old row and no further.
#[tokio::test]
async fn forgetting_goes_in_batches_to_the_last_old_row() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path()).await;
    let now = chrono::Utc::now();
    let day = 86_400_000_i64;
    for (count, at) in [
        (2_500, now.timestamp_millis() - 40 * day),
        (3, now.timestamp_millis()),
    ] {
        let sql = format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {count}) \
             INSERT INTO room_events (meeting_id, room_name, kind, at_ms, num_clients, clients_by_role) \
             SELECT 1, '/r', 'room.client.joined', {at} + i, 1, '{{}}' FROM n"
        );
        assert_eq!(store_execute(dir.path(), &sql).await, count);
    }
    let removed = store
        .prune_history(now - chrono::Duration::days(30))
        .await
        .unwrap();
    assert_eq!(removed, 2_500);
    let left: Vec<(i64,)> = store_rows(dir.path(), "SELECT COUNT(*) FROM room_events").await;
    assert_eq!(left[0].0, 3);
    store.close().await;
}

/// A person's right to be forgotten: `DELETE /v1/insights/participants?externalId=` removes their
/// stays, the room events of them (a knock never let in too) and nothing of anyone else's.
#[tokio::test]
async fn a_person_is_forgotten_on_request_and_nobody_else() {
    let server = Server::start_with(&["--session-end-grace-secs", "1"]).await;
    a_finished_session(&server, "ward-b-").await;
    let (room, _) = a_finished_session(&server, "ward-a-").await;
    // The same person knocks at a locked room, and is never let in.
    let locked = server.create_locked_meeting().await;
    let mut knocker = Ws::connect(&server).await;
    knocker
        .send(
            "join_room",
            json!({"roomName": locked["roomName"], "displayName": "Pat", "externalId": "ward-a-patient"}),
        )
        .await;
    knocker.recv_type("room_joined").await;
    knocker.send("knock_room", json!({})).await;
    knocker.recv_type("knock_sent").await;
    knocker.send("cancel_room_knock", json!({})).await;
    settle().await;
    let of_patient = "SELECT COUNT(*) FROM room_events WHERE external_id = 'ward-a-patient'";
    let before: Vec<(i64,)> = store_rows(server.data_dir.path(), of_patient).await;
    let knocks: Vec<(i64,)> = store_rows(
        server.data_dir.path(),
        "SELECT COUNT(*) FROM room_events WHERE external_id = 'ward-a-patient' \
         AND kind = 'room.client.knocked'",
    )
    .await;
    assert_eq!(knocks[0].0, 1, "the knock is kept with the person's id");
    // Network samples of both patients' stays, and an event of the person's client that does not
    // repeat the external id: the person's go with them.
    let dir = server.data_dir.path();
    let seeded = [
        "INSERT INTO network_samples (room_name, client_id, started_ms, interval_ms, samples) \
         SELECT room_name, client_id, joined_ms, 2000, '[]' FROM participations \
         WHERE external_id IN ('ward-a-patient', 'ward-b-patient')",
        "INSERT INTO room_events (meeting_id, room_name, kind, at_ms, client_id, num_clients, \
         clients_by_role) SELECT 1, room_name, 'room.client.left', joined_ms, client_id, 0, '{}' \
         FROM participations WHERE external_id = 'ward-a-patient'",
    ];
    for sql in seeded {
        assert!(crate::helpers::store_execute(dir, sql).await > 0, "{sql}");
    }

    for refused in [
        "",
        "?externalId=",
        "?roomSessionId=s&externalId=ward-a-patient",
    ] {
        let response = server
            .delete(&format!("/v1/insights/participants{refused}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{refused}");
    }
    let response = server
        .delete("/v1/insights/participants?externalId=ward-a-patient")
        .send()
        .await
        .unwrap();
    let (status, body) = crate::helpers::status_and_json(response).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["forgotten"]["stays"], 1, "{body}");
    assert_eq!(body["forgotten"]["roomEvents"], before[0].0 + 1, "{body}");
    assert_eq!(body["forgotten"]["networkSamples"], 1, "{body}");
    let samples: Vec<(i64,)> = store_rows(dir, "SELECT COUNT(*) FROM network_samples").await;
    assert_eq!(samples[0].0, 1, "the other patient's are kept");

    let after: Vec<(i64,)> = store_rows(server.data_dir.path(), of_patient).await;
    assert_eq!(after[0].0, 0);
    let (_, stays) = server
        .get_json("/v1/insights/participants?externalId=ward-a-patient")
        .await;
    assert_eq!(stays["results"], json!([]), "{stays}");
    let (_, others) = server
        .get_json("/v1/insights/participants?externalId=ward-b-patient")
        .await;
    assert_eq!(
        others["results"].as_array().map(Vec::len),
        Some(1),
        "{others}"
    );
    // The host of the room the person was in is kept, and the room's session.
    let (_, sessions) = server
        .get_json(&format!("/v1/insights/room-sessions?roomName={room}"))
        .await;
    let session = sessions["results"][0]["roomSessionId"].as_str().unwrap();
    let (_, stays) = server
        .get_json(&format!(
            "/v1/insights/participants?roomSessionId={session}"
        ))
        .await;
    let names: Vec<&str> = stays["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|stay| stay["displayName"].as_str())
        .collect();
    assert_eq!(names, ["Dr Host"], "{stays}");
}

/// The rows of a room's history in the store: its events, stays and sessions.
async fn history_rows(server: &Server, room: &str) -> i64 {
    let sql = format!(
        "SELECT (SELECT COUNT(*) FROM room_events WHERE room_name = '{room}') \
         + (SELECT COUNT(*) FROM participations WHERE room_name = '{room}') \
         + (SELECT COUNT(*) FROM room_sessions WHERE room_name = '{room}')"
    );
    let counted: Vec<(i64,)> = store_rows(server.data_dir.path(), &sql).await;
    counted[0].0
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

/// The network samples of a member's stay in a group room, read from the API until they are kept
/// (a member's series is written once it has left).
async fn stay_with_samples(server: &Server, session_id: &str, participant: &str) -> Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let (status, detail) = server
            .get_json(&format!(
                "/v1/insights/participant?roomSessionId={session_id}&participantId={participant}"
            ))
            .await;
        assert_eq!(status, 200, "{detail}");
        if detail[0]["sampleRateMs"] != 0 || std::time::Instant::now() > deadline {
            assert_valid(INSIGHT_PARTICIPANT, &detail);
            return detail[0].clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The id of the room's first session.
async fn first_session(server: &Server, room: &str) -> String {
    let (_, sessions) = server
        .get_json(&format!("/v1/insights/room-sessions?roomName={room}"))
        .await;
    sessions["results"][0]["roomSessionId"]
        .as_str()
        .unwrap_or_else(|| panic!("a session: {sessions}"))
        .to_owned()
}

fn numbers(samples: &Value, name: &str) -> Vec<f64> {
    samples[name]
        .as_array()
        .unwrap_or_else(|| panic!("no {name} in {samples}"))
        .iter()
        .map(|v| v.as_f64().expect("a number"))
        .collect()
}

/// In a group room the media server sees each member's connection: a stay's detail has a sample
/// every 2 s of what the member sent and received and of what was lost. A member who never opened
/// a media path has none, as in a normal room.
#[tokio::test]
async fn a_group_rooms_members_have_network_samples() {
    let server = Server::start_with(&["--session-end-grace-secs", "1"]).await;
    let room = room(&server, json!({"roomMode": "group"})).await;
    let (mut host_ws, joined) = host(&server, &room, "Dr Host").await;
    let host_id = joined["selfId"].as_str().unwrap().to_owned();
    let mut guest = Ws::connect(&server).await;
    let guest_id = guest.join(&room.name, None, "Pat").await["selfId"]
        .as_str()
        .unwrap()
        .to_owned();
    let (mut media, _) = negotiate(&mut host_ws).await;
    // A voice of 160-byte frames, 50 a second: about 80 kbit/s with its headers.
    media.speak(Duration::from_secs(7), 160);
    host_ws.send("leave_room", json!({})).await;
    host_ws.recv_type("room_left").await;
    guest.send("leave_room", json!({})).await;
    guest.recv_type("room_left").await;
    settle().await;
    let session_id = first_session(&server, &room.name).await;

    let stay = stay_with_samples(&server, &session_id, &host_id).await;
    assert_eq!(stay["sampleRateMs"], 2000, "{stay}");
    let samples = &stay["samples"];
    let sent = numbers(samples, "bitrateSend");
    assert!(sent.len() >= 3, "{samples}");
    for name in ["bitrateRecv", "packetLossSend", "packetLossRecv"] {
        assert_eq!(numbers(samples, name).len(), sent.len(), "{samples}");
    }
    let speaking = sent
        .iter()
        .filter(|bps| (50_000.0..150_000.0).contains(*bps))
        .count();
    assert!(speaking >= 2, "the voice in bitrateSend: {sent:?}");
    // What the server sends a member that only publishes: its feedback on what it receives.
    assert!(
        numbers(samples, "bitrateRecv").iter().any(|bps| *bps > 0.0),
        "{samples}"
    );
    for name in ["packetLossSend", "packetLossRecv"] {
        assert!(
            numbers(samples, name)
                .iter()
                .all(|p| (0.0..=1.0).contains(p)),
            "next to no loss on loopback: {samples}"
        );
    }

    let (_, guest_detail) = server
        .get_json(&format!(
            "/v1/insights/participant?roomSessionId={session_id}&participantId={guest_id}"
        ))
        .await;
    assert_eq!(guest_detail[0]["sampleRateMs"], 0, "{guest_detail}");
    assert_eq!(numbers(&guest_detail[0]["samples"], "bitrateSend").len(), 0);
}

/// A server stopped cleanly while a member speaks in a group room keeps that member's samples so
/// far (its room is carried on after the restart, and the member's stay with it).
#[tokio::test]
async fn a_clean_stop_keeps_the_samples_of_members_still_in_the_room() {
    let mut server = Server::start().await;
    let room = room(&server, json!({"roomMode": "group"})).await;
    let (mut host_ws, joined) = host(&server, &room, "Dr Host").await;
    let host_id = joined["selfId"].as_str().unwrap().to_owned();
    let (mut media, _) = negotiate(&mut host_ws).await;
    media.speak(Duration::from_secs(4), 160);
    assert!(server.terminate().await, "a clean stop");
    let rows: Vec<(String, i64, String)> = store_rows(
        server.data_dir.path(),
        "SELECT client_id, interval_ms, samples FROM network_samples",
    )
    .await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    let (client, interval, samples) = &rows[0];
    assert_eq!((client, *interval), (&host_id, 2000));
    let samples: Vec<(u32, u32, f32, f32)> = serde_json::from_str(samples).unwrap();
    assert!(
        samples.iter().any(|(sent, ..)| *sent > 50_000),
        "{samples:?}"
    );
}

/// In a normal room media goes browser to browser: each member's browser says what it measured,
/// every 2 s (`network_sample`), and its stay has those samples once it has left. A knocker's are
/// not kept (it has no stay), and numbers out of range are refused.
#[tokio::test]
async fn a_normal_rooms_members_report_their_own_network_samples() {
    let server = Server::start_with(&["--session-end-grace-secs", "1"]).await;
    let room = room(&server, json!({"roomMode": "normal", "isLocked": true})).await;
    let (mut host_ws, joined) = host(&server, &room, "Dr Host").await;
    let host_id = joined["selfId"].as_str().unwrap().to_owned();
    let (mut guest, guest_id) = crate::signal_join::knocker(&server, &room, "Pat").await;
    let sample = |bps: u32, loss: f64| json!({"bitrateSend": bps, "bitrateRecv": bps * 2, "packetLossSend": loss, "packetLossRecv": 0});
    // Knocking: not kept.
    guest.send("network_sample", sample(1, 0.0)).await;
    let grant = crate::signal_join::accept(&mut host_ws, &mut guest, &guest_id).await;
    guest.join(&room.name, Some(&grant), "Pat").await;
    guest
        .send(
            "network_sample",
            json!({"bitrateSend": -5, "bitrateRecv": 0, "packetLossSend": 0, "packetLossRecv": 0}),
        )
        .await;
    let refused = guest.error().await;
    assert_eq!(refused["code"], "invalid_payload", "{refused}");
    assert!(
        refused["message"].as_str().unwrap().contains("bitrateSend"),
        "{refused}"
    );
    // What a browser sends: a sample of the 2 s before it, every 2 s.
    for (bps, loss) in [(300_000, 0.0), (900_000, 2.5)] {
        tokio::time::sleep(Duration::from_millis(2050)).await;
        guest.send("network_sample", sample(bps, loss)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    guest.send("leave_room", json!({})).await;
    guest.recv_type("room_left").await;
    // Kept once the guest has left, while the room and its session go on.
    let session_id = first_session(&server, &room.name).await;
    let stay = stay_with_samples(&server, &session_id, &guest_id).await;
    assert_eq!(stay["sampleRateMs"], 2000, "{stay}");
    let samples = &stay["samples"];
    assert_eq!(
        numbers(samples, "bitrateSend"),
        [300_000.0, 900_000.0],
        "{stay}"
    );
    assert_eq!(numbers(samples, "bitrateRecv"), [600_000.0, 1_800_000.0]);
    assert_eq!(numbers(samples, "packetLossSend"), [0.0, 2.5]);
    assert_eq!(numbers(samples, "packetLossRecv"), [0.0, 0.0]);
    // The host's browser said nothing: its stay has none.
    host_ws.send("leave_room", json!({})).await;
    host_ws.recv_type("room_left").await;
    settle().await;
    let (_, host_detail) = server
        .get_json(&format!(
            "/v1/insights/participant?roomSessionId={session_id}&participantId={host_id}"
        ))
        .await;
    assert_eq!(host_detail[0]["sampleRateMs"], 0, "{host_detail}");
}

/// Samples are kept a minute at a time while a member stays: a crash loses at most the minute under
/// way. (A minute of a member's browser reporting every 2 s, then `kill -9`.)
#[tokio::test]
async fn a_crash_loses_at_most_the_minute_under_way() {
    let mut server = Server::start().await;
    let room = room(&server, json!({"roomMode": "normal"})).await;
    let (mut host_ws, joined) = host(&server, &room, "Dr Host").await;
    let host_id = joined["selfId"].as_str().unwrap().to_owned();
    let started = tokio::time::Instant::now();
    for i in 1..=32u32 {
        tokio::time::sleep_until(started + Duration::from_millis(2000) * i).await;
        let sample = json!({"bitrateSend": 1000 * i, "bitrateRecv": 0, "packetLossSend": 0, "packetLossRecv": 0});
        host_ws.send("network_sample", sample).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    server.kill9().await;
    let rows: Vec<(String, String)> = store_rows(
        server.data_dir.path(),
        "SELECT client_id, samples FROM network_samples",
    )
    .await;
    assert_eq!(rows.len(), 1, "one minute's segment kept: {rows:?}");
    assert_eq!(rows[0].0, host_id);
    let samples: Vec<(u32, u32, f32, f32)> = serde_json::from_str(&rows[0].1).unwrap();
    let sent: Vec<u32> = samples.iter().map(|(bps, ..)| *bps).collect();
    assert_eq!(sent, (1..=30).map(|i| 1000 * i).collect::<Vec<_>>());
}

//! `join_room`: who gets in, who gets the door, and the errors for everything else.

use std::collections::BTreeSet;

use anteroom::meeting::{MeetingId, RoomName};
use anteroom::tokens::TokenSigner;
use chrono::Utc;
use serde_json::{Value, json};

use crate::helpers::Server;
pub use crate::helpers::{TestRoom, host, room};
use crate::ws::{Closed, Ws};

pub async fn locked_room(server: &Server) -> TestRoom {
    room(server, json!({"isLocked": true})).await
}

/// The host accepts this knock; returns the grant the knocker received (verdicts before it, such as
/// holds, are passed over).
pub async fn accept(host: &mut Ws, guest: &mut Ws, guest_id: &str) -> String {
    host.send(
        "handle_knock",
        json!({"clientId": guest_id, "action": "accept"}),
    )
    .await;
    loop {
        let verdict = guest.recv_type("knock_handled").await;
        if verdict["resolution"] == "accepted" {
            return verdict["roomKey"].as_str().expect("a grant").to_owned();
        }
    }
}

/// A guest at the door of a locked room, knocked. Returns the connection and its client id.
pub async fn knocker(server: &Server, room: &TestRoom, name: &str) -> (Ws, String) {
    let mut ws = Ws::connect(server).await;
    let door = ws.join(&room.name, None, name).await;
    assert_eq!(door["error"], "room_locked");
    ws.send("knock_room", json!({})).await;
    let sent = ws.recv_type("knock_sent").await;
    // Then its place in line (only its own).
    let place = ws.recv_type("knock_position").await;
    assert!(
        place["position"].as_u64().is_some_and(|p| p >= 1),
        "{place}"
    );
    (ws, sent["clientId"].as_str().unwrap().to_owned())
}

fn keys(value: &Value) -> BTreeSet<String> {
    value.as_object().unwrap().keys().cloned().collect()
}

#[tokio::test]
async fn members_get_the_room_and_hosts_the_queue() {
    let server = Server::start().await;
    let open = room(&server, json!({})).await;
    let mut visitor = Ws::connect(&server).await;
    let joined = visitor.join(&open.name, None, "Ann").await;
    assert_eq!(joined["role"], "visitor");
    assert_eq!(joined["room"]["roomName"], open.name.as_str());
    assert_eq!(joined["room"]["isLocked"], false);
    assert_eq!(joined["room"]["clients"].as_array().unwrap().len(), 1);
    assert!(joined.get("knockers").is_none(), "only hosts see the queue");
    // The server's clock, by which its times (knocks, hands, a recording's start) are read.
    let server_time = joined["serverTime"].as_i64().expect("serverTime in ms");
    let now = chrono::Utc::now().timestamp_millis();
    assert!((now - 60_000..=now).contains(&server_time), "{joined}");
    // When the room closes for everyone: an hour after the meeting's end date.
    let end = chrono::DateTime::parse_from_rfc3339(open.meeting["endDate"].as_str().unwrap())
        .unwrap()
        .timestamp_millis();
    assert_eq!(joined["room"]["closesAt"], end + 3_600_000, "{joined}");

    let locked = locked_room(&server).await;
    let mut host = Ws::connect(&server).await;
    let joined = host
        .join(&locked.name, Some(&locked.host_key), "Dr Host")
        .await;
    assert_eq!(joined["role"], "host");
    assert_eq!(joined["knockers"], json!([]));
    assert!(joined["selfId"].is_string());

    let mut viewer = Ws::connect(&server).await;
    let joined = viewer
        .join(&locked.name, Some(&locked.viewer_key), "Watcher")
        .await;
    assert_eq!(
        joined["role"], "viewer",
        "a viewer key enters a locked room"
    );
    let new_client = host.recv_type("new_client").await;
    assert_eq!(new_client["client"]["displayName"], "Watcher");
}

/// A member's `externalId` and `metadata` reach hosts (in `room_joined` and `new_client`), as a
/// knock's do, and no one else.
#[tokio::test]
async fn hosts_see_members_identifiers_and_others_do_not() {
    let server = Server::start().await;
    let open = room(&server, json!({})).await;
    let (mut first_host, _) = host(&server, &open, "Dr One").await;
    // A guest who joins with the integrator's identifiers.
    let identified = |name: &'static str, external_id: &'static str, metadata: &'static str| {
        let room_name = open.name.clone();
        let server = &server;
        async move {
            let mut ws = Ws::connect(server).await;
            let join = json!({"roomName": room_name, "displayName": name,
                              "externalId": external_id, "metadata": metadata});
            ws.send("join_room", join).await;
            let joined = ws.recv_type("room_joined").await;
            (ws, joined)
        }
    };
    let (mut guest, joined) = identified("Pat", "patient-9", "room 4").await;
    assert_eq!(joined["role"], "visitor");
    let pat = first_host.recv_type("new_client").await["client"].clone();
    assert_eq!(pat["displayName"], "Pat");
    assert_eq!(
        (&pat["externalId"], &pat["metadata"]),
        (&json!("patient-9"), &json!("room 4"))
    );

    let (_, joined) = host(&server, &open, "Dr Two").await;
    let clients = joined["room"]["clients"].as_array().unwrap();
    let pat = clients.iter().find(|c| c["displayName"] == "Pat").unwrap();
    assert_eq!(
        pat["externalId"], "patient-9",
        "a host coming in later sees them too"
    );

    let (_other, joined) = identified("Sam", "patient-10", "room 5").await;
    let clients = joined["room"]["clients"].as_array().unwrap();
    assert_eq!(clients.len(), 4);
    for client in clients {
        let none = client.get("externalId").is_none() && client.get("metadata").is_none();
        assert!(none, "a guest sees no one's: {client}");
    }
    // (Both heard of Dr Two first.)
    let two = guest.recv_type("new_client").await["client"].clone();
    assert_eq!(two["displayName"], "Dr Two");
    let sam = guest.recv_type("new_client").await["client"].clone();
    assert_eq!(sam["displayName"], "Sam");
    assert!(
        sam.get("externalId").is_none() && sam.get("metadata").is_none(),
        "{sam}"
    );
    first_host.recv_type("new_client").await;
    let sam = first_host.recv_type("new_client").await["client"].clone();
    assert_eq!(sam["externalId"], "patient-10");
    // The integrator's backend, too.
    let path = format!("/v1/rooms{}/participants", open.name);
    let (status, people) = server.get_json(&path).await;
    assert_eq!(status, 200);
    let people = people["results"].as_array().unwrap();
    let pat = people.iter().find(|p| p["displayName"] == "Pat").unwrap();
    assert_eq!(
        (&pat["externalId"], &pat["metadata"]),
        (&json!("patient-9"), &json!("room 4"))
    );
}

#[tokio::test]
async fn a_locked_room_shows_a_knocker_only_the_door() {
    let server = Server::start().await;
    let locked = locked_room(&server).await;
    let mut host = Ws::connect(&server).await;
    host.join(&locked.name, Some(&locked.host_key), "Dr Secret")
        .await;
    host.send("chat_message", json!({"text": "private notes"}))
        .await;
    host.recv_type("chat_message").await;

    let mut guest = Ws::connect(&server).await;
    let door = guest.join(&locked.name, None, "Pat").await;
    assert_eq!(door["error"], "room_locked");
    assert_eq!(
        keys(&door),
        [
            "displayNameRules",
            "error",
            "hostPresent",
            "isLocked",
            "isRecording",
            "knockPage",
            "resumeToken",
            "selfId"
        ]
        .into_iter()
        .map(String::from)
        .collect::<BTreeSet<_>>(),
        "nothing but what a knocker may see: {door}"
    );
    let text = door.to_string();
    assert!(
        !text.contains("Dr Secret") && !text.contains("private"),
        "{text}"
    );
    assert_eq!(door["displayNameRules"]["maxLength"], 100);
    assert_eq!(door["hostPresent"], true);
    guest.expect_silence(300).await;
    host.expect_silence(100).await;
}

#[tokio::test]
async fn bad_rooms_and_keys_get_error_codes_and_the_connection_stays_usable() {
    let server = Server::start().await;
    let locked = locked_room(&server).await;
    let other = locked_room(&server).await;
    let mut ws = Ws::connect(&server).await;

    let cases = [
        (
            json!({"roomName": "/no-such-room", "displayName": "A"}),
            "room_not_found",
        ),
        (
            json!({"roomName": "bad name!", "displayName": "A"}),
            "invalid_room_name",
        ),
        (
            json!({"roomName": locked.name, "roomKey": "garbage", "displayName": "A"}),
            "invalid_room_key",
        ),
        (
            json!({"roomName": locked.name, "roomKey": other.host_key, "displayName": "A"}),
            "room_key_mismatch",
        ),
    ];
    for (payload, code) in cases {
        ws.send("join_room", payload.clone()).await;
        let error = ws.error().await;
        assert_eq!(error["code"], code, "{payload}");
        assert_eq!(error["requestType"], "join_room");
        assert!(error["message"].as_str().unwrap().len() > 5);
    }

    // An expired key: a grant minted an hour ago with the server's own secret.
    let store = crate::helpers::open_store(server.data_dir.path()).await;
    let secret = store
        .secret_or_insert("room_key_secret", vec![])
        .await
        .unwrap();
    let id: i64 = locked.meeting["meetingId"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let expired = TokenSigner::new(&secret).grant(
        MeetingId(id),
        &RoomName::parse(&locked.name).unwrap(),
        "someone",
        Utc::now() - chrono::Duration::hours(1),
        chrono::Duration::minutes(5),
    );
    ws.send(
        "join_room",
        json!({"roomName": locked.name, "roomKey": expired}),
    )
    .await;
    assert_eq!(ws.error().await["code"], "room_key_expired");

    // After all that, the same connection still joins.
    let joined = ws.join(&locked.name, Some(&locked.host_key), "Host").await;
    assert_eq!(joined["role"], "host");
    ws.send("join_room", json!({"roomName": locked.name})).await;
    assert_eq!(ws.error().await["code"], "already_joined");
}

#[tokio::test]
async fn a_deleted_meeting_refuses_joins_and_ends_its_live_room() {
    let server = Server::start().await;
    let locked = locked_room(&server).await;
    let (mut host, _) = host(&server, &locked, "Host").await;
    let (mut guest, _) = knocker(&server, &locked, "Guest").await;
    host.recv_type("room_knocked").await;

    let id = locked.meeting["meetingId"].as_str().unwrap();
    assert_eq!(
        server
            .delete(&format!("/v1/meetings/{id}"))
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    for ws in [&mut host, &mut guest] {
        assert_eq!(
            ws.recv_type("room_ended").await["reason"],
            "meeting_deleted"
        );
        assert_eq!(ws.closed().await, Closed::Frame(1000));
    }
    let mut late = Ws::connect(&server).await;
    late.send(
        "join_room",
        json!({"roomName": locked.name, "roomKey": locked.host_key}),
    )
    .await;
    assert_eq!(late.error().await["code"], "room_not_found");
}

#[tokio::test]
async fn capacity_by_room_mode() {
    let server = Server::start().await;
    let normal = room(&server, json!({"roomMode": "normal"})).await;
    let mut members = Vec::new();
    let mut host = Ws::connect(&server).await;
    host.join(&normal.name, Some(&normal.host_key), "Host")
        .await;
    for i in 0..3 {
        let mut ws = Ws::connect(&server).await;
        assert_eq!(
            ws.join(&normal.name, None, &format!("P{i}")).await["role"],
            "visitor"
        );
        members.push(ws);
    }
    let mut fifth = Ws::connect(&server).await;
    let full = fifth.join(&normal.name, None, "Fifth").await;
    assert_eq!(
        full,
        json!({"error": "room_full"}),
        "hosts count toward the 4"
    );
    // Viewers come on top of participants.
    let mut viewer = Ws::connect(&server).await;
    assert_eq!(
        viewer
            .join(&normal.name, Some(&normal.viewer_key), "V")
            .await["role"],
        "viewer"
    );

    let group = room(&server, json!({"roomMode": "group"})).await;
    let mut crowd = Vec::new();
    for i in 0..200 {
        let mut ws = Ws::connect(&server).await;
        let joined = ws.join(&group.name, None, &format!("G{i}")).await;
        assert_eq!(joined["role"], "visitor", "participant {i}");
        crowd.push(ws);
    }
    let mut extra = Ws::connect(&server).await;
    assert_eq!(
        extra.join(&group.name, None, "One too many").await,
        json!({"error": "room_full"})
    );
}

#[tokio::test]
async fn an_expired_meeting_refuses_joins() {
    let dir = std::sync::Arc::new(tempfile::tempdir().unwrap());
    let key = crate::helpers::create_key(&dir).await;
    {
        // Ended two hours ago: past the hour of grace a room gets after its end date.
        let store = crate::helpers::open_store(dir.path()).await;
        let end = Utc::now() - chrono::Duration::hours(2);
        store
            .create_meeting(anteroom::meeting::NewMeeting {
                room_name: RoomName::parse("/ended").unwrap(),
                start_date: end - chrono::Duration::hours(1),
                end_date: end,
                room_mode: anteroom::meeting::RoomMode::Normal,
                is_locked: false,
                viewer_mode: false,
                recording: Default::default(),
            })
            .await
            .unwrap();
        store.close().await;
    }
    let server = Server::spawn(dir, key, &[], &[]).await;
    let mut ws = Ws::connect(&server).await;
    ws.send(
        "join_room",
        json!({"roomName": "/ended", "displayName": "Late"}),
    )
    .await;
    let error = ws.error().await;
    assert_eq!(error["code"], "room_not_found");
    assert!(error["message"].as_str().unwrap().contains("ended"));
}

#[tokio::test]
async fn a_graceful_stop_hands_rooms_over() {
    let mut server = Server::start().await;
    let locked = locked_room(&server).await;
    let (mut host, _) = host(&server, &locked, "Host").await;
    let (mut guest, _) = knocker(&server, &locked, "Guest").await;
    let mut idle = Ws::connect(&server).await;

    let pid = server.pid().to_string();
    tokio::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .unwrap();
    // Nothing ends: everyone in a room is told to come back, and let go.
    for ws in [&mut host, &mut guest] {
        assert_eq!(ws.error().await["code"], "server_shutting_down");
        assert_eq!(ws.closed().await, Closed::Frame(1000));
    }
    assert_eq!(idle.error().await["code"], "server_shutting_down");
    assert_eq!(idle.closed().await, Closed::Frame(1001));
    assert!(server.terminate_wait().await, "exit code 0");
    server.wait_for_log("anteroom stopped").await;
}

#[tokio::test]
async fn a_room_closes_once_everyone_has_left() {
    // A short session grace: once the room empties, its session ends a second later, then the room.
    let server = Server::start_with(&["--session-end-grace-secs", "1"]).await;
    let open = room(&server, json!({})).await;
    let live_rooms = || async { crate::helpers::live_rooms(&server).await };
    let mut c = Ws::connect(&server).await;
    let mut d = Ws::connect(&server).await;
    c.join(&open.name, None, "C").await;
    d.join(&open.name, None, "D").await;
    assert_eq!(live_rooms().await, 1);
    // A live room's state is kept (for a crash); a room that closed has none left to carry on.
    let kept = || async {
        crate::helpers::store_rows::<(String,)>(
            server.data_dir.path(),
            "SELECT room_name FROM room_snapshots",
        )
        .await
        .len()
    };
    assert_eq!(kept().await, 1);
    for ws in [&mut c, &mut d] {
        ws.send("leave_room", json!({})).await;
        ws.recv_type("room_left").await;
    }
    let mut rooms = 1;
    for _ in 0..40 {
        rooms = live_rooms().await;
        if rooms == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        rooms, 0,
        "the room stays live although everyone left (both connections stay open)"
    );
    assert_eq!(kept().await, 0, "a closed room's state is forgotten");
}

/// A person's picture (`avatarUrl`) from an origin the operator listed reaches everyone in the room,
/// a knocker's reaches hosts (and the integrator's backend); one from elsewhere is left out and the
/// person still enters; an address a browser should not be sent to is refused, saying why. The
/// room page may load pictures from the listed origins (people's, and the camera's backgrounds),
/// and no others; it may compile WebAssembly (the background effects) but run no JavaScript text.
#[tokio::test]
async fn a_persons_picture_reaches_the_room_and_a_bad_address_is_refused() {
    let server = Server::start_with(&[
        "--avatar-origins",
        "https://cdn.example.com,http://127.0.0.1:9",
        "--background-origins",
        "https://backgrounds.example.org",
    ])
    .await;
    let page = reqwest::get(server.url("/some-room")).await.unwrap();
    let policy = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        policy.contains(
            "img-src 'self' data: blob: https://cdn.example.com http://127.0.0.1:9 \
             https://backgrounds.example.org;"
        ),
        "{policy}"
    );
    assert!(
        policy.contains("script-src 'self' 'wasm-unsafe-eval';"),
        "{policy}"
    );
    let open = room(&server, json!({})).await;
    let (mut host_ws, _) = host(&server, &open, "Dr One").await;
    let picture = "https://cdn.example.com/people/pat.png";
    let mut pat = Ws::connect(&server).await;
    pat.send(
        "join_room",
        json!({"roomName": open.name, "displayName": "Pat", "avatarUrl": picture}),
    )
    .await;
    pat.recv_type("room_joined").await;
    let seen = host_ws.recv_type("new_client").await["client"].clone();
    assert_eq!(seen["avatarUrl"], picture, "{seen}");
    let mut sam = Ws::connect(&server).await;
    let joined = sam.join(&open.name, None, "Sam").await;
    let clients = joined["room"]["clients"].as_array().unwrap();
    let pat_seen = clients.iter().find(|c| c["displayName"] == "Pat").unwrap();
    assert_eq!(pat_seen["avatarUrl"], picture, "a guest sees it too");
    let host_seen = clients
        .iter()
        .find(|c| c["displayName"] == "Dr One")
        .unwrap();
    assert!(
        host_seen.get("avatarUrl").is_none(),
        "none given, none said"
    );
    let (_, people) = server
        .get_json(&format!("/v1/rooms{}/participants", open.name))
        .await;
    let people = people["results"].as_array().unwrap();
    let pat_listed = people.iter().find(|p| p["displayName"] == "Pat").unwrap();
    assert_eq!(pat_listed["avatarUrl"], picture);

    let locked = locked_room(&server).await;
    let (mut door_host, _) = host(&server, &locked, "Dr Two").await;
    let mut kim = Ws::connect(&server).await;
    let local = "http://127.0.0.1:9/kim.png";
    kim.send(
        "join_room",
        json!({"roomName": locked.name, "displayName": "Kim", "avatarUrl": local}),
    )
    .await;
    kim.recv_type("room_joined").await;
    kim.send("knock_room", json!({})).await;
    let knocked = door_host.recv_type("room_knocked").await;
    assert_eq!(knocked["avatarUrl"], local, "{knocked}");
    let (_, queue) = server
        .get_json(&format!("/v1/rooms{}/knocks", locked.name))
        .await;
    assert_eq!(queue["results"][0]["avatarUrl"], local);

    let mut elsewhere = Ws::connect(&server).await;
    elsewhere
        .send(
            "join_room",
            json!({"roomName": open.name, "displayName": "Eve",
                   "avatarUrl": "https://tracker.example.net/e.png"}),
        )
        .await;
    elsewhere.recv_type("room_joined").await;
    let eve = loop {
        let client = host_ws.recv_type("new_client").await["client"].clone();
        if client["displayName"] == "Eve" {
            break client;
        }
    };
    assert!(eve.get("avatarUrl").is_none(), "left out: {eve}");

    let mut bad = Ws::connect(&server).await;
    for (address, why) in [
        (
            "http://tracker.example.com/p.png",
            "must be an https:// address",
        ),
        ("javascript:alert(1)", "must be an https:// address"),
        ("pat.png", "is not an absolute address"),
        (
            "https://me:pw@cdn.example.com/p.png",
            "user name or password",
        ),
    ] {
        bad.send(
            "join_room",
            json!({"roomName": open.name, "displayName": "Bad", "avatarUrl": address}),
        )
        .await;
        let error = bad.error().await;
        assert_eq!(error["code"], "invalid_payload", "{address}");
        let message = error["message"].as_str().unwrap();
        assert!(message.contains(why), "{address}: {message}");
    }
}

//! A server alone on its store, stopped with SIGTERM or killed (`kill -9`), and started again: its
//! rooms' states are in the store (written when it stops, and at most `WRITE_GAP` after each change)
//! and carried on. Knockers keep their place and their host's words, whoever was inside comes back
//! with the resume token alone, and nothing is recorded as having ended.

use serde_json::{Value, json};

use crate::helpers::{Server, store_rows};
use crate::signal_join::{accept, host, knocker, locked_room};
use crate::ws::Ws;

/// Joins with a resume token (and whatever key the page holds), as the page does after a restart.
pub async fn come_back(server: &Server, room: &str, key: Option<&str>, token: &str) -> (Ws, Value) {
    let mut ws = Ws::connect(server).await;
    let mut payload = json!({"roomName": room, "displayName": "Whoever", "resumeToken": token});
    if let Some(key) = key {
        payload["roomKey"] = json!(key);
    }
    ws.send("join_room", payload).await;
    let joined = ws.recv_type("room_joined").await;
    (ws, joined)
}

/// How a server stops before its restart.
#[derive(Clone, Copy, PartialEq)]
enum Stop {
    /// SIGTERM: rooms are handed over, their people told to come back.
    Clean,
    /// `kill -9`: nobody is told anything; the rooms' last kept states are all there is.
    Crash,
}

async fn stop(server: &mut Server, how: Stop, people: &mut [&mut Ws]) {
    match how {
        Stop::Clean => {
            assert!(server.terminate().await, "a clean stop");
            for ws in people {
                assert_eq!(ws.error().await["code"], "server_shutting_down");
            }
        }
        Stop::Crash => server.kill9().await,
    }
}

#[tokio::test]
async fn a_restart_carries_rooms_on_where_they_were() {
    carried_on_where_they_were(Stop::Clean).await;
}

#[tokio::test]
async fn a_crash_is_carried_on_from_as_a_restart_is() {
    carried_on_where_they_were(Stop::Crash).await;
}

async fn carried_on_where_they_were(how: Stop) {
    let mut server = Server::start().await;
    let room = locked_room(&server).await;
    let (mut host_ws, host_joined) = host(&server, &room, "Dr Lee").await;
    let host_id = host_joined["selfId"].as_str().unwrap().to_owned();
    let host_token = host_joined["resumeToken"].as_str().unwrap().to_owned();
    // A guest let in, and one held at the door with a message.
    let (mut guest, guest_id) = knocker(&server, &room, "Pat").await;
    host_ws.recv_type("room_knocked").await;
    let grant = accept(&mut host_ws, &mut guest, &guest_id).await;
    let inside = guest.join(&room.name, Some(&grant), "Pat").await;
    let guest_token = inside["resumeToken"].as_str().unwrap().to_owned();
    let mut waiting = Ws::connect(&server).await;
    let door = waiting.join(&room.name, None, "Sam").await;
    let sam_token = door["resumeToken"].as_str().unwrap().to_owned();
    waiting.send("knock_room", json!({})).await;
    let sam_id = waiting.recv_type("knock_sent").await["clientId"]
        .as_str()
        .unwrap()
        .to_owned();
    host_ws.recv_type("room_knocked").await;
    host_ws
        .send(
            "handle_knock",
            json!({"clientId": sam_id, "action": "hold", "message": "two minutes"}),
        )
        .await;
    assert_eq!(
        waiting.recv_type("knock_handled").await["resolution"],
        "held"
    );
    let facts_before: Vec<(String,)> = store_rows(
        server.data_dir.path(),
        "SELECT kind FROM room_events ORDER BY id",
    )
    .await;

    // (Reading the facts took 300 ms: the rooms' states are written by now, after a crash too.)
    stop(
        &mut server,
        how,
        &mut [&mut host_ws, &mut guest, &mut waiting],
    )
    .await;
    let server = server.restart().await;

    // Sam is still second to none, held, with the host's words.
    let (mut sam, back) = come_back(&server, &room.name, None, &sam_token).await;
    assert_eq!(back["error"], "room_locked");
    assert_eq!(back["selfId"], sam_id.as_str());
    assert_eq!(back["knock"]["state"], "held", "{back}");
    assert_eq!(back["knock"]["message"], "two minutes");
    assert_eq!(sam.recv_type("knock_position").await["position"], 1);
    // Pat comes back in with the token alone: no key, no knock, the same client.
    let (_pat, back) = come_back(&server, &room.name, None, &guest_token).await;
    assert_eq!(back["role"], "granted_visitor", "{back}");
    assert_eq!(back["selfId"], guest_id.as_str());
    // The host finds the queue as it was.
    let (_host, back) = come_back(&server, &room.name, Some(&room.host_key), &host_token).await;
    assert_eq!(back["role"], "host");
    assert_eq!(back["selfId"], host_id.as_str());
    let queue = back["knockers"].as_array().unwrap();
    assert_eq!(queue.len(), 1);
    assert_eq!(queue[0]["clientId"], sam_id.as_str());
    assert_eq!(queue[0]["holdMessage"], "two minutes");
    // Nobody left, nothing ended, no session began again: the event log did not move.
    let facts_after: Vec<(String,)> = store_rows(
        server.data_dir.path(),
        "SELECT kind FROM room_events ORDER BY id",
    )
    .await;
    assert_eq!(facts_after, facts_before);
}

#[tokio::test]
async fn whoever_does_not_come_back_after_a_restart_leaves_when_the_grace_ends() {
    nobody_comes_back(Stop::Clean).await;
}

#[tokio::test]
async fn whoever_does_not_come_back_after_a_crash_leaves_when_the_grace_ends() {
    nobody_comes_back(Stop::Crash).await;
}

async fn nobody_comes_back(how: Stop) {
    let mut server = Server::start_with(&[
        "--knock-resume-grace-secs",
        "2",
        "--knock-away-grace-secs",
        "2",
    ])
    .await;
    let room = locked_room(&server).await;
    let (mut host_ws, _) = host(&server, &room, "Dr Lee").await;
    let (mut guest, guest_id) = knocker(&server, &room, "Pat").await;
    host_ws.recv_type("room_knocked").await;
    // Past the time a change waits to be kept.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    stop(&mut server, how, &mut [&mut host_ws, &mut guest]).await;
    let restarted = chrono::Utc::now().timestamp_millis();
    let server = server.restart().await;
    // Nobody comes back: once the grace from the restart has run out (not at the start), the knock
    // is cancelled and the host has left, each recorded once.
    let mut kinds: Vec<(String, Option<String>, i64)> = Vec::new();
    for _ in 0..50 {
        kinds = store_rows(
            server.data_dir.path(),
            "SELECT kind, client_id, at_ms FROM room_events ORDER BY id",
        )
        .await;
        if kinds.iter().any(|(k, _, _)| k == "room.client.left") {
            break;
        }
    }
    let ends: Vec<_> = kinds
        .iter()
        .filter(|(k, _, _)| k == "room.client.knockCancelled" || k == "room.client.left")
        .collect();
    assert_eq!(ends.len(), 2, "{kinds:?}");
    assert!(
        ends.iter()
            .any(|(k, c, _)| k == "room.client.knockCancelled"
                && c.as_deref() == Some(guest_id.as_str())),
        "{kinds:?}"
    );
    for (_, _, at) in ends {
        assert!(
            *at >= restarted + 1500,
            "recorded when the grace ran out: {kinds:?}"
        );
    }
}

/// A server down for longer than a restart takes (ten minutes): its people have gone, so its rooms
/// are not carried on; whoever was in them left, and knocks ended, when it stopped (not hours later
/// at its next start, which would count the time it was down as theirs in insights and webhooks).
#[tokio::test]
async fn rooms_kept_by_a_server_down_for_long_close_as_of_when_it_stopped() {
    let mut server = Server::start().await;
    let room = locked_room(&server).await;
    let (mut host_ws, _) = host(&server, &room, "Dr Lee").await;
    let (mut guest, _) = knocker(&server, &room, "Pat").await;
    host_ws.recv_type("room_knocked").await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    stop(&mut server, Stop::Clean, &mut [&mut host_ws, &mut guest]).await;
    // As if all of it had happened, and the server stopped, 20 minutes ago.
    for backdate in [
        "UPDATE server_alive SET at_ms = at_ms - 1200000",
        "UPDATE room_events SET at_ms = at_ms - 1200000",
    ] {
        crate::helpers::store_execute(server.data_dir.path(), backdate).await;
    }
    let restarted = chrono::Utc::now().timestamp_millis();
    let server = server.restart().await;
    server
        .wait_for_log("down too long to carry its rooms on")
        .await;
    let kinds: Vec<(String, i64)> = store_rows(
        server.data_dir.path(),
        "SELECT kind, at_ms FROM room_events ORDER BY id",
    )
    .await;
    let ends: Vec<&(String, i64)> = kinds
        .iter()
        .filter(|(k, _)| k == "room.client.knockCancelled" || k == "room.client.left")
        .collect();
    assert_eq!(ends.len(), 2, "{kinds:?}");
    for (_, at) in ends {
        assert!(
            *at <= restarted - 19 * 60 * 1000,
            "timed when it stopped: {kinds:?}"
        );
    }
    // The room starts afresh: a host coming back finds nobody waiting.
    let (_, joined) = host(&server, &room, "Dr Lee").await;
    assert_eq!(joined["knockers"], json!([]), "{joined}");
}

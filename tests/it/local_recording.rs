//! Local recording on the wire: a meeting created with `recording.type: "local"` lets a host's
//! browser record the call; everyone in the room is told who records, newcomers on entering, and
//! the recording stops when its host leaves. Other meetings, and guests, are refused.

use serde_json::{Value, json};

use crate::helpers::{Server, TestRoom, host, room};
use crate::receiver::receiver_for;
use crate::ws::Ws;

async fn guest(server: &Server, room: &TestRoom, name: &str) -> (Ws, String) {
    let mut ws = Ws::connect(server).await;
    let id = ws.join(&room.name, None, name).await["selfId"]
        .as_str()
        .expect("a member has an id")
        .to_owned();
    (ws, id)
}

fn recording_of(told: &Value) -> &Value {
    &told["recording"]
}

#[tokio::test]
async fn a_host_records_a_local_meeting_and_everyone_in_it_is_told() {
    let server = Server::start().await;
    let receiver = receiver_for(
        &server,
        &["room.recording.started", "room.recording.stopped"],
        &[],
    )
    .await;
    let room = room(
        &server,
        json!({"isLocked": false, "recording": {"type": "local", "destination": null,
                 "startTrigger": "none"}}),
    )
    .await;
    // Before entering, a guest learns the call may be recorded.
    let mut previewing = Ws::connect(&server).await;
    previewing
        .send("preview_room", json!({"roomName": room.name}))
        .await;
    let preview = previewing.recv_type("room_preview").await;
    assert_eq!(preview["recordingType"], "local", "{preview}");
    let (mut host, joined) = host(&server, &room, "Dr Lee").await;
    assert_eq!(joined["room"]["recordingType"], "local");
    assert_eq!(
        joined["room"]["recording"],
        json!(null),
        "nobody records at first"
    );
    let host_id = joined["selfId"].as_str().unwrap().to_owned();
    let (mut pat, _) = guest(&server, &room, "Pat").await;
    host.recv_type("new_client").await;

    pat.send("start_recording", json!({})).await;
    let refused = pat.recv_type("error").await;
    assert_eq!(refused["code"], "forbidden");
    assert_eq!(refused["requestType"], "start_recording");

    host.send("start_recording", json!({})).await;
    let told = host.recv_type("recording_changed").await;
    assert_eq!(told["byClientId"], host_id.as_str());
    assert_eq!(recording_of(&told)["clientId"], host_id.as_str());
    let started_at = recording_of(&told)["startedAt"].as_i64().expect("a time");
    let now = chrono::Utc::now().timestamp_millis();
    assert!(
        (now - started_at).abs() < 10_000,
        "started {started_at}, now {now}"
    );
    assert_eq!(pat.recv_type("recording_changed").await, told);

    // Whoever comes in later finds it in the room.
    let mut sam = Ws::connect(&server).await;
    let sam_joined = sam.join(&room.name, None, "Sam").await;
    assert_eq!(sam_joined["room"]["recording"], *recording_of(&told));

    host.send("stop_recording", json!({})).await;
    let stopped = json!({"recording": null, "byClientId": host_id});
    assert_eq!(pat.recv_type("recording_changed").await, stopped);
    assert_eq!(sam.recv_type("recording_changed").await, stopped);

    // Started again, it stops when its host leaves.
    host.send("start_recording", json!({})).await;
    pat.recv_type("recording_changed").await;
    sam.recv_type("recording_changed").await;
    host.send("leave_room", json!({})).await;
    let stopped = json!({"recording": null, "byClientId": null});
    assert_eq!(pat.recv_type("recording_changed").await, stopped);
    assert_eq!(sam.recv_type("recording_changed").await, stopped);

    // Webhooks keep the record: whose recording started and stopped, twice (the host had left by
    // the second end).
    let events = receiver.wait_for(4).await;
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "room.recording.started",
            "room.recording.stopped",
            "room.recording.started",
            "room.recording.stopped"
        ]
    );
    for event in &events {
        assert_eq!(event["data"]["participantId"], host_id.as_str());
        assert_eq!(event["data"]["displayName"], "Dr Lee");
        assert_eq!(event["data"]["roleName"], "host");
        assert_eq!(event["data"]["roomName"], room.name.as_str());
    }
}

#[tokio::test]
async fn a_meeting_not_created_for_local_recording_is_not_recorded() {
    let server = Server::start().await;
    for body in [
        json!({"isLocked": false}),
        json!({"isLocked": false, "recording": {"type": "cloud",
                "destination": {"provider": "whereby"}, "startTrigger": "none"}}),
    ] {
        let room = room(&server, body.clone()).await;
        let (mut host, joined) = host(&server, &room, "Dr Lee").await;
        let kind = body["recording"]["type"].as_str().unwrap_or("none");
        assert_eq!(joined["room"]["recordingType"], kind);
        host.send("start_recording", json!({})).await;
        let refused = host.recv_type("error").await;
        assert_eq!(refused["code"], "recording_unavailable", "{body}");
        assert_eq!(refused["requestType"], "start_recording");
    }
}

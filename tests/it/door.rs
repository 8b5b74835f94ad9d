//! The door, complete: words to people who wait, sending a guest back, decisions from the backend
//! (REST), knock time-outs, places in line, and rejections that hold back a device, not an address.

use serde_json::{Value, json};

use crate::helpers::{Server, status_and_json};
use crate::receiver::receiver_for;
use crate::signal_join::{TestRoom, accept, host, knocker, locked_room};
use crate::ws::Ws;

/// A knocker's own frames, read until `knock_position` says it stands at `position`.
async fn expect_place(ws: &mut Ws, position: u64) {
    loop {
        let place = ws.recv_type("knock_position").await;
        if place["position"] == position {
            return;
        }
    }
}

#[tokio::test]
async fn a_host_speaks_to_people_waiting_and_they_keep_their_place() {
    let server = Server::start().await;
    let room = locked_room(&server).await;
    let (mut host, _) = host(&server, &room, "Dr Lee").await;
    let (mut first, first_id) = knocker(&server, &room, "First").await;
    let (mut second, _) = knocker(&server, &room, "Second").await;
    host.recv_type("room_knocked").await;
    host.recv_type("room_knocked").await;

    host.send(
        "message_knockers",
        json!({"clientId": first_id, "message": "Two minutes, please"}),
    )
    .await;
    let words = first.recv_type("host_message").await;
    assert_eq!(
        words,
        json!({"message": "Two minutes, please", "hostDisplayName": "Dr Lee"})
    );
    second.expect_silence(200).await;
    host.send(
        "message_knockers",
        json!({"all": true, "message": "Starting soon"}),
    )
    .await;
    for ws in [&mut first, &mut second] {
        assert_eq!(
            ws.recv_type("host_message").await["message"],
            "Starting soon"
        );
    }
    // Nobody moved: the queue is as it was.
    let (status, queue) = server
        .get_json(&format!("/v1/rooms{}/knocks", room.name))
        .await;
    assert_eq!(status, 200, "{queue}");
    let names: Vec<&str> = queue["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["displayName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["First", "Second"]);
    // A knocker may not speak to the door.
    first
        .send("message_knockers", json!({"all": true, "message": "hi"}))
        .await;
    assert_eq!(first.error().await["code"], "forbidden");
}

#[tokio::test]
async fn a_guest_sent_back_waits_first_in_line_with_the_hosts_words() {
    let server = Server::start().await;
    let room = locked_room(&server).await;
    let (mut host, _) = host(&server, &room, "Dr Lee").await;
    let (mut waiting, _) = knocker(&server, &room, "Waiting").await;
    host.recv_type("room_knocked").await;
    let (mut guest, guest_id) = knocker(&server, &room, "Pat").await;
    host.recv_type("room_knocked").await;
    let grant = accept(&mut host, &mut guest, &guest_id).await;
    guest.join(&room.name, Some(&grant), "Pat").await;
    host.recv_type("new_client").await;

    host.send(
        "send_to_waiting_room",
        json!({"clientId": guest_id, "message": "One moment, please"}),
    )
    .await;
    assert_eq!(
        guest.recv_type("sent_to_waiting_room").await,
        json!({"message": "One moment, please", "hostDisplayName": "Dr Lee"})
    );
    expect_place(&mut guest, 1).await;
    expect_place(&mut waiting, 2).await;
    let left = host.recv_type("client_left").await;
    assert_eq!(left["reason"], "sent_to_waiting_room");
    let knocked = host.recv_type("room_knocked").await;
    assert_eq!(knocked["clientId"], guest_id.as_str());
    assert_eq!(knocked["position"], 1);
    assert_eq!(knocked["holdMessage"], "One moment, please");
    // The guest's old grant no longer lets it in; a new yes does.
    let mut sneak = Ws::connect(&server).await;
    sneak
        .send(
            "join_room",
            json!({"roomName": room.name, "roomKey": grant}),
        )
        .await;
    assert_eq!(sneak.error().await["code"], "forbidden");
    let again = accept(&mut host, &mut guest, &guest_id).await;
    assert_eq!(
        guest.join(&room.name, Some(&again), "Pat").await["role"],
        "granted_visitor"
    );
}

/// The backend decides with no host page open: `GET .../knocks`, then a decision, once.
#[tokio::test]
async fn the_backend_lists_and_decides_knocks_and_webhooks_say_so() {
    let server = Server::start().await;
    let receiver = receiver_for(
        &server,
        &["room.client.knockAccepted", "room.client.knockRejected"],
        &[],
    )
    .await;
    let room = locked_room(&server).await;
    let path = format!("/v1/rooms{}/knocks", room.name);
    let (status, empty) = server.get_json(&path).await;
    assert_eq!((status, empty), (200, json!({"results": []})));

    let mut patient = Ws::connect(&server).await;
    patient
        .send(
            "join_room",
            json!({"roomName": room.name, "displayName": "Pat", "externalId": "patient-17",
                   "metadata": "checked in"}),
        )
        .await;
    patient.recv_type("room_joined").await;
    patient.send("knock_room", json!({})).await;
    let patient_id = patient.recv_type("knock_sent").await["clientId"]
        .as_str()
        .unwrap()
        .to_owned();
    let (mut other, _) = knocker(&server, &room, "Sam").await;

    let (status, queue) = server.get_json(&path).await;
    assert_eq!(status, 200);
    let first = &queue["results"][0];
    assert_eq!(first["clientId"], patient_id.as_str());
    assert_eq!(first["externalId"], "patient-17");
    assert_eq!(first["metadata"], "checked in");
    assert_eq!(first["state"], "waiting");
    assert_eq!(first["position"], 1);
    assert!(first["waitingSeconds"].as_i64().is_some());
    assert_eq!(queue["results"][1]["displayName"], "Sam");

    let decide = |client: String, body: Value| {
        let request = server.post(&format!("{path}/{client}")).json(&body);
        async move { status_and_json(request.send().await.unwrap()).await }
    };
    let (status, body) = decide(patient_id.clone(), json!({"action": "accept"})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"clientId": patient_id, "resolution": "accepted"})
    );
    let verdict = patient.recv_type("knock_handled").await;
    assert_eq!(verdict["resolution"], "accepted");
    assert!(verdict["roomKey"].is_string());
    assert!(verdict.get("hostDisplayName").is_none());
    // One decision per knock, whoever decides.
    let (status, body) = decide(patient_id.clone(), json!({"action": "reject"})).await;
    assert_eq!(status, 404, "{body}");
    // Every knock at once.
    let (status, body) = status_and_json(
        server
            .post(&path)
            .json(&json!({"all": true, "action": "reject", "message": "Closed today"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["results"][0]["resolution"], "rejected");
    assert_eq!(
        other.recv_type("knock_handled").await["message"],
        "Closed today"
    );
    // Bad requests say what is wrong.
    let one = format!("{path}/{patient_id}");
    for (target, body, expected) in [
        (&one, json!({}), "action is required"),
        (
            &one,
            json!({"action": "maybe"}),
            "action must be one of: accept, hold, reject",
        ),
        (&path, json!({"action": "accept"}), "\"all\": true"),
    ] {
        let request = server.post(target).json(&body);
        let (status, error) = status_and_json(request.send().await.unwrap()).await;
        assert_eq!(status, 400, "{body}");
        assert!(
            error["error"].as_str().unwrap().contains(expected),
            "{error}"
        );
    }
    let (status, _) = server.get_json("/v1/rooms/no-such-room/knocks").await;
    assert_eq!(status, 404);
    let (status, _) =
        status_and_json(server.http.get(server.url(&path)).send().await.unwrap()).await;
    assert_eq!(status, 401, "the API key is required");

    let events = receiver.wait_for(2).await;
    assert_eq!(events[0]["type"], "room.client.knockAccepted");
    assert_eq!(events[0]["data"]["decidedBy"], "api");
    assert_eq!(events[1]["type"], "room.client.knockRejected");
    assert_eq!(events[1]["data"]["decidedBy"], "api");
}

#[tokio::test]
async fn an_unanswered_knock_times_out_with_a_message_and_a_webhook() {
    let server = Server::start_with(&["--knock-timeout-secs", "1"]).await;
    let receiver = receiver_for(&server, &["room.client.knockExpired"], &[]).await;
    let room = locked_room(&server).await;
    let (mut host, _) = host(&server, &room, "Host").await;
    let (mut knocker, knocker_id) = knocker(&server, &room, "Late").await;
    host.recv_type("room_knocked").await;
    let expired = knocker.recv_type("knock_expired").await;
    assert!(expired["message"].as_str().unwrap().contains("try again"));
    let left = host.recv_type("knocker_left").await;
    assert_eq!(left, json!({"clientId": knocker_id, "reason": "expired"}));
    let events = receiver.wait_for(1).await;
    assert_eq!(events[0]["type"], "room.client.knockExpired");
    assert_eq!(events[0]["data"]["participantId"], knocker_id.as_str());
}

#[tokio::test]
async fn each_knocker_hears_its_own_place_as_the_line_moves() {
    let server = Server::start().await;
    let room = locked_room(&server).await;
    let (mut host, _) = host(&server, &room, "Host").await;
    let mut line = Vec::new();
    for name in ["A", "B", "C"] {
        let (ws, id) = knocker(&server, &room, name).await;
        host.recv_type("room_knocked").await;
        line.push((ws, id));
    }
    host.send(
        "handle_knock",
        json!({"clientId": line[0].1, "action": "reject"}),
    )
    .await;
    expect_place(&mut line[1].0, 1).await;
    expect_place(&mut line[2].0, 2).await;
    // Only its own place: nobody hears of the others.
    let (mut c, _) = line.pop().unwrap();
    c.expect_silence(200).await;
}

/// Eve and Frank knock from one clinic's address, each from a device of their own.
#[tokio::test]
async fn a_rejection_holds_back_the_device_not_the_clinic() {
    let server = Server::start().await;
    let room = locked_room(&server).await;
    let (mut host, _) = host(&server, &room, "Host").await;
    let at_door = |room: &TestRoom, device: &str| {
        let payload = json!({"roomName": room.name, "displayName": "P", "deviceId": device});
        let server = &server;
        async move {
            let mut ws = Ws::connect(server).await;
            ws.send("join_room", payload).await;
            let door = ws.recv_type("room_joined").await;
            (ws, door)
        }
    };
    let (mut eve, _) = at_door(&room, "eve-phone-0001").await;
    eve.send("knock_room", json!({})).await;
    let eve_id = eve.recv_type("knock_sent").await["clientId"].clone();
    host.recv_type("room_knocked").await;
    host.send(
        "handle_knock",
        json!({"clientId": eve_id, "action": "reject"}),
    )
    .await;
    assert!(eve.recv_type("knock_handled").await["retryAfterSeconds"].is_u64());

    let (mut frank, _) = at_door(&room, "frank-laptop-01").await;
    frank.send("knock_room", json!({})).await;
    frank.recv_type("knock_sent").await;
    // Eve, from a new connection of the same device, still waits; her door says how long.
    let (mut eve_again, door) = at_door(&room, "eve-phone-0001").await;
    assert!(
        door["knockCooldownSeconds"].as_u64().unwrap() > 50,
        "{door}"
    );
    eve_again.send("knock_room", json!({})).await;
    assert_eq!(eve_again.error().await["code"], "knock_cooldown");
}

/// People at the door know what they may of the room: someone knocking before any host is in
/// learns that (rather than that a host was told) and hears when a host comes and when the last
/// one goes; and whether the call is being recorded, before they go in.
#[tokio::test]
async fn people_at_the_door_hear_when_a_host_comes_and_goes_and_of_a_recording() {
    let server = Server::start().await;
    let room = crate::helpers::room(
        &server,
        json!({"isLocked": true, "recording": {"type": "local"}}),
    )
    .await;
    let mut guest = crate::ws::Ws::connect(&server).await;
    let door = guest.join(&room.name, None, "Pat").await;
    assert_eq!(
        (&door["hostPresent"], &door["isRecording"]),
        (&json!(false), &json!(false)),
        "{door}"
    );
    guest.send("knock_room", json!({})).await;
    guest.recv_type("knock_sent").await;
    expect_place(&mut guest, 1).await;
    let told = |host_present: bool, is_recording: bool| json!({"hostPresent": host_present, "isRecording": is_recording, "isLocked": true});

    let (mut dr_lee, joined) = host(&server, &room, "Dr Lee").await;
    assert_eq!(joined["knockers"][0]["displayName"], "Pat", "{joined}");
    assert_eq!(guest.recv_type("door_changed").await, told(true, false));
    dr_lee.send("start_recording", json!({})).await;
    assert_eq!(guest.recv_type("door_changed").await, told(true, true));
    let (mut dr_kim, _) = host(&server, &room, "Dr Kim").await;
    guest.expect_silence(200).await;
    // The recording stops as its host leaves; another host is still in.
    dr_lee.send("leave_room", json!({})).await;
    assert_eq!(guest.recv_type("door_changed").await, told(true, false));
    dr_kim.send("leave_room", json!({})).await;
    assert_eq!(guest.recv_type("door_changed").await, told(false, false));

    // Unlocked: the knocker hears of it (and stays in line); someone at the door who has not
    // knocked comes in by joining again on the same connection, as anyone now would.
    let mut walker = crate::ws::Ws::connect(&server).await;
    walker.join(&room.name, None, "Sam").await;
    let (mut dr_ng, _) = host(&server, &room, "Dr Ng").await;
    guest.recv_type("door_changed").await;
    walker.recv_type("door_changed").await;
    dr_ng.send("set_lock", json!({"locked": false})).await;
    let open = json!({"hostPresent": true, "isRecording": false, "isLocked": false});
    assert_eq!(guest.recv_type("door_changed").await, open);
    assert_eq!(walker.recv_type("door_changed").await, open);
    let entered = walker.join(&room.name, None, "Sam").await;
    assert_eq!(entered["role"], "visitor", "{entered}");
}

//! Knocking: the queue, the verdicts, cancels, resumes, locks, and who may decide.

use serde_json::json;

use crate::helpers::Server;
use crate::signal_join::{TestRoom, accept, host, knocker, locked_room};
use crate::ws::{Closed, Ws};

async fn facts(server: &Server) -> Vec<(String, Option<String>)> {
    crate::helpers::store_rows(
        server.data_dir.path(),
        "SELECT kind, message FROM room_events ORDER BY id",
    )
    .await
}

#[tokio::test]
async fn knock_hold_accept_and_enter() {
    let server = Server::start().await;
    let room = locked_room(&server).await;
    let (mut host1, _) = host(&server, &room, "Dr One").await;
    let (mut host2, _) = host(&server, &room, "Dr Two").await;
    host1.recv_type("new_client").await;
    let (mut guest, guest_id) = knocker(&server, &room, "Pat").await;

    for h in [&mut host1, &mut host2] {
        let knock = h.recv_type("room_knocked").await;
        assert_eq!(knock["clientId"], guest_id.as_str());
        assert_eq!(knock["displayName"], "Pat");
        assert_eq!(knock["state"], "waiting");
    }

    host1
        .send(
            "handle_knock",
            json!({"clientId": guest_id, "action": "hold", "message": "Running 5 minutes late"}),
        )
        .await;
    let held = guest.recv_type("knock_handled").await;
    assert_eq!(
        held,
        json!({"resolution": "held", "message": "Running 5 minutes late", "hostDisplayName": "Dr One"})
    );
    for h in [&mut host1, &mut host2] {
        let resolution = h.recv_type("knock_handled").await;
        assert_eq!(resolution["resolution"], "held");
        assert_eq!(resolution["clientId"], guest_id.as_str());
        assert_eq!(resolution["handledBy"]["displayName"], "Dr One");
    }
    // Hold again with a new message, from the other host.
    host2
        .send(
            "handle_knock",
            json!({"clientId": guest_id, "action": "hold", "message": "Two more minutes"}),
        )
        .await;
    let held = guest.recv_type("knock_handled").await;
    assert_eq!(held["message"], "Two more minutes");
    assert_eq!(held["hostDisplayName"], "Dr Two");

    host1
        .send(
            "handle_knock",
            json!({"clientId": guest_id, "action": "accept"}),
        )
        .await;
    let accepted = guest.recv_type("knock_handled").await;
    assert_eq!(accepted["resolution"], "accepted");
    let grant = accepted["roomKey"]
        .as_str()
        .expect("a grant to enter with")
        .to_owned();
    for h in [&mut host1, &mut host2] {
        h.recv_type("knock_handled").await; // the second hold
        assert_eq!(h.recv_type("knock_handled").await["resolution"], "accepted");
    }
    // A second decision is refused and changes nothing.
    host2
        .send(
            "handle_knock",
            json!({"clientId": guest_id, "action": "reject"}),
        )
        .await;
    assert_eq!(host2.error().await["code"], "knock_not_found");

    // The grant is the guest's alone: another client at the door that copied it is refused.
    let mut other = Ws::connect(&server).await;
    let door = other.join(&room.name, None, "Mallory").await;
    assert_eq!(door["error"], "room_locked");
    other
        .send(
            "join_room",
            json!({"roomName": room.name, "roomKey": grant, "displayName": "Mallory"}),
        )
        .await;
    assert_eq!(other.error().await["code"], "room_key_mismatch");

    let entered = guest.join(&room.name, Some(&grant), "Pat").await;
    assert_eq!(entered["role"], "granted_visitor");
    assert_eq!(entered["selfId"], guest_id.as_str());
    assert_eq!(entered["room"]["clients"].as_array().unwrap().len(), 3);
    for h in [&mut host1, &mut host2] {
        let new_client = h.recv_type("new_client").await;
        assert_eq!(new_client["client"]["id"], guest_id.as_str());
        assert_eq!(new_client["client"]["role"], "granted_visitor");
    }
    let kinds: Vec<String> = facts(&server).await.into_iter().map(|(k, _)| k).collect();
    assert_eq!(
        kinds,
        [
            "room.client.joined",
            "room.session.started",
            "room.client.joined",
            "room.client.knocked",
            "room.client.knockHeld",
            "room.client.knockHeld",
            "room.client.knockAccepted",
            "room.client.joined",
        ]
    );
}

#[tokio::test]
async fn reject_with_a_message_then_a_cooldown() {
    let server = Server::start_with(&["--knock-reject-cooldown-secs", "2"]).await;
    let room = locked_room(&server).await;
    let (mut host, _) = host(&server, &room, "Host").await;
    let (mut guest, guest_id) = knocker(&server, &room, "Pat").await;
    host.recv_type("room_knocked").await;
    host.send(
        "handle_knock",
        json!({"clientId": guest_id, "action": "reject", "message": "Wrong room, sorry"}),
    )
    .await;
    let rejected = guest.recv_type("knock_handled").await;
    assert_eq!(rejected["resolution"], "rejected");
    assert_eq!(rejected["message"], "Wrong room, sorry");
    assert_eq!(rejected["retryAfterSeconds"], 2);
    assert_eq!(
        host.recv_type("knock_handled").await["resolution"],
        "rejected"
    );

    guest.send("knock_room", json!({})).await;
    let cooling = guest.error().await;
    assert_eq!(cooling["code"], "knock_cooldown");
    let left = cooling["retryAfterSeconds"]
        .as_i64()
        .expect("the seconds left, as a number");
    assert!((1..=2).contains(&left), "{cooling}");
    // A fresh connection from the same address is under the same cooldown.
    let mut again = Ws::connect(&server).await;
    again.join(&room.name, None, "Pat").await;
    again.send("knock_room", json!({})).await;
    assert_eq!(again.error().await["code"], "knock_cooldown");
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    guest.send("knock_room", json!({})).await;
    guest.recv_type("knock_sent").await;
    assert_eq!(
        host.recv_type("room_knocked").await["clientId"],
        guest_id.as_str()
    );
    let recorded = facts(&server).await;
    assert!(recorded.contains(&(
        "room.client.knockRejected".into(),
        Some("Wrong room, sorry".into())
    )));
}

#[tokio::test]
async fn knocks_before_any_host_wait_oldest_first() {
    let server = Server::start().await;
    let room = locked_room(&server).await;
    let mut guests = Vec::new();
    for name in ["First", "Second", "Third"] {
        guests.push(knocker(&server, &room, name).await);
    }
    let (_host, joined) = host(&server, &room, "Late host").await;
    let names: Vec<&str> = joined["knockers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["displayName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["First", "Second", "Third"]);
}

#[tokio::test]
async fn cancel_and_disconnect_leave_the_queue() {
    // A knocker keeps its place longer than a member would (a phone locks its screen).
    let server = Server::start_with(&[
        "--knock-resume-grace-secs",
        "1",
        "--knock-away-grace-secs",
        "2",
    ])
    .await;
    let room = locked_room(&server).await;
    let (mut host, _) = host(&server, &room, "Host").await;
    let (mut canceller, cancel_id) = knocker(&server, &room, "Canceller").await;
    host.recv_type("room_knocked").await;
    canceller.send("cancel_room_knock", json!({})).await;
    let left = host.recv_type("knocker_left").await;
    assert_eq!(left, json!({"clientId": cancel_id, "reason": "cancelled"}));

    let (leaver, leaver_id) = knocker(&server, &room, "Leaver").await;
    host.recv_type("room_knocked").await;
    drop(leaver);
    // Hosts see it away at once; within the grace nothing more happens; after it, a cancel.
    assert_eq!(
        host.recv_type("knocker_away").await["clientId"],
        leaver_id.as_str()
    );
    host.expect_silence(1500).await;
    let left = host.recv_type("knocker_left").await;
    assert_eq!(
        left,
        json!({"clientId": leaver_id, "reason": "disconnected"})
    );
    let kinds: Vec<String> = facts(&server).await.into_iter().map(|(k, _)| k).collect();
    assert_eq!(
        kinds
            .iter()
            .filter(|k| *k == "room.client.knockCancelled")
            .count(),
        2
    );
}

/// A knocker whose page says it is closing (`page_closing`: a closed tab) keeps its place only for
/// the resume grace, time for a reload to take it back, not the away grace of a phone that locked
/// its screen.
#[tokio::test]
async fn a_knocker_whose_page_closed_leaves_the_line_after_the_resume_grace() {
    let server = Server::start_with(&[
        "--knock-resume-grace-secs",
        "1",
        "--knock-away-grace-secs",
        "60",
    ])
    .await;
    let room = locked_room(&server).await;
    let (mut host, _) = host(&server, &room, "Host").await;
    let (mut closer, closer_id) = knocker(&server, &room, "Closer").await;
    host.recv_type("room_knocked").await;
    closer.send("page_closing", json!({})).await;
    drop(closer);
    assert_eq!(
        host.recv_type("knocker_away").await["clientId"],
        closer_id.as_str()
    );
    let left = host.recv_type("knocker_left").await;
    assert_eq!(
        left,
        json!({"clientId": closer_id, "reason": "disconnected"})
    );
}

#[tokio::test]
async fn a_knocker_resumes_its_place_and_hold_after_a_blip() {
    let server = Server::start().await;
    let room = locked_room(&server).await;
    let (mut host, _) = host(&server, &room, "Dr Host").await;
    let mut guest = Ws::connect(&server).await;
    let door = guest.join(&room.name, None, "Pat").await;
    let token = door["resumeToken"].as_str().unwrap().to_owned();
    guest.send("knock_room", json!({})).await;
    let guest_id = guest.recv_type("knock_sent").await["clientId"]
        .as_str()
        .unwrap()
        .to_owned();
    host.recv_type("room_knocked").await;
    host.send(
        "handle_knock",
        json!({"clientId": guest_id, "action": "hold", "message": "Nearly there"}),
    )
    .await;
    guest.recv_type("knock_handled").await;
    host.recv_type("knock_handled").await; // the hold
    drop(guest);
    // Hosts see the knock away, in its place; the backend's list says so too.
    assert_eq!(
        host.recv_type("knocker_away").await["clientId"],
        guest_id.as_str()
    );
    let (status, queue) = server
        .get_json(&format!("/v1/rooms{}/knocks", room.name))
        .await;
    assert_eq!(status, 200, "{queue}");
    assert_eq!(
        (
            &queue["results"][0]["clientId"],
            &queue["results"][0]["away"]
        ),
        (&json!(guest_id), &json!(true))
    );

    let mut back = Ws::connect(&server).await;
    back.send(
        "join_room",
        json!({"roomName": room.name, "displayName": "Pat", "resumeToken": token}),
    )
    .await;
    let resumed = back.recv_type("room_joined").await;
    assert_eq!(
        resumed["selfId"],
        guest_id.as_str(),
        "same place in the queue"
    );
    assert_eq!(
        resumed["knock"],
        json!({"state": "held", "message": "Nearly there", "hostDisplayName": "Dr Host"})
    );
    assert_eq!(
        host.recv_type("knocker_back").await["clientId"],
        guest_id.as_str()
    );
    host.expect_silence(300).await;

    // Another blip, but this time the new connection comes while the server still holds the old
    // one open: the new one takes the knock back all the same, and the old one is replaced.
    let mut again = Ws::connect(&server).await;
    again
        .send(
            "join_room",
            json!({"roomName": room.name, "displayName": "Pat", "resumeToken": token}),
        )
        .await;
    let resumed = again.recv_type("room_joined").await;
    assert_eq!(resumed["selfId"], guest_id.as_str());
    assert_eq!(resumed["knock"]["message"], "Nearly there");
    assert_eq!(back.error().await["code"], "replaced");
    assert_eq!(back.closed().await, Closed::Frame(1000));
    host.expect_silence(300).await;

    host.send(
        "handle_knock",
        json!({"clientId": guest_id, "action": "accept"}),
    )
    .await;
    assert_eq!(
        again.recv_type("knock_handled").await["resolution"],
        "accepted"
    );
}

#[tokio::test]
async fn an_admitted_guest_who_reconnects_replaces_its_old_connection() {
    let server = Server::start().await;
    let room = locked_room(&server).await;
    let (mut host, _) = host(&server, &room, "Dr Host").await;
    let (mut guest, guest_id) = knocker(&server, &room, "Pat").await;
    host.recv_type("room_knocked").await;
    let grant = accept(&mut host, &mut guest, &guest_id).await;
    guest.join(&room.name, Some(&grant), "Pat").await;
    host.recv_type("new_client").await;

    // The guest's network blinks: it reconnects before the server has seen the old socket die.
    let mut again = Ws::connect(&server).await;
    let rejoined = again.join(&room.name, Some(&grant), "Pat").await;
    assert_eq!(rejoined["selfId"], guest_id.as_str());
    assert_eq!(rejoined["role"], "granted_visitor");
    assert_eq!(
        rejoined["room"]["clients"].as_array().unwrap().len(),
        2,
        "no ghost of the old connection"
    );
    assert_eq!(guest.error().await["code"], "replaced");
    assert_eq!(guest.closed().await, Closed::Frame(1000));
    let left = host.recv_type("client_left").await;
    assert_eq!(left["clientId"], guest_id.as_str());
    assert_eq!(left["reason"], "replaced");
    assert_eq!(
        host.recv_type("new_client").await["client"]["id"],
        guest_id.as_str()
    );
}

#[tokio::test]
async fn lock_unlock_and_admit_all() {
    let server = Server::start().await;
    let room = locked_room(&server).await;
    let (mut host, _) = host(&server, &room, "Host").await;
    let (mut a, a_id) = knocker(&server, &room, "A").await;
    let (mut b, b_id) = knocker(&server, &room, "B").await;
    host.recv_type("room_knocked").await;
    host.recv_type("room_knocked").await;

    host.send("set_lock", json!({"locked": false})).await;
    let locked = host.recv_type("room_locked").await;
    assert_eq!(locked["isLocked"], false);
    // Unlocking lets no knocker in: they hear only that the door is open, and stay queued.
    assert_eq!(
        a.recv_type("door_changed").await["isLocked"],
        false,
        "knockers hear of it"
    );
    a.expect_silence(300).await;
    let mut walk_in = Ws::connect(&server).await;
    assert_eq!(
        walk_in.join(&room.name, None, "Walk-in").await["role"],
        "visitor"
    );
    host.recv_type("new_client").await;

    host.send("set_lock", json!({"locked": true})).await;
    for ws in [&mut host, &mut walk_in] {
        assert_eq!(
            ws.recv_type("room_locked").await["isLocked"],
            true,
            "hosts and participants hear it"
        );
    }
    let mut late = Ws::connect(&server).await;
    assert_eq!(
        late.join(&room.name, None, "Late").await["error"],
        "room_locked"
    );

    host.send("handle_knock", json!({"all": true, "action": "accept"}))
        .await;
    for (ws, id) in [(&mut a, &a_id), (&mut b, &b_id)] {
        let verdict = ws.recv_type("knock_handled").await;
        assert_eq!(verdict["resolution"], "accepted", "{id}");
        let key = verdict["roomKey"].as_str().unwrap().to_owned();
        assert_eq!(
            ws.join(&room.name, Some(&key), "x").await["role"],
            "granted_visitor"
        );
    }
}

#[tokio::test]
async fn only_hosts_may_decide_and_knockers_may_not_peek() {
    let server = Server::start().await;
    let room = locked_room(&server).await;
    let (mut host, _) = host(&server, &room, "Host").await;
    let mut viewer = Ws::connect(&server).await;
    viewer
        .join(&room.name, Some(&room.viewer_key), "Viewer")
        .await;
    let (mut guest, guest_id) = knocker(&server, &room, "Guest").await;
    let viewer_arrived = host.recv_type("new_client").await;
    assert_eq!(viewer_arrived["client"]["role"], "viewer");

    for (kind, payload) in [
        (
            "handle_knock",
            json!({"clientId": guest_id, "action": "accept"}),
        ),
        ("set_lock", json!({"locked": false})),
        ("kick_client", json!({"clientId": guest_id})),
        ("end_meeting", json!({})),
    ] {
        viewer.send(kind, payload.clone()).await;
        let error = viewer.error().await;
        assert_eq!(error["code"], "forbidden", "{kind}");
        guest.send(kind, payload).await;
        let error = guest.error().await;
        assert_eq!(error["code"], "forbidden", "a knocker may not {kind}");
    }
    guest
        .send("chat_message", json!({"text": "let me in"}))
        .await;
    assert_eq!(guest.error().await["code"], "not_in_room");
    guest
        .send(
            "sdp_offer",
            json!({"receiverId": "anyone", "message": {"type": "offer", "sdp": "v=0"}}),
        )
        .await;
    assert_eq!(guest.error().await["code"], "not_in_room");
    host.recv_type("room_knocked").await;
    host.expect_silence(300).await;
    assert_eq!(
        room_state_knockers(&server, &room).await,
        1,
        "nothing changed"
    );
}

async fn room_state_knockers(server: &Server, room: &TestRoom) -> usize {
    let mut probe = Ws::connect(server).await;
    let joined = probe.join(&room.name, Some(&room.host_key), "Probe").await;
    joined["knockers"].as_array().unwrap().len()
}

#[tokio::test]
async fn kick_and_end_for_all() {
    let server = Server::start().await;
    let room = locked_room(&server).await;
    let (mut host, _) = host(&server, &room, "Host").await;
    let mut viewer = Ws::connect(&server).await;
    let viewer_id = viewer
        .join(&room.name, Some(&room.viewer_key), "Viewer")
        .await["selfId"]
        .clone();
    host.recv_type("new_client").await;
    host.send("kick_client", json!({"clientId": viewer_id}))
        .await;
    viewer.recv_type("client_kicked").await;
    assert_eq!(viewer.closed().await, Closed::Frame(1000));
    assert_eq!(host.recv_type("client_left").await["reason"], "kicked");

    // A removed guest cannot come back in with the grant that admitted it.
    let (mut removed, removed_id) = knocker(&server, &room, "Removed").await;
    host.recv_type("room_knocked").await;
    let grant = accept(&mut host, &mut removed, &removed_id).await;
    removed.join(&room.name, Some(&grant), "Removed").await;
    host.recv_type("new_client").await;
    host.send("kick_client", json!({"clientId": removed_id}))
        .await;
    removed.recv_type("client_kicked").await;
    assert_eq!(removed.closed().await, Closed::Frame(1000));
    let mut back = Ws::connect(&server).await;
    back.send(
        "join_room",
        json!({"roomName": room.name, "roomKey": grant, "displayName": "Removed"}),
    )
    .await;
    let refused = back.error().await;
    assert_eq!(refused["code"], "forbidden");
    assert_eq!(refused["requestType"], "join_room");

    let (mut guest, _) = knocker(&server, &room, "Guest").await;
    host.send("end_meeting", json!({})).await;
    for ws in [&mut host, &mut guest] {
        assert_eq!(ws.recv_type("room_ended").await["reason"], "ended_by_host");
        assert_eq!(ws.closed().await, Closed::Frame(1000));
    }
}

#[tokio::test]
async fn media_signalling_is_relayed_only_between_participants() {
    let server = Server::start().await;
    let room = locked_room(&server).await;
    let (mut host, joined) = host(&server, &room, "Host").await;
    let host_id = joined["selfId"].as_str().unwrap().to_owned();
    let (mut guest, guest_id) = knocker(&server, &room, "Guest").await;
    host.recv_type("room_knocked").await;
    // Before admission, the host cannot reach the knocker either.
    host.send(
        "sdp_offer",
        json!({"receiverId": guest_id, "message": {"type": "offer", "sdp": "v=0"}}),
    )
    .await;
    assert_eq!(host.error().await["code"], "client_not_found");
    guest.expect_silence(200).await;

    let key = accept(&mut host, &mut guest, &guest_id).await;
    guest.join(&room.name, Some(&key), "Guest").await;
    guest
        .send("ready_to_receive_offer", json!({"receiverId": host_id}))
        .await;
    assert_eq!(
        host.recv_type("ready_to_receive_offer").await,
        json!({"clientId": guest_id})
    );
    host.send(
        "sdp_offer",
        json!({"receiverId": guest_id, "message": {"type": "offer", "sdp": "v=0 offer"}}),
    )
    .await;
    let offer = guest.recv_type("sdp_offer").await;
    assert_eq!(
        offer,
        json!({"clientId": host_id, "message": {"type": "offer", "sdp": "v=0 offer"}})
    );
    guest
        .send(
            "sdp_answer",
            json!({"receiverId": host_id, "message": {"type": "answer", "sdp": "v=0 answer"}}),
        )
        .await;
    assert_eq!(
        host.recv_type("sdp_answer").await["message"]["sdp"],
        "v=0 answer"
    );
    guest.send("ice_candidate", json!({"receiverId": host_id, "message": {"candidate": "candidate:1 1 udp 1 127.0.0.1 5000 typ host"}})).await;
    assert_eq!(
        host.recv_type("ice_candidate").await["clientId"],
        guest_id.as_str()
    );
    guest
        .send("chat_message", json!({"text": "hello <b>there</b>"}))
        .await;
    let chat = host.recv_type("chat_message").await;
    assert_eq!(
        chat["text"], "hello <b>there</b>",
        "text is passed as text; clients render it as text"
    );
    assert_eq!(chat["senderId"], guest_id.as_str());
}

/// The room hands a knocker's `knock_sent` and `knock_position` to its connection as one item (they
/// come from one step); they leave in one write (a system call, and a wake-up of the client, fewer
/// per knock).
#[tokio::test]
async fn frames_queued_together_leave_in_one_write() {
    use crate::helpers::{frames_and_writes, knock_and_cancel};
    let server = Server::start().await;
    let room = locked_room(&server).await;
    let (mut host, _) = host(&server, &room, "Dr One").await;
    let mut guest = Ws::connect(&server).await;
    let door = guest.join(&room.name, None, "Pat").await;
    assert_eq!(door["error"], "room_locked");
    let (frames_before, writes_before) = frames_and_writes(&server).await;
    let knocks = 25;
    knock_and_cancel(&mut guest, &mut host, knocks).await;
    let (frames, writes) = frames_and_writes(&server).await;
    let (frames, writes) = (frames - frames_before, writes - writes_before);
    // Each knock: two frames to the knocker, from one step of the room, so one write;
    // `room_knocked` and `knocker_left` to the host, from two steps, so one write or two.
    assert_eq!(frames, f64::from(4 * knocks), "frames sent");
    assert!(
        writes <= f64::from(3 * knocks),
        "{frames} frames took {writes} writes"
    );
}

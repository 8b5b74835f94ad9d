//! One room, many nodes: the door works the same wherever each person lands, every host sees the
//! same queue, a knock is decided once however many nodes decide it, the door tells everyone outside
//! of hosts and recording, and the REST API reaches a live room wherever the call lands.

use std::time::Duration;

use serde_json::json;

use crate::helpers::{frames_and_writes, knock_and_cancel, metric, status_and_json};
use crate::ws::Ws;
use crate::{Cluster, TestRoom, fact_kinds, host, knocker};

#[tokio::test]
async fn knock_hold_accept_and_reject_across_nodes() {
    let cluster = Cluster::start(3).await;
    let room = cluster.room(json!({"isLocked": true})).await;
    let (mut host_ws, _) = host(cluster.node(0), &room, "Dr Lee").await;
    let (mut pat, pat_id, _) = knocker(cluster.node(2), &room, "Pat").await;
    let knock = host_ws.recv_type("room_knocked").await;
    assert_eq!(knock["clientId"], pat_id.as_str());
    assert_eq!(knock["displayName"], "Pat");
    host_ws
        .send(
            "handle_knock",
            json!({"clientId": pat_id, "action": "hold", "message": "two minutes"}),
        )
        .await;
    let held = pat.recv_type("knock_handled").await;
    assert_eq!(held["resolution"], "held");
    assert_eq!(held["message"], "two minutes");
    host_ws
        .send(
            "handle_knock",
            json!({"clientId": pat_id, "action": "accept"}),
        )
        .await;
    let accepted = pat.recv_type("knock_handled").await;
    assert_eq!(accepted["resolution"], "accepted");
    let grant = accepted["roomKey"].as_str().unwrap();
    let inside = pat.join(&room.name, Some(grant), "Pat").await;
    assert_eq!(inside["role"], "granted_visitor", "{inside}");
    assert_eq!(
        host_ws.recv_type("new_client").await["client"]["id"],
        pat_id.as_str()
    );

    let (mut sam, sam_id, _) = knocker(cluster.node(1), &room, "Sam").await;
    host_ws.recv_type("room_knocked").await;
    host_ws
        .send(
            "handle_knock",
            json!({"clientId": sam_id, "action": "reject", "message": "not today"}),
        )
        .await;
    let rejected = sam.recv_type("knock_handled").await;
    assert_eq!(rejected["resolution"], "rejected");
    assert_eq!(rejected["message"], "not today");

    // Pat and Sam were bridged to the room's node from theirs; the host was not.
    let bridged = |node| metric(cluster.node(node), "anteroom_bridged_connections_total");
    assert_eq!(bridged(2).await, 1.0, "Pat, from node 3");
    assert_eq!(bridged(1).await, 1.0, "Sam, from node 2");
}

/// People at the door hear whether a host is in, and of a recording, wherever each of them and
/// the host land.
#[tokio::test]
async fn the_door_tells_everyone_outside_of_hosts_and_recording_across_nodes() {
    let cluster = Cluster::start(3).await;
    let room = cluster
        .room(json!({"isLocked": true, "recording": {"type": "local"}}))
        .await;
    let (mut pat, _, _) = knocker(cluster.node(2), &room, "Pat").await;
    let (mut sam, _, _) = knocker(cluster.node(1), &room, "Sam").await;
    let told = |host_present: bool, is_recording: bool| json!({"hostPresent": host_present, "isRecording": is_recording, "isLocked": true});
    let (mut host_ws, _) = host(cluster.node(0), &room, "Dr Lee").await;
    for ws in [&mut pat, &mut sam] {
        assert_eq!(ws.recv_type("door_changed").await, told(true, false));
    }
    host_ws.send("start_recording", json!({})).await;
    for ws in [&mut pat, &mut sam] {
        assert_eq!(ws.recv_type("door_changed").await, told(true, true));
    }
    host_ws.send("leave_room", json!({})).await;
    for ws in [&mut pat, &mut sam] {
        assert_eq!(ws.recv_type("door_changed").await, told(false, false));
    }
}

#[tokio::test]
async fn hosts_on_different_nodes_see_the_same_queue() {
    let cluster = Cluster::start(3).await;
    let room = cluster.room(json!({"isLocked": true})).await;
    let (mut first, _) = host(cluster.node(0), &room, "Dr One").await;
    let (mut second, _) = host(cluster.node(1), &room, "Dr Two").await;
    first.recv_type("new_client").await;
    let mut knockers = Vec::new();
    for (i, name) in ["Ann", "Ben", "Cy", "Dee"].iter().enumerate() {
        knockers.push(knocker(cluster.node(i % 3), &room, name).await);
    }
    let mut queues = Vec::new();
    for ws in [&mut first, &mut second] {
        let mut seen = Vec::new();
        for _ in 0..4 {
            let knock = ws.recv_type("room_knocked").await;
            seen.push(knock["clientId"].as_str().unwrap().to_owned());
        }
        queues.push(seen);
    }
    assert_eq!(
        queues[0], queues[1],
        "every host hears the same queue, in order"
    );
    // The REST list, asked of the third node, is that queue too.
    let (status, listed) = cluster
        .node(2)
        .get_json(&format!("/v1/rooms{}/knocks", room.name))
        .await;
    assert_eq!(status, 200, "{listed}");
    let rest: Vec<&str> = listed["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["clientId"].as_str().unwrap())
        .collect();
    assert_eq!(rest, queues[0]);
}

/// Two hosts on two nodes decide the same knock at the same moment, a thousand times: each knock
/// is decided once, its knocker hears one verdict, and one fact is recorded.
#[tokio::test]
async fn a_knock_decided_from_two_nodes_at_once_is_decided_once() {
    // The rounds go as fast as the machine allows: on a quiet one the guest sends more knocks a
    // second than a connection may send frames by default (50), and the dropped ones never came.
    let cluster = Cluster::start_with(
        3,
        &[
            "--knocks-per-ip-per-minute",
            "100000",
            "--ws-frames-per-second",
            "100000",
        ],
    )
    .await;
    let room = cluster.room(json!({"isLocked": true})).await;
    let (mut first, _) = host(cluster.node(0), &room, "Dr One").await;
    let (mut second, _) = host(cluster.node(1), &room, "Dr Two").await;
    first.recv_type("new_client").await;
    let (mut guest, guest_id, _) = knocker(cluster.node(2), &room, "Pat").await;
    const ROUNDS: usize = 1000;
    for round in 0..ROUNDS {
        if round > 0 {
            guest.send("knock_room", json!({})).await;
            guest.recv_type("knock_sent").await;
        }
        for ws in [&mut first, &mut second] {
            ws.recv_type("room_knocked").await;
        }
        let decide = json!({"clientId": guest_id, "action": "accept"});
        tokio::join!(
            first.send("handle_knock", decide.clone()),
            second.send("handle_knock", decide.clone())
        );
        let verdict = guest.recv_type("knock_handled").await;
        assert_eq!(verdict["resolution"], "accepted", "round {round}");
        // Each host hears the one resolution; the later decision is refused, to its host only.
        let mut refused = 0;
        for ws in [&mut first, &mut second] {
            let resolution = ws.recv_type("knock_handled").await;
            assert_eq!(resolution["clientId"], guest_id.as_str());
            assert_eq!(resolution["resolution"], "accepted");
        }
        while refused < 1 {
            for ws in [&mut first, &mut second] {
                if let Some(answer) = ws.try_recv(Duration::from_millis(5)).await {
                    assert_eq!(answer["type"], "error", "round {round}: {answer}");
                    assert_eq!(answer["payload"]["code"], "knock_not_found", "{answer}");
                    refused += 1;
                }
            }
        }
        for ws in [&mut first, &mut second] {
            assert!(
                ws.try_recv(Duration::ZERO).await.is_none(),
                "round {round}: one refusal only"
            );
        }
    }
    // No knock heard a second verdict.
    while let Some(frame) = guest.try_recv(Duration::from_millis(300)).await {
        assert_ne!(frame["type"], "knock_handled", "a second verdict: {frame}");
    }
    let accepted = fact_kinds(&cluster)
        .await
        .into_iter()
        .filter(|(kind, _)| kind == "room.client.knockAccepted")
        .count();
    assert_eq!(accepted, ROUNDS, "one fact per knock");
}

#[tokio::test]
async fn the_rest_api_reaches_a_live_room_wherever_the_call_lands() {
    let cluster = Cluster::start(3).await;
    let room = cluster.room(json!({"isLocked": true})).await;
    let (mut host_ws, mut pat, pat_id) = host_and_knocker_apart(&cluster, &room).await;
    // A decision through the third node.
    let response = decide_through_third(
        &cluster,
        &room,
        &pat_id,
        json!({"action": "reject", "message": "full today"}),
    )
    .await;
    let (status, body) = status_and_json(response).await;
    assert!(status < 300, "{status} {body}");
    let verdict = pat.recv_type("knock_handled").await;
    assert_eq!(verdict["resolution"], "rejected");
    assert_eq!(verdict["message"], "full today");
    assert_eq!(host_ws.recv_type("knock_handled").await["decidedBy"], "api");
    // A theme change through the second node reaches the live room on the first.
    let status = cluster
        .node(1)
        .http
        .put(
            cluster
                .node(1)
                .url(&format!("/v1/rooms{}/theme/tokens", room.name)),
        )
        .bearer_auth(&cluster.key)
        .json(&json!({"tokens": {"colors": {"primary": "#123456"}}, "tokensPreset": "custom"}))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 204, "theme");
    assert_eq!(
        host_ws.recv_type("theme_updated").await["colors"]["primary"],
        "#123456"
    );
    // Deleting the meeting through the third node ends the room on the first.
    let id = room.meeting["meetingId"].as_str().unwrap();
    let response = cluster
        .node(2)
        .delete(&format!("/v1/meetings/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(
        host_ws.recv_type("room_ended").await["reason"],
        "meeting_deleted"
    );
}

/// A host on the first node, and "Pat" knocking through the second: their connections, and Pat's id.
async fn host_and_knocker_apart(cluster: &Cluster, room: &TestRoom) -> (Ws, Ws, String) {
    let (mut host_ws, _) = host(cluster.node(0), room, "Dr Lee").await;
    let (pat, pat_id, _) = knocker(cluster.node(1), room, "Pat").await;
    host_ws.recv_type("room_knocked").await;
    (host_ws, pat, pat_id)
}

/// A decision on `client`'s knock over REST, through the third node.
async fn decide_through_third(
    cluster: &Cluster,
    room: &TestRoom,
    client: &str,
    decision: serde_json::Value,
) -> reqwest::Response {
    cluster
        .node(2)
        .post(&format!("/v1/rooms{}/knocks/{client}", room.name))
        .json(&decision)
        .send()
        .await
        .unwrap()
}

/// Nodes under a public URL with a path (a proxy's `location /meet/`): a knocker landing on
/// another node than the room's is bridged to it there, and a decision through a third is passed
/// on there.
#[tokio::test]
async fn nodes_under_a_path_bridge_and_forward_under_it() {
    let cluster = Cluster::start_with(3, &["--public-url", "http://127.0.0.1:9/meet"]).await;
    let room = cluster.room(json!({"isLocked": true})).await;
    let room_url = room.meeting["roomUrl"].as_str().unwrap();
    assert!(
        room_url.starts_with("http://127.0.0.1:9/meet/"),
        "{room_url}"
    );
    let (_host_ws, mut pat, pat_id) = host_and_knocker_apart(&cluster, &room).await;
    let response =
        decide_through_third(&cluster, &room, &pat_id, json!({"action": "accept"})).await;
    let (status, body) = status_and_json(response).await;
    assert!(status < 300, "{status} {body}");
    assert_eq!(
        pat.recv_type("knock_handled").await["resolution"],
        "accepted"
    );
}

#[tokio::test]
async fn the_rest_budget_holds_for_the_cluster_as_a_whole() {
    let cluster = Cluster::start_with(3, &["--rate-limit-points", "6"]).await;
    // Six points of reads, two through each node: the seventh, on any node, is refused.
    for node in 0..3 {
        for _ in 0..2 {
            let (status, _) = cluster.node(node).get_json("/v1/meetings").await;
            assert_eq!(status, 200);
        }
    }
    let (status, body) = cluster.node(1).get_json("/v1/meetings").await;
    assert_eq!(status, 429, "{body}");
    assert!(body["data"]["msLeft"].as_u64().is_some(), "{body}");
}

#[tokio::test]
async fn knocks_per_address_hold_for_the_cluster_as_a_whole() {
    let cluster = Cluster::start_with(3, &["--knocks-per-ip-per-minute", "3"]).await;
    // Three rooms, each run by a different node: three knocks from this address, then a refusal.
    let mut rooms = Vec::new();
    for node in 0..3 {
        let room = cluster.room(json!({"isLocked": true})).await;
        let (ws, _) = host(cluster.node(node), &room, "Host").await;
        rooms.push((room, ws));
    }
    for (node, (room, _)) in rooms.iter().enumerate() {
        knocker(cluster.node(node), room, &format!("Guest {node}")).await;
    }
    let mut fourth = Ws::connect(cluster.node(0)).await;
    let room = &rooms[1].0;
    fourth
        .join_with(
            &room.name,
            json!({"displayName": "Guest 4", "deviceId": "device-4"}),
        )
        .await;
    fourth.send("knock_room", json!({})).await;
    let refused = fourth.error().await;
    assert_eq!(refused["code"], "rate_limited", "{refused}");
}

/// A bridged knocker's `knock_sent` and `knock_position` leave the room's node in one write, and
/// the bridge passes them on to the client in one write too.
#[tokio::test]
async fn frames_written_together_are_bridged_together() {
    let cluster = Cluster::start(3).await;
    let room = cluster.room(json!({"isLocked": true})).await;
    let (mut host_ws, _) = host(cluster.node(0), &room, "Dr Lee").await;
    let (mut pat, _, _) = knocker(cluster.node(2), &room, "Pat").await;
    host_ws.recv_type("room_knocked").await;
    let bridge = cluster.node(2);
    pat.send("cancel_room_knock", json!({})).await;
    host_ws.recv_type("knocker_left").await;
    let (frames_before, writes_before) = frames_and_writes(bridge).await;
    let knocks = 25;
    knock_and_cancel(&mut pat, &mut host_ws, knocks).await;
    // The bridging node writes only to its one client, Pat.
    let (frames, writes) = frames_and_writes(bridge).await;
    let (frames, writes) = (frames - frames_before, writes - writes_before);
    // The room's node writes each knock's two frames at once, and they reach the bridge together.
    assert_eq!(frames, f64::from(2 * knocks), "frames sent");
    assert!(
        writes <= f64::from(knocks),
        "{frames} frames took {writes} writes"
    );
}

/// A client bridged to the room's node that goes silent (no close: a laptop asleep, a network that
/// swallows packets) is dropped by the node it reached, as a client of the room's own node is: the
/// host sees it away, then gone, rather than it staying in line for good.
#[tokio::test]
async fn a_silent_bridged_client_is_dropped_as_a_direct_one_is() {
    let cluster = Cluster::start_with(2, &["--ws-ping-interval-secs", "1"]).await;
    let room = cluster.room(json!({"isLocked": true})).await;
    let (mut host_ws, pat, pat_id) = host_and_knocker_apart(&cluster, &room).await;
    // Pat's client stops reading, so it answers no ping; the host goes on reading (and answering).
    let started = std::time::Instant::now();
    let mut away = None;
    while started.elapsed() < Duration::from_secs(8) && away.is_none() {
        if let Some(frame) = host_ws.next_frame(Duration::from_millis(200)).await
            && frame["type"] == "knocker_away"
        {
            away = Some(frame);
        }
    }
    let away = away.expect("the silent knocker was never dropped");
    assert_eq!(away["payload"]["clientId"], pat_id.as_str());
    // (The node's log is read by a task of the test's: its line may come a moment after the frame.)
    cluster
        .node(1)
        .wait_for_log("no frame or pong for too long")
        .await;
    drop(pat);
}

/// A knocker's page closed (`page_closing`: its knock keeps its place only for the resume grace)
/// and reloaded on another node than the room's: its review's `preview_room`, which carries its
/// resume token, is bridged to the room's node, so the knock keeps its place through the review
/// (longer than that grace) and the page's join takes it back.
#[tokio::test]
async fn a_page_reloaded_on_another_node_keeps_its_knocks_place_through_the_review() {
    let cluster = Cluster::start_with(
        2,
        &[
            "--knock-resume-grace-secs",
            "1",
            "--knock-away-grace-secs",
            "60",
        ],
    )
    .await;
    let room = cluster.room(json!({"isLocked": true})).await;
    let (mut host_ws, _) = host(cluster.node(0), &room, "Dr Lee").await;
    let (mut pat, pat_id, token) = knocker(cluster.node(0), &room, "Pat").await;
    host_ws.recv_type("room_knocked").await;
    pat.send("page_closing", json!({})).await;
    drop(pat);
    assert_eq!(
        host_ws.recv_type("knocker_away").await["clientId"],
        pat_id.as_str()
    );
    // The reloaded page reaches the other node, and reviews its devices for longer than the grace.
    let mut again = Ws::connect(cluster.node(1)).await;
    again
        .send(
            "preview_room",
            json!({"roomName": room.name, "resumeToken": token}),
        )
        .await;
    again.recv_type("room_preview").await;
    let review_ends = tokio::time::Instant::now() + Duration::from_millis(2500);
    while let Some(frame) = host_ws
        .try_recv(review_ends.saturating_duration_since(tokio::time::Instant::now()))
        .await
    {
        assert_ne!(
            frame["type"], "knocker_left",
            "the knock kept its place: {frame}"
        );
    }
    let door = again
        .join_with(
            &room.name,
            json!({"displayName": "Pat", "deviceId": "device-Pat", "resumeToken": token}),
        )
        .await;
    assert_eq!(door["knock"]["state"], "waiting", "{door}");
    assert_eq!(
        host_ws.recv_type("knocker_back").await["clientId"],
        pat_id.as_str()
    );
}

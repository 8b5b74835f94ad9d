//! A member whose connection drops keeps its place for the resume grace: back with its resume
//! token, it is the same client, and integrators hear of no leave. Only a member that stays away
//! past the grace has left, and `room.client.left` says so then.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::handover::come_back;
use crate::helpers::{Server, host, room};
use crate::receiver::receiver_for;
use crate::ws::Ws;

fn kinds_of(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["type"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn a_member_whose_connection_drops_comes_back_as_itself_and_leaves_only_past_the_grace() {
    let server = Server::start_with(&["--knock-resume-grace-secs", "2"]).await;
    let receiver = receiver_for(&server, &["room.client.joined", "room.client.left"], &[]).await;
    let room = room(&server, json!({"isLocked": false, "roomMode": "group"})).await;
    let (mut host_ws, _) = host(&server, &room, "Dr Lee").await;
    let mut guest = Ws::connect(&server).await;
    let joined = guest.join(&room.name, None, "Pat").await;
    let (pat, token) = (joined["selfId"].clone(), joined["resumeToken"].clone());
    host_ws.recv_type("new_client").await;
    receiver.wait_for(2).await;

    // Pat's network drops, and is back within the grace, with the token alone.
    drop(guest);
    assert_eq!(host_ws.recv_type("client_away").await["clientId"], pat);
    // Whoever comes in meanwhile sees Pat away (a tile waiting for them), not absent.
    let mut late = Ws::connect(&server).await;
    let clients = late.join(&room.name, None, "Ann").await["room"]["clients"].clone();
    let pat_seen = clients.as_array().unwrap().iter().find(|c| c["id"] == pat);
    assert_eq!(
        pat_seen.map(|c| &c["away"]),
        Some(&json!(true)),
        "{clients}"
    );
    host_ws.recv_type("new_client").await;
    receiver.wait_for(3).await;
    let (back, resumed) = come_back(&server, &room.name, None, token.as_str().unwrap()).await;
    assert_eq!(resumed["selfId"], pat, "the same client: {resumed}");
    assert_eq!(resumed["role"], "visitor");
    let pat_back = host_ws.recv_type("new_client").await["client"].clone();
    assert_eq!((&pat_back["id"], pat_back.get("away")), (&pat, None));
    // Past the grace, nobody has left or joined again.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        kinds_of(&receiver.accepted()),
        [
            "room.client.joined",
            "room.client.joined",
            "room.client.joined"
        ]
    );

    // Away again, for good this time: it has left once the grace is over, not before.
    drop(back);
    let dropped = Instant::now();
    assert_eq!(host_ws.recv_type("client_away").await["clientId"], pat);
    let left = host_ws.recv_type("client_left").await;
    assert_eq!(
        (&left["clientId"], &left["reason"]),
        (&pat, &json!("disconnected"))
    );
    let events = receiver.wait_for(4).await;
    assert!(
        dropped.elapsed() >= Duration::from_millis(1500),
        "left after {:?}, before the grace ran out",
        dropped.elapsed()
    );
    assert_eq!(events[3]["type"], "room.client.left");
    assert_eq!(events[3]["data"]["participantId"], pat, "{:#}", events[3]);
    drop(late);
}

#[tokio::test]
async fn a_host_removes_a_member_while_it_is_away_and_its_return_hears_so() {
    let server = Server::start().await;
    let receiver = receiver_for(&server, &["room.client.left"], &[]).await;
    let room = room(&server, json!({"isLocked": false})).await;
    let (mut host_ws, _) = host(&server, &room, "Dr Lee").await;
    let mut guest = Ws::connect(&server).await;
    let joined = guest.join(&room.name, None, "Pat").await;
    let (pat, token) = (joined["selfId"].clone(), joined["resumeToken"].clone());
    host_ws.recv_type("new_client").await;
    drop(guest);
    assert_eq!(host_ws.recv_type("client_away").await["clientId"], pat);

    host_ws
        .send("send_to_waiting_room", json!({"clientId": pat}))
        .await;
    let refused = host_ws.error().await;
    assert_eq!(refused["code"], "client_away", "{refused}");
    host_ws.send("kick_client", json!({"clientId": pat})).await;
    let left = host_ws.recv_type("client_left").await;
    assert_eq!(
        (&left["clientId"], &left["reason"]),
        (&pat, &json!("kicked"))
    );
    let events = receiver.wait_for(1).await;
    assert_eq!(events[0]["data"]["participantId"], pat, "{:#}", events[0]);

    // Back with its token: told it was removed, and closed; the host hears nothing more.
    let mut back = Ws::connect(&server).await;
    back.send(
        "join_room",
        json!({"roomName": room.name, "displayName": "Pat", "resumeToken": token}),
    )
    .await;
    let kicked = back.recv().await;
    assert_eq!(kicked["type"], "client_kicked", "{kicked}");
    back.closed().await;
    host_ws.expect_silence(300).await;
}

//! Nothing a client sends harms the server or other connections.

use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::Server;
use crate::signal_join::locked_room;
use crate::ws::{Closed, Ws};

#[tokio::test]
async fn malformed_frames_get_error_frames() {
    let server = Server::start().await;
    let room = locked_room(&server).await;
    let mut ws = Ws::connect(&server).await;
    let cases = [
        ("not json at all", "invalid_json"),
        ("[1,2,3]", "invalid_json"),
        (r#"{"payload": {}}"#, "invalid_json"),
        (r#"{"type": "teleport"}"#, "unknown_type"),
        (r#"{"type": "join_room", "payload": {}}"#, "invalid_payload"),
        (
            r#"{"type": "set_lock", "payload": {"locked": "yes"}}"#,
            "invalid_payload",
        ),
        (
            r#"{"type": "handle_knock", "payload": {"action": "accept"}}"#,
            "invalid_payload",
        ),
        (r#"{"type": "knock_room"}"#, "not_in_room"),
    ];
    for (frame, code) in cases {
        ws.send_raw(frame).await;
        let error = ws.error().await;
        assert_eq!(error["code"], code, "{frame}");
    }
    ws.send_message(Message::binary(vec![1, 2, 3]))
        .await
        .unwrap();
    assert_eq!(ws.error().await["code"], "invalid_json");
    // Missing fields are named.
    ws.send_raw(r#"{"type": "kick_client", "payload": {}}"#)
        .await;
    assert!(
        ws.error().await["message"]
            .as_str()
            .unwrap()
            .contains("clientId")
    );

    for (name, why) in [
        ("<img src=x onerror=alert(1)>", "markup"),
        (&"x".repeat(10_000), "10,000 characters"),
    ] {
        ws.send(
            "join_room",
            json!({"roomName": room.name, "displayName": name}),
        )
        .await;
        assert_eq!(ws.error().await["code"], "invalid_display_name", "{why}");
    }
    assert_eq!(
        ws.join(&room.name, None, "Fine Name").await["error"],
        "room_locked"
    );
}

#[tokio::test]
async fn an_oversized_frame_closes_only_its_own_connection() {
    let server = Server::start().await;
    let room = locked_room(&server).await;
    let mut bystander = Ws::connect(&server).await;
    bystander
        .join(&room.name, Some(&room.host_key), "Host")
        .await;

    let mut abuser = Ws::connect(&server).await;
    let huge = format!(
        r#"{{"type":"chat_message","payload":{{"text":"{}"}}}}"#,
        "x".repeat(1024 * 1024)
    );
    let _ = abuser.send_message(Message::text(huge)).await;
    assert_eq!(
        abuser.closed().await,
        Closed::Frame(1009),
        "message too big"
    );

    bystander
        .send("chat_message", json!({"text": "still here"}))
        .await;
    assert_eq!(
        bystander.recv_type("chat_message").await["text"],
        "still here"
    );
    let response = server
        .http
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn floods_are_rate_limited() {
    let server = Server::start_with(&[
        "--ws-frames-per-second",
        "5",
        "--knocks-per-ip-per-minute",
        "2",
    ])
    .await;
    let room = locked_room(&server).await;
    let mut flooder = Ws::connect(&server).await;
    for _ in 0..40 {
        flooder.send_raw(r#"{"type": "leave_room"}"#).await;
    }
    let mut codes = Vec::new();
    while let Ok(frame) =
        tokio::time::timeout(std::time::Duration::from_millis(300), flooder.recv()).await
    {
        codes.push(frame["payload"]["code"].as_str().unwrap_or("").to_owned());
    }
    assert!(codes.iter().any(|c| c == "rate_limited"), "{codes:?}");
    assert!(
        codes.len() < 20,
        "frames over the limit are dropped, and errors about it are not a flood: {codes:?}"
    );

    // Knocks per address: the third within a minute is refused.
    let mut refused = 0;
    for i in 0..3 {
        let mut ws = Ws::connect(&server).await;
        ws.join(&room.name, None, &format!("K{i}")).await;
        ws.send("knock_room", json!({})).await;
        let frame = ws.recv().await;
        if frame["type"] == "error" {
            assert_eq!(frame["payload"]["code"], "rate_limited");
            refused += 1;
        }
    }
    assert_eq!(refused, 1);
}

#[tokio::test]
async fn dead_peers_are_detected_by_ping() {
    let server = Server::start_with(&["--ws-ping-interval-secs", "1"]).await;
    let room = locked_room(&server).await;
    let mut host = Ws::connect(&server).await;
    host.join(&room.name, Some(&room.host_key), "Host").await;
    let mut silent = Ws::connect(&server).await;
    silent.join(&room.name, None, "Silent").await;
    silent.send("knock_room", json!({})).await;
    silent.recv_type("knock_sent").await;
    host.recv_type("room_knocked").await;
    // The silent client stops reading, so it never answers pings. The host keeps reading (and so
    // answers them) and stays: all it hears is that the knocker's connection is gone.
    let started = std::time::Instant::now();
    let mut logged = false;
    while started.elapsed() < std::time::Duration::from_secs(6) {
        if server.logs().contains("no frame or pong for too long") {
            logged = true;
            break;
        }
        if let Some(frame) = host.next_frame(std::time::Duration::from_millis(200)).await {
            assert_eq!(frame["type"], "knocker_away", "{frame}");
        }
    }
    assert!(logged, "the server never dropped the silent peer");
    drop(silent);
    host.send("chat_message", json!({"text": "alive"})).await;
    assert_eq!(host.recv_type("chat_message").await["text"], "alive");
}

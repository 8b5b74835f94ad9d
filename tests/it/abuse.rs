//! What an attacker, a broken client or a fault does to the server, each reproduced with small,
//! bounded numbers: idle and slow connections, a flooded queue, foreign pages, image bombs, a crash,
//! keys in logs, TURN credentials, look-alike names, closes, a full disk.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::helpers::{Server, status_and_json};
use crate::signal_join::{host, knocker, locked_room};
use crate::ws::Ws;

fn loopback(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, last))
}

/// Whether the server answers an HTTP request on a fresh connection.
async fn answers(server: &Server) -> bool {
    let request = server.http.get(server.url("/healthz")).send();
    matches!(
        tokio::time::timeout(Duration::from_secs(2), request).await,
        Ok(Ok(response)) if response.status().is_success()
    )
}

#[tokio::test]
async fn connections_that_send_nothing_are_capped_and_timed_out() {
    let server =
        Server::start_with(&["--max-connections", "20", "--header-read-timeout-secs", "1"]).await;
    let mut idle = Vec::new();
    for _ in 0..25 {
        idle.push(tokio::net::TcpStream::connect(server.addr).await.unwrap());
    }
    server.wait_for_log("connection limit reached").await;
    assert!(!answers(&server).await, "a full server takes nobody else");
    // Those that never sent their headers are closed; the server takes people again.
    let mut closed = 0;
    for mut stream in idle {
        let mut byte = [0u8; 1];
        if let Ok(Ok(0)) =
            tokio::time::timeout(Duration::from_secs(3), stream.read(&mut byte)).await
        {
            closed += 1;
        }
    }
    assert!(closed >= 20, "only {closed} idle connections were closed");
    assert!(answers(&server).await);
}

/// One address cannot hold every signalling connection: past its share, its next is refused (429,
/// logged, counted) while other addresses still get in, and a place it gives up is free again.
#[tokio::test]
async fn one_address_cannot_take_every_signalling_connection() {
    let server = Server::start_with(&["--ws-connections-per-address", "3"]).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(Ws::connect_from(&server, loopback(5), None).await.unwrap());
    }
    assert_eq!(
        Ws::connect_from(&server, loopback(5), None).await.err(),
        Some(429)
    );
    server
        .wait_for_log("an address holds as many signalling connections as it may")
        .await;
    assert_eq!(
        crate::helpers::metric(&server, "anteroom_signal_refused_per_address_total").await,
        1.0
    );
    assert!(Ws::connect_from(&server, loopback(6), None).await.is_ok());
    // One of the three goes: its place is free again once the server has seen it close.
    drop(held.pop());
    let mut again = None;
    for _ in 0..50 {
        if let Ok(ws) = Ws::connect_from(&server, loopback(5), None).await {
            again = Some(ws);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(again.is_some(), "the place given up was not given back");
}

#[tokio::test]
async fn a_body_that_does_not_arrive_is_answered_408() {
    let server = Server::start_with(&["--body-read-timeout-secs", "1"]).await;
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let head = format!(
        "POST /v1/meetings HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"endDate\"",
        server.addr, server.key
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut response = String::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_string(&mut response))
        .await
        .expect("the server answers a slow body within its timeout")
        .unwrap();
    assert!(response.starts_with("HTTP/1.1 408"), "{response}");
    assert!(response.contains("did not arrive in time"), "{response}");
}

#[tokio::test]
async fn a_socket_that_names_no_room_is_closed() {
    let server = Server::start_with(&["--ws-join-timeout-secs", "1"]).await;
    let room = locked_room(&server).await;
    let mut silent = Ws::connect(&server).await;
    let mut previewing = Ws::connect(&server).await;
    previewing
        .send("preview_room", json!({"roomName": room.name}))
        .await;
    previewing.recv_type("room_preview").await;
    assert_eq!(silent.error().await["code"], "join_timeout");
    assert_eq!(silent.closed().await, crate::ws::Closed::Frame(1008));
    // A connection that previewed the room is checking its devices: it may take its time.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        previewing.join(&room.name, None, "Pat").await["error"],
        "room_locked"
    );
}

/// From five addresses, knocks cannot fill a room's queue: a real guest still gets in line.
#[tokio::test]
async fn a_few_addresses_cannot_fill_a_rooms_queue() {
    let server = Server::start_with(&["--max-knocks-per-address", "3"]).await;
    let room = locked_room(&server).await;
    let mut flood = Vec::new();
    let mut refused = 0;
    for last in 2..=6 {
        for _ in 0..5 {
            let mut ws = Ws::connect_from(&server, loopback(last), None)
                .await
                .unwrap();
            ws.join(&room.name, None, "Flood").await;
            ws.send("knock_room", json!({})).await;
            let answer = ws.recv().await;
            if answer["type"] == "error" {
                assert_eq!(answer["payload"]["code"], "rate_limited", "{answer}");
                refused += 1;
            }
            flood.push(ws);
        }
    }
    assert_eq!(refused, 10, "3 of 5 knocks from each address wait");
    let (_, _) = knocker(&server, &room, "Real guest").await;
    let (status, queue) = server
        .get_json(&format!("/v1/rooms{}/knocks", room.name))
        .await;
    assert_eq!(status, 200);
    assert_eq!(queue["results"].as_array().unwrap().len(), 16);
}

/// A page of another origin gets no session: it is told why (`origin_not_allowed`, where this
/// server's pages are) and the connection closes (1008). A browser shows a page nothing of a
/// refused upgrade, so the room page said "Connecting…" for ever.
#[tokio::test]
async fn pages_of_other_origins_may_not_open_a_socket() {
    use crate::ws::Closed;
    let server = Server::start_with(&["--allowed-origins", "https://clinic.example"]).await;
    let local = loopback(1);
    for origin in ["https://evil.example", "null"] {
        let mut ws = Ws::connect_from(&server, local, Some(origin))
            .await
            .expect("upgraded, to be told why");
        let frame = ws.recv().await;
        assert_eq!(frame["type"], "error", "{frame}");
        assert_eq!(frame["payload"]["code"], "origin_not_allowed");
        assert_eq!(frame["payload"]["publicUrl"], server.base.as_str());
        assert!(matches!(ws.closed().await, Closed::Frame(1008)));
    }
    let room = locked_room(&server).await;
    for allowed in [server.base.as_str(), "https://clinic.example"] {
        let mut ws = Ws::connect_from(&server, local, Some(allowed))
            .await
            .unwrap_or_else(|status| panic!("{allowed}: {status}"));
        ws.send("preview_room", json!({"roomName": room.name}))
            .await;
        ws.recv_type("room_preview").await;
    }
    // Not a browser page: no Origin, no refusal.
    assert!(Ws::connect_from(&server, local, None).await.is_ok());
    server
        .wait_for_log("refused a signalling connection from a page of another origin")
        .await;
}

/// An 8192x8192 picture of 16-bit colour (half a gigabyte decoded) in a file of about 500 kB.
fn image_bomb() -> Vec<u8> {
    let mut file = Vec::new();
    let mut encoder = png::Encoder::new(&mut file, 8192, 8192);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Sixteen);
    encoder.set_compression(png::Compression::High);
    let mut writer = encoder.write_header().unwrap();
    let mut stream = writer.stream_writer().unwrap();
    let row = vec![0u8; 8192 * 8];
    for _ in 0..8192 {
        std::io::Write::write_all(&mut stream, &row).unwrap();
    }
    stream.finish().unwrap();
    writer.finish().unwrap();
    file
}

/// The most memory the server process has held (its peak resident set), in MiB.
fn peak_rss_mib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kib / 1024
}

#[tokio::test]
async fn parallel_image_bombs_do_not_take_the_servers_memory() {
    let server = Server::start().await;
    let room = locked_room(&server).await;
    let bomb = tokio::task::spawn_blocking(image_bomb).await.unwrap();
    assert!(bomb.len() < 600 * 1024, "{} bytes", bomb.len());
    let uploads = (0..8).map(|_| {
        let form = reqwest::multipart::Form::new().part(
            "image",
            reqwest::multipart::Part::bytes(bomb.clone()).file_name("bomb.png"),
        );
        server
            .http
            .put(server.url(&format!("/v1/rooms{}/theme/room-background", room.name)))
            .bearer_auth(&server.key)
            .multipart(form)
            .send()
    });
    for response in futures_util::future::join_all(uploads).await {
        let (status, body) = status_and_json(response.unwrap()).await;
        assert_eq!(status, 400, "{body}");
        assert!(
            body["error"].as_str().unwrap().contains("too large"),
            "{body}"
        );
    }
    let peak = peak_rss_mib(server.pid());
    assert!(peak < 300, "the server's memory peaked at {peak} MiB");
}

#[tokio::test]
async fn room_keys_stay_out_of_the_debug_log() {
    let server = Server::start_with(&["--log", "anteroom=debug,tower_http=debug"]).await;
    let room = locked_room(&server).await;
    let url = room.meeting["hostRoomUrl"].as_str().unwrap();
    let response = server.http.get(url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    server.wait_for_log("roomKey=[redacted]").await;
    assert!(
        !server.logs().contains(&room.host_key),
        "a host key in the log"
    );
}

#[tokio::test]
async fn turn_credentials_only_for_a_connection_that_names_an_open_room() {
    let server = Server::start_with(&[
        "--stun-url",
        "stun:127.0.0.1:3478",
        "--turn-url",
        "turn:127.0.0.1:3478",
        "--turn-secret",
        "a-secret",
    ])
    .await;
    let (status, config) = status_and_json(
        server
            .http
            .get(server.url("/client-config"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        config["iceServers"],
        json!([{"urls": ["stun:127.0.0.1:3478"]}])
    );
    let room = locked_room(&server).await;
    let mut ws = Ws::connect(&server).await;
    ws.send("preview_room", json!({"roomName": "/no-such-room"}))
        .await;
    assert_eq!(ws.error().await["code"], "room_not_found");
    ws.send(
        "preview_room",
        json!({"roomName": room.name, "roomKey": room.host_key}),
    )
    .await;
    let preview = ws.recv_type("room_preview").await;
    assert_eq!(preview["role"], "host");
    assert_eq!(preview["mode"], "normal");
    assert_eq!(preview["recordingType"], "none");
    let turn = &preview["iceServers"][1];
    assert_eq!(turn["urls"], json!(["turn:127.0.0.1:3478"]));
    assert!(turn["username"].as_str().unwrap().ends_with(":anteroom"));
    assert!(turn["credential"].is_string());
}

#[tokio::test]
async fn names_that_pass_for_someone_else_are_refused() {
    let server = Server::start().await;
    let room = locked_room(&server).await;
    let (_host, _) = host(&server, &room, "Dr Lee").await;
    let mut guest = Ws::connect(&server).await;
    guest
        .send(
            "join_room",
            json!({"roomName": room.name, "displayName": "Dr \u{202E}eeL"}),
        )
        .await;
    assert_eq!(guest.error().await["code"], "invalid_display_name");
    let door = guest.join(&room.name, None, "Dr\u{200B} Lee").await;
    assert_eq!(door["error"], "room_locked");
    guest.send("knock_room", json!({})).await;
    let refused = guest.error().await;
    assert_eq!(refused["code"], "invalid_display_name");
    assert!(
        refused["message"].as_str().unwrap().contains("host"),
        "{refused}"
    );
    guest
        .send("knock_room", json!({"displayName": "Pat"}))
        .await;
    guest.recv_type("knock_sent").await;
}

#[tokio::test]
async fn a_close_is_answered_with_a_close() {
    let server = Server::start().await;
    let mut ws = Ws::connect(&server).await;
    ws.send_message(Message::Close(Some(CloseFrame {
        code: CloseCode::Normal,
        reason: "bye".into(),
    })))
    .await
    .unwrap();
    match ws.next_message(Duration::from_secs(3)).await {
        Some(Message::Close(Some(frame))) => assert_eq!(frame.code, CloseCode::Normal),
        other => panic!("expected the server's Close, got {other:?}"),
    }
}

//! For operators: readiness that turns false while a server drains, the figures `/metrics` gives,
//! and logs as JSON on request.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{Server, status_and_json, until};
use crate::signal_join::{accept, host, knocker, locked_room};

#[tokio::test]
async fn readiness_turns_false_while_the_server_drains() {
    let mut server = Server::start_with(&["--drain-secs", "2"]).await;
    let ready = |server: &Server| {
        let url = server.url("/readyz");
        let http = server.http.clone();
        async move { status_and_json(http.get(url).send().await.unwrap()).await }
    };
    assert_eq!(ready(&server).await, (200, json!({"status": "ready"})));
    let pid = server.pid().to_string();
    tokio::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Still serving, but saying it is on its way out.
    assert_eq!(ready(&server).await, (503, json!({"status": "draining"})));
    let (status, _) = server.get_json("/v1/meetings").await;
    assert_eq!(status, 200, "requests are still answered while draining");
    assert!(server.terminate_wait().await, "exit code 0");
}

#[tokio::test]
async fn metrics_count_events_verdicts_deliveries_and_store_writes() {
    let server = Server::start().await;
    let room = locked_room(&server).await;
    let (mut host_ws, _) = host(&server, &room, "Dr Lee").await;
    let (mut guest, guest_id) = knocker(&server, &room, "Pat").await;
    host_ws.recv_type("room_knocked").await;
    host_ws
        .send(
            "handle_knock",
            json!({"clientId": guest_id, "action": "reject"}),
        )
        .await;
    guest.recv_type("knock_handled").await;
    // The recorder writes off the signalling path.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let text = server
        .get("/metrics")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for expected in [
        "anteroom_room_events_total{kind=\"room.client.knocked\"} 1",
        "anteroom_room_events_total{kind=\"room.client.knockRejected\"} 1",
        "anteroom_verdict_seconds_count 1",
        "anteroom_verdict_seconds_bucket{le=\"0.001\"}",
        "anteroom_store_write_seconds_count",
        "anteroom_webhook_deliveries{status=\"pending\"} 0",
        "anteroom_ready 1",
        "anteroom_live_rooms 1",
        "anteroom_websocket_connections 2",
    ] {
        assert!(text.contains(expected), "no {expected:?} in:\n{text}");
    }
}

#[tokio::test]
async fn logs_are_json_lines_on_request() {
    let server = Server::start_with(&["--log-format", "json"]).await;
    let room = locked_room(&server).await;
    let _ = host(&server, &room, "Dr Lee").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let logs = server.logs();
    let lines: Vec<&str> = logs.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(lines.len() >= 2, "{logs}");
    for line in lines {
        let entry: Value =
            serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}"));
        assert!(
            entry["level"].is_string() && entry["fields"]["message"].is_string(),
            "{entry}"
        );
    }
}

/// Each room event gets a log line (`anteroom::events`) naming it, its room and the client's id and
/// role, once it is recorded, and why someone went (the webhook does not say); no display name or
/// host's message goes into the log.
#[tokio::test]
async fn each_room_event_is_a_log_line_without_names_or_messages() {
    let server = Server::start().await;
    let room = locked_room(&server).await;
    let (mut host_ws, host_joined) = host(&server, &room, "Dr Quill").await;
    let host_id = host_joined["selfId"].as_str().unwrap().to_owned();
    let (mut guest, guest_id) = knocker(&server, &room, "Pat Wren").await;
    host_ws.recv_type("room_knocked").await;
    host_ws
        .send(
            "handle_knock",
            json!({"clientId": guest_id, "action": "hold", "message": "Gone to fetch a gown"}),
        )
        .await;
    guest.recv_type("knock_handled").await;
    let grant = accept(&mut host_ws, &mut guest, &guest_id).await;
    guest.join(&room.name, Some(&grant), "Pat Wren").await;
    let lines = |event: &str| -> Vec<String> {
        let event = format!(r#"event="{event}""#);
        server
            .logs()
            .lines()
            .filter(|l| l.contains("anteroom::events") && l.contains(&event))
            .map(str::to_owned)
            .collect()
    };
    // Facts are written in order: the guest's join (as a granted visitor) comes last.
    until(
        "the guest's join is logged",
        Duration::from_secs(5),
        || async {
            lines("room.client.joined")
                .iter()
                .any(|l| l.contains(&guest_id) && l.contains(r#"role="granted_visitor""#))
        },
    )
    .await;
    let knocked = lines("room.client.knocked");
    assert_eq!(knocked.len(), 1, "{}", server.logs());
    assert!(
        knocked[0].contains(&room.name) && knocked[0].contains(&guest_id),
        "{knocked:?}"
    );
    let held = lines("room.client.knockHeld");
    assert!(
        held.len() == 1 && held[0].contains(r#"decided_by="host""#),
        "{held:?}"
    );
    assert_eq!(lines("room.client.knockAccepted").len(), 1);
    assert_eq!(lines("room.session.started").len(), 1);
    assert!(
        lines("room.client.joined")[0].contains(r#"role="host""#),
        "{}",
        server.logs()
    );
    host_ws
        .send("kick_client", json!({"clientId": guest_id}))
        .await;
    host_ws.send("leave_room", json!({})).await;
    let why_left = |who: &str, why: &str| {
        lines("room.client.left")
            .iter()
            .any(|l| l.contains(who) && l.contains(&format!("why={why} ")))
    };
    until(
        "both leaves are logged with why",
        Duration::from_secs(5),
        || async { why_left(&guest_id, "kicked") && why_left(&host_id, "left") },
    )
    .await;
    let logs = server.logs();
    for private in ["Dr Quill", "Pat Wren", "fetch a gown"] {
        assert!(!logs.contains(private), "{private:?} in the log:\n{logs}");
    }
}

/// Whoever read the server's log went away (a closed pipe): the server still stops on SIGTERM.
/// Reporting the failed log write used to panic the task that logged "shutting down". The signal
/// comes the moment the server says it listens, five times over: its handler used to be installed
/// only after that line, and a SIGTERM in between killed the process outright.
#[tokio::test]
async fn a_server_whose_log_reader_is_gone_still_stops() {
    for _ in 0..5 {
        stop_as_soon_as_listening().await;
    }
}

async fn stop_as_soon_as_listening() {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let data_dir = tempfile::tempdir().expect("temp dir");
    let mut command = tokio::process::Command::new(crate::helpers::bin());
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--media-udp-port", "0"])
        .arg("--data-dir")
        .arg(data_dir.path())
        .envs(crate::helpers::store_env(data_dir.path()).await)
        .env("ANTEROOM_LOG", "info")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    let mut child = command.spawn().expect("the anteroom binary starts");
    let mut lines = BufReader::new(child.stderr.take().expect("stderr is piped")).lines();
    while let Some(line) = lines.next_line().await.unwrap() {
        if line.contains("listening on") {
            break;
        }
    }
    drop(lines);
    let pid = child.id().expect("running").to_string();
    let killed = tokio::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .unwrap();
    assert!(killed.success());
    let exit = tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .expect("the server exits within 20 s of SIGTERM")
        .unwrap();
    assert!(exit.success(), "{exit}");
}

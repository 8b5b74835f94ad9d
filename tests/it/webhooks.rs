//! Webhooks: endpoints, Whereby's envelope and signature checked by a Python receiver, retries, and
//! a durable outbox across kill -9.

use std::time::Duration;

use serde_json::json;

use crate::helpers::{Server, cli, status_and_json, until};
use crate::signal_join::{accept, knocker, locked_room};
use crate::ws::Ws;

use crate::receiver::{Receiver, add_endpoint, free_port, receiver_for};

#[tokio::test]
async fn events_are_delivered_in_wherebys_envelope_and_verify_in_python() {
    let server = Server::start_with(&["--session-end-grace-secs", "1"]).await;
    let all: Vec<&str> = anteroom::webhooks::event_types().collect();
    let receiver = receiver_for(&server, &all, &[]).await;
    let room = locked_room(&server).await;

    let mut host = Ws::connect(&server).await;
    host.join(&room.name, Some(&room.host_key), "Dr Host").await;
    let (mut guest, guest_id) = knocking(
        &server,
        json!({"roomName": room.name, "displayName": "Pat", "externalId": "patient-7", "metadata": "m1"}),
    )
    .await;
    host.send(
        "handle_knock",
        json!({"clientId": guest_id, "action": "hold", "message": "One minute"}),
    )
    .await;
    let grant = accept(&mut host, &mut guest, &guest_id).await;
    guest.join(&room.name, Some(&grant), "Pat").await;
    host.send("set_lock", json!({"locked": false})).await;
    host.recv_type("room_locked").await;
    guest.send("leave_room", json!({})).await;
    guest.recv_type("room_left").await;

    let expected = [
        "room.client.joined",
        "room.client.knocked",
        "room.client.knockHeld",
        "room.client.knockAccepted",
        "room.session.started",
        "room.client.joined",
        "room.unlocked",
        "room.client.left",
        "room.session.ended",
    ];
    let events = receiver.wait_for(expected.len()).await;
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types, expected, "in order, each once");
    assert!(
        receiver.requests().iter().all(|r| r["accepted"] == true),
        "every delivery verified"
    );
    let meeting_id = room.meeting["meetingId"].as_str().unwrap();
    for event in &events {
        assert_eq!(event["apiVersion"], "1.0");
        assert!(uuid::Uuid::parse_str(event["id"].as_str().unwrap()).is_ok());
        assert!(chrono::DateTime::parse_from_rfc3339(event["createdAt"].as_str().unwrap()).is_ok());
        assert_eq!(event["data"]["meetingId"], meeting_id);
        assert_eq!(event["data"]["roomName"], room.name.as_str());
        assert_eq!(event["data"]["subdomain"], "127.0.0.1");
    }
    let knocked = &events[1]["data"];
    assert_eq!(knocked["participantId"], guest_id.as_str());
    assert_eq!(knocked["displayName"], "Pat");
    assert_eq!(knocked["externalId"], "patient-7");
    assert_eq!(knocked["metadata"], "m1");
    assert_eq!(events[2]["data"]["message"], "One minute");
    let started = &events[4]["data"];
    let session = started["roomSessionId"]
        .as_str()
        .expect("a session id")
        .to_owned();
    let joined = &events[5]["data"];
    assert_eq!(joined["roleName"], "granted_visitor");
    assert_eq!(joined["roomSessionId"], session.as_str());
    assert_eq!(joined["numClients"], 2);
    assert_eq!(
        joined["numClientsByRoleName"],
        json!({"host": 1, "granted_visitor": 1})
    );
    assert_eq!(events[8]["data"]["roomSessionId"], session.as_str());
    // Ours: why the guest went; a session ended by its grace says nothing.
    assert_eq!(events[7]["data"]["reason"], "left");
    assert!(events[8]["data"].get("reason").is_none(), "{}", events[8]);
    // Bodies are compact JSON: exactly what serialising them again without spaces gives.
    for request in receiver.requests() {
        let raw = request["raw"].as_str().unwrap();
        assert_eq!(raw, serde_json::to_string(&request["event"]).unwrap());
        assert!(!raw.contains('\n') && !raw.contains(": "));
    }
}

#[tokio::test]
async fn the_python_receiver_refuses_tampered_and_stale_deliveries() {
    let receiver = Receiver::start("s3cret", 0, &[]).await;
    let client = reqwest::Client::new();
    let body = r#"{"type":"room.client.joined"}"#;
    let now = chrono::Utc::now().timestamp();
    let good = anteroom::webhooks::signing::sign("s3cret", now, body);
    let send = |body: &'static str, signature: String| {
        client
            .post(receiver.url())
            .header("Whereby-Signature", signature)
            .body(body)
            .send()
    };
    assert_eq!(send(body, good.clone()).await.unwrap().status(), 200);
    assert_eq!(
        send(r#"{"type":"room.client.left"}"#, good)
            .await
            .unwrap()
            .status(),
        400,
        "tampered body"
    );
    let stale = anteroom::webhooks::signing::sign("s3cret", now - 3600, body);
    assert_eq!(
        send(body, stale).await.unwrap().status(),
        400,
        "stale timestamp"
    );
    let wrong_secret = anteroom::webhooks::signing::sign("other", now, body);
    assert_eq!(send(body, wrong_secret).await.unwrap().status(), 400);
    let reasons: Vec<String> = receiver
        .requests()
        .iter()
        .map(|r| r["reason"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        reasons,
        ["ok", "bad signature", "stale timestamp", "bad signature"]
    );
}

async fn knock_once(server: &Server) {
    let room = locked_room(server).await;
    knocker(server, &room, "Guest").await;
}

#[tokio::test]
async fn server_errors_are_retried_with_backoff_and_client_errors_are_not() {
    let server = Server::start_with(&["--webhook-retry-base-ms", "200"]).await;
    let receiver = receiver_for(&server, &["room.client.knocked"], &["--fail-first", "2"]).await;
    knock_once(&server).await;
    let accepted = receiver.wait_for(1).await;
    assert_eq!(accepted[0]["type"], "room.client.knocked");
    let statuses: Vec<i64> = receiver
        .requests()
        .iter()
        .map(|r| r["status"].as_i64().unwrap())
        .collect();
    assert_eq!(
        statuses,
        [500, 500, 200],
        "retried until it succeeded, signed anew each time"
    );

    // A 404 is final: one attempt, then nothing.
    let gone = receiver_for(&server, &["room.client.knocked"], &["--status", "404"]).await;
    knock_once(&server).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        gone.requests().len(),
        1,
        "4xx is not retried: {:?}",
        gone.requests()
    );
    // 429 is retried (at 200 and 400 ms: a busy machine may take longer, hence the deadline).
    let busy = receiver_for(&server, &["room.client.knocked"], &["--status", "429"]).await;
    knock_once(&server).await;
    until("429 retried twice", Duration::from_secs(10), || async {
        busy.requests().len() >= 3
    })
    .await;
}

/// A receiver that says when to come back (`Retry-After`, seconds or an HTTP date) is not asked
/// again sooner, however short the backoff.
#[tokio::test]
async fn retry_after_is_waited_for() {
    let server = Server::start_with(&["--webhook-retry-base-ms", "200"]).await;
    // An HTTP date has whole seconds: four seconds from now is at least three from this moment.
    let in_four_seconds = || {
        (chrono::Utc::now() + chrono::Duration::seconds(4))
            .format("%a, %d %b %Y %H:%M:%S GMT")
            .to_string()
    };
    let cases: [(&str, &dyn Fn() -> String, f64); 2] = [
        ("429", &|| "2".to_owned(), 2.0),
        ("503", &in_four_seconds, 1.5),
    ];
    for (status, header, at_least) in cases {
        let header = header();
        let busy = receiver_for(
            &server,
            &["room.client.knocked"],
            &["--status", status, "--retry-after", &header],
        )
        .await;
        knock_once(&server).await;
        until("asked again", Duration::from_secs(10), || async {
            busy.requests().len() >= 2
        })
        .await;
        let times: Vec<f64> = busy
            .requests()
            .iter()
            .map(|r| r["at"].as_f64().unwrap())
            .collect();
        let gap = times[1] - times[0];
        assert!(
            gap >= at_least,
            "{status} with Retry-After {header:?}: asked again after {gap:.2} s"
        );
    }
}

/// Deliveries that end together are all taken back at once: a retry whose attempt ended is never
/// left claimed while the worker is still counting it in flight (it used to wait out the claim, 11 s,
/// when the worker took back one finished attempt per scan and several ended at the same moment).
#[tokio::test]
async fn a_retry_is_not_held_up_by_deliveries_ending_with_it() {
    let server = Server::start_with(&["--webhook-retry-base-ms", "200"]).await;
    let mut others = Vec::new();
    for _ in 0..6 {
        others.push(receiver_for(&server, &["room.client.knocked"], &[]).await);
    }
    let busy = receiver_for(&server, &["room.client.knocked"], &["--status", "429"]).await;
    knock_once(&server).await;
    // Attempts at 0, 0.2 and 0.6 s; the deadline leaves a busy machine plenty and is still far
    // below the claim a stranded retry waits out.
    until("429 retried twice", Duration::from_secs(5), || async {
        busy.requests().len() >= 3
    })
    .await;
    for other in &others {
        assert_eq!(other.wait_for(1).await.len(), 1);
    }
}

/// A receiver answering slowly with a backlog of events does not keep another endpoint's event
/// waiting for a slot: it may hold at most three quarters of them (it used to hold all four here,
/// and the other endpoint's event waited some 8 s, behind the whole backlog).
#[tokio::test]
async fn a_slow_receivers_backlog_does_not_hold_up_another_endpoint() {
    let server = Server::start_with(&["--webhook-concurrency", "4"]).await;
    let slow = receiver_for(&server, &["room.client.knocked"], &["--sleep", "2"]).await;
    let fast = receiver_for(&server, &["room.client.joined"], &[]).await;
    // A knock in each of sixteen rooms: sixteen deliveries the slow receiver answers 2 s apart per
    // slot, all due at once (one room each, so the outbox may hand them all out).
    for _ in 0..16 {
        knock_once(&server).await;
    }
    assert!(fast.requests().is_empty(), "a knock is not a join");
    let room = locked_room(&server).await;
    let mut host = Ws::connect(&server).await;
    host.join(&room.name, Some(&room.host_key), "Host").await;
    let joined = std::time::Instant::now();
    fast.wait_for(1).await;
    let waited = joined.elapsed();
    assert!(
        waited < Duration::from_millis(1500),
        "the fast endpoint's event waited {waited:?} behind the slow one's backlog"
    );
    assert!(
        slow.requests().len() < 16,
        "the slow receiver's backlog was still there when the other event went"
    );
}

#[tokio::test]
async fn the_outbox_survives_kill_9_while_the_receiver_is_down() {
    let mut server = Server::start_with(&[
        "--webhook-retry-base-ms",
        "200",
        "--webhook-max-attempts",
        "50",
    ])
    .await;
    let port = free_port();
    let secret = add_endpoint(
        &server,
        &format!("http://127.0.0.1:{port}/hooks"),
        &["room.client.knocked"],
    )
    .await;
    // Nothing listens on the port: every attempt fails to connect.
    for _ in 0..5 {
        knock_once(&server).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    server.kill9().await;
    let receiver = Receiver::start(&secret, port, &[]).await;
    let _server = server.restart().await;
    let events = receiver.wait_for(5).await;
    assert_eq!(events.len(), 5);
    let ids: std::collections::HashSet<&str> =
        events.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 5, "five distinct events, none lost");
    assert!(
        receiver.requests().iter().all(|r| r["accepted"] == true),
        "none signed wrongly"
    );
}

/// A delivery that gets no answer says why (here, the connection refused), in the log and in its
/// record, and neither shows the password the endpoint's URL carries.
#[tokio::test]
async fn an_unanswered_delivery_says_why_without_the_urls_password() {
    let server = Server::start_with(&["--webhook-retry-base-ms", "60000"]).await;
    let port = free_port();
    add_endpoint(
        &server,
        &format!("http://hooks:s3cret@127.0.0.1:{port}/hooks"),
        &["room.client.knocked"],
    )
    .await;
    knock_once(&server).await;
    server
        .wait_for_log("webhook delivery failed; will retry")
        .await;
    let logs = server.logs();
    let line = logs
        .lines()
        .find(|line| line.contains("webhook delivery failed"))
        .expect("the line waited for");
    assert!(line.contains("Connection refused"), "{line}");
    assert!(
        line.contains(&format!("http://hooks:***@127.0.0.1:{port}/hooks")),
        "{line}"
    );
    assert!(!logs.contains("s3cret"), "{logs}");
    let recorded: Vec<(Option<String>,)> = crate::helpers::store_rows(
        server.data_dir.path(),
        "SELECT last_error FROM webhook_deliveries",
    )
    .await;
    let why = recorded[0]
        .0
        .clone()
        .expect("the attempt's error is recorded");
    assert!(why.contains("Connection refused"), "{why}");
    assert!(!why.contains("s3cret"), "{why}");
}

#[tokio::test]
async fn endpoints_are_managed_by_rest_and_cli() {
    let server = Server::start().await;
    let (status, created) = status_and_json(
        server
            .post("/v1/webhooks")
            .json(&json!({"url": "https://example.test/hook", "events": ["room.client.knocked"]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201);
    assert!(created["secret"].as_str().unwrap().starts_with("whsec_"));
    let id = created["id"].as_str().unwrap().to_owned();
    let (_, listed) = server.get_json("/v1/webhooks").await;
    assert_eq!(listed["results"][0]["url"], "https://example.test/hook");
    assert!(
        listed["results"][0].get("secret").is_none(),
        "the secret is shown only once"
    );
    let (status, one) = server.get_json(&format!("/v1/webhooks/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(one["events"], json!(["room.client.knocked"]));

    for (body, expected) in [
        (
            json!({"events": ["room.client.knocked"]}),
            "url is required",
        ),
        (
            json!({"url": "ftp://x", "events": ["room.client.knocked"]}),
            "must start with http",
        ),
        (
            json!({"url": "https://x.test", "events": ["room.exploded"]}),
            "unknown event type",
        ),
        (
            json!({"url": "https://x.test", "events": []}),
            "at least one",
        ),
        (json!({"url": "https://x.test"}), "events is required"),
    ] {
        let (status, error) = status_and_json(
            server
                .post("/v1/webhooks")
                .json(&body)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 400, "{body}");
        assert!(
            error["error"].as_str().unwrap().contains(expected),
            "{error}"
        );
    }
    assert_eq!(
        server
            .delete(&format!("/v1/webhooks/{id}"))
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    assert_eq!(
        server
            .delete(&format!("/v1/webhooks/{id}"))
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    let (status, _) = server.get_json(&format!("/v1/webhooks/{id}")).await;
    assert_eq!(status, 404);

    let dir = server.data_dir.path().to_str().unwrap().to_owned();
    let (ok, secret, _) = cli(&[
        "webhook",
        "add",
        "--data-dir",
        &dir,
        "--url",
        "http://127.0.0.1:9/x",
        "--events",
        "room.client.joined,room.client.left",
    ])
    .await;
    assert!(ok);
    assert!(
        secret.trim().starts_with("whsec_") && secret.lines().count() == 1,
        "the secret alone: {secret:?}"
    );
    let (ok, listing, _) = cli(&["webhook", "list", "--data-dir", &dir]).await;
    assert!(
        ok && listing.contains("http://127.0.0.1:9/x")
            && listing.contains("room.client.joined,room.client.left")
    );
    assert!(!listing.contains("whsec_"));
    let cli_id = listing
        .lines()
        .find(|l| l.contains("127.0.0.1:9"))
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    let (ok, _, _) = cli(&["webhook", "remove", "--data-dir", &dir, &cli_id]).await;
    assert!(ok);
    let (ok, _, stderr) = cli(&[
        "webhook",
        "add",
        "--data-dir",
        &dir,
        "--url",
        "http://x.test",
        "--events",
        "nope",
    ])
    .await;
    assert!(!ok && stderr.contains("unknown event type"));
}

/// A NUL character where a client may write (`metadata`, `externalId`, a host's message) is
/// refused, saying why: PostgreSQL's text takes none, and a batch of facts holding one was refused
/// whole, everyone's events in it lost. The same knock, written without it, is delivered.
#[tokio::test]
async fn a_nul_in_what_clients_write_is_refused_and_nothing_else_is_lost() {
    let server = Server::start().await;
    let receiver = receiver_for(
        &server,
        &["room.client.knocked", "room.client.knockHeld"],
        &[],
    )
    .await;
    let room = locked_room(&server).await;
    let mut host = Ws::connect(&server).await;
    host.join(&room.name, Some(&room.host_key), "Dr Host").await;
    let mut guest = Ws::connect(&server).await;
    for (field, value) in [("externalId", "p\u{0}7"), ("metadata", "m\u{0}1")] {
        let mut join = json!({"roomName": room.name, "displayName": "Pat", "externalId": "p7", "metadata": "m1"});
        join[field] = json!(value);
        guest.send("join_room", join).await;
        let error = guest.error().await;
        assert_eq!(error["code"], "invalid_payload");
        assert_eq!(
            error["message"],
            format!("{field} may not contain the NUL character (U+0000)")
        );
    }
    let (_guest, guest_id) = knocking(
        &server,
        json!({"roomName": room.name, "displayName": "Pat", "externalId": "p7", "metadata": "m1"}),
    )
    .await;
    host.send(
        "handle_knock",
        json!({"clientId": guest_id, "action": "hold", "message": "One\u{0} minute"}),
    )
    .await;
    assert_eq!(host.error().await["code"], "invalid_message");
    let (status, body) = status_and_json(
        server
            .post(&format!("/v1/rooms{}/knocks/{guest_id}", room.name))
            .json(&json!({"action": "hold", "message": "One\u{0} minute"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    host.send(
        "handle_knock",
        json!({"clientId": guest_id, "action": "hold", "message": "One minute"}),
    )
    .await;
    let events = receiver.wait_for(2).await;
    assert_eq!(events[0]["data"]["metadata"], "m1");
    assert_eq!(events[1]["data"]["message"], "One minute");
}

/// A guest who joins as `join` says (its name, `externalId`, `metadata`) and knocks: its
/// connection and client id.
async fn knocking(server: &Server, join: serde_json::Value) -> (Ws, String) {
    let mut guest = Ws::connect(server).await;
    guest.send("join_room", join).await;
    guest.recv_type("room_joined").await;
    guest.send("knock_room", json!({})).await;
    let id = guest.recv_type("knock_sent").await["clientId"]
        .as_str()
        .unwrap()
        .to_owned();
    (guest, id)
}

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
    let mut guest = Ws::connect(&server).await;
    guest.send("join_room", json!({"roomName": room.name, "displayName": "Pat", "externalId": "patient-7", "metadata": "m1"})).await;
    guest.recv_type("room_joined").await;
    guest.send("knock_room", json!({})).await;
    let guest_id = guest.recv_type("knock_sent").await["clientId"]
        .as_str()
        .unwrap()
        .to_owned();
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

/// A room's later events wait for its oldest's retry, whether queued before the retry was set or
/// after, and are not even due until then (so a claim's walk does not read a dead receiver's
/// backlog); another room's go at once. Then they follow in order.
#[tokio::test]
async fn a_rooms_later_events_wait_for_its_retry() {
    use anteroom::store::DeliveryOutcome;
    use chrono::{Duration as Span, Utc};

    let dir = tempfile::tempdir().unwrap();
    let store = crate::helpers::open_store(dir.path()).await;
    let endpoint = crate::helpers::queue_lock_events(&*store, &["/r", "/r", "/s"]).await;
    let claim = |at: chrono::DateTime<Utc>| {
        let store = store.clone();
        async move {
            let due = crate::helpers::claim_due(&*store, endpoint, at).await;
            due.into_iter()
                .map(|d| (d.id, d.room_name))
                .collect::<Vec<_>>()
        }
    };
    let now = Utc::now();
    let first = claim(now).await;
    let rooms: Vec<&str> = first.iter().map(|(_, room)| room.as_str()).collect();
    assert_eq!(rooms, ["/r", "/s"], "each room's oldest");
    let retry_at = now + Span::hours(1);
    let outcome = DeliveryOutcome::Retry {
        at: retry_at,
        error: "HTTP 503".into(),
    };
    crate::helpers::finish(&*store, first[0].0, 1, outcome, now).await;
    crate::helpers::finish(&*store, first[1].0, 1, DeliveryOutcome::Delivered, now).await;
    crate::helpers::record_lock_events(&*store, &["/r", "/s"]).await;

    let later = Utc::now() + Span::seconds(1);
    let second = claim(later).await;
    let rooms: Vec<&str> = second.iter().map(|(_, room)| room.as_str()).collect();
    assert_eq!(rooms, ["/s"], "/r's events wait for its retry");
    crate::helpers::finish(&*store, second[0].0, 1, DeliveryOutcome::Delivered, later).await;
    let pending: Vec<(String, i64)> = crate::helpers::store_rows(
        dir.path(),
        "SELECT room_name, next_attempt_ms FROM webhook_deliveries \
         WHERE status = 'pending' AND room_name = '/r' ORDER BY id",
    )
    .await;
    assert_eq!(pending.len(), 3);
    assert!(
        pending
            .iter()
            .all(|(_, next)| *next == retry_at.timestamp_millis()),
        "none of /r's is due before its retry: {pending:?}"
    );
    let live = store.live_endpoints(later).await.unwrap();
    assert_eq!(live.len(), 1);
    assert!(!live[0].has_due, "nothing to claim until the retry");
    assert!(store.live_endpoints(retry_at).await.unwrap()[0].has_due);

    let mut order = Vec::new();
    let mut at = retry_at + Span::seconds(1);
    while let [(id, room)] = claim(at).await.as_slice() {
        assert_eq!(room, "/r");
        order.push(*id);
        crate::helpers::finish(&*store, *id, 2, DeliveryOutcome::Delivered, at).await;
        at += Span::milliseconds(1);
    }
    assert_eq!(order.len(), 3, "all of /r's, one at a time");
    assert!(order.is_sorted(), "in the order they happened: {order:?}");
}

#[tokio::test]
async fn finished_deliveries_are_pruned_pending_ones_never() {
    use anteroom::store::DeliveryOutcome;
    use chrono::Utc;

    let dir = tempfile::tempdir().unwrap();
    let store = crate::helpers::open_store(dir.path()).await;
    let endpoint = crate::helpers::queue_lock_events(&*store, &["/r", "/r"]).await;
    // After the queueing: events are due from the moment they were recorded.
    let now = Utc::now();
    let due = crate::helpers::claim_due(&*store, endpoint, now).await;
    assert_eq!(due.len(), 1, "one at a time per endpoint and room");
    crate::helpers::finish(&*store, due[0].id, 1, DeliveryOutcome::Delivered, now).await;
    assert_eq!(
        store.prune_deliveries(now).await.unwrap(),
        0,
        "kept until the cutoff passes"
    );
    assert_eq!(
        store
            .prune_deliveries(now + chrono::Duration::seconds(1))
            .await
            .unwrap(),
        1
    );
    let counts = store.delivery_counts().await.unwrap();
    assert_eq!(
        (counts.pending, counts.delivered),
        (1, 0),
        "the pending one stays"
    );
    store.close().await;
}

/// A cluster's room keeps its facts with its state until they are written, so the room's next
/// owner may record a fact its dead node had written already: the store writes it once, with one
/// webhook delivery and one stay, on the batch statement and on the transaction with insights.
#[tokio::test]
async fn a_fact_recorded_again_under_its_id_is_written_once() {
    use anteroom::meeting::facts::{ClientCounts, FactClient, FactId, FactKind, RoomFact};
    use anteroom::meeting::{ClientId, MeetingId, Role, RoomName};
    use anteroom::store::RecordedFact;

    let dir = tempfile::tempdir().unwrap();
    let store = crate::helpers::open_store(dir.path()).await;
    let now = chrono::Utc::now();
    store
        .create_webhook(
            "http://127.0.0.1:9/hook",
            &[
                "room.client.knocked".to_owned(),
                "room.client.joined".to_owned(),
            ],
            "secret",
            now,
        )
        .await
        .unwrap();
    let fact = |kind, client: &str, id: &FactId| RecordedFact {
        fact: RoomFact {
            kind,
            at: now,
            meeting_id: MeetingId(1),
            room_name: RoomName::parse("/r").unwrap(),
            room_session_id: None,
            client: Some(FactClient {
                client_id: ClientId::new(client),
                role: (kind == FactKind::Joined).then_some(Role::Host),
                display_name: client.to_owned(),
                external_id: None,
                metadata: None,
                user_agent: None,
            }),
            message: None,
            decided_by: None,
            counts: ClientCounts::default(),
        },
        id: Some(id.clone()),
        webhook_body: "{}".into(),
    };
    let (knock, ann, ben) = (FactId::new(), FactId::new(), FactId::new());
    let batches = [
        vec![
            fact(FactKind::Knocked, "kim", &knock),
            fact(FactKind::Joined, "ann", &ann),
        ],
        vec![
            fact(FactKind::Knocked, "kim", &knock),
            fact(FactKind::Joined, "ann", &ann),
            fact(FactKind::Joined, "ben", &ben),
        ],
        // Knocks alone: the store's one-statement path.
        vec![fact(FactKind::Knocked, "kim", &knock)],
    ];
    for batch in &batches {
        store.record_facts(batch).await.unwrap();
    }
    let counts = store.delivery_counts().await.unwrap();
    store.close().await;
    assert_eq!(counts.pending, 3, "one delivery for each fact");
    let events: Vec<(String, String)> = crate::helpers::store_rows(
        dir.path(),
        "SELECT kind, client_id FROM room_events ORDER BY id",
    )
    .await;
    let events: Vec<(&str, &str)> = events.iter().map(|(k, c)| (&k[..], &c[..])).collect();
    assert_eq!(
        events,
        [
            ("room.client.knocked", "kim"),
            ("room.client.joined", "ann"),
            ("room.client.joined", "ben")
        ]
    );
    let stays: Vec<(String,)> = crate::helpers::store_rows(
        dir.path(),
        "SELECT client_id FROM participations ORDER BY client_id",
    )
    .await;
    assert_eq!(stays, [("ann".to_owned(),), ("ben".to_owned(),)]);
}

/// PostgreSQL plans the claim from the outbox's statistics, which autovacuum renews a minute apart
/// at best. Here they were taken when nothing was pending; then 6,000 deliveries of 100 rooms came
/// in one batch: the store renews them, and a claim reads what it takes, not the endpoint's whole
/// backlog for each row it walks (36,000 buffers here without the renewal; in the cluster bench,
/// 265 ms a claim and deliveries down to about 100 a second). Both engines claim each room's
/// oldest, earliest first.
#[tokio::test]
async fn a_claim_reads_what_it_takes_over_a_backlog_the_statistics_do_not_know() {
    use anteroom::store::PostgresStore;
    use chrono::Utc;

    let dir = tempfile::tempdir().unwrap();
    let store = crate::helpers::open_store(dir.path()).await;
    let endpoint = crate::helpers::queue_lock_events(&*store, &["/old"; 50]).await;
    if crate::helpers::on_postgres() {
        crate::helpers::store_execute(
            dir.path(),
            "ALTER TABLE webhook_deliveries SET (autovacuum_enabled = false)",
        )
        .await;
    }
    crate::helpers::store_execute(
        dir.path(),
        "UPDATE webhook_deliveries SET status = 'delivered'",
    )
    .await;
    crate::helpers::store_execute(dir.path(), "ANALYZE webhook_deliveries").await;
    let rooms: Vec<String> = (0..6000).map(|i| format!("/room-{}", i % 100)).collect();
    let rooms: Vec<&str> = rooms.iter().map(String::as_str).collect();
    crate::helpers::record_lock_events(&*store, &rooms).await;
    let now = Utc::now();

    if crate::helpers::on_postgres() {
        use sqlx::Connection;
        let url = crate::helpers::store_url(dir.path()).await;
        let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
        let mut tx = conn.begin().await.unwrap();
        let explain = format!(
            "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {}",
            PostgresStore::CLAIM
        );
        let (plan,): (serde_json::Value,) = sqlx::query_as(sqlx::AssertSqlSafe(explain))
            .bind(now.timestamp_millis())
            .bind(32i64)
            .bind("test")
            .bind(now.timestamp_millis() + 60_000)
            .bind(endpoint)
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        tx.rollback().await.unwrap();
        let top = &plan[0]["Plan"];
        let buffers = top["Shared Hit Blocks"].as_u64().unwrap()
            + top["Shared Read Blocks"].as_u64().unwrap();
        assert_eq!(top["Actual Rows"], 32, "{plan:#}");
        assert!(
            buffers < 1000,
            "a claim of 32 read {buffers} buffers: {plan:#}"
        );
    }

    let due = store
        .claim_deliveries(
            endpoint,
            now,
            32,
            "test",
            now + chrono::Duration::minutes(1),
        )
        .await
        .unwrap();
    let claimed: Vec<String> = due.iter().map(|d| d.room_name.clone()).collect();
    let first_rooms: Vec<String> = (0..32).map(|i| format!("/room-{i}")).collect();
    assert_eq!(claimed, first_rooms, "each room's oldest, earliest first");
    store.close().await;
}

/// The worker records the outcomes of the attempts that ended together: delivered and given-up
/// ones in one statement, retries each with its wait. Each gets its own attempts and error, its
/// claim is released, and a delivery already finished is left as it is.
#[tokio::test]
async fn outcomes_recorded_together_each_keep_their_own() {
    use anteroom::store::{DeliveryOutcome, FinishedAttempt};
    use chrono::{Duration as Span, Utc};

    let dir = tempfile::tempdir().unwrap();
    let store = crate::helpers::open_store(dir.path()).await;
    let endpoint = crate::helpers::queue_lock_events(&*store, &["/a", "/b", "/c", "/d"]).await;
    let now = Utc::now();
    let due = crate::helpers::claim_due(&*store, endpoint, now).await;
    let ids: Vec<i64> = due.iter().map(|d| d.id).collect();
    assert_eq!(ids.len(), 4);
    crate::helpers::finish(&*store, ids[3], 1, DeliveryOutcome::Delivered, now).await;
    let retry_at = now + Span::minutes(5);
    let finished = [
        (ids[0], 1, DeliveryOutcome::Delivered),
        (
            ids[1],
            3,
            DeliveryOutcome::Failed {
                error: "HTTP 410 Gone".into(),
            },
        ),
        (
            ids[2],
            2,
            DeliveryOutcome::Retry {
                at: retry_at,
                error: "HTTP 503".into(),
            },
        ),
        // Finished already: a late second outcome changes nothing.
        (
            ids[3],
            9,
            DeliveryOutcome::Failed {
                error: "late".into(),
            },
        ),
    ]
    .map(|(id, attempts, outcome)| FinishedAttempt {
        id,
        attempts,
        outcome,
    });
    store.finish_deliveries(&finished, now).await.unwrap();

    /// room, status, attempts, last error, next attempt, claimed by
    type Row = (String, String, i64, Option<String>, i64, Option<String>);
    let rows: Vec<Row> = crate::helpers::store_rows(
        dir.path(),
        "SELECT room_name, status, attempts, last_error, next_attempt_ms, claimed_by \
             FROM webhook_deliveries ORDER BY id",
    )
    .await;
    // The four were recorded together: a delivery done keeps the time it was first due.
    let recorded = rows[0].4;
    assert!(recorded <= now.timestamp_millis());
    assert_eq!(
        rows,
        [
            ("/a".into(), "delivered".into(), 1, None, recorded, None),
            (
                "/b".into(),
                "failed".into(),
                3,
                Some("HTTP 410 Gone".into()),
                recorded,
                None
            ),
            (
                "/c".into(),
                "pending".into(),
                2,
                Some("HTTP 503".into()),
                retry_at.timestamp_millis(),
                None
            ),
            ("/d".into(), "delivered".into(), 1, None, recorded, None),
        ]
    );
    let counts = store.delivery_counts().await.unwrap();
    assert_eq!((counts.pending, counts.delivered, counts.failed), (1, 2, 1));
    store.close().await;
}

//! The webhook outbox as the store keeps it: a room's events in order behind its retry, pruning,
//! a fact recorded once, the claim's plan over a backlog, outcomes recorded together.

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
            why: None,
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

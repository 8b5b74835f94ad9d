//! A cluster's room speaks once its state is kept in Redis, without waiting for PostgreSQL: the
//! facts of a change are kept with the state until they are written. Here PostgreSQL holds every
//! write to the event log (a table lock) and the room's node dies before its writes are done: the
//! facts are recorded by whichever node carries the room on, once.

use std::time::{Duration, Instant};

use anteroom::meeting::RoomName;
use serde_json::json;
use sqlx::Connection;

use crate::failover::host_comes_back;
use crate::helpers::{knock_and_cancel, metric, metric_if_any, until};
use crate::{Cluster, fact_kinds, host, knocker, recorded, until_recorded};

/// Backends of the cluster's database waiting for a lock (the nodes' writes, held).
const WAITING: &str = "SELECT pid FROM pg_stat_activity WHERE datname = current_database() \
     AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'";

/// How long a live node may take to write a fact (a write gap, and some).
const WRITTEN_WITHIN: Duration = Duration::from_secs(10);

/// A lock on the event log, taken from the test: every write of a fact waits for it.
struct HeldEventLog(sqlx::PgConnection);

impl HeldEventLog {
    async fn take(cluster: &Cluster) -> HeldEventLog {
        let mut lock = sqlx::PgConnection::connect(&cluster.database_url)
            .await
            .unwrap();
        sqlx::query("BEGIN").execute(&mut lock).await.unwrap();
        sqlx::query("LOCK TABLE room_events IN EXCLUSIVE MODE")
            .execute(&mut lock)
            .await
            .unwrap();
        HeldEventLog(lock)
    }

    /// The backends waiting for the lock.
    async fn waiting(&mut self) -> Vec<i32> {
        sqlx::query_scalar(WAITING)
            .fetch_all(&mut self.0)
            .await
            .unwrap()
    }

    /// Until a node's write reaches PostgreSQL and waits for the lock.
    async fn until_a_write_waits(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.waiting().await.is_empty() {
            assert!(Instant::now() < deadline, "no write reached PostgreSQL");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The writes still waiting (a dead node's) go, and the lock with them.
    async fn release_ending_waiting_writes(mut self) {
        let waiting = self.waiting().await;
        assert!(!waiting.is_empty(), "no write was held by the lock");
        sqlx::query("SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid")
            .bind(waiting)
            .execute(&mut self.0)
            .await
            .unwrap();
        sqlx::query("ROLLBACK").execute(&mut self.0).await.unwrap();
    }
}

#[tokio::test]
async fn a_knock_its_dead_node_never_wrote_is_recorded_by_the_rooms_next_owner() {
    let mut cluster = Cluster::start_with(2, &["--room-lease-ms", "1500"]).await;
    let room = cluster.room(json!({"isLocked": true})).await;
    let (mut host_ws, joined) = host(cluster.node(0), &room, "Dr Lee").await;
    let host_token = joined["resumeToken"].as_str().unwrap().to_owned();
    let host_id = joined["selfId"].as_str().unwrap().to_owned();
    // The host's join is written first, so that only the knock waits for the lock.
    until_recorded(
        &cluster,
        "room.client.joined",
        &host_id,
        Duration::from_secs(10),
    )
    .await;
    let mut lock = HeldEventLog::take(&cluster).await;

    let (_kim, kim_id, _) = knocker(cluster.node(0), &room, "Kim").await;
    let knocked = tokio::time::timeout(Duration::from_secs(5), host_ws.recv_type("room_knocked"))
        .await
        .expect("the host hears the knock while PostgreSQL holds its write");
    assert_eq!(knocked["clientId"], kim_id.as_str());
    lock.until_a_write_waits().await;
    assert!(metric(cluster.node(0), "anteroom_facts_waiting").await >= 1.0);
    cluster.kill9(0).await;
    lock.release_ending_waiting_writes().await;
    assert_eq!(recorded(&cluster, "room.client.knocked", &kim_id).await, 0);

    // The host comes back through the other node, which takes the room with its kept state.
    let (mut host_ws, _) = host_comes_back(cluster.node(1), &room, &host_token).await;
    until_recorded(&cluster, "room.client.knocked", &kim_id, WRITTEN_WITHIN).await;
    // Kept until its writing is confirmed, then no more: recorded once, whatever is kept after.
    host_ws.send("set_lock", json!({"locked": false})).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(recorded(&cluster, "room.client.knocked", &kim_id).await, 1);
    assert_eq!(metric(cluster.node(1), "anteroom_facts_waiting").await, 0.0);
}

/// A room that empties forgets its kept state only once its facts are written: here its node dies
/// first, and the node that adopts the room (nobody comes back to it) records them.
#[tokio::test]
async fn an_emptied_rooms_unwritten_facts_outlive_its_node() {
    let mut cluster = Cluster::start_with(2, &["--room-lease-ms", "1500"]).await;
    let room = cluster.room(json!({"isLocked": true})).await;
    let mut lock = HeldEventLog::take(&cluster).await;
    let (mut host_ws, joined) = host(cluster.node(0), &room, "Dr Lee").await;
    let host_id = joined["selfId"].as_str().unwrap().to_owned();
    host_ws.send("leave_room", json!({})).await;
    lock.until_a_write_waits().await;
    // Time for the emptied room to be forgotten, were it not waiting for its facts.
    tokio::time::sleep(Duration::from_millis(300)).await;
    cluster.kill9(0).await;
    lock.release_ending_waiting_writes().await;
    assert_eq!(recorded(&cluster, "room.client.joined", &host_id).await, 0);

    for kind in ["room.client.joined", "room.client.left"] {
        until_recorded(&cluster, kind, &host_id, Duration::from_secs(15)).await;
        assert_eq!(recorded(&cluster, kind, &host_id).await, 1);
    }
}

/// A node's writes of facts start at least 50 ms apart (`recorder::write_gap`), so that what its
/// rooms say meanwhile shares a statement: PostgreSQL's CPU goes to statements more than to rows.
#[tokio::test]
async fn a_nodes_writes_of_facts_are_spaced() {
    let cluster = Cluster::start(1).await;
    let room = cluster.room(json!({"isLocked": true})).await;
    let node = cluster.node(0);
    let (mut host_ws, _) = host(node, &room, "Dr Lee").await;
    let (mut pat, _, _) = knocker(node, &room, "Pat").await;
    host_ws.recv_type("room_knocked").await;
    pat.send("cancel_room_knock", json!({})).await;
    host_ws.recv_type("knocker_left").await;
    let name = "anteroom_store_write_seconds_count";
    // The facts so far (the host's join, the first knock and its cancel) are written a moment
    // later: the count starts from that write, not from before it.
    until(
        "the first write of facts",
        Duration::from_secs(5),
        || async { metric_if_any(node, name).await.is_some() },
    )
    .await;
    let writes = || metric(node, name);
    let before = writes().await;
    let started = Instant::now();
    // Two facts (a knock, its cancel) every 25 ms or so, 20 times (the address's knock limit
    // allows 30 a minute).
    for _ in 0..20 {
        knock_and_cancel(&mut pat, &mut host_ws, 1).await;
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let elapsed = started.elapsed().as_millis() as f64;
    let written = writes().await - before;
    // One write may have begun before `started`, and one be under way.
    let most = (elapsed / 50.0).floor() + 2.0;
    assert!(
        (1.0..=most).contains(&written),
        "{written} writes in {elapsed} ms, at most {most} expected"
    );
}

/// A room whose kept state its next owner cannot read (another version's, say, during an upgrade)
/// starts afresh there; what it had open is closed then, with its events, so that webhooks and
/// insights hear the end of the host's stay, the knock and the session.
#[tokio::test]
async fn what_a_room_whose_state_is_lost_left_open_is_closed() {
    let mut cluster = Cluster::start_with(2, &["--room-lease-ms", "1500"]).await;
    let room = cluster.room(json!({"isLocked": true})).await;
    let (_host_ws, joined) = host(cluster.node(0), &room, "Dr Lee").await;
    let host_id = joined["selfId"].as_str().unwrap().to_owned();
    // A second member: the room's session starts.
    let (_ray_ws, joined) = host(cluster.node(0), &room, "Dr Ray").await;
    let ray_id = joined["selfId"].as_str().unwrap().to_owned();
    let (_kim, kim_id, _) = knocker(cluster.node(0), &room, "Kim").await;
    until_recorded(&cluster, "room.client.knocked", &kim_id, WRITTEN_WITHIN).await;
    let started = fact_kinds(&cluster).await;
    assert!(
        started
            .iter()
            .any(|(kind, _)| kind == "room.session.started"),
        "{started:?}"
    );
    cluster.kill9(0).await;
    let client = redis::Client::open(cluster.redis.url.as_str()).expect("a Redis URL");
    let mut redis = client
        .get_multiplexed_async_connection()
        .await
        .expect("Redis answers");
    let () = redis::cmd("SET")
        .arg(anteroom::cluster::state_key(
            &RoomName::parse(&room.name).expect("the test room's name"),
        ))
        .arg(r#"{"a":"state of another version"}"#)
        .query_async(&mut redis)
        .await
        .expect("SET");

    // Nobody comes back: node 1 adopts the room a lease later, and cannot carry it on.
    for (kind, client) in [
        ("room.client.knockCancelled", &kim_id),
        ("room.client.left", &host_id),
        ("room.client.left", &ray_id),
    ] {
        until_recorded(&cluster, kind, client, Duration::from_secs(15)).await;
        assert_eq!(recorded(&cluster, kind, client).await, 1);
    }
    let facts = fact_kinds(&cluster).await;
    let ended = facts
        .iter()
        .filter(|(kind, _)| kind == "room.session.ended")
        .count();
    assert_eq!(ended, 1, "{facts:?}");
    // Insights: no stay and no session left open.
    let mut db = sqlx::PgConnection::connect(&cluster.database_url)
        .await
        .unwrap();
    for open in [
        "SELECT COUNT(*) FROM participations WHERE left_ms IS NULL",
        "SELECT COUNT(*) FROM room_sessions WHERE ended_ms IS NULL",
    ] {
        let count: i64 = sqlx::query_scalar(open).fetch_one(&mut db).await.unwrap();
        assert_eq!(count, 0, "{open}");
    }
}

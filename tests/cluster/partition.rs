//! A network that stops carrying a node's packets to PostgreSQL without closing anything (a
//! failover behind a virtual address, a firewall that drops rather than refuses): nothing fails,
//! it hangs. The node says so, answers its REST requests in bounded time, and its rooms go on.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::helpers::{LATER, Server, status_and_json, until};
use crate::{Redis, host, knocker};

/// A TCP relay to PostgreSQL that can stop carrying bytes (both ways) while keeping every
/// connection open, and carry them again.
struct Partition {
    port: u16,
    cut: Arc<AtomicBool>,
}

impl Partition {
    async fn to(upstream: u16) -> Partition {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let cut = Arc::new(AtomicBool::new(false));
        let flag = cut.clone();
        tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                let Ok(outbound) = TcpStream::connect(("127.0.0.1", upstream)).await else {
                    continue;
                };
                let (in_read, in_write) = inbound.into_split();
                let (out_read, out_write) = outbound.into_split();
                tokio::spawn(carry(in_read, out_write, flag.clone()));
                tokio::spawn(carry(out_read, in_write, flag.clone()));
            }
        });
        Partition { port, cut }
    }

    fn cut(&self, on: bool) {
        self.cut.store(on, Ordering::SeqCst);
    }
}

/// Copies `from` to `to`, holding what it read while the network is cut.
async fn carry(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    cut: Arc<AtomicBool>,
) {
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        let Ok(n) = from.read(&mut buffer).await else {
            return;
        };
        if n == 0 {
            return;
        }
        while cut.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if to.write_all(&buffer[..n]).await.is_err() {
            return;
        }
    }
}

#[tokio::test]
async fn a_node_cut_off_from_postgres_says_so_answers_and_carries_its_rooms_on() {
    let redis = Redis::start().await;
    let data_dir = Arc::new(tempfile::tempdir().unwrap());
    let direct = crate::helpers::postgres_database(data_dir.path()).await;
    let port: u16 = url::Url::parse(&direct).unwrap().port().unwrap();
    let partition = Partition::to(port).await;
    let relayed = direct.replace(&format!(":{port}/"), &format!(":{}/", partition.port));
    let (ok, stdout, stderr) = crate::cli(&["api-key", "create", "--database-url", &relayed]).await;
    assert!(ok, "{stderr}");
    let key = stdout.trim().to_owned();
    let node = Server::spawn(
        data_dir,
        key,
        &["--database-url", &relayed, "--redis-url", &redis.url],
        &[],
    )
    .await;
    let meeting = node
        .create_meeting(json!({"isLocked": true, "endDate": LATER, "fields": ["hostRoomUrl"]}))
        .await;
    let room = crate::TestRoom {
        name: meeting["roomName"].as_str().unwrap().to_owned(),
        host_key: crate::room_key(meeting["hostRoomUrl"].as_str().unwrap()),
        meeting,
    };
    let (mut host_ws, _) = host(&node, &room, "Dr Lee").await;

    // A meeting nobody has opened yet: its room needs the store to open.
    let unopened = node
        .create_meeting(json!({"isLocked": true, "endDate": LATER}))
        .await;
    partition.cut(true);
    // A knock still reaches the host: the room runs in the node (its state kept in Redis).
    let (_pat, pat_id, _) = knocker(&node, &room, "Pat").await;
    tokio::time::timeout(Duration::from_secs(2), host_ws.recv_type("room_knocked"))
        .await
        .expect("the knock reaches the host at once");
    // A room that cannot be opened without the store: the page is told to come back shortly (as
    // from a restart), not that something went wrong; it reconnects, and joins once it can.
    let mut late = crate::ws::Ws::connect(&node).await;
    late.send(
        "join_room",
        json!({"roomName": unopened["roomName"], "displayName": "Late"}),
    )
    .await;
    // (Reading the meeting waits for a connection to the store: 10 s.)
    until(
        "the room refused for now",
        Duration::from_secs(15),
        || async {
            node.logs()
                .contains("cannot open a room: the store is unavailable")
        },
    )
    .await;
    let refused = late.error().await;
    assert_eq!(refused["code"], "server_shutting_down", "{refused}");
    assert!(matches!(late.closed().await, crate::ws::Closed::Frame(_)));
    // A request that needs the store is answered, in bounded time, as one to try again.
    let asked = std::time::Instant::now();
    let refused = tokio::time::timeout(
        Duration::from_secs(20),
        node.post("/v1/meetings")
            .json(&json!({"endDate": LATER}))
            .send(),
    )
    .await
    .expect("answered while the store answers nothing")
    .unwrap();
    assert_eq!(refused.headers()["retry-after"], "5");
    let (status, body) = status_and_json(refused).await;
    assert_eq!(status, 503, "{body} after {:?}", asked.elapsed());
    // The heartbeat's write hangs: the probe says so rather than ok.
    let (status, health) = node.get_json("/healthz").await;
    assert_eq!(status, 503, "{health}");
    assert!(
        health["store"]
            .as_str()
            .unwrap()
            .contains("a write has waited"),
        "{health}"
    );

    partition.cut(false);
    until(
        "the node takes writes again",
        Duration::from_secs(10),
        || async { node.get_json("/healthz").await.0 == 200 },
    )
    .await;
    node.create_meeting(json!({"endDate": LATER})).await;
    // And what happened while it was cut off is recorded.
    until("the knock recorded", Duration::from_secs(10), || async {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&direct).await.unwrap();
        let knocks: Vec<(String,)> =
            sqlx::query_as("SELECT kind FROM room_events WHERE client_id = $1")
                .bind(&pat_id)
                .fetch_all(&mut conn)
                .await
                .unwrap();
        !knocks.is_empty()
    })
    .await;
}

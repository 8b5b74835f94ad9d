//! A node keeps its rooms' leases, all of them in one Redis call a pass, and lets go of exactly
//! the rooms whose lease another holder has.

use std::time::Duration;

use serde_json::json;

use crate::helpers::{live_rooms, until};
use crate::{Cluster, host};

const LEASE: Duration = Duration::from_millis(1000);

#[tokio::test]
async fn a_node_keeps_every_rooms_lease_and_gives_up_only_the_one_it_lost() {
    let cluster = Cluster::start_with(2, &["--room-lease-ms", "1000"]).await;
    let mut rooms = Vec::new();
    let mut hosts = Vec::new();
    for _ in 0..3 {
        let room = cluster.room(json!({"isLocked": true})).await;
        hosts.push(host(cluster.node(0), &room, "Dr Lee").await.0);
        rooms.push(room);
    }
    assert_eq!(live_rooms(cluster.node(0)).await, 3);

    // Three leases on: had any lease not been renewed, node 1 would have found its room orphaned
    // and taken it, and node 0 would have let it go.
    tokio::time::sleep(3 * LEASE).await;
    assert_eq!(live_rooms(cluster.node(0)).await, 3, "node 0 let a room go");
    assert_eq!(
        live_rooms(cluster.node(1)).await,
        0,
        "node 1 took a room over"
    );

    // Another holder has the second room's lease (as a node that took it while this one was
    // away would): node 0 gives that room up at its next pass, and only that one.
    let client = redis::Client::open(cluster.redis.url.as_str()).expect("a Redis URL");
    let mut redis = client
        .get_multiplexed_async_connection()
        .await
        .expect("Redis answers");
    let stolen = anteroom::cluster::lease_key(
        &anteroom::meeting::RoomName::parse(&rooms[1].name).expect("the test room's name"),
    );
    let () = redis::cmd("SET")
        .arg(&stolen)
        .arg("another-node http://127.0.0.1:9")
        .arg("PX")
        .arg(60_000)
        .query_async(&mut redis)
        .await
        .expect("SET");
    until("node 0 runs 2 rooms", 2 * LEASE, || async {
        live_rooms(cluster.node(0)).await == 2
    })
    .await;
    // It was that room its host was sent away from.
    hosts[1].closed().await;
    tokio::time::sleep(LEASE).await;
    assert_eq!(
        live_rooms(cluster.node(0)).await,
        2,
        "node 0 gave up another room"
    );
    for kept in [0, 2] {
        hosts[kept].expect_silence(100).await;
    }
    let holder: String = redis::cmd("GET")
        .arg(&stolen)
        .query_async(&mut redis)
        .await
        .expect("GET");
    assert_eq!(holder, "another-node http://127.0.0.1:9");
}

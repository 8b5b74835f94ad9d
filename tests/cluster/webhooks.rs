//! Webhooks from a cluster: every node delivers from the one outbox, each event once, in order per
//! room; a node killed while delivering (its receiver slow) loses none of its events.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{Value, json};

use crate::receiver::{Receiver, add_endpoint, free_port};
use crate::{Cluster, host, knocker};

/// Knocks on a room run by each node, a few times each; returns how many events that makes.
async fn knock_on_every_node(cluster: &Cluster, rounds: usize) -> usize {
    let mut events = 0;
    for node in 0..cluster.nodes.len() {
        if cluster.nodes[node].is_none() {
            continue;
        }
        let room = cluster.room(json!({"isLocked": true})).await;
        let (mut hosts, _) = host(cluster.node(node), &room, "Host").await;
        for round in 0..rounds {
            // Each guest through another node than the room's, when there is one.
            let others = cluster.nodes.len();
            let through = (1..others)
                .map(|step| (node + step) % others)
                .find(|n| cluster.nodes[*n].is_some())
                .unwrap_or(node);
            let (mut ws, _, _) =
                knocker(cluster.node(through), &room, &format!("G{node}-{round}")).await;
            hosts.recv_type("room_knocked").await;
            ws.send("cancel_room_knock", json!({})).await;
            // Cancelled once the host hears so.
            hosts.recv_type("knocker_left").await;
            events += 2;
        }
    }
    events
}

/// The events a receiver accepted, by id; panics on one accepted twice.
fn by_id(accepted: &[Value]) -> HashMap<String, Value> {
    let mut seen = HashMap::new();
    for event in accepted {
        let id = event["id"].as_str().unwrap().to_owned();
        assert!(
            seen.insert(id.clone(), event.clone()).is_none(),
            "event {id} delivered twice"
        );
    }
    seen
}

#[tokio::test]
async fn every_event_once_from_every_node() {
    let cluster = Cluster::start(3).await;
    let port = free_port();
    let secret = add_endpoint(
        cluster.node(0),
        &format!("http://127.0.0.1:{port}/hooks"),
        &["room.client.knocked", "room.client.knockCancelled"],
    )
    .await;
    let receiver = Receiver::start(&secret, port, &[]).await;
    let expected = knock_on_every_node(&cluster, 4).await;
    let accepted = receiver.wait_for(expected).await;
    // None twice; and per room, in the order they happened (each knock before its cancel).
    let events = by_id(&accepted);
    assert_eq!(events.len(), expected);
    let mut last_of: HashMap<String, String> = HashMap::new();
    for event in &accepted {
        let room = event["data"]["roomName"].as_str().unwrap().to_owned();
        let kind = event["type"].as_str().unwrap().to_owned();
        if let Some(previous) = last_of.insert(room.clone(), kind.clone()) {
            assert_ne!(previous, kind, "{room}: two {kind} in a row");
        }
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(receiver.accepted().len(), expected, "nothing more arrives");
}

#[tokio::test]
async fn a_node_killed_while_delivering_loses_no_event() {
    // Short attempts, so that claims a dead node held run out soon (a claim lasts two attempts
    // and a second).
    let mut cluster = Cluster::start_with(3, &["--webhook-timeout-secs", "1"]).await;
    let port = free_port();
    let secret = add_endpoint(
        cluster.node(0),
        &format!("http://127.0.0.1:{port}/hooks"),
        &["room.client.knocked", "room.client.knockCancelled"],
    )
    .await;
    // A slow receiver: every node is mid-delivery most of the time.
    let receiver = Receiver::start(&secret, port, &["--sleep", "0.4"]).await;
    let expected = knock_on_every_node(&cluster, 2).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    cluster.kill9(0).await;
    // Every event arrives, at least once (one the dead node was delivering may come twice).
    let mut distinct = 0;
    for _ in 0..300 {
        let ids: std::collections::HashSet<String> = receiver
            .accepted()
            .iter()
            .map(|e| e["id"].as_str().unwrap().to_owned())
            .collect();
        distinct = ids.len();
        if distinct == expected {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(distinct, expected, "every event arrives");
}

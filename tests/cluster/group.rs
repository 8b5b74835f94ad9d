//! A group room's media server is its node's: someone who reaches the room through another node
//! is bridged there for signalling only, and negotiates with, and sends media straight to, the
//! room's node.

use serde_json::json;

use crate::helpers::metric;
use crate::media_client::{attribute, negotiate};
use crate::{Cluster, host};

#[tokio::test]
async fn a_group_rooms_media_runs_on_its_node_whichever_node_its_people_reach() {
    let cluster = Cluster::start(2).await;
    let room = cluster
        .room(json!({"isLocked": true, "roomMode": "group"}))
        .await;
    // The first host's node takes the room; the second host reaches it through the other node.
    let (mut direct, _) = host(cluster.node(0), &room, "Dr Lee").await;
    let (mut bridged, _) = host(cluster.node(1), &room, "Dr Kay").await;
    assert_eq!(
        metric(cluster.node(1), "anteroom_bridged_connections_total").await,
        1.0
    );

    // Each connects to a media server (`negotiate` waits for ICE and DTLS): the same one, the
    // room's node's.
    let (_direct_media, direct_answer) = negotiate(&mut direct).await;
    let (_bridged_media, bridged_answer) = negotiate(&mut bridged).await;
    let address = |answer: &str| -> String {
        // "foundation component transport priority address port typ host ...".
        let candidate: Vec<&str> = attribute(answer, "a=candidate:").split(' ').collect();
        format!("{}:{}", candidate[4], candidate[5])
    };
    assert_eq!(address(&direct_answer), address(&bridged_answer));
    assert_eq!(
        metric(cluster.node(0), "anteroom_media_transports").await,
        2.0
    );
    assert_eq!(
        metric(cluster.node(1), "anteroom_media_transports").await,
        0.0
    );
}

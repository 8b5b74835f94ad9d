//! Cluster tests: three real nodes on one PostgreSQL database and one Redis of their own (started
//! per test), on loopback ports, talking to each other and to test clients over real sockets.
//! `scripts/test.sh` starts the PostgreSQL server (`ANTEROOM_TEST_POSTGRES_URL`).

#[path = "../it/helpers.rs"]
#[allow(dead_code)]
mod helpers;
#[path = "../it/media_client.rs"]
mod media_client;
#[path = "../it/receiver.rs"]
#[allow(dead_code)]
mod receiver;
#[path = "../it/ws.rs"]
#[allow(dead_code)]
mod ws;

mod failover;
mod group;
mod kept_facts;
mod leases;
mod partition;
mod rooms;
mod webhooks;

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::process::{Child, Command};

use helpers::{LATER, Server, cli, room_key};
use ws::Ws;

/// A Redis server of the test's own, gone with it; persistent (an append-only file), as
/// docs/deployment.md asks for a cluster's Redis, so that it can be restarted.
pub struct Redis {
    child: Option<Child>,
    port: u16,
    dir: TempDir,
    pub url: String,
}

impl Redis {
    pub async fn start() -> Redis {
        let port = free_port();
        let dir = tempfile::tempdir().unwrap();
        let mut redis = Redis {
            child: None,
            port,
            dir,
            url: format!("redis://127.0.0.1:{port}"),
        };
        redis.run().await;
        redis
    }

    async fn run(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "yes"])
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("redis-server runs (Debian package redis-server)");
        self.child = Some(child);
        for _ in 0..250 {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_ok()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("redis-server did not start on {}", self.port);
    }

    /// Stops it as a service manager would (SIGTERM: it writes what it holds and exits).
    pub async fn stop(&mut self) {
        let mut child = self.child.take().expect("Redis runs");
        let pid = child.id().expect("a running child has a pid");
        let _ = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .await;
        let _ = child.wait().await;
    }

    /// Starts it again on the same port, with what it held.
    pub async fn restart(&mut self) {
        self.run().await;
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Nodes of one cluster.
pub struct Cluster {
    pub nodes: Vec<Option<Server>>,
    pub redis: Redis,
    pub data_dir: Arc<TempDir>,
    pub database_url: String,
    pub key: String,
    extra: Vec<String>,
}

impl Cluster {
    pub async fn start(nodes: usize) -> Cluster {
        Cluster::start_with(nodes, &[]).await
    }

    pub async fn start_with(nodes: usize, extra: &[&str]) -> Cluster {
        let redis = Redis::start().await;
        let data_dir = Arc::new(tempfile::tempdir().unwrap());
        let database_url = helpers::postgres_database(data_dir.path()).await;
        let (ok, stdout, stderr) =
            cli(&["api-key", "create", "--database-url", &database_url]).await;
        assert!(ok, "api-key create: {stderr}");
        let mut cluster = Cluster {
            nodes: Vec::new(),
            redis,
            data_dir,
            database_url,
            key: stdout.trim().to_owned(),
            extra: extra.iter().map(|s| s.to_string()).collect(),
        };
        for _ in 0..nodes {
            let node = cluster.spawn_node().await;
            cluster.nodes.push(Some(node));
        }
        cluster
    }

    async fn spawn_node(&self) -> Server {
        let mut args: Vec<&str> = vec![
            "--database-url",
            &self.database_url,
            "--redis-url",
            &self.redis.url,
        ];
        args.extend(self.extra.iter().map(String::as_str));
        Server::spawn(self.data_dir.clone(), self.key.clone(), &args, &[]).await
    }

    pub fn node(&self, index: usize) -> &Server {
        self.nodes[index].as_ref().expect("the node runs")
    }

    /// SIGKILL: the node dies with whatever it held.
    pub async fn kill9(&mut self, index: usize) {
        let mut node = self.nodes[index].take().expect("the node runs");
        node.kill9().await;
    }

    /// A meeting created through one node (any would do: the store is shared).
    pub async fn room(&self, body: Value) -> TestRoom {
        let mut body = body;
        body["endDate"] = json!(LATER);
        body["fields"] = json!(["hostRoomUrl", "viewerRoomUrl"]);
        let meeting = self.node(0).create_meeting(body).await;
        TestRoom {
            name: meeting["roomName"].as_str().unwrap().to_owned(),
            host_key: room_key(meeting["hostRoomUrl"].as_str().unwrap()),
            meeting,
        }
    }
}

pub struct TestRoom {
    pub meeting: Value,
    pub name: String,
    pub host_key: String,
}

/// A host on `node`; returns its connection and its `room_joined`.
pub async fn host(node: &Server, room: &TestRoom, name: &str) -> (Ws, Value) {
    let mut ws = Ws::connect(node).await;
    let joined = ws.join(&room.name, Some(&room.host_key), name).await;
    assert_eq!(joined["role"], "host", "{joined}");
    (ws, joined)
}

/// A guest at the door of a locked room through `node`, knocked: its connection, client id and
/// resume token.
pub async fn knocker(node: &Server, room: &TestRoom, name: &str) -> (Ws, String, String) {
    let mut ws = Ws::connect(node).await;
    let door = ws
        .join_with(
            &room.name,
            json!({"displayName": name, "deviceId": format!("device-{name}")}),
        )
        .await;
    assert_eq!(door["error"], "room_locked", "{door}");
    ws.send("knock_room", json!({})).await;
    let id = ws.recv_type("knock_sent").await["clientId"]
        .as_str()
        .unwrap()
        .to_owned();
    (ws, id, door["resumeToken"].as_str().unwrap().to_owned())
}

impl Ws {
    /// `join_room` with these fields besides the room's name.
    pub async fn join_with(&mut self, room: &str, fields: Value) -> Value {
        let mut payload = fields;
        payload["roomName"] = json!(room);
        self.send("join_room", payload).await;
        self.recv_type("room_joined").await
    }
}

/// How many facts of this kind about this client are recorded.
pub async fn recorded(cluster: &Cluster, kind: &str, client: &str) -> usize {
    fact_kinds(cluster)
        .await
        .iter()
        .filter(|(k, c)| k == kind && c.as_deref() == Some(client))
        .count()
}

/// Until a fact of this kind about this client is recorded (a node writes its facts a moment
/// after its rooms say them).
pub async fn until_recorded(cluster: &Cluster, kind: &str, client: &str, within: Duration) {
    helpers::until(&format!("{kind} of {client} recorded"), within, || async {
        recorded(cluster, kind, client).await > 0
    })
    .await;
}

/// The kinds of room facts recorded so far, oldest first (from the shared store).
pub async fn fact_kinds(cluster: &Cluster) -> Vec<(String, Option<String>)> {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(&cluster.database_url)
        .await
        .unwrap();
    sqlx::query_as("SELECT kind, client_id FROM room_events ORDER BY id")
        .fetch_all(&mut conn)
        .await
        .unwrap()
}

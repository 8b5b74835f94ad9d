//! The Python webhook receiver of tests/receivers, which verifies signatures as Whereby documents,
//! and endpoints for it.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::helpers::{Server, status_and_json};

const RECEIVER: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/receivers/webhook_receiver.py"
);

/// The Python receiver of tests/receivers, verifying signatures as Whereby documents.
pub struct Receiver {
    _child: Child,
    pub port: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Receiver {
    pub async fn start(secret: &str, port: u16, extra: &[&str]) -> Receiver {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("events.jsonl");
        let mut child = Command::new("python3")
            .arg(RECEIVER)
            .args(["--secret", secret, "--port", &port.to_string(), "--log"])
            .arg(&log)
            .args(extra)
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("python3 runs the receiver");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let line = tokio::time::timeout(Duration::from_secs(10), lines.next_line())
            .await
            .expect("receiver starts")
            .unwrap()
            .expect("receiver says where it listens");
        let port = line.strip_prefix("listening ").unwrap().parse().unwrap();
        Receiver {
            _child: child,
            port,
            log,
            _dir: dir,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hooks", self.port)
    }

    /// Every request the receiver got, in order.
    pub fn requests(&self) -> Vec<Value> {
        // A line the receiver is still writing has no newline yet: it is read at the next look.
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .split_inclusive('\n')
            .filter(|l| l.ends_with('\n'))
            .map(|l| serde_json::from_str(l).expect("the receiver logs a JSON line a request"))
            .collect()
    }

    /// The events it accepted (signature valid, answered 2xx).
    pub fn accepted(&self) -> Vec<Value> {
        self.requests()
            .into_iter()
            .filter(|r| r["accepted"] == true)
            .map(|r| r["event"].clone())
            .collect()
    }

    pub async fn wait_for(&self, count: usize) -> Vec<Value> {
        for _ in 0..200 {
            let accepted = self.accepted();
            if accepted.len() >= count {
                return accepted;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "expected {count} accepted deliveries; receiver saw {:#?}",
            self.requests()
        );
    }
}

pub async fn add_endpoint(server: &Server, url: &str, events: &[&str]) -> String {
    let (status, body) = status_and_json(
        server
            .post("/v1/webhooks")
            .json(&json!({"url": url, "events": events}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    body["secret"].as_str().unwrap().to_owned()
}

/// An endpoint subscribed to `events`, with the Python receiver (run with `extra` flags) behind it.
pub async fn receiver_for(server: &Server, events: &[&str], extra: &[&str]) -> Receiver {
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}/hooks");
    let secret = add_endpoint(server, &url, events).await;
    Receiver::start(&secret, port, extra).await
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

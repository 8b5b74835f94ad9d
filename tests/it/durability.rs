//! Meetings survive restarts and `kill -9`; old meetings are swept.

use std::collections::HashSet;

use anteroom::meeting::network::{NetworkSample, NetworkSeries};
use anteroom::meeting::{ClientId, NewMeeting, RoomMode, RoomName};
use anteroom::store::{DeliveryOutcome, Store};
use chrono::Utc;
use serde_json::{Value, json};

use crate::helpers::{LATER, Server, queue_lock_events, store_rows};

async fn all_ids(server: &Server) -> HashSet<String> {
    let (status, page) = server.get_json("/v1/meetings?limit=100").await;
    assert_eq!(status, 200);
    assert!(page["cursor"].is_null());
    page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["meetingId"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn meetings_survive_a_restart() {
    let mut server = Server::start().await;
    let meeting = server.create_locked_meeting().await;
    assert!(server.terminate().await);
    let server = server.restart().await;
    let id = meeting["meetingId"].as_str().unwrap();
    let (status, got) = server
        .get_json(&format!(
            "/v1/meetings/{id}?fields=hostRoomUrl,viewerRoomUrl"
        ))
        .await;
    assert_eq!(status, 200);
    assert_eq!(got["roomName"], meeting["roomName"]);
    assert_eq!(got["endDate"], meeting["endDate"]);
    // The signing secret survived too: the host key is the same one.
    let path = |v: &Value| v.as_str().unwrap().split('?').nth(1).unwrap().to_owned();
    assert_eq!(path(&got["hostRoomUrl"]), path(&meeting["hostRoomUrl"]));
}

#[tokio::test]
async fn every_acknowledged_meeting_survives_kill_9() {
    let mut server = Server::start().await;
    // Creates run concurrently until the kill; every 201 that came back must name a durable meeting.
    let client = server.http.clone();
    let url = server.url("/v1/meetings");
    let key = server.key.clone();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (client, url, key) = (client.clone(), url.clone(), key.clone());
        tasks.push(tokio::spawn(async move {
            let mut acknowledged = Vec::new();
            loop {
                let sent = client
                    .post(&url)
                    .bearer_auth(&key)
                    .json(&json!({"endDate": LATER}))
                    .send()
                    .await;
                let Ok(response) = sent else { break };
                if response.status() != 201 {
                    break;
                }
                let Ok(body) = response.json::<Value>().await else {
                    break;
                };
                acknowledged.push(body["meetingId"].as_str().unwrap().to_owned());
            }
            acknowledged
        }));
    }
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    server.kill9().await;
    let mut acknowledged = HashSet::new();
    for task in tasks {
        acknowledged.extend(task.await.unwrap());
    }
    // Budget: the default rate limit (333 writes a minute) is what bounds this loop.
    assert!(
        acknowledged.len() > 20,
        "only {} creates before the kill",
        acknowledged.len()
    );

    let server = server.restart().await;
    let mut stored = HashSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/meetings?limit=100&cursor={c}"),
            None => "/v1/meetings?limit=100".to_owned(),
        };
        let (_, page) = server.get_json(&path).await;
        for m in page["results"].as_array().unwrap() {
            stored.insert(m["meetingId"].as_str().unwrap().to_owned());
        }
        match page["cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    let lost: Vec<_> = acknowledged.difference(&stored).collect();
    assert!(
        lost.is_empty(),
        "meetings acknowledged with 201 but lost by kill -9: {lost:?}"
    );
}

/// One create sent by hand over a raw connection: the headers now (with `Expect: 100-continue`,
/// which the server answers only once its handler reads the body, so the request is provably in
/// flight), the body later.
struct HalfSentCreate {
    stream: tokio::net::TcpStream,
    rest: Vec<u8>,
}

impl HalfSentCreate {
    async fn start(server: &Server) -> HalfSentCreate {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let body = json!({ "endDate": LATER }).to_string().into_bytes();
        let head = format!(
            "POST /v1/meetings HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\
             Expect: 100-continue\r\n\r\n",
            server.addr,
            server.key,
            body.len()
        );
        let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        stream.write_all(head.as_bytes()).await.unwrap();
        let interim = b"HTTP/1.1 100 Continue\r\n\r\n";
        let mut got = vec![0u8; interim.len()];
        stream.read_exact(&mut got).await.unwrap();
        assert_eq!(
            got, interim,
            "the server reads the body: the request is in flight"
        );
        HalfSentCreate { stream, rest: body }
    }

    /// Sends the rest of the body; the meeting id of a 201, or what came back instead.
    async fn finish(mut self) -> Result<String, String> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        self.stream
            .write_all(&self.rest)
            .await
            .map_err(|e| format!("sending the rest of the body: {e}"))?;
        let mut response = String::new();
        self.stream
            .read_to_string(&mut response)
            .await
            .map_err(|e| format!("reading the response: {e}"))?;
        let (head, body) = response
            .split_once("\r\n\r\n")
            .ok_or_else(|| format!("no HTTP response: {response:?}"))?;
        if !head.starts_with("HTTP/1.1 201") {
            return Err(head.lines().next().unwrap_or_default().to_owned());
        }
        let json: Value = serde_json::from_str(body).map_err(|e| format!("{e}: {body:?}"))?;
        Ok(json["meetingId"].as_str().unwrap_or_default().to_owned())
    }
}

#[tokio::test]
async fn sigterm_finishes_in_flight_requests() {
    const IN_FLIGHT: usize = 20;
    let mut server = Server::start().await;
    let mut requests = Vec::new();
    for _ in 0..IN_FLIGHT {
        requests.push(HalfSentCreate::start(&server).await);
    }
    // Every request is being read when the stop begins.
    let pid = server.pid().to_string();
    let sent = tokio::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .unwrap();
    assert!(sent.success());
    server.wait_for_log("shutting down").await;
    let mut acknowledged = HashSet::new();
    for request in requests {
        match request.finish().await {
            Ok(id) => {
                acknowledged.insert(id);
            }
            Err(err) => panic!("an in-flight create was not finished by a graceful stop: {err}"),
        }
    }
    assert_eq!(acknowledged.len(), IN_FLIGHT);
    assert!(server.terminate_wait().await, "the server exits 0");
    let server = server.restart().await;
    let stored = all_ids(&server).await;
    assert!(
        acknowledged.is_subset(&stored),
        "an acknowledged meeting was lost by a graceful stop"
    );
}

/// Two webhook deliveries, delivered 8 days and 6 days ago (one room each, as the outbox hands out
/// one delivery per endpoint and room at a time).
async fn seed_finished_deliveries(store: &dyn Store) {
    let endpoint = queue_lock_events(store, &["/a", "/b"]).await;
    // After the queueing: events are due from the moment they were recorded.
    let now = Utc::now();
    let due = crate::helpers::claim_due(store, endpoint, now).await;
    assert_eq!(due.len(), 2);
    for (delivery, days_ago) in due.iter().zip([8, 6]) {
        let finished = now - chrono::Duration::days(days_ago);
        crate::helpers::finish(store, delivery.id, 1, DeliveryOutcome::Delivered, finished).await;
    }
}

#[tokio::test]
async fn old_meetings_and_deliveries_are_swept() {
    let dir = std::sync::Arc::new(tempfile::tempdir().unwrap());
    let key = crate::helpers::create_key(&dir).await;
    // Meetings that ended 25 hours and 23 hours ago, written straight into the store (the API refuses
    // past end dates), and deliveries finished more and less than a week ago.
    {
        let store = crate::helpers::open_store(dir.path()).await;
        seed_finished_deliveries(&*store).await;
        for (name, hours_ago) in [("/old", 25), ("/recent", 23)] {
            let end = Utc::now() - chrono::Duration::hours(hours_ago);
            store
                .create_meeting(NewMeeting {
                    room_name: RoomName::parse(name).unwrap(),
                    start_date: end - chrono::Duration::hours(1),
                    end_date: end,
                    room_mode: RoomMode::Normal,
                    is_locked: false,
                    viewer_mode: false,
                    recording: Default::default(),
                })
                .await
                .unwrap();
        }
        // A member's network samples from 31 and 29 days ago.
        for days_ago in [31, 29] {
            store
                .save_network_series(&NetworkSeries {
                    room: RoomName::parse("/recent").unwrap(),
                    client: ClientId::new(format!("member-{days_ago}")),
                    started: Utc::now() - chrono::Duration::days(days_ago),
                    interval_ms: 2000,
                    samples: vec![NetworkSample::default(); 3],
                })
                .await
                .unwrap();
        }
        store.close().await;
    }
    let server = Server::spawn(dir.clone(), key, &["--sweep-interval-secs", "1"], &[]).await;
    let current = server.create_meeting(json!({"endDate": LATER})).await;
    let mut remaining = HashSet::new();
    for _ in 0..50 {
        remaining = all_ids(&server).await;
        if remaining.len() == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let expected: HashSet<String> = [
        "2".to_owned(),
        current["meetingId"].as_str().unwrap().to_owned(),
    ]
    .into();
    assert_eq!(remaining, expected, "only /old (id 1) is swept");
    let (status, _) = server.get_json("/v1/meetings/1").await;
    assert_eq!(status, 404);
    server.wait_for_log("swept meetings").await;

    let mut server = server;
    assert!(server.terminate().await);
    let store = crate::helpers::open_store(dir.path()).await;
    let counts = store.delivery_counts().await.unwrap();
    store.close().await;
    assert_eq!(
        counts.delivered, 1,
        "the delivery finished 8 days ago is pruned, the one of 6 days ago kept"
    );
    server.wait_for_log("pruned webhook deliveries").await;
    server.wait_for_log("pruned network samples").await;
    let kept: Vec<(String,)> = store_rows(
        server.data_dir.path(),
        "SELECT client_id FROM network_samples",
    )
    .await;
    assert_eq!(
        kept,
        [("member-29".to_owned(),)],
        "samples older than 30 days go"
    );
}

//! Faults of the machine under the server: a crash in the middle of a session, a full disk, a
//! database that takes no writes for a while.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::helpers::room;
use crate::helpers::{Server, status_and_json, store_execute};
use crate::receiver::receiver_for;
use crate::signal_join::{host, knocker, locked_room};
use crate::ws::Ws;

/// A room whose state the crash came before (a room's state is written at most `WRITE_GAP` after
/// its change, so that is rare; a room carried on is `handover.rs`'s): webhook receivers still hear
/// the end of everything that began: the members left, the waiting knock was cancelled, the
/// session ended, each timed when the server was last known alive (not when it came back).
#[tokio::test]
async fn a_crash_before_a_rooms_state_was_kept_is_closed_at_the_last_moment_known_alive() {
    closed_at_the_last_moment_known_alive("DELETE FROM room_snapshots").await;
}

/// So is a room whose kept state this version cannot read (one kept by another version, say).
#[tokio::test]
async fn a_room_whose_kept_state_cannot_be_read_is_closed_as_a_crashs() {
    closed_at_the_last_moment_known_alive("UPDATE room_snapshots SET state = '{\"version\": 999}'")
        .await;
}

/// Kills the server in a session with a host, a co-host and a knocker, runs `lose_the_state` on
/// its store (it changes the room's kept state), and starts it again.
async fn closed_at_the_last_moment_known_alive(lose_the_state: &'static str) {
    let mut server = Server::start().await;
    let receiver = receiver_for(
        &server,
        &[
            "room.client.left",
            "room.client.knockCancelled",
            "room.session.ended",
            "room.recording.stopped",
        ],
        &[],
    )
    .await;
    let room = room(
        &server,
        json!({"isLocked": true, "recording": {"type": "local"}}),
    )
    .await;
    let (mut host, _) = host(&server, &room, "Dr Lee").await;
    // The host's browser records.
    host.send("start_recording", json!({})).await;
    host.recv_type("recording_changed").await;
    let mut guest = Ws::connect(&server).await;
    guest
        .send(
            "join_room",
            json!({"roomName": room.name, "roomKey": room.host_key, "displayName": "Co-host"}),
        )
        .await;
    guest.recv_type("room_joined").await;
    host.recv_type("new_client").await;
    let (_knocker, knocker_id) = knocker(&server, &room, "Waiting").await;
    host.recv_type("room_knocked").await;
    // Long enough for the store's heartbeat to say the server was alive after all of this.
    tokio::time::sleep(Duration::from_millis(2600)).await;
    let killed_at = Utc::now();
    server.kill9().await;
    let kept = store_execute(server.data_dir.path(), lose_the_state).await;
    assert_eq!(kept, 1, "the room's state was kept before the crash");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let server = server.restart().await;

    let events = receiver.wait_for(5).await;
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "room.recording.stopped",
            "room.client.knockCancelled",
            "room.client.left",
            "room.client.left",
            "room.session.ended"
        ]
    );
    assert_eq!(events[0]["data"]["displayName"], "Dr Lee");
    assert_eq!(events[0]["data"]["roleName"], "host");
    assert_eq!(events[1]["data"]["participantId"], knocker_id.as_str());
    assert_eq!(events[3]["data"]["numClients"], 0);
    // Ours: why they went (Whereby's events do not say).
    let reasons: Vec<&Value> = events.iter().map(|e| &e["data"]["reason"]).collect();
    let stopped = json!("server_stopped");
    assert_eq!(
        reasons,
        [&Value::Null, &stopped, &stopped, &stopped, &stopped]
    );
    for event in &events {
        let at: DateTime<Utc> = event["createdAt"].as_str().unwrap().parse().unwrap();
        assert!(at <= killed_at, "{event} is timed after the crash");
        assert!(
            killed_at - at < chrono::Duration::seconds(4),
            "{event} is timed long before the crash"
        );
    }
    // Insights agree: the session has ended.
    let (_, sessions) = server
        .get_json(&format!(
            "/v1/insights/room-sessions?roomName={}",
            room.name
        ))
        .await;
    assert!(sessions["results"][0]["endedAt"].is_string(), "{sessions}");
}

/// The data directory on a tmpfs of its own, small enough to fill, in a mount namespace of the
/// server's own (so no privilege is needed beyond an unprivileged user namespace).
async fn server_on_a_small_disk() -> (Server, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let script = "mount -t tmpfs -o size=1600k tmpfs \"$1\" && exec \"$2\" serve \
                  --listen 127.0.0.1:0 --media-udp-port 0 --data-dir \"$1\"";
    let mut command = tokio::process::Command::new("unshare");
    command
        .args([
            "--user",
            "--map-root-user",
            "--mount",
            "sh",
            "-c",
            script,
            "sh",
        ])
        .arg(dir.path())
        .arg(crate::helpers::bin());
    let server =
        Server::spawn_command(command, std::sync::Arc::new(tempfile::tempdir().unwrap())).await;
    (server, dir)
}

#[tokio::test]
async fn health_says_unavailable_when_the_disk_is_full() {
    if crate::helpers::on_postgres() {
        return health_says_unavailable_when_postgres_takes_no_writes().await;
    }
    let (mut server, _dir) = server_on_a_small_disk().await;
    // The first start prints its API key.
    server.key = server.stdout_key().await;
    assert_eq!(
        health(&server).await,
        (200, json!({"status": "ok", "store": "ok"}))
    );
    // Fill the disk: backgrounds of 500 kB that do not compress, until a write fails.
    let room = locked_room(&server).await;
    let noise: Vec<u8> = {
        let mut image = image::RgbImage::new(380, 380);
        let mut seed = 7u32;
        for pixel in image.pixels_mut() {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            *pixel = image::Rgb([(seed >> 8) as u8, (seed >> 16) as u8, (seed >> 24) as u8]);
        }
        let mut png = Vec::new();
        image
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        png
    };
    // More than the disk holds (SQLite may go on taking some commits into its log meanwhile).
    for kind in [
        "logo",
        "room-background",
        "room-knock-page-background",
        "logo",
    ] {
        let form = reqwest::multipart::Form::new().part(
            "image",
            reqwest::multipart::Part::bytes(noise.clone()).file_name("noise.png"),
        );
        server
            .http
            .put(server.url(&format!("/v1/rooms{}/theme/{kind}", room.name)))
            .bearer_auth(&server.key)
            .multipart(form)
            .send()
            .await
            .unwrap();
    }
    health_turns_unavailable(&server, "full", Duration::from_secs(10)).await;
    server.wait_for_log("the store takes no writes").await;
    server.kill9().await;
}

async fn health(server: &Server) -> (u16, serde_json::Value) {
    status_and_json(
        server
            .http
            .get(server.url("/healthz"))
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// Waits until `/healthz` answers 503 with a store that says `why`; `/livez` says the server is
/// alive meanwhile (an orchestrator restarting it would lose its rooms).
async fn health_turns_unavailable(server: &Server, why: &str, within: Duration) {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let (status, health) = health(server).await;
        if status == 503 {
            assert_eq!(health["status"], "unavailable");
            assert!(health["store"].as_str().unwrap().contains(why), "{health}");
            let live = server.http.get(server.url("/livez")).send().await.unwrap();
            assert_eq!(
                status_and_json(live).await,
                (200, json!({"status": "alive"}))
            );
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "/healthz still says ok: {health}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// PostgreSQL's store fills no disk of ours: what a full disk is to SQLite, a database that takes
/// no writes is to it (here, made read-only, its connections cut so the pool reconnects read-only).
async fn health_says_unavailable_when_postgres_takes_no_writes() {
    let mut server = crate::helpers::Server::start().await;
    assert_eq!(
        health(&server).await,
        (200, json!({"status": "ok", "store": "ok"}))
    );
    read_only(&server, true).await;
    health_turns_unavailable(&server, "read-only", Duration::from_secs(15)).await;
    server.wait_for_log("the store takes no writes").await;
    server.kill9().await;
}

/// A store that takes no writes for a while (PostgreSQL restarting or failing over, here made
/// read-only; SQLite's file held by another program's write lock, as a `sqlite3` shell left in a
/// transaction, longer than the server's 10 s wait for it) loses no room event: what happened
/// meanwhile is recorded once it takes writes again, and delivered. (Facts were dropped after a
/// second and a half of failed writes.)
#[tokio::test]
async fn room_events_wait_for_a_store_that_takes_no_writes_for_a_while() {
    let events = ["room.client.knocked", "room.client.knockHeld"];
    let mut server = Server::start().await;
    let receiver = receiver_for(&server, &events, &[]).await;
    let room = locked_room(&server).await;
    let (mut host_ws, _) = host(&server, &room, "Dr Quill").await;
    let held = WritesHeld::hold(&server).await;
    // A meeting created meanwhile is refused for now (503, when to try again), not as a fault of
    // ours (500) that a client would not retry. (SQLite's answer waits for its writer.)
    let create = server
        .post("/v1/meetings")
        .json(&json!({"endDate": crate::helpers::LATER}))
        .send();
    let asked = std::time::Instant::now();
    let create = tokio::spawn(async move {
        let answer = create.await;
        (answer, asked.elapsed())
    });
    let (_guest, guest_id) = knocker(&server, &room, "Pat").await;
    host_ws.recv_type("room_knocked").await;
    host_ws
        .send(
            "handle_knock",
            json!({"clientId": guest_id, "action": "hold", "message": "One minute"}),
        )
        .await;
    // (SQLite's one writer waits 10 s for the lock at each write, the heartbeat's first: the
    // facts' write fails some 30 s in.)
    crate::helpers::until("a failed write", Duration::from_secs(60), || async {
        server.logs().contains("recording room facts failed")
    })
    .await;
    // Longer than the writes used to be tried.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (refused, took) = tokio::time::timeout(Duration::from_secs(40), create)
        .await
        .expect("the meeting's creation is answered")
        .expect("the request's task");
    let refused = refused.expect("an answer");
    // Within a wait for the store's connection (10 s) and the store's own for its lock (SQLite:
    // 10 s), not after the writes of others queued before it.
    assert!(took < Duration::from_secs(21), "answered after {took:?}");
    assert_eq!(refused.headers()["retry-after"], "5");
    let (status, body) = status_and_json(refused).await;
    assert_eq!(status, 503, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("try again"),
        "{body}"
    );
    assert!(
        receiver.accepted().is_empty(),
        "nothing written while the store takes no writes"
    );
    held.release(&server).await;
    let delivered = receiver.wait_for(2).await;
    let types: Vec<&str> = delivered
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, events);
    assert_eq!(delivered[0]["data"]["participantId"], guest_id.as_str());
    assert!(
        !server.logs().contains("dropping room facts"),
        "{}",
        server.logs()
    );
    server.kill9().await;
}

/// Writes to a server's store held off: its PostgreSQL database made read-only, or its SQLite
/// file's write lock taken by a connection of ours.
enum WritesHeld {
    Postgres,
    Sqlite(sqlx::SqliteConnection),
}

impl WritesHeld {
    async fn hold(server: &Server) -> WritesHeld {
        use sqlx::Connection;
        if crate::helpers::on_postgres() {
            read_only(server, true).await;
            health_turns_unavailable(server, "read-only", Duration::from_secs(15)).await;
            return WritesHeld::Postgres;
        }
        let url = crate::helpers::store_url(server.data_dir.path()).await;
        let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::raw_sql("BEGIN IMMEDIATE")
            .execute(&mut conn)
            .await
            .unwrap();
        // The heartbeat's write hangs on the lock: /healthz says so before the write fails (a beat
        // comes within 2 s, and is said hung 5 s later; the write fails at 10 s).
        health_turns_unavailable(server, "a write has waited 5 s", Duration::from_secs(12)).await;
        WritesHeld::Sqlite(conn)
    }

    async fn release(self, server: &Server) {
        match self {
            WritesHeld::Postgres => read_only(server, false).await,
            WritesHeld::Sqlite(mut conn) => {
                sqlx::raw_sql("ROLLBACK").execute(&mut conn).await.unwrap();
            }
        }
    }
}

/// Sets whether the server's PostgreSQL database takes writes, cutting its connections so that
/// its pool reconnects to the database as it now is.
async fn read_only(server: &Server, on: bool) {
    use sqlx::Connection;
    let url = crate::helpers::store_url(server.data_dir.path()).await;
    let database = url.rsplit('/').next().unwrap().to_owned();
    let admin = std::env::var("ANTEROOM_TEST_POSTGRES_URL").unwrap();
    let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
    let on = if on { "on" } else { "off" };
    for sql in [
        format!("ALTER DATABASE {database} SET default_transaction_read_only = {on}"),
        format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{database}'"
        ),
    ] {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&mut conn)
            .await
            .unwrap();
    }
}

/// A fact the store refuses while it takes others (here a NUL, which PostgreSQL's text refuses and
/// no client can send any more) is dropped alone: the facts written with it are recorded. (The
/// whole batch used to be dropped with it.) SQLite takes that fact too.
#[tokio::test]
async fn a_fact_the_store_refuses_takes_no_other_with_it() {
    use anteroom::meeting::facts::{ClientCounts, FactClient, FactKind, RoomFact};
    use anteroom::meeting::{ClientId, MeetingId, RoomName};
    use anteroom::services::recorder::{self, Recorder, Recording};

    let data_dir = tempfile::tempdir().unwrap();
    let store = crate::helpers::open_store(data_dir.path()).await;
    let knock = |name: &str| RoomFact {
        kind: FactKind::Knocked,
        at: Utc::now(),
        meeting_id: MeetingId(1),
        room_name: RoomName::parse("/poison").unwrap(),
        room_session_id: None,
        client: Some(FactClient {
            client_id: ClientId::new(name.to_owned()),
            role: None,
            display_name: name.to_owned(),
            external_id: None,
            metadata: None,
            user_agent: None,
        }),
        message: None,
        decided_by: None,
        counts: ClientCounts::default(),
        why: None,
    };
    let (queue, facts) = recorder::channel();
    for name in ["Ann", "B\u{0}b", "Cy"] {
        let recording = Recording {
            fact: knock(name),
            id: None,
            written: None,
        };
        queue.send(recording).unwrap();
    }
    let stop = tokio_util::sync::CancellationToken::new();
    let recorder = Recorder {
        store: store.clone(),
        subdomain: "test".into(),
        written: Default::default(),
        gap: Duration::from_millis(2),
    };
    let running = tokio::spawn(recorder::run(recorder, facts, stop.clone()));
    let knocked = || async {
        crate::helpers::store_rows::<(String,)>(
            data_dir.path(),
            "SELECT client_id FROM room_events ORDER BY id",
        )
        .await
    };
    let mut written = Vec::new();
    for _ in 0..100 {
        written = knocked().await;
        if written.len() >= 2 {
            break;
        }
    }
    let written: Vec<&str> = written.iter().map(|(id,)| id.as_str()).collect();
    if crate::helpers::on_postgres() {
        assert_eq!(written, ["Ann", "Cy"]);
    } else {
        assert_eq!(written, ["Ann", "B\u{0}b", "Cy"]);
    }
    stop.cancel();
    running.await.unwrap();
}

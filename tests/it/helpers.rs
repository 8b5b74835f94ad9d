//! Starts the real `anteroom` binary on a random loopback port with a fresh data directory, and talks
//! to it over HTTP. Every test gets its own server, so tests run in parallel without sharing state.

use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::ws::Ws;

pub const BUILT: &str = env!("CARGO_BIN_EXE_anteroom");

/// The binary under test: this build's, or another given in `ANTEROOM_TEST_BIN` (to show that a
/// test fails on an older server).
pub fn bin() -> String {
    std::env::var("ANTEROOM_TEST_BIN").unwrap_or_else(|_| BUILT.to_owned())
}

/// Which store the servers under test use: the embedded SQLite file in each test's data directory
/// (the default), or, when `ANTEROOM_TEST_STORE=postgres`, a fresh PostgreSQL database per data
/// directory on the server `ANTEROOM_TEST_POSTGRES_URL` names (`scripts/test.sh` starts one and
/// runs every integration test both ways).
pub fn on_postgres() -> bool {
    std::env::var("ANTEROOM_TEST_STORE").is_ok_and(|s| s == "postgres")
}

/// The store of a data directory: its SQLite file, or on PostgreSQL its own database.
pub async fn store_url(data_dir: &std::path::Path) -> String {
    if !on_postgres() {
        return anteroom::store::sqlite_url(data_dir);
    }
    postgres_database(data_dir).await
}

/// A PostgreSQL database for a data directory: named after it, created the first time it is
/// asked for, on the server `ANTEROOM_TEST_POSTGRES_URL` names.
pub async fn postgres_database(data_dir: &std::path::Path) -> String {
    static CREATED: std::sync::LazyLock<tokio::sync::Mutex<std::collections::HashSet<String>>> =
        std::sync::LazyLock::new(Default::default);
    let admin = std::env::var("ANTEROOM_TEST_POSTGRES_URL").expect(
        "ANTEROOM_TEST_POSTGRES_URL names the PostgreSQL server for ANTEROOM_TEST_STORE=postgres",
    );
    // Its last two components: a directory made inside a temporary one is as unique as that.
    let mut parts = data_dir.iter().rev().take(2).collect::<Vec<_>>();
    parts.reverse();
    let name: String = std::path::PathBuf::from_iter(parts)
        .to_str()
        .expect("temporary paths are UTF-8")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    let database = format!("t{name}");
    let mut created = CREATED.lock().await;
    if !created.contains(&database) {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&admin)
            .await
            .expect("the test PostgreSQL server answers");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {database}")))
            .execute(&mut conn)
            .await
            .expect("a fresh test database");
        created.insert(database.clone());
    }
    let base = admin
        .rsplit_once('/')
        .map_or(admin.as_str(), |(base, _)| base);
    format!("{base}/{database}")
}

/// The environment that points the binary at a data directory's store.
pub async fn store_env(data_dir: &std::path::Path) -> Vec<(String, String)> {
    if on_postgres() {
        vec![("ANTEROOM_DATABASE_URL".into(), store_url(data_dir).await)]
    } else {
        Vec::new()
    }
}

/// Opens a data directory's store from the test itself (to seed it, or look into it).
pub async fn open_store(data_dir: &std::path::Path) -> anteroom::store::DynStore {
    anteroom::store::open(&store_url(data_dir).await)
        .await
        .expect("the test store opens")
}

/// Rows of a query straight on a data directory's store (SQL both engines read alike), after the
/// recorder has had a moment: it writes off the signalling path.
pub async fn store_rows<T>(data_dir: &std::path::Path, sql: &str) -> Vec<T>
where
    T: Send + Unpin,
    T: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>,
    T: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>,
{
    tokio::time::sleep(Duration::from_millis(300)).await;
    let url = store_url(data_dir).await;
    let sql = sqlx::AssertSqlSafe(sql.to_owned());
    if on_postgres() {
        let pool = sqlx::PgPool::connect(&url).await.unwrap();
        let rows = sqlx::query_as(sql).fetch_all(&pool).await.unwrap();
        pool.close().await;
        rows
    } else {
        let pool = sqlx::SqlitePool::connect(&format!("{url}?mode=ro"))
            .await
            .unwrap();
        let rows = sqlx::query_as(sql).fetch_all(&pool).await.unwrap();
        pool.close().await;
        rows
    }
}

/// Runs one statement on a stopped server's store; how many rows it changed.
pub async fn store_execute(data_dir: &std::path::Path, sql: &str) -> u64 {
    let url = store_url(data_dir).await;
    let sql = sqlx::AssertSqlSafe(sql.to_owned());
    if on_postgres() {
        let pool = sqlx::PgPool::connect(&url).await.unwrap();
        let done = sqlx::query(sql).execute(&pool).await.unwrap();
        pool.close().await;
        done.rows_affected()
    } else {
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        let done = sqlx::query(sql).execute(&pool).await.unwrap();
        pool.close().await;
        done.rows_affected()
    }
}

/// A far-future end date for meetings that must stay valid during a test.
pub const LATER: &str = "2099-01-01T00:00:00Z";

pub struct Server {
    child: Option<Child>,
    pub addr: SocketAddr,
    pub base: String,
    pub data_dir: Arc<TempDir>,
    pub key: String,
    pub http: reqwest::Client,
    extra_args: Vec<String>,
    logs: Arc<Mutex<Vec<String>>>,
    stdout: Arc<Mutex<Vec<String>>>,
}

/// Runs an admin subcommand against a data directory; returns (success, stdout, stderr).
pub async fn cli(args: &[&str]) -> (bool, String, String) {
    let data_dir = args
        .iter()
        .position(|a| *a == "--data-dir")
        .and_then(|i| args.get(i + 1));
    let env = match data_dir {
        Some(dir) => store_env(std::path::Path::new(dir)).await,
        None => Vec::new(),
    };
    let output = Command::new(bin())
        .args(args)
        .envs(env)
        .env("ANTEROOM_LOG", "warn")
        .output()
        .await
        .expect("the anteroom binary runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

pub async fn create_key(data_dir: &TempDir) -> String {
    let dir = data_dir.path().to_str().expect("temp paths are UTF-8");
    let (ok, stdout, stderr) = cli(&["api-key", "create", "--data-dir", dir]).await;
    assert!(ok, "api-key create failed: {stderr}");
    stdout.trim().to_owned()
}

impl Server {
    pub async fn start() -> Server {
        Server::start_with(&[]).await
    }

    /// A server with extra `serve` flags, a fresh data directory and an API key made by the CLI.
    pub async fn start_with(extra_args: &[&str]) -> Server {
        let data_dir = Arc::new(tempfile::tempdir().expect("temp dir"));
        let key = create_key(&data_dir).await;
        Server::spawn(data_dir, key, extra_args, &[]).await
    }

    pub async fn spawn(
        data_dir: Arc<TempDir>,
        key: String,
        extra_args: &[&str],
        env: &[(&str, &str)],
    ) -> Server {
        let extra_args: Vec<String> = extra_args.iter().map(|s| s.to_string()).collect();
        let mut command = Command::new(bin());
        command.arg("serve");
        if !env.iter().any(|(k, _)| *k == "ANTEROOM_LISTEN") {
            command.args(["--listen", "127.0.0.1:0"]);
        }
        if !env.iter().any(|(k, _)| *k == "ANTEROOM_DATA_DIR") {
            command.arg("--data-dir").arg(data_dir.path());
        }
        // Tests run side by side: each media server on loopback, on a port of its own.
        if !extra_args.iter().any(|a| a == "--media-udp-port") {
            command.args([
                "--media-udp-port",
                "0",
                "--media-bind-ip",
                "127.0.0.1",
                "--media-peer-networks",
                "127.0.0.0/8",
            ]);
        }
        command
            .args(&extra_args)
            .envs(store_env(data_dir.path()).await)
            .envs(env.iter().copied())
            .env("ANTEROOM_LOG", "info");
        let mut server = Server::spawn_command(command, data_dir).await;
        server.key = key;
        // A public URL with a path: every route is under it.
        if let Some(url) = extra_args
            .iter()
            .position(|a| a == "--public-url")
            .and_then(|i| extra_args.get(i + 1))
        {
            let path = url::Url::parse(url)
                .expect("a public URL")
                .path()
                .to_owned();
            server.base = format!("http://{}{}", server.addr, path.trim_end_matches('/'));
        }
        server.extra_args = extra_args;
        server
    }

    /// Starts whatever `command` runs (the binary, or a wrapper that runs it) and waits until the
    /// server says where it listens. Its key is unknown: set it (`stdout_key` reads a first start's).
    pub async fn spawn_command(mut command: Command, data_dir: Arc<TempDir>) -> Server {
        command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command.spawn().expect("the anteroom binary starts");
        let logs = Arc::new(Mutex::new(Vec::new()));
        let stdout_lines = Arc::new(Mutex::new(Vec::new()));
        let (addr_tx, addr_rx) = tokio::sync::oneshot::channel();
        let stderr = child.stderr.take().expect("stderr is piped");
        let stdout = child.stdout.take().expect("stdout is piped");
        {
            let logs = logs.clone();
            tokio::spawn(async move {
                let mut addr_tx = Some(addr_tx);
                let mut lines = BufReader::new(stderr).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    // As text, or inside a JSON log line (`--log-format json`).
                    if let Some(rest) = line.split("listening on http://").nth(1)
                        && let Some(tx) = addr_tx.take()
                    {
                        let addr = rest.split(['"', ' ']).next().unwrap_or(rest);
                        let _ = tx.send(addr.trim().to_owned());
                    }
                    logs.lock().unwrap().push(line);
                }
            });
        }
        {
            let stdout_lines = stdout_lines.clone();
            tokio::spawn(async move {
                let mut lines = BufReader::new(stdout).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    stdout_lines.lock().unwrap().push(line);
                }
            });
        }
        let addr = match tokio::time::timeout(Duration::from_secs(30), addr_rx).await {
            Ok(Ok(addr)) => addr,
            _ => panic!(
                "server did not report its address; log:\n{}",
                logs.lock().unwrap().join("\n")
            ),
        };
        let addr: SocketAddr = addr.parse().expect("the log names a socket address");
        Server {
            child: Some(child),
            addr,
            base: format!("http://{addr}"),
            data_dir,
            key: String::new(),
            http: reqwest::Client::new(),
            extra_args: Vec::new(),
            logs,
            stdout: stdout_lines,
        }
    }

    /// The API key a server prints on its first start.
    pub async fn stdout_key(&self) -> String {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(key) = self
                .stdout
                .lock()
                .unwrap()
                .iter()
                .find(|l| l.starts_with("ar_"))
            {
                return key.clone();
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the server printed no key"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn logs(&self) -> String {
        self.logs.lock().unwrap().join("\n")
    }

    /// Waits (up to 10 s) until the server's log has a line containing `text`; the log is read
    /// from the server's stderr by a task of its own, so a line may arrive a moment after its cause.
    pub async fn wait_for_log(&self, text: &str) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while !self.logs().contains(text) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "no log line with {text:?} within 10 s; log:\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn stdout(&self) -> String {
        self.stdout.lock().unwrap().join("\n")
    }

    pub fn pid(&self) -> u32 {
        self.child
            .as_ref()
            .and_then(|c| c.id())
            .expect("server is running")
    }

    /// SIGTERM, then waits; returns whether it exited 0.
    pub async fn terminate(&mut self) -> bool {
        self.signal("-TERM").await
    }

    /// Sends a signal (`-TERM`, `-INT`), then waits; returns whether the server exited 0.
    pub async fn signal(&mut self, signal: &str) -> bool {
        let pid = self.pid().to_string();
        let status = Command::new("kill")
            .args([signal, &pid])
            .status()
            .await
            .unwrap();
        assert!(status.success());
        self.terminate_wait().await
    }

    /// Waits for a server already sent SIGTERM to exit; returns whether it exited 0.
    pub async fn terminate_wait(&mut self) -> bool {
        let mut child = self.child.take().expect("server is running");
        let exit = tokio::time::timeout(Duration::from_secs(20), child.wait())
            .await
            .expect("server exits within 20 s of SIGTERM")
            .unwrap();
        exit.success()
    }

    /// SIGKILL: no chance to flush anything.
    pub async fn kill9(&mut self) {
        let mut child = self.child.take().expect("server is running");
        child.start_kill().unwrap();
        child.wait().await.unwrap();
    }

    /// Starts a fresh process on the same data directory (after `terminate` or `kill9`).
    pub async fn restart(self) -> Server {
        assert!(self.child.is_none(), "stop the server before restarting it");
        let args: Vec<&str> = self.extra_args.iter().map(String::as_str).collect();
        Server::spawn(self.data_dir.clone(), self.key.clone(), &args, &[]).await
    }

    /// As `restart`, with these flags besides the first start's.
    pub async fn restart_with(self, more: &[&str]) -> Server {
        assert!(self.child.is_none(), "stop the server before restarting it");
        let mut args: Vec<&str> = self.extra_args.iter().map(String::as_str).collect();
        args.extend_from_slice(more);
        Server::spawn(self.data_dir.clone(), self.key.clone(), &args, &[]).await
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.http.get(self.url(path)).bearer_auth(&self.key)
    }

    /// GET with the key; the status and the JSON body.
    pub async fn get_json(&self, path: &str) -> (u16, Value) {
        status_and_json(self.get(path).send().await.unwrap()).await
    }

    pub fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.http.post(self.url(path)).bearer_auth(&self.key)
    }

    pub fn delete(&self, path: &str) -> reqwest::RequestBuilder {
        self.http.delete(self.url(path)).bearer_auth(&self.key)
    }

    /// Creates a meeting from `body` and returns the 201's JSON.
    pub async fn create_meeting(&self, body: Value) -> Value {
        let response = self.post("/v1/meetings").json(&body).send().await.unwrap();
        let status = response.status();
        let json: Value = response.json().await.unwrap();
        assert_eq!(status, 201, "create failed: {json}");
        json
    }

    pub async fn create_locked_meeting(&self) -> Value {
        self.create_meeting(json!({
            "endDate": LATER,
            "isLocked": true,
            "fields": ["hostRoomUrl", "viewerRoomUrl"],
        }))
        .await
    }
}

/// The JSON body and status of a response.
pub async fn status_and_json(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let json = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text:?}"));
    (status, json)
}

/// The claims of a JWT, read without checking its signature (the test only inspects them).
pub fn jwt_claims(token: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("a JWT has three parts");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url payload");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

/// The `roomKey` query parameter of a host or viewer URL.
pub fn room_key(url: &str) -> String {
    url.split("roomKey=")
        .nth(1)
        .expect("the URL carries a roomKey")
        .to_owned()
}

/// Straight into a store: an endpoint subscribed to `room.locked`, and one `room.locked` event for
/// each room given (a room may be named twice), waiting in the outbox for it. Returns the endpoint.
pub async fn queue_lock_events(store: &dyn anteroom::store::Store, rooms: &[&str]) -> i64 {
    let endpoint = store
        .create_webhook(
            "http://127.0.0.1:9/hook",
            &["room.locked".to_owned()],
            "secret",
            chrono::Utc::now(),
        )
        .await
        .expect("endpoint stored");
    record_lock_events(store, rooms).await;
    endpoint.id
}

/// Claims (for a minute) what `endpoint` has due at `at`, as the delivery worker would.
pub async fn claim_due(
    store: &dyn anteroom::store::Store,
    endpoint: i64,
    at: chrono::DateTime<chrono::Utc>,
) -> Vec<anteroom::store::DueDelivery> {
    store
        .claim_deliveries(endpoint, at, 10, "test", at + chrono::Duration::minutes(1))
        .await
        .expect("the claim runs")
}

/// Records one attempt's outcome, as the delivery worker does.
pub async fn finish(
    store: &dyn anteroom::store::Store,
    id: i64,
    attempts: u32,
    outcome: anteroom::store::DeliveryOutcome,
    at: chrono::DateTime<chrono::Utc>,
) {
    let finished = anteroom::store::FinishedAttempt {
        id,
        attempts,
        outcome,
    };
    store
        .finish_deliveries(&[finished], at)
        .await
        .expect("the outcome is recorded");
}

/// One `room.locked` fact for each room given, recorded now (queued for the endpoints subscribed).
pub async fn record_lock_events(store: &dyn anteroom::store::Store, rooms: &[&str]) {
    use anteroom::meeting::facts::{ClientCounts, FactKind, RoomFact};
    use anteroom::meeting::{MeetingId, RoomName};
    use anteroom::store::RecordedFact;

    let now = chrono::Utc::now();
    let recorded: Vec<RecordedFact> = rooms
        .iter()
        .map(|room| RecordedFact {
            fact: RoomFact {
                kind: FactKind::Locked,
                at: now,
                meeting_id: MeetingId(1),
                room_name: RoomName::parse(room).expect("a valid room name"),
                room_session_id: None,
                client: None,
                message: None,
                decided_by: None,
                counts: ClientCounts::default(),
                why: None,
            },
            id: None,
            webhook_body: "{}".into(),
        })
        .collect();
    store.record_facts(&recorded).await.expect("facts recorded");
}

/// Polls `check` every 50 ms until it holds; fails after `within`, naming `what` it waited for.
pub async fn until<F, Fut>(what: &str, within: std::time::Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + within;
    while !check().await {
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: not within {within:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// The live rooms the server reports in `/metrics` (behind the API key).
pub async fn live_rooms(server: &Server) -> u64 {
    metric(server, "anteroom_live_rooms").await as u64
}

/// One figure of `/metrics`.
pub async fn metric(server: &Server, name: &str) -> f64 {
    let (figure, text) = metric_and_page(server, name).await;
    figure.unwrap_or_else(|| panic!("no {name} in:\n{text}"))
}

/// One figure of `/metrics`, if it is there yet: a histogram appears only once something was
/// recorded in it.
#[allow(dead_code)] // The cluster tests' (they include this file).
pub async fn metric_if_any(server: &Server, name: &str) -> Option<f64> {
    metric_and_page(server, name).await.0
}

async fn metric_and_page(server: &Server, name: &str) -> (Option<f64>, String) {
    let response = server.get("/metrics").send().await.unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    let figure = text
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|n| n.trim().parse::<f64>().ok());
    (figure, text)
}

/// A meeting and its keys.
pub struct TestRoom {
    pub meeting: Value,
    pub name: String,
    pub host_key: String,
    pub viewer_key: String,
}

pub async fn room(server: &Server, body: Value) -> TestRoom {
    let mut body = body;
    body["endDate"] = json!(LATER);
    body["fields"] = json!(["hostRoomUrl", "viewerRoomUrl"]);
    let meeting = server.create_meeting(body).await;
    TestRoom {
        name: meeting["roomName"].as_str().unwrap().to_owned(),
        host_key: room_key(meeting["hostRoomUrl"].as_str().unwrap()),
        viewer_key: room_key(meeting["viewerRoomUrl"].as_str().unwrap()),
        meeting,
    }
}

/// A host in the room.
pub async fn host(server: &Server, room: &TestRoom, name: &str) -> (Ws, Value) {
    let mut ws = Ws::connect(server).await;
    let joined = ws.join(&room.name, Some(&room.host_key), name).await;
    assert_eq!(joined["role"], "host");
    (ws, joined)
}

/// The frames this server has written to signalling sockets so far, and the writes they took, once
/// the figures stand still: a write is counted once it is flushed, which may be a moment after its
/// reader has it (on a loaded machine, long enough for a read in between).
pub async fn frames_and_writes(server: &Server) -> (f64, f64) {
    let read = || async {
        (
            metric(server, "anteroom_signal_frames_sent_total").await,
            metric(server, "anteroom_signal_writes_total").await,
        )
    };
    let mut last = read().await;
    for _ in 0..40 {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let now = read().await;
        if now == last {
            return now;
        }
        last = now;
    }
    panic!("signalling frames still being written after 2 s: {last:?}")
}

/// A guest at a locked room's door knocks and cancels `times` times, its host hearing of each: two
/// frames to the guest a knock (`knock_sent`, `knock_position`), two to the host (`room_knocked`,
/// `knocker_left`).
pub async fn knock_and_cancel(guest: &mut Ws, host: &mut Ws, times: u32) {
    for _ in 0..times {
        guest.send("knock_room", json!({})).await;
        guest.recv_type("knock_sent").await;
        guest.recv_type("knock_position").await;
        host.recv_type("room_knocked").await;
        guest.send("cancel_room_knock", json!({})).await;
        host.recv_type("knocker_left").await;
    }
}

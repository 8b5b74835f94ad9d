//! Shared by the load generators: start the real release binary, and summarise latencies.

#![allow(dead_code)]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub const BIN: &str = env!("CARGO_BIN_EXE_anteroom");

pub struct ServerProcess {
    pub child: Child,
    pub base: String,
    pub addr: String,
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn create_key(data_dir: &Path) -> String {
    create_key_from(&bench_bin(), data_dir)
}

/// This build, or the one `ANTEROOM_BENCH_BIN` names (a baseline, say the commit before a change).
fn bench_bin() -> String {
    std::env::var("ANTEROOM_BENCH_BIN").unwrap_or_else(|_| BIN.to_owned())
}

/// An API key made by `bin`, which then creates the store: a baseline built before a migration
/// refuses a store this build has migrated further.
pub fn create_key_from(bin: &str, data_dir: &Path) -> String {
    let out = Command::new(bin)
        .args(["api-key", "create", "--data-dir"])
        .arg(data_dir)
        .env("ANTEROOM_LOG", "warn")
        .output()
        .expect("anteroom runs");
    assert!(out.status.success());
    // The key is its own line; a wrapper (heaptrack, say) may print lines of its own around it.
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .find(|line| line.starts_with("ar_"))
        .expect("api-key create prints the key")
        .to_owned()
}

/// Starts `anteroom serve` on a free loopback port with the benchmark routes on and logs quiet:
/// this build's, or the one `ANTEROOM_BENCH_BIN` names (a baseline, say the commit before a change).
pub fn start_server(data_dir: &Path, extra: &[&str]) -> ServerProcess {
    start_server_from(&bench_bin(), data_dir, extra)
}

/// The same, from another build of anteroom (a baseline measured in the same run).
pub fn start_server_from(bin: &str, data_dir: &Path, extra: &[&str]) -> ServerProcess {
    let mut child = Command::new(bin)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--bench-routes",
            "--data-dir",
        ])
        .arg(data_dir)
        .args(extra)
        .env("ANTEROOM_LOG", "warn,anteroom::app=info")
        // The load comes from one address (127.0.0.1): no per-address cap. An environment
        // variable, not a flag, so that a baseline build from before the setting starts too.
        .env("ANTEROOM_WS_CONNECTIONS_PER_ADDRESS", "0")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("anteroom starts");
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("server log ended before it listened")
            .unwrap();
        if let Some(rest) = line.split("listening on http://").nth(1) {
            break rest.trim().to_owned();
        }
    };
    // Keep draining the log so the server never blocks on a full pipe; a panic or an error is
    // worth seeing.
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            if line.contains("panicked") || line.contains("ERROR") {
                eprintln!("server: {line}");
            }
        }
    });
    ServerProcess {
        child,
        base: format!("http://{addr}"),
        addr,
    }
}

impl ServerProcess {
    /// Pins every thread of the server to one core (threads it starts later inherit it).
    pub fn pinned(self, core: usize) -> Self {
        pin(self.child.id(), core);
        self
    }
}

/// Pins a process (all its threads) to one core, with util-linux's `taskset`.
pub fn pin(pid: u32, core: usize) {
    let status = Command::new("taskset")
        .args(["-a", "-p", "-c", &core.to_string(), &pid.to_string()])
        .stdout(Stdio::null())
        .status()
        .expect("taskset runs");
    assert!(status.success(), "taskset could not pin {pid}");
}

/// The value after the flag `name` in the command line, or `default`.
pub fn arg<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> T {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).unwrap()
}

/// Resident memory of a process in KiB, from /proc.
pub fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

pub fn micros(d: Duration) -> u64 {
    d.as_micros() as u64
}

/// One line of results: rate, and latency percentiles in milliseconds.
pub fn report(name: &str, count: u64, elapsed: Duration, hist: &Histogram<u64>) -> String {
    format!(
        "| {name} | {count} | {:.0} | {:.2} | {:.2} | {:.2} |",
        count as f64 / elapsed.as_secs_f64(),
        hist.value_at_quantile(0.50) as f64 / 1000.0,
        hist.value_at_quantile(0.99) as f64 / 1000.0,
        hist.max() as f64 / 1000.0,
    )
}

/// User plus system CPU time of a process, in microseconds.
pub fn cpu_micros(pid: u32) -> f64 {
    stat_ticks(&pid.to_string(), 11..13) * 1_000_000.0 / 100.0
}

/// The whole machine's CPU time, from /proc/stat, in clock ticks: all of it, and what the
/// hypervisor gave to other guests ("steal"). On a shared virtual machine, stolen time is what
/// makes a quiet run and a noisy one differ: a round's latency only compares with another's at a
/// similar share.
#[derive(Clone, Copy, Default)]
pub struct MachineTicks {
    all: f64,
    stolen: f64,
}

impl MachineTicks {
    /// So far.
    pub fn now() -> MachineTicks {
        let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
        let ticks: Vec<f64> = stat
            .lines()
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .skip(1)
            .filter_map(|v| v.parse().ok())
            .collect();
        // user nice system idle iowait irq softirq steal (guest times are already in user).
        MachineTicks {
            all: ticks.iter().take(8).sum(),
            stolen: ticks.get(7).copied().unwrap_or(0.0),
        }
    }

    /// Of the ticks between two readings (`later - earlier`), the share stolen, in percent.
    pub fn stolen_percent(&self) -> f64 {
        100.0 * self.stolen / self.all.max(1.0)
    }
}

impl std::ops::Sub for MachineTicks {
    type Output = MachineTicks;
    fn sub(self, earlier: MachineTicks) -> MachineTicks {
        MachineTicks {
            all: self.all - earlier.all,
            stolen: self.stolen - earlier.stolen,
        }
    }
}

/// When the hypervisor took time from this machine, read from /proc/stat every
/// `StealTrace::EVERY` on a thread of its own until dropped: a latency sample can then be told
/// apart from one the machine, not the software, held up. /proc/stat counts stolen time in ticks of
/// 10 ms, each added once the time stolen since the last reaches one, so a reading that went up
/// marks a stretch around it, not an instant.
pub struct StealTrace {
    /// The moments the stolen ticks went up (`wall_nanos`).
    rises: Arc<Mutex<Vec<u64>>>,
    stop: Arc<AtomicBool>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl StealTrace {
    const EVERY: Duration = Duration::from_millis(10);
    /// How far from a rise a sample counts as near stolen time: a tick is added when the stolen
    /// time it counts is complete, and that may have begun a while before.
    pub const NEAR: Duration = Duration::from_millis(100);

    pub fn start() -> StealTrace {
        let rises = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let reader = {
            let (rises, stop) = (rises.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut last = MachineTicks::now().stolen;
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(Self::EVERY);
                    let stolen = MachineTicks::now().stolen;
                    if stolen > last {
                        rises
                            .lock()
                            .expect("the reader does not panic")
                            .push(wall_nanos());
                    }
                    last = stolen;
                }
            })
        };
        StealTrace {
            rises,
            stop,
            reader: Some(reader),
        }
    }

    /// Whether time was stolen within `NEAR` of the stretch from `from` to `to` (`wall_nanos`).
    pub fn near(&self, from: u64, to: u64) -> bool {
        let rises = self.rises.lock().expect("the reader does not panic");
        let near = Self::NEAR.as_nanos() as u64;
        // Rises are in time order.
        let first_after = rises.partition_point(|at| *at < from.saturating_sub(near));
        rises.get(first_after).is_some_and(|at| *at <= to + near)
    }
}

impl Drop for StealTrace {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }
}

/// Nanoseconds since the Unix epoch: the clock the kernel stamps received datagrams with, and the
/// one every trip and stolen-time rise is read on, across processes.
pub fn wall_nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// Each trip of a round's window (a knock to its host, a frame to its subscriber): when it left
/// and when it arrived (`wall_nanos`), kept until the round ends to be told apart by the machine's
/// stolen time.
#[derive(Default)]
pub struct Trips(Vec<(u64, u64)>);

impl Trips {
    pub fn record(&mut self, sent: u64, arrived: u64) {
        self.0.push((sent, arrived));
    }

    pub fn clear(&mut self) {
        self.0.clear();
    }

    pub fn latency(&self, steal: &StealTrace) -> Latency {
        let mut latency = Latency {
            all: new_histogram(),
            far_from_stolen: new_histogram(),
        };
        for (sent, arrived) in &self.0 {
            let micros = (arrived.saturating_sub(*sent) / 1000).max(1);
            let _ = latency.all.record(micros);
            if !steal.near(*sent, *arrived) {
                let _ = latency.far_from_stolen.record(micros);
            }
        }
        latency
    }
}

/// A round's latencies, in microseconds: of every trip, and of those far from stolen time.
pub struct Latency {
    pub all: Histogram<u64>,
    pub far_from_stolen: Histogram<u64>,
}

impl Latency {
    /// The share of the trips far from stolen time, in percent.
    pub fn far_percent(&self) -> f64 {
        100.0 * self.far_from_stolen.len() as f64 / self.all.len().max(1) as f64
    }
}

/// The sum of a process's /proc stat fields `range` (counted after its name), in clock ticks.
fn stat_ticks(pid: &str, range: std::ops::Range<usize>) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start after its ')'.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    fields
        .get(range)
        .map(|t| t.iter().filter_map(|v| v.parse::<f64>().ok()).sum())
        .unwrap_or(0.0)
}

/// CPU time, in microseconds, of every PostgreSQL server on this machine: each postmaster's own,
/// its ended children's (counted in it once reaped) and its live children's. A backend that ended
/// but is not yet reaped is missed, which is a moment's worth.
pub fn postgres_cpu_micros() -> f64 {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    let comm = |pid: &str| std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    let parent = |pid: &str| stat_ticks(pid, 1..2).to_string();
    let mut ticks = 0.0;
    for entry in entries.flatten() {
        let pid = entry.file_name().to_string_lossy().into_owned();
        if !pid.bytes().all(|b| b.is_ascii_digit()) || comm(&pid).trim() != "postgres" {
            continue;
        }
        ticks += if comm(&parent(&pid)).trim() == "postgres" {
            stat_ticks(&pid, 11..13)
        } else {
            // The postmaster: user, system, and its reaped children's user and system.
            stat_ticks(&pid, 11..15)
        };
    }
    ticks * 1_000_000.0 / 100.0
}

/// A webhook receiver that answers 200 only after `delay`, one thread per connection, counting
/// its answers in `answered`.
pub fn webhook_receiver(delay: Duration, answered: Arc<AtomicU64>) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let answered = answered.clone();
            std::thread::spawn(move || {
                use std::io::{Read, Write};
                let mut stream = stream;
                let mut buf = [0u8; 65536];
                loop {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {
                            std::thread::sleep(delay);
                            if stream
                                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                                .is_ok()
                            {
                                answered.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }
                }
            });
        }
    });
    url
}

/// Subscribes `url` to every event of the key's organisation.
pub async fn subscribe_to_every_event(base: &str, key: &str, url: &str) {
    let response = reqwest::Client::new()
        .post(format!("{base}/v1/webhooks"))
        .bearer_auth(key)
        .json(&serde_json::json!({"url": url, "events": [
            "room.client.knocked", "room.client.knockCancelled", "room.client.joined",
            "room.client.left", "room.session.started", "room.session.ended",
            "room.client.knockAccepted", "room.client.knockHeld", "room.client.knockRejected",
            "room.locked", "room.unlocked"]}))
        .send()
        .await
        .expect("the server answers");
    assert_eq!(response.status(), 201, "webhook endpoint created");
}

/// A signalling connection of a load generator.
pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A signalling connection to the server at `addr`.
pub async fn connect(addr: &str) -> Ws {
    // Nagle off, as a browser's WebSocket has it: each frame leaves as it is sent.
    let (ws, _) =
        tokio_tungstenite::connect_async_with_config(format!("ws://{addr}/v1/signal"), None, true)
            .await
            .expect("a WebSocket");
    ws
}

pub async fn send(ws: &mut Ws, kind: &str, payload: Value) {
    let frame = json!({"type": kind, "payload": payload}).to_string();
    ws.send(Message::Text(frame.into())).await.expect("sent");
}

/// The next frame of this type (others skipped); None when the socket ends first.
pub async fn frame(ws: &mut Ws, kind: &str) -> Option<Value> {
    loop {
        match ws.next().await? {
            Ok(Message::Text(text)) => {
                let value: Value = serde_json::from_str(&text).ok()?;
                if value["type"] == kind {
                    return Some(value["payload"].clone());
                }
            }
            Ok(_) => {}
            Err(_) => return None,
        }
    }
}

/// A locked meeting: its room name and its host key.
pub async fn locked_room(base: &str, key: &str) -> (String, String) {
    let meeting: Value = reqwest::Client::new()
        .post(format!("{base}/v1/meetings"))
        .bearer_auth(key)
        .json(&json!({"endDate": "2099-01-01T00:00:00Z", "isLocked": true, "fields": ["hostRoomUrl"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let host_key = meeting["hostRoomUrl"]
        .as_str()
        .unwrap()
        .split("roomKey=")
        .nth(1)
        .unwrap()
        .to_owned();
    (meeting["roomName"].as_str().unwrap().to_owned(), host_key)
}

//! Cluster load: knocks per second and knock → host latency (p50 / p99) through 1, 2 and 3 nodes on
//! PostgreSQL and Redis, beside a server alone on SQLite, in one run; with two or more nodes every
//! knocker connects to another node than its room's host (each knock crosses nodes). Then the time a
//! room takes to come back after its node is killed, over repeated kills.
//!
//! `eval "$(scripts/services.sh start /tmp/anteroom-bench)"` (a PostgreSQL for it), then
//! `cargo bench --bench cluster_load -- --rooms 100 --rate 1000 --seconds 10 --kills 20`
//!
//! `--baseline PATH` also runs another build of anteroom (say, the commit before a change), each
//! deployment alternately with it and with this one, `--rounds` times (A B A B): this machine is
//! shared and noisy, so a change is judged only against a baseline from the same run. `--nodes
//! 0,3,3r` picks deployments (0: the server alone on SQLite; `3r`: three nodes with each room's
//! host and knocker on the room's own node, as a balancer that hashes on the room sends them).
//! `--node-threads N` gives each node of a cluster N worker threads (default 1; 0 leaves the node's
//! default, one per core, and is what a baseline built before `--worker-threads` needs). The table
//! also gives the CPU time the nodes (together) and Redis spent per knock: on a shared machine it
//! moves far less than latency does. `--arrivals spread` (the default) offers the rate evenly: each
//! room starts at its own offset in the interval once all are ready, and knocks are counted after a
//! second's warm-up; `as-ready` starts each room as soon as it is ready, which bunches the knocks,
//! and counts them all (the bench before the ninth session). Each round also says what share of
//! the machine's time its hypervisor took (`stolen %`), and the p99 of the knocks with no stolen
//! time near them (`common::StealTrace`): on a shared virtual machine, what the software adds and
//! what the machine's stalls add are then told apart. `--webhook` subscribes a receiver that answers
//! at once to every event (each knock makes two: knocked, rejected) and counts the deliveries it
//! answered in the window: the nodes share one outbox in PostgreSQL.

mod common;

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use hdrhistogram::Histogram;
use serde_json::{Value, json};
use tokio::sync::{Barrier, Mutex};
use tokio_tungstenite::tungstenite::Message;

use common::{
    ServerProcess, arg, connect, create_key_from, frame, locked_room, new_histogram, send,
    start_server_from,
};

const LIMITS: [&str; 12] = [
    "--rate-limit-points",
    "4000000000",
    "--knocks-per-ip-per-minute",
    "1000000000",
    "--knock-reject-cooldown-secs",
    "0",
    "--ws-frames-per-second",
    "100000",
    "--media-udp-port",
    "0",
    "--max-knocks-per-address",
    "1000",
];

struct Redis(Child, String);

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn redis() -> Redis {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(Stdio::null())
        .spawn()
        .expect("redis-server runs");
    std::thread::sleep(Duration::from_millis(300));
    Redis(child, format!("redis://127.0.0.1:{port}"))
}

/// A fresh database on the PostgreSQL server the environment names.
fn database(name: &str) -> String {
    let admin = std::env::var("ANTEROOM_TEST_POSTGRES_URL")
        .expect("ANTEROOM_TEST_POSTGRES_URL: start one with scripts/services.sh");
    // Two commands: psql sends one -c string as one transaction, and DROP DATABASE refuses that.
    let status = Command::new("psql")
        .arg(&admin)
        .args(["-q", "-c", &format!("DROP DATABASE IF EXISTS {name}")])
        .args(["-c", &format!("CREATE DATABASE {name}")])
        .status()
        .expect("psql runs");
    assert!(status.success());
    format!("{}/{name}", admin.rsplit_once('/').unwrap().0)
}

/// CPU time, in microseconds.
#[derive(Clone, Copy, Default)]
struct Cpu {
    nodes: f64,
    redis: f64,
    postgres: f64,
    /// This generator's own: it shares the machine's two cores with what it measures.
    generator: f64,
    /// The whole machine's, stolen time included.
    machine: common::MachineTicks,
}

impl std::ops::Sub for Cpu {
    type Output = Cpu;
    fn sub(self, before: Cpu) -> Cpu {
        Cpu {
            nodes: self.nodes - before.nodes,
            redis: self.redis - before.redis,
            postgres: self.postgres - before.postgres,
            generator: self.generator - before.generator,
            machine: self.machine - before.machine,
        }
    }
}

/// `nodes` servers (0: one server alone on SQLite).
struct Deployment {
    bin: String,
    nodes: Vec<ServerProcess>,
    key: String,
    redis: Option<Redis>,
    _dir: tempfile::TempDir,
    args: Vec<String>,
    /// Webhook deliveries answered so far (none without `--webhook`).
    answered: Arc<AtomicU64>,
}

impl Deployment {
    /// `threads`: each node's `--worker-threads` (0: the node's default, one per core).
    fn start(bin: &str, nodes: usize, tag: &str, threads: u16) -> Deployment {
        let dir = tempfile::tempdir().unwrap();
        if nodes == 0 {
            let key = create_key_from(bin, dir.path());
            let server = start_server_from(bin, dir.path(), &LIMITS);
            return Deployment {
                bin: bin.to_owned(),
                nodes: vec![server],
                key,
                redis: None,
                _dir: dir,
                args: Vec::new(),
                answered: Arc::default(),
            };
        }
        let redis = redis();
        let url = database(&format!("bench_{tag}"));
        let out = Command::new(bin)
            .args(["api-key", "create", "--database-url", &url])
            .output()
            .unwrap();
        let key = String::from_utf8(out.stdout).unwrap().trim().to_owned();
        let mut args: Vec<String> = ["--database-url", &url, "--redis-url", &redis.1]
            .iter()
            .chain(LIMITS.iter())
            .map(|s| s.to_string())
            .collect();
        if threads > 0 {
            args.extend(["--worker-threads".to_owned(), threads.to_string()]);
        }
        let mut deployment = Deployment {
            bin: bin.to_owned(),
            nodes: Vec::new(),
            key,
            redis: Some(redis),
            _dir: dir,
            args,
            answered: Arc::default(),
        };
        for _ in 0..nodes {
            deployment.add_node();
        }
        deployment
    }

    /// CPU time used so far by the nodes together, by Redis and by PostgreSQL.
    fn cpu(&self) -> Cpu {
        Cpu {
            nodes: self
                .nodes
                .iter()
                .map(|n| common::cpu_micros(n.child.id()))
                .sum(),
            redis: self
                .redis
                .as_ref()
                .map_or(0.0, |r| common::cpu_micros(r.0.id())),
            postgres: common::postgres_cpu_micros(),
            generator: common::cpu_micros(std::process::id()),
            machine: common::MachineTicks::now(),
        }
    }

    /// A receiver answering at once, subscribed to every event; its answers are counted.
    async fn subscribe_webhook(&self) {
        let url = common::webhook_receiver(Duration::ZERO, self.answered.clone());
        common::subscribe_to_every_event(&self.nodes[0].base, &self.key, &url).await;
    }

    fn add_node(&mut self) -> usize {
        let args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        self.nodes
            .push(start_server_from(&self.bin, self._dir.path(), &args));
        self.nodes.len() - 1
    }
}

/// How the rooms' knocks are spread over time.
#[derive(Clone, Copy, PartialEq)]
enum Arrivals {
    /// Once every room is ready, each starts at its own offset in the interval: the offered rate
    /// arrives evenly, as many independent guests' knocks do. Knocks of the first second (the
    /// nodes' first statements, scripts and connections) are not counted, and every room stays
    /// connected until all are done (a room's leaving is work for its node).
    Spread,
    /// Each room starts knocking as soon as it is ready (the bench before `--arrivals`). Rooms get
    /// ready in clumps (half of 100 within 10 ms), so their knocks come in bursts every interval.
    AsReady,
}

/// When one room knocks.
struct Pace {
    arrivals: Arrivals,
    every: Duration,
    offset: Duration,
    seconds: Duration,
    started: Instant,
    ready: Arc<Barrier>,
    done: Arc<Barrier>,
    go: Arc<OnceLock<Instant>>,
}

/// Knocks during this long are not counted (`Arrivals::Spread`).
const WARM_UP: Duration = Duration::from_secs(1);

impl Pace {
    /// Waits until all rooms are ready; returns the time of the room's first knock, of the first
    /// one counted, and when to stop.
    async fn start(&self) -> (Instant, Instant, Instant) {
        match self.arrivals {
            Arrivals::AsReady => {
                let now = Instant::now();
                (now, now, self.started + self.seconds)
            }
            Arrivals::Spread => {
                // A room whose set-up failed never arrives: the others go without it.
                let _ = tokio::time::timeout(Duration::from_secs(60), self.ready.wait()).await;
                let go = *self.go.get_or_init(Instant::now);
                (go + self.offset, go + WARM_UP, go + WARM_UP + self.seconds)
            }
        }
    }

    /// Waits until every room is done knocking.
    async fn finish(&self) {
        if self.arrivals == Arrivals::Spread {
            let _ = tokio::time::timeout(Duration::from_secs(60), self.done.wait()).await;
        }
    }
}

/// One room's loop: its knocker knocks every `pace.every`, its host hears it (timed) and turns it
/// away.
async fn room_loop(
    host_addr: String,
    knock_addr: String,
    key: String,
    pace: Pace,
    trips: Arc<Mutex<common::Trips>>,
) -> u64 {
    let (room, host_key) = locked_room(&format!("http://{host_addr}"), &key).await;
    let mut host_ws = connect(&host_addr).await;
    send(
        &mut host_ws,
        "join_room",
        json!({"roomName": room, "roomKey": host_key, "displayName": "Host"}),
    )
    .await;
    frame(&mut host_ws, "room_joined").await;
    let mut guest = connect(&knock_addr).await;
    send(
        &mut guest,
        "join_room",
        json!({"roomName": room, "displayName": "Guest", "deviceId": "bench-device"}),
    )
    .await;
    frame(&mut guest, "room_joined").await;
    let (mut next, counted_from, until) = pace.start().await;
    let mut knocks = 0;
    while next < until {
        tokio::time::sleep_until(next.into()).await;
        next += pace.every;
        let (sent, sent_at) = (Instant::now(), common::wall_nanos());
        send(&mut guest, "knock_room", json!({})).await;
        let Some(knock) = frame(&mut host_ws, "room_knocked").await else {
            break;
        };
        if sent >= counted_from {
            trips.lock().await.record(sent_at, common::wall_nanos());
            knocks += 1;
        }
        send(
            &mut host_ws,
            "handle_knock",
            json!({"clientId": knock["clientId"], "action": "reject"}),
        )
        .await;
        if frame(&mut guest, "knock_handled").await.is_none() {
            break;
        }
    }
    pace.finish().await;
    knocks
}

async fn measure(
    deployment: &Deployment,
    rooms: usize,
    rate: f64,
    seconds: u64,
    together: bool,
    arrivals: Arrivals,
) -> (f64, common::Latency, Cpu, u64) {
    let trips = Arc::new(Mutex::new(common::Trips::default()));
    let steal = common::StealTrace::start();
    let every = Duration::from_secs_f64(rooms as f64 / rate);
    let start = Instant::now();
    // The rooms, and this task, which reads the CPU times over the window the knocks are counted in.
    let ready = Arc::new(Barrier::new(rooms + 1));
    let done = Arc::new(Barrier::new(rooms));
    let go = Arc::new(OnceLock::new());
    let nodes = deployment.nodes.len();
    let mut tasks = Vec::new();
    for room in 0..rooms {
        let host = deployment.nodes[room % nodes].addr.clone();
        // Across nodes when there are several (the knocker is on the next one), unless the room's
        // people are to be together on its node.
        let knocker_node = if together { room } else { room + 1 };
        let knocker = deployment.nodes[knocker_node % nodes].addr.clone();
        let pace = Pace {
            arrivals,
            every,
            // Rooms knock one after another, evenly spread over the interval.
            offset: every.mul_f64(room as f64 / rooms as f64),
            seconds: Duration::from_secs(seconds),
            started: start,
            ready: ready.clone(),
            done: done.clone(),
            go: go.clone(),
        };
        let (key, trips) = (deployment.key.clone(), trips.clone());
        tasks.push(tokio::spawn(room_loop(host, knocker, key, pace, trips)));
    }
    let (cpu, delivered) = match arrivals {
        Arrivals::Spread => {
            let _ = tokio::time::timeout(Duration::from_secs(60), ready.wait()).await;
            let go = *go.get_or_init(Instant::now);
            tokio::time::sleep_until((go + WARM_UP).into()).await;
            let before = (
                deployment.cpu(),
                deployment.answered.load(Ordering::Relaxed),
            );
            let until = go + WARM_UP + Duration::from_secs(seconds);
            tokio::time::sleep_until(until.into()).await;
            (
                deployment.cpu() - before.0,
                deployment.answered.load(Ordering::Relaxed) - before.1,
            )
        }
        Arrivals::AsReady => (Cpu::default(), 0),
    };
    let mut knocks = 0;
    for task in tasks {
        knocks += task.await.unwrap_or(0);
    }
    // Spread: knocks are counted for `seconds` after the warm-up. As ready: from each room's own
    // readiness until `seconds` after the start, room set-up included (as before `--arrivals`).
    let elapsed = match arrivals {
        Arrivals::Spread => seconds as f64,
        Arrivals::AsReady => start.elapsed().as_secs_f64(),
    };
    let latency = trips.lock().await.latency(&steal);
    (knocks as f64 / elapsed, latency, cpu, delivered)
}

/// Kills the node that runs a room and times until the room answers through another node.
async fn failover(deployment: &mut Deployment, kills: usize) -> Histogram<u64> {
    let mut times = new_histogram();
    for kill in 0..kills {
        let owner = deployment.nodes.len() - 1;
        let owner_addr = deployment.nodes[owner].addr.clone();
        let (room, host_key) = locked_room(&format!("http://{owner_addr}"), &deployment.key).await;
        let mut host_ws = connect(&owner_addr).await;
        send(
            &mut host_ws,
            "join_room",
            json!({"roomName": room, "roomKey": host_key, "displayName": "Host"}),
        )
        .await;
        let joined = frame(&mut host_ws, "room_joined").await.expect("joined");
        let token = joined["resumeToken"].as_str().unwrap().to_owned();
        let mut dead = deployment.nodes.remove(owner);
        let _ = dead.child.kill();
        let _ = dead.child.wait();
        let killed = Instant::now();
        let other = deployment.nodes[kill % deployment.nodes.len()].addr.clone();
        loop {
            let mut ws = connect(&other).await;
            send(&mut ws, "join_room", json!({"roomName": room, "roomKey": host_key, "displayName": "Host", "resumeToken": token})).await;
            let answer = loop {
                match ws.next().await {
                    Some(Ok(Message::Text(text))) => {
                        let value: Value = serde_json::from_str(&text).unwrap();
                        if value["type"] == "room_joined" || value["type"] == "error" {
                            break value;
                        }
                    }
                    _ => break Value::Null,
                }
            };
            if answer["type"] == "room_joined" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        times
            .record(killed.elapsed().as_millis().max(1) as u64)
            .ok();
        deployment.add_node();
    }
    times
}

fn main() {
    let raw: Vec<String> = std::env::args().collect();
    let rooms: usize = arg(&raw, "--rooms", 100);
    let rate: f64 = arg(&raw, "--rate", 1000.0);
    let seconds: u64 = arg(&raw, "--seconds", 10);
    let kills: usize = arg(&raw, "--kills", 20);
    let rounds: usize = arg(&raw, "--rounds", 1);
    let baseline: String = arg(&raw, "--baseline", String::new());
    // Nodes share the two cores with one another, PostgreSQL, Redis and this generator: one worker
    // thread each wakes fewer threads per message (0: the default; a baseline built before
    // `--worker-threads` needs it).
    let node_threads: u16 = arg(&raw, "--node-threads", 1);
    let webhook = raw.iter().any(|a| a == "--webhook");
    let arrivals = match arg(&raw, "--arrivals", "spread".to_owned()).as_str() {
        "spread" => Arrivals::Spread,
        "as-ready" => Arrivals::AsReady,
        other => panic!("--arrivals: spread or as-ready, not {other}"),
    };
    // "3r": three nodes, each room's people on its own node (as a balancer hashing on the room
    // sends them), against "3": every knock across nodes.
    let deployments: Vec<(usize, bool)> = arg(&raw, "--nodes", "0,1,2,3".to_owned())
        .split(',')
        .map(|n| {
            let n = n.trim();
            let together = n.ends_with('r');
            let count = n
                .trim_end_matches('r')
                .parse()
                .expect("--nodes: numbers from 0 to 3, each with an optional r, comma-separated");
            (count, together)
        })
        .collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut builds = vec![("this build", common::BIN)];
    if !baseline.is_empty() {
        builds.insert(0, ("baseline", baseline.as_str()));
    }
    println!("{rooms} rooms, {rate} knocks/s offered in all, {seconds} s each; knock → host");
    if webhook {
        println!("a webhook receiver answering at once subscribed to every event");
    }
    println!(
        "| deployment | build | knocks/s | p50 ms | p99 ms | max ms | nodes' CPU µs / knock | Redis's | PostgreSQL's | generator's | stolen % | p99 ms far from stolen time (share of knocks) | webhook deliveries answered / s |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for (nodes, together) in deployments {
        let name = match (nodes, together) {
            (0, _) => "one server, SQLite".to_owned(),
            (1, _) => "1 node (PostgreSQL, Redis)".to_owned(),
            (n, true) => format!("{n} nodes, each room's people on its node"),
            (n, false) => format!("{n} nodes, every knock across nodes"),
        };
        for round in 0..rounds {
            for (index, (build, bin)) in builds.iter().enumerate() {
                let tag = format!("n{nodes}_r{round}_b{index}");
                let deployment = Deployment::start(bin, nodes, &tag, node_threads);
                if webhook {
                    runtime.block_on(deployment.subscribe_webhook());
                }
                let cpu_before = deployment.cpu();
                let (done, latency, window_cpu, delivered) = runtime.block_on(measure(
                    &deployment,
                    rooms,
                    rate,
                    seconds,
                    together,
                    arrivals,
                ));
                // As ready: over the whole measure, room set-up included (as before `--arrivals`).
                let cpu = match arrivals {
                    Arrivals::Spread => window_cpu,
                    Arrivals::AsReady => deployment.cpu() - cpu_before,
                };
                // CPU per knock (its host's rejection included) is what the machine's noise moves
                // least: the latency is mostly waits for a core.
                let hist = &latency.all;
                let knocks = hist.len().max(1) as f64;
                println!(
                    "| {name} | {build} | {done:.0} | {:.2} | {:.2} | {:.2} | {:.0} | {:.0} | {:.0} | {:.0} | {:.1} | {:.2} ({:.0} %) | {:.0} |",
                    hist.value_at_quantile(0.5) as f64 / 1000.0,
                    hist.value_at_quantile(0.99) as f64 / 1000.0,
                    hist.max() as f64 / 1000.0,
                    cpu.nodes / knocks,
                    cpu.redis / knocks,
                    cpu.postgres / knocks,
                    cpu.generator / knocks,
                    cpu.machine.stolen_percent(),
                    latency.far_from_stolen.value_at_quantile(0.99) as f64 / 1000.0,
                    latency.far_percent(),
                    delivered as f64 / seconds as f64,
                );
            }
        }
    }
    if kills > 0 {
        let mut deployment = Deployment::start(common::BIN, 3, "failover", node_threads);
        let times = runtime.block_on(failover(&mut deployment, kills));
        println!(
            "failover over {} kills of a room's node (lease 3 s): p50 {} ms, p99 {} ms, max {} ms, min {} ms",
            times.len(),
            times.value_at_quantile(0.5),
            times.value_at_quantile(0.99),
            times.max(),
            times.min()
        );
    }
}

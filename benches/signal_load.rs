//! Signalling load generator: N locked rooms, each with 1 host and K knockers, over real WebSockets on
//! loopback against the real release server. Measures knock -> `room_knocked` at the host and
//! `handle_knock` -> `knock_handled` at the knocker, the knock rate sustained, the connections held and
//! the server's memory per connection; then the same one-way trip through a bare WebSocket relay on
//! the same server, so the engine's cost shows as a ratio.
//!
//! `cargo bench --bench signal_load -- --rooms 1900 --knockers 9 --rate 2000 --seconds 20 --workers 2`
//!
//! `--slow-webhook-secs N` subscribes a receiver answering after N seconds (0: at once, and the
//! deliveries it answered are counted); `--dead-webhook` an endpoint whose receiver is down.
//!
//! One process holds at most ~19,900 sockets on these machines, so the connections are opened by
//! worker processes (this same binary, re-run with `--worker`).

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer, V2Serializer};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use common::{arg, new_histogram, rss_kib, start_server};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;
type Stamps = Arc<Mutex<HashMap<String, Instant>>>;
type SharedHistogram = Arc<Mutex<Histogram<u64>>>;

#[derive(Clone)]
struct Args {
    rooms: usize,
    knockers: usize,
    rate: f64,
    seconds: u64,
    workers: usize,
    relay_pairs: usize,
    /// When set, a webhook receiver that takes this long to answer subscribes to every event.
    slow_webhook_secs: Option<u64>,
    /// An endpoint whose receiver is down (connection refused) subscribes to every event.
    dead_webhook: bool,
}

fn main() {
    let raw: Vec<String> = std::env::args().collect();
    if raw.iter().any(|a| a == "--relay-worker") {
        // The baseline runs in a worker process of its own, like the knock workers, so both are
        // measured by the same kind of client.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let hist = runtime.block_on(relay_baseline(
            &arg(&raw, "--addr", String::new()),
            arg(&raw, "--pairs", 200),
            arg(&raw, "--rate", 1000.0),
            arg(&raw, "--seconds", 10),
        ));
        println!("RESULT {}", encode(&hist));
        return;
    }
    if raw.iter().any(|a| a == "--worker") {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(worker(
            arg(&raw, "--addr", String::new()),
            arg(&raw, "--rooms-file", String::new()),
            arg(&raw, "--knockers", 9),
            arg(&raw, "--rate", 1000.0),
            arg(&raw, "--seconds", 10),
        ));
        return;
    }
    let args = Args {
        rooms: arg(&raw, "--rooms", 1900),
        knockers: arg(&raw, "--knockers", 9),
        rate: arg(&raw, "--rate", 2000.0),
        seconds: arg(&raw, "--seconds", 20),
        workers: arg(&raw, "--workers", 2),
        relay_pairs: arg(&raw, "--relay-pairs", 200),
        slow_webhook_secs: raw
            .iter()
            .any(|a| a == "--slow-webhook-secs")
            .then(|| arg(&raw, "--slow-webhook-secs", 5)),
        dead_webhook: raw.iter().any(|a| a == "--dead-webhook"),
    };
    orchestrate(args);
}

fn orchestrate(args: Args) {
    let dir = tempfile::tempdir().unwrap();
    let key = common::create_key(dir.path());
    let server = start_server(
        dir.path(),
        &[
            "--rate-limit-points",
            "4000000000",
            "--knocks-per-ip-per-minute",
            "1000000000",
            "--knock-reject-cooldown-secs",
            "0",
            "--ws-frames-per-second",
            "100000",
            "--max-knocks-per-room",
            "1000",
        ],
    );
    let pid = server.child.id();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let total_conns = args.rooms * (1 + args.knockers);
    println!(
        "rooms={} knockers/room={} connections={} target rate={}/s seconds={} workers={}",
        args.rooms, args.knockers, total_conns, args.rate, args.seconds, args.workers
    );

    // Baseline first, on a quiet server: one-way trips through the bare relay at the same rate.
    let relay = {
        let out = Command::new(std::env::current_exe().unwrap())
            .args(["--relay-worker", "--addr", &server.addr])
            .args(["--pairs", &args.relay_pairs.to_string()])
            .args(["--rate", &args.rate.to_string()])
            .args(["--seconds", &args.seconds.min(10).to_string()])
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        decode(
            text.trim()
                .strip_prefix("RESULT ")
                .expect("relay worker result"),
        )
    };

    // Meetings, through the REST API.
    let rooms: Vec<(String, String)> = runtime.block_on(async {
        let http = reqwest::Client::new();
        let mut rooms = Vec::new();
        for _ in 0..args.rooms {
            let meeting: Value = http
                .post(format!("{}/v1/meetings", server.base))
                .bearer_auth(&key)
                .json(&json!({"endDate": "2099-01-01T00:00:00Z", "isLocked": true, "roomMode": "group", "fields": ["hostRoomUrl"]}))
                .send().await.unwrap().json().await.unwrap();
            let host_key = meeting["hostRoomUrl"].as_str().unwrap().split("roomKey=").nth(1).unwrap().to_owned();
            rooms.push((meeting["roomName"].as_str().unwrap().to_owned(), host_key));
        }
        rooms
    });
    let answered = Arc::new(AtomicU64::new(0));
    let mut endpoints = Vec::new();
    if let Some(secs) = args.slow_webhook_secs {
        let url = common::webhook_receiver(Duration::from_secs(secs), answered.clone());
        endpoints.push(url);
        println!("webhook receiver answering after {secs} s subscribed to every event");
    }
    if args.dead_webhook {
        // A port just freed: nothing listens there, so every attempt is refused at once.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        endpoints.push(format!("http://127.0.0.1:{port}/hooks"));
        println!("webhook endpoint whose receiver is down subscribed to every event");
    }
    for url in endpoints {
        runtime.block_on(common::subscribe_to_every_event(&server.base, &key, &url));
    }
    std::thread::sleep(Duration::from_secs(1));
    let rss_before = rss_kib(pid);

    let mut workers = Vec::new();
    let per_worker = args.rooms.div_ceil(args.workers);
    for (i, chunk) in rooms.chunks(per_worker).enumerate() {
        let file = dir.path().join(format!("rooms-{i}.txt"));
        let lines: Vec<String> = chunk.iter().map(|(n, k)| format!("{n} {k}")).collect();
        std::fs::write(&file, lines.join("\n")).unwrap();
        let child = Command::new(std::env::current_exe().unwrap())
            .args(["--worker", "--addr", &server.addr, "--rooms-file"])
            .arg(&file)
            .args(["--knockers", &args.knockers.to_string()])
            .args(["--rate", &(args.rate / args.workers as f64).to_string()])
            .args(["--seconds", &args.seconds.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        workers.push(child);
    }
    let mut readers: Vec<_> = workers
        .iter_mut()
        .map(|w| BufReader::new(w.stdout.take().unwrap()).lines())
        .collect();
    let connect_started = Instant::now();
    let mut held = 0usize;
    for reader in readers.iter_mut() {
        let line = reader.next().unwrap().unwrap();
        held += line
            .strip_prefix("READY ")
            .expect("worker ready")
            .parse::<usize>()
            .unwrap();
    }
    let connect_secs = connect_started.elapsed().as_secs_f64();
    std::thread::sleep(Duration::from_secs(2));
    let rss_held = rss_kib(pid);
    let server_fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0);
    let per_conn_kib = (rss_held.saturating_sub(rss_before)) as f64 / held as f64;

    for worker in workers.iter_mut() {
        writeln!(worker.stdin.as_mut().unwrap(), "GO").unwrap();
    }
    let answered_before = answered.load(Ordering::Relaxed);
    let cpu_before = common::cpu_micros(pid);
    let mut to_host = new_histogram();
    let mut to_knocker = new_histogram();
    let mut completed = 0u64;
    let mut skipped = 0u64;
    for reader in readers.iter_mut() {
        let line = reader.next().unwrap().unwrap();
        let parts: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(parts[0], "RESULT", "{line}");
        to_host.add(decode(parts[1])).unwrap();
        to_knocker.add(decode(parts[2])).unwrap();
        completed += parts[3].parse::<u64>().unwrap();
        skipped += parts[4].parse::<u64>().unwrap();
    }
    let rss_after = rss_kib(pid);
    let cpu_during = (common::cpu_micros(pid) - cpu_before) / 1e6;
    let answered_during = answered.load(Ordering::Relaxed) - answered_before;
    for mut worker in workers {
        drop(worker.stdin.take());
        let _ = worker.wait();
    }

    println!();
    println!("connections held: {held} (opened in {connect_secs:.1} s); server fds: {server_fds}");
    println!(
        "server RSS: {} KiB before, {} KiB with all connections held ({per_conn_kib:.1} KiB per connection), {} KiB after the knock phase",
        rss_before, rss_held, rss_after
    );
    println!(
        "knocks completed: {completed} in {} s = {:.0}/s sustained (ticks with no idle knocker: {skipped})",
        args.seconds,
        completed as f64 / args.seconds as f64
    );
    println!(
        "server CPU during the knocks: {cpu_during:.1} s = {:.0} % of one core",
        cpu_during * 100.0 / args.seconds as f64
    );
    if args.slow_webhook_secs.is_some() {
        println!(
            "webhook deliveries answered during the knocks: {answered_during} = {:.0}/s",
            answered_during as f64 / args.seconds as f64
        );
    }
    println!();
    println!("| one-way trip | count | p50 ms | p99 ms | max ms |");
    println!("|---|---|---|---|---|");
    println!("{}", row("knock -> room_knocked at the host", &to_host));
    println!(
        "{}",
        row("handle_knock -> knock_handled at the knocker", &to_knocker)
    );
    println!("{}", row("bare relay (baseline)", &relay));
    println!();
    println!(
        "ratio p50 / p99 against the bare relay: knock {:.2} / {:.2}, verdict {:.2} / {:.2}",
        to_host.value_at_quantile(0.5) as f64 / relay.value_at_quantile(0.5) as f64,
        to_host.value_at_quantile(0.99) as f64 / relay.value_at_quantile(0.99) as f64,
        to_knocker.value_at_quantile(0.5) as f64 / relay.value_at_quantile(0.5) as f64,
        to_knocker.value_at_quantile(0.99) as f64 / relay.value_at_quantile(0.99) as f64,
    );
}

fn row(name: &str, h: &Histogram<u64>) -> String {
    format!(
        "| {name} | {} | {:.3} | {:.3} | {:.3} |",
        h.len(),
        h.value_at_quantile(0.5) as f64 / 1000.0,
        h.value_at_quantile(0.99) as f64 / 1000.0,
        h.max() as f64 / 1000.0
    )
}

fn encode(h: &Histogram<u64>) -> String {
    let mut bytes = Vec::new();
    V2Serializer::new().serialize(h, &mut bytes).unwrap();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn decode(text: &str) -> Histogram<u64> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap();
    Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .unwrap()
}

async fn connect(addr: &str, path: &str) -> Ws {
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0);
    for attempt in 0..20 {
        match tokio_tungstenite::connect_async_with_config(
            format!("ws://{addr}{path}"),
            Some(config),
            true,
        )
        .await
        {
            Ok((ws, _)) => return ws,
            Err(err) if attempt < 19 => {
                let _ = err;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(err) => panic!("cannot connect: {err}"),
        }
    }
    unreachable!()
}

async fn next_json(ws: &mut Ws) -> Option<Value> {
    loop {
        match ws.next().await? {
            Ok(Message::Text(text)) => return serde_json::from_str(&text).ok(),
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => continue,
        }
    }
}

async fn send(ws: &mut Ws, kind: &str, payload: Value) {
    ws.send(Message::text(
        json!({"type": kind, "payload": payload}).to_string(),
    ))
    .await
    .unwrap();
}

/// Opens a room's host and knockers; returns them with the knockers' client ids.
async fn open_room(
    addr: String,
    name: String,
    key: String,
    knockers: usize,
) -> (Ws, Vec<(String, Ws)>) {
    let mut host = connect(&addr, "/v1/signal").await;
    next_json(&mut host).await; // hello
    send(
        &mut host,
        "join_room",
        json!({"roomName": name, "roomKey": key, "displayName": "Host"}),
    )
    .await;
    let joined = next_json(&mut host).await.unwrap();
    assert_eq!(joined["payload"]["role"], "host", "{joined}");
    let mut guests = Vec::new();
    for i in 0..knockers {
        let mut ws = connect(&addr, "/v1/signal").await;
        next_json(&mut ws).await;
        send(
            &mut ws,
            "join_room",
            json!({"roomName": name, "displayName": format!("Guest {i}")}),
        )
        .await;
        let door = next_json(&mut ws).await.unwrap();
        assert_eq!(door["payload"]["error"], "room_locked", "{door}");
        guests.push((door["payload"]["selfId"].as_str().unwrap().to_owned(), ws));
    }
    (host, guests)
}

async fn worker(addr: String, rooms_file: String, knockers: usize, rate: f64, seconds: u64) {
    let rooms: Vec<(String, String)> = std::fs::read_to_string(&rooms_file)
        .unwrap()
        .lines()
        .map(|l| {
            let (n, k) = l.split_once(' ').unwrap();
            (n.to_owned(), k.to_owned())
        })
        .collect();
    // Open rooms 64 at a time: fast, without flooding the listen backlog.
    let mut opened = Vec::new();
    for batch in rooms.chunks(64) {
        let tasks: Vec<_> = batch
            .iter()
            .map(|(n, k)| tokio::spawn(open_room(addr.clone(), n.clone(), k.clone(), knockers)))
            .collect();
        for task in tasks {
            opened.push(task.await.unwrap());
        }
    }
    let held = opened.len() * (1 + knockers);
    println!("READY {held}");
    std::io::stdout().flush().unwrap();
    let mut go = String::new();
    tokio::task::spawn_blocking(move || std::io::stdin().read_line(&mut go))
        .await
        .unwrap()
        .unwrap();

    let knock_sent: Stamps = Arc::default();
    let verdict_sent: Stamps = Arc::default();
    let to_host: SharedHistogram = Arc::new(Mutex::new(new_histogram()));
    let to_knocker: SharedHistogram = Arc::new(Mutex::new(new_histogram()));
    let (idle_tx, mut idle_rx) = mpsc::unbounded_channel::<mpsc::UnboundedSender<()>>();
    let completed = Arc::new(std::sync::atomic::AtomicU64::new(0));
    for (mut host, guests) in opened {
        let (knocks, verdicts, host_hist) =
            (knock_sent.clone(), verdict_sent.clone(), to_host.clone());
        tokio::spawn(async move {
            while let Some(frame) = next_json(&mut host).await {
                if frame["type"] == "room_knocked" {
                    let id = frame["payload"]["clientId"].as_str().unwrap().to_owned();
                    if let Some(at) = knocks.lock().unwrap().remove(&id) {
                        host_hist
                            .lock()
                            .unwrap()
                            .record(at.elapsed().as_micros().max(1) as u64)
                            .unwrap();
                    }
                    verdicts.lock().unwrap().insert(id.clone(), Instant::now());
                    send(
                        &mut host,
                        "handle_knock",
                        json!({"clientId": id, "action": "reject"}),
                    )
                    .await;
                }
            }
        });
        for (id, mut ws) in guests {
            let (cmd_tx, mut cmd_rx) = mpsc::unbounded_channel::<()>();
            idle_tx.send(cmd_tx.clone()).unwrap();
            let (knocks, verdicts, knocker_hist, idle, done) = (
                knock_sent.clone(),
                verdict_sent.clone(),
                to_knocker.clone(),
                idle_tx.clone(),
                completed.clone(),
            );
            tokio::spawn(async move {
                loop {
                    tokio::select! {
                        cmd = cmd_rx.recv() => {
                            if cmd.is_none() { break; }
                            knocks.lock().unwrap().insert(id.clone(), Instant::now());
                            send(&mut ws, "knock_room", json!({})).await;
                        }
                        frame = next_json(&mut ws) => {
                            let Some(frame) = frame else { break };
                            if frame["type"] == "knock_handled" {
                                if let Some(at) = verdicts.lock().unwrap().remove(&id) {
                                    knocker_hist.lock().unwrap().record(at.elapsed().as_micros().max(1) as u64).unwrap();
                                }
                                done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                                let _ = idle.send(cmd_tx.clone());
                            } else if frame["type"] == "error" {
                                eprintln!("knocker error: {frame}");
                                let _ = idle.send(cmd_tx.clone());
                            }
                        }
                    }
                }
            });
        }
    }
    let interval = Duration::from_secs_f64(1.0 / rate);
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let started = Instant::now();
    let mut skipped = 0u64;
    completed.store(0, std::sync::atomic::Ordering::Relaxed);
    while started.elapsed() < Duration::from_secs(seconds) {
        ticker.tick().await;
        match idle_rx.try_recv() {
            Ok(knocker) => {
                let _ = knocker.send(());
            }
            Err(_) => skipped += 1,
        }
    }
    let done = completed.load(std::sync::atomic::Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let host_h = to_host.lock().unwrap().clone();
    let knocker_h = to_knocker.lock().unwrap().clone();
    println!(
        "RESULT {} {} {done} {skipped}",
        encode(&host_h),
        encode(&knocker_h)
    );
    std::io::stdout().flush().unwrap();
    std::process::exit(0);
}

/// The baseline: `pairs` pairs on the bare relay; at `rate` messages/s in all, A sends a timestamp
/// key, B receives it (one-way trip measured), B answers, and A may send again.
async fn relay_baseline(addr: &str, pairs: usize, rate: f64, seconds: u64) -> Histogram<u64> {
    let sent: Stamps = Arc::default();
    let hist: SharedHistogram = Arc::new(Mutex::new(new_histogram()));
    let (idle_tx, mut idle_rx) = mpsc::unbounded_channel::<mpsc::UnboundedSender<()>>();
    for p in 0..pairs {
        let channel = format!("pair-{p}");
        let mut a = connect(addr, "/__bench/relay").await;
        let mut b = connect(addr, "/__bench/relay").await;
        a.send(Message::text(channel.clone())).await.unwrap();
        b.send(Message::text(channel.clone())).await.unwrap();
        tokio::time::sleep(Duration::from_millis(2)).await;
        let (sent_a, sent_b, hist_b) = (sent.clone(), sent.clone(), hist.clone());
        let (cmd_tx, mut cmd_rx) = mpsc::unbounded_channel::<()>();
        idle_tx.send(cmd_tx.clone()).unwrap();
        let idle = idle_tx.clone();
        let key = channel.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    cmd = cmd_rx.recv() => {
                        if cmd.is_none() { break; }
                        sent_a.lock().unwrap().insert(key.clone(), Instant::now());
                        a.send(Message::text(json!({"type": "ping", "payload": {"k": key}}).to_string())).await.unwrap();
                    }
                    frame = a.next() => {
                        if frame.is_none() { break; }
                        let _ = idle.send(cmd_tx.clone());
                    }
                }
            }
        });
        tokio::spawn(async move {
            while let Some(Ok(message)) = b.next().await {
                if let Message::Text(text) = message {
                    let value: Value = serde_json::from_str(&text).unwrap();
                    let k = value["payload"]["k"].as_str().unwrap().to_owned();
                    if let Some(at) = sent_b.lock().unwrap().remove(&k) {
                        hist_b
                            .lock()
                            .unwrap()
                            .record(at.elapsed().as_micros().max(1) as u64)
                            .unwrap();
                    }
                    b.send(Message::text(json!({"type": "pong"}).to_string()))
                        .await
                        .unwrap();
                }
            }
        });
    }
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(seconds) {
        ticker.tick().await;
        if let Ok(pair) = idle_rx.try_recv() {
            let _ = pair.send(());
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    hist.lock().unwrap().clone()
}

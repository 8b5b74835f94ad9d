//! Soak: what a server keeps of the rooms that came and went. Each cycle creates a meeting, a host
//! enters, a guest knocks and is let in, a chat message goes round, both leave; nothing scrapes
//! `/metrics` meanwhile. The server's resident memory and the size of SQLite's WAL file are printed
//! every `--every` cycles, and the memory's growth per thousand cycles after the first `--every`
//! (when the store's caches have filled).
//!
//! `cargo bench --bench soak -- --cycles 30000 --every 5000`
//!
//! `ANTEROOM_BENCH_BIN` runs another build (a baseline) or a wrapper (`heaptrack`, to see what stays
//! allocated: docs/performance.md, "Soak").

mod common;

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use common::{Ws, arg, connect, create_key, frame, locked_room, rss_kib, send, start_server};

/// How long one frame may take before the cycle is said to be stuck.
const WAIT: Duration = Duration::from_secs(10);

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let cycles: usize = arg(&args, "--cycles", 30_000);
    let every: usize = arg(&args, "--every", 5_000);
    let data = tempfile::tempdir().expect("a temporary directory");
    let key = create_key(data.path());
    // Rooms end a second after the last member leaves, so the live ones stay few; the REST budget
    // and the knock limit are for people, not for one client making thousands of rooms.
    let server = start_server(
        data.path(),
        &[
            "--session-end-grace-secs",
            "1",
            "--rate-limit-points",
            "1000000000",
            "--knocks-per-ip-per-minute",
            "1000000000",
            "--media-udp-port",
            "0",
        ],
    );
    let pid = server.child.id();
    let wal = data.path().join("anteroom.sqlite3-wal");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let mut marks = Vec::new();
        let started = Instant::now();
        for done in 1..=cycles {
            cycle(&server.base, &server.addr, &key, done).await;
            if done % every == 0 {
                let rss = rss_kib(pid);
                let wal_kib = std::fs::metadata(&wal).map_or(0, |m| m.len() / 1024);
                println!(
                    "{done} cycles: {rss} KiB resident ({}), WAL {wal_kib} KiB, {:.1} s",
                    resident_parts(pid),
                    started.elapsed().as_secs_f64()
                );
                marks.push((done, rss));
            }
        }
        if let (Some(&(first, from)), Some(&(last, to))) = (marks.first(), marks.last())
            && last > first
        {
            let per_thousand = (to as f64 - from as f64) * 1000.0 / (last - first) as f64;
            println!("growth after {first} cycles: {per_thousand:.1} KiB per 1000 cycles");
        }
    });
}

/// The resident memory's parts: the process's own (heap, stacks), files mapped (the binary, the
/// store's files), shared memory (SQLite's WAL index).
fn resident_parts(pid: u32) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    ["RssAnon", "RssFile", "RssShmem"]
        .iter()
        .filter_map(|part| {
            let line = status.lines().find(|l| l.starts_with(part))?;
            let kib = line.split_whitespace().nth(1)?;
            Some(format!(
                "{} {kib}",
                part.trim_start_matches("Rss").to_lowercase()
            ))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// One meeting's life, start to end.
async fn cycle(base: &str, addr: &str, key: &str, n: usize) {
    let (room, host_key) = locked_room(base, key).await;
    let mut host = connect(addr).await;
    send(
        &mut host,
        "join_room",
        json!({"roomName": room, "roomKey": host_key, "displayName": "Host"}),
    )
    .await;
    next(&mut host, "room_joined").await;
    let mut guest = connect(addr).await;
    let name = format!("Guest {n}");
    send(
        &mut guest,
        "join_room",
        json!({"roomName": room, "displayName": name}),
    )
    .await;
    next(&mut guest, "room_joined").await;
    send(&mut guest, "knock_room", json!({})).await;
    let knock = next(&mut guest, "knock_sent").await;
    next(&mut host, "room_knocked").await;
    send(
        &mut host,
        "handle_knock",
        json!({"clientId": knock["clientId"], "action": "accept"}),
    )
    .await;
    let verdict = next(&mut guest, "knock_handled").await;
    send(
        &mut guest,
        "join_room",
        json!({"roomName": room, "roomKey": verdict["roomKey"], "displayName": name}),
    )
    .await;
    next(&mut guest, "room_joined").await;
    send(&mut host, "chat_message", json!({"text": "Welcome"})).await;
    next(&mut guest, "chat_message").await;
    for ws in [&mut guest, &mut host] {
        send(ws, "leave_room", json!({})).await;
        next(ws, "room_left").await;
        let _ = ws.close(None).await;
    }
}

/// The payload of the next frame of type `kind` (others are passed over), within `WAIT`.
async fn next(ws: &mut Ws, kind: &str) -> Value {
    tokio::time::timeout(WAIT, frame(ws, kind))
        .await
        .unwrap_or_else(|_| panic!("no {kind} within {WAIT:?}"))
        .unwrap_or_else(|| panic!("the connection ended before a {kind}"))
}

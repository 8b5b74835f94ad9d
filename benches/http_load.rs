//! REST load generator: 64 concurrent clients over loopback against the real release server.
//! `cargo bench --bench http_load` (optionally `-- --seconds 10 --clients 64`).
//! Measures POST /v1/meetings and GET /v1/meetings/{id} beside a bare route that answers a fixed 201
//! JSON through the same server and middleware, so the store's cost shows as a ratio.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{new_histogram, report, start_server};
use hdrhistogram::Histogram;
use serde_json::{Value, json};

#[derive(Clone, Copy)]
enum Scenario {
    Bare,
    Create,
    Get,
}

struct Args {
    seconds: u64,
    clients: usize,
}

fn args() -> Args {
    let mut args = Args {
        seconds: 10,
        clients: 64,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--seconds" => args.seconds = it.next().and_then(|v| v.parse().ok()).unwrap_or(10),
            "--clients" => args.clients = it.next().and_then(|v| v.parse().ok()).unwrap_or(64),
            _ => {} // cargo bench passes --bench
        }
    }
    args
}

fn main() {
    let args = args();
    let dir = tempfile::tempdir().unwrap();
    let key = common::create_key(dir.path());
    let server = start_server(dir.path(), &["--rate-limit-points", "4000000000"]);
    // The client gets one core's worth of threads; the server process has the machine's cores.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(args.clients)
            .build()
            .unwrap();
        let seed: Value = http
            .post(format!("{}/v1/meetings", server.base))
            .bearer_auth(&key)
            .json(&json!({"endDate": "2099-01-01T00:00:00Z"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let get_url = format!(
            "{}/v1/meetings/{}",
            server.base,
            seed["meetingId"].as_str().unwrap()
        );
        println!(
            "clients={} seconds={} per scenario",
            args.clients, args.seconds
        );
        println!("| scenario | requests | req/s | p50 ms | p99 ms | max ms |");
        println!("|---|---|---|---|---|---|");
        for (name, scenario, url) in [
            (
                "bare POST (fixed 201)",
                Scenario::Bare,
                format!("{}/__bench/bare", server.base),
            ),
            (
                "POST /v1/meetings",
                Scenario::Create,
                format!("{}/v1/meetings", server.base),
            ),
            ("GET /v1/meetings/{id}", Scenario::Get, get_url.clone()),
        ] {
            // A short warm-up so connections are open and caches are warm.
            run(
                &http,
                &key,
                &url,
                scenario,
                args.clients,
                Duration::from_secs(1),
            )
            .await;
            let started = Instant::now();
            let hist = run(
                &http,
                &key,
                &url,
                scenario,
                args.clients,
                Duration::from_secs(args.seconds),
            )
            .await;
            println!("{}", report(name, hist.len(), started.elapsed(), &hist));
        }
    });
}

async fn run(
    http: &reqwest::Client,
    key: &str,
    url: &str,
    scenario: Scenario,
    clients: usize,
    duration: Duration,
) -> Histogram<u64> {
    let stop = Arc::new(AtomicBool::new(false));
    let body =
        json!({"endDate": "2099-01-01T00:00:00Z", "isLocked": true, "fields": ["hostRoomUrl"]})
            .to_string();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (http, key, url, body, stop) = (
            http.clone(),
            key.to_owned(),
            url.to_owned(),
            body.clone(),
            stop.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut hist = new_histogram();
            while !stop.load(Ordering::Relaxed) {
                let request = match scenario {
                    Scenario::Bare | Scenario::Create => http.post(&url).body(body.clone()),
                    Scenario::Get => http.get(&url),
                };
                let sent = Instant::now();
                let response = request
                    .bearer_auth(&key)
                    .send()
                    .await
                    .expect("request sent");
                let status = response.status().as_u16();
                let _ = response.bytes().await.expect("body read");
                assert!(status == 200 || status == 201, "unexpected status {status}");
                hist.record(common::micros(sent.elapsed()).max(1)).unwrap();
            }
            hist
        }));
    }
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    let mut total = new_histogram();
    for task in tasks {
        total.add(task.await.unwrap()).unwrap();
    }
    total
}

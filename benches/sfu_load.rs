//! Media server load: synthetic publishers and subscribers (str0m clients, one UDP socket each) in
//! this process, against the real release server pinned to one core, alternated in one run with a
//! bare UDP relay (this binary re-run with `--relay`, pinned the same way) fed the same pattern:
//! the same publishers, packet sizes and rates, the same fan-out. Reports, for each: packets
//! forwarded per second, the relay's or server's CPU time per forwarded packet, loss, added latency
//! (publisher to subscriber, p50 / p99), and for the server its memory per transport.
//!
//! `taskset -c 1 cargo bench --bench sfu_load -- --publishers 10 --listeners 100 --kind audio`
//! (the server and the relay are started with `taskset -c 0`).

mod common;

use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use serde_json::{Value, json};
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::media::{Direction, MediaKind, MediaTime, Mid};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use common::{arg, create_key, new_histogram, rss_kib, start_server};

#[derive(Clone, Copy)]
struct Args {
    publishers: usize,
    /// Receive-only members (viewers) besides the publishers.
    listeners: usize,
    /// Publishers also receive each other (a meeting), not only the listeners.
    meeting: bool,
    video: bool,
    seconds: u64,
    rounds: usize,
}

impl Args {
    /// Frames per second per publisher, and the bytes of each (one packet each).
    fn pattern(&self) -> (u32, usize) {
        if self.video { (30, 1000) } else { (50, 120) }
    }
}

fn main() {
    let raw: Vec<String> = std::env::args().collect();
    if raw.iter().any(|a| a == "--relay") {
        return relay();
    }
    // The generator on core 1; the server and the relay each get core 0 to themselves.
    common::pin(std::process::id(), 1);
    let args = Args {
        publishers: arg(&raw, "--publishers", 10),
        listeners: arg(&raw, "--listeners", 100),
        meeting: raw.iter().any(|a| a == "--meeting"),
        video: arg(&raw, "--kind", "audio".to_owned()) == "video",
        seconds: arg(&raw, "--seconds", 10),
        rounds: arg(&raw, "--rounds", 3),
    };
    let (rate, size) = args.pattern();
    println!(
        "{} publishers ({} × {} B/s each), {} listeners{}; {} s windows, {} rounds of SFU then relay",
        args.publishers,
        rate,
        size,
        args.listeners,
        if args.meeting {
            ", publishers receive each other"
        } else {
            ""
        },
        args.seconds,
        args.rounds
    );
    println!(
        "| round | path | packets/s forwarded | CPU µs / packet | loss | p50 ms | p99 ms | KiB / transport |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let mut sums: HashMap<&str, (f64, usize)> = HashMap::new();
    for round in 1..=args.rounds {
        for path in ["sfu", "relay"] {
            let result = if path == "sfu" {
                run_sfu(args)
            } else {
                run_relay(args)
            };
            println!(
                "| {round} | {path} | {:.0} | {:.2} | {:.3}% | {:.2} | {:.2} | {} |",
                result.packets as f64 / args.seconds as f64,
                result.cpu_micros / result.packets.max(1) as f64,
                result.loss * 100.0,
                result.latency.value_at_quantile(0.5) as f64 / 1000.0,
                result.latency.value_at_quantile(0.99) as f64 / 1000.0,
                result
                    .kib_per_transport
                    .map_or("-".into(), |k| format!("{k:.0}")),
            );
            let entry = sums.entry(path).or_default();
            entry.0 += result.cpu_micros / result.packets.max(1) as f64;
            entry.1 += 1;
        }
    }
    println!(
        "largest sfu_offer frame: {} bytes",
        LARGEST_OFFER.load(std::sync::atomic::Ordering::Relaxed)
    );
    let mean = |path| sums[path].0 / sums[path].1 as f64;
    println!(
        "CPU per forwarded packet, SFU / relay: {:.2}",
        mean("sfu") / mean("relay")
    );
}

/// Tracks one subscriber receives at most from the media server (its slots of that kind).
fn cap(args: Args) -> usize {
    if args.video { 25 } else { 10 }
}

struct RoundResult {
    packets: u64,
    cpu_micros: f64,
    loss: f64,
    latency: Histogram<u64>,
    kib_per_transport: Option<f64>,
}

/// User plus system CPU time of a process, in microseconds.
fn cpu_micros(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start after its ')'.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks: f64 = fields
        .get(11..13)
        .map(|t| t.iter().filter_map(|v| v.parse::<f64>().ok()).sum())
        .unwrap_or(0.0);
    ticks * 1_000_000.0 / 100.0
}

/// A frame's payload: a marker byte (a VP8 keyframe's first byte has bit 0 clear, an interframe's
/// set), then the nanoseconds since `origin` it was sent at, then padding.
fn stamped(origin: Instant, size: usize, keyframe: bool) -> Vec<u8> {
    let mut data = vec![if keyframe { 0x00 } else { 0x01 }; size];
    let nanos = origin.elapsed().as_nanos() as u64;
    data[1..9].copy_from_slice(&nanos.to_be_bytes());
    data
}

fn stamp_of(data: &[u8], origin: Instant) -> Option<Duration> {
    let nanos = u64::from_be_bytes(data.get(1..9)?.try_into().ok()?);
    origin.elapsed().checked_sub(Duration::from_nanos(nanos))
}

// ---- the SFU path --------------------------------------------------------------------------------

struct Client {
    rtc: Rtc,
    socket: UdpSocket,
    local: SocketAddr,
    publishes: bool,
    media: Option<Mid>,
    /// Server offers to answer, and where the answers go.
    offers: std_mpsc::Receiver<String>,
    answers: mpsc::UnboundedSender<String>,
    next_frame: Instant,
    sent_frames: u64,
    /// The server asked for a keyframe (a subscriber starts, or lost packets).
    keyframe_due: bool,
    next_timeout: Instant,
}

fn run_sfu(args: Args) -> RoundResult {
    let dir = tempfile::tempdir().unwrap();
    let key = create_key(dir.path());
    let server = start_pinned_server(dir.path());
    let pid = server.child.id();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (room, viewer_key) =
        runtime.block_on(async {
            let meeting: Value = reqwest::Client::new()
            .post(format!("{}/v1/meetings", server.base))
            .bearer_auth(&key)
            .json(&json!({"endDate": "2099-01-01T00:00:00Z", "isLocked": false, "roomMode": "group",
                "fields": ["viewerRoomUrl"]}))
            .send().await.unwrap().json().await.unwrap();
            let viewer_key = meeting["viewerRoomUrl"]
                .as_str()
                .unwrap()
                .split("roomKey=")
                .nth(1)
                .unwrap()
                .to_owned();
            (meeting["roomName"].as_str().unwrap().to_owned(), viewer_key)
        });
    let rss_before = rss_kib(pid);
    // Listeners first, then publishers: each publisher's tracks are offered to everyone present.
    let mut clients = Vec::new();
    let total = args.listeners + args.publishers;
    for index in 0..total {
        let publishes = index >= args.listeners;
        let client = runtime.block_on(join(
            &server.addr,
            &room,
            (!publishes).then_some(&viewer_key[..]),
            publishes,
            args.video,
        ));
        clients.push(client);
    }
    // The WebSocket tasks run on a thread of their own while this one drives the media.
    let (rate, size) = args.pattern();
    std::thread::spawn(move || runtime.block_on(std::future::pending::<()>()));
    let origin = Instant::now();
    let mut latency = new_histogram();
    let mut buf = vec![0u8; 2000];
    let warm_up = Duration::from_secs(3);
    let mut window: Option<(Instant, f64, u64, u64)> = None;
    let mut received_packets = 0u64;
    let mut received_frames = 0u64;
    let frame_gap = Duration::from_secs(1) / rate;
    loop {
        let now = Instant::now();
        if window.is_none() && now.duration_since(origin) >= warm_up {
            let sent: u64 = clients.iter().map(|c| c.sent_frames).sum();
            window = Some((now, cpu_micros(pid), sent, 0));
            received_packets = 0;
            received_frames = 0;
            latency.reset();
        }
        if let Some((start, _, _, _)) = window
            && now.duration_since(start) >= Duration::from_secs(args.seconds)
        {
            break;
        }
        for client in &mut clients {
            while let Ok(sdp) = client.offers.try_recv() {
                let offer = SdpOffer::from_sdp_string(&sdp).expect("a valid server offer");
                let answer = client
                    .rtc
                    .sdp_api()
                    .accept_offer(offer)
                    .expect("an answerable offer");
                let _ = client.answers.send(answer.to_sdp_string());
            }
            while let Ok((n, source)) = client.socket.recv_from(&mut buf) {
                if !client.publishes || args.meeting {
                    received_packets += 1;
                }
                let Ok(contents) = buf[..n].try_into() else {
                    continue;
                };
                let input = Input::Receive(
                    now,
                    Receive {
                        proto: Protocol::Udp,
                        source,
                        destination: client.local,
                        contents,
                    },
                );
                let _ = client.rtc.handle_input(input);
            }
            if client.publishes
                && now >= client.next_frame
                && let Some(mid) = client.media
            {
                client.next_frame += frame_gap;
                if let Some(writer) = client.rtc.writer(mid) {
                    let pt = writer.payload_params().next().map(|p| p.pt());
                    if let Some(pt) = pt {
                        let time = MediaTime::from_micros(origin.elapsed().as_micros() as u64);
                        let keyframe = std::mem::take(&mut client.keyframe_due);
                        if writer
                            .write(pt, now, time, stamped(origin, size, keyframe))
                            .is_ok()
                        {
                            client.sent_frames += 1;
                        }
                    }
                }
            }
            if now >= client.next_timeout {
                let _ = client.rtc.handle_input(Input::Timeout(now));
            }
            loop {
                match client.rtc.poll_output() {
                    Ok(Output::Transmit(t)) => {
                        let _ = client.socket.send_to(&t.contents, t.destination);
                    }
                    Ok(Output::Timeout(at)) => {
                        client.next_timeout = at;
                        break;
                    }
                    Ok(Output::Event(Event::MediaData(data))) => {
                        received_frames += 1;
                        if let Some(delay) = stamp_of(&data.data, origin) {
                            let _ = latency.record(delay.as_micros().max(1) as u64);
                        }
                    }
                    Ok(Output::Event(Event::KeyframeRequest(_))) => client.keyframe_due = true,
                    Ok(Output::Event(_)) => {}
                    Err(_) => break,
                }
            }
        }
    }
    let (_, cpu_start, sent_start, _) = window.expect("the window opened");
    let cpu = cpu_micros(pid) - cpu_start;
    let sent: u64 = clients.iter().map(|c| c.sent_frames).sum::<u64>() - sent_start;
    // Each subscriber receives at most the cap of videos (all audio, up to its own cap).
    let seen = |others: usize| others.min(cap(args));
    let received_per_round = args.listeners * seen(args.publishers)
        + if args.meeting {
            args.publishers * seen(args.publishers - 1)
        } else {
            0
        };
    let expected = sent * received_per_round as u64 / args.publishers as u64;
    let kib = (rss_kib(pid).saturating_sub(rss_before)) as f64 / total as f64;
    RoundResult {
        packets: received_packets,
        cpu_micros: cpu,
        loss: 1.0 - (received_frames as f64 / expected.max(1) as f64).min(1.0),
        latency,
        kib_per_transport: Some(kib),
    }
}

fn start_pinned_server(data_dir: &std::path::Path) -> common::ServerProcess {
    start_server(
        data_dir,
        &[
            "--media-udp-port",
            "0",
            "--media-bind-ip",
            "127.0.0.1",
            "--media-public-ip",
            "127.0.0.1",
            "--media-peer-networks",
            "127.0.0.0/8",
            "--ws-frames-per-second",
            "1000",
        ],
    )
    .pinned(0)
}

/// One member: joins over a WebSocket, offers, takes the answer, and leaves a task that passes the
/// server's later offers to the media loop and its answers back.
async fn join(addr: &str, room: &str, key: Option<&str>, publishes: bool, video: bool) -> Client {
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/v1/signal"))
        .await
        .expect("a WebSocket");
    let mut payload = json!({"roomName": room, "displayName": "Load"});
    if let Some(key) = key {
        payload["roomKey"] = json!(key);
    }
    send(&mut ws, "join_room", payload).await;
    wait_for(&mut ws, "room_joined").await;
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.set_nonblocking(true).unwrap();
    let local = socket.local_addr().unwrap();
    let mut rtc = Rtc::builder().build(Instant::now());
    rtc.add_local_candidate(Candidate::host(local, "udp").unwrap());
    let mut change = rtc.sdp_api();
    let media = if publishes {
        let kind = if video {
            MediaKind::Video
        } else {
            MediaKind::Audio
        };
        Some(change.add_media(kind, Direction::SendOnly, None, None, None))
    } else {
        change.add_channel("load".into());
        None
    };
    let (offer, pending): (SdpOffer, SdpPendingOffer) = change.apply().expect("something to offer");
    send(&mut ws, "sfu_offer", json!({"sdp": offer.to_sdp_string()})).await;
    let answer = wait_for(&mut ws, "sfu_answer").await;
    let answer = SdpAnswer::from_sdp_string(answer["payload"]["sdp"].as_str().unwrap()).unwrap();
    rtc.sdp_api()
        .accept_answer(pending, answer)
        .expect("the answer fits");
    let (offers_tx, offers) = std_mpsc::channel();
    let (answers, mut answers_rx) = mpsc::unbounded_channel::<String>();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                frame = ws.next() => match frame {
                    Some(Ok(Message::Text(text))) => {
                        let value: Value = serde_json::from_str(&text).unwrap_or_default();
                        if value["type"] == "sfu_offer" {
                            LARGEST_OFFER.fetch_max(text.len(), std::sync::atomic::Ordering::Relaxed);
                            let _ = offers_tx.send(value["payload"]["sdp"].as_str().unwrap_or_default().to_owned());
                        }
                    }
                    Some(Ok(_)) => {}
                    _ => return,
                },
                answer = answers_rx.recv() => match answer {
                    Some(sdp) => send(&mut ws, "sfu_answer", json!({"sdp": sdp})).await,
                    None => return,
                },
            }
        }
    });
    Client {
        rtc,
        socket,
        local,
        publishes,
        media,
        offers,
        answers,
        next_frame: Instant::now(),
        sent_frames: 0,
        keyframe_due: true,
        next_timeout: Instant::now(),
    }
}

/// The longest `sfu_offer` frame seen (a room's session description grows with its tracks).
static LARGEST_OFFER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn send(ws: &mut Ws, kind: &str, payload: Value) {
    let frame = json!({"type": kind, "payload": payload}).to_string();
    ws.send(Message::Text(frame.into()))
        .await
        .expect("the frame is sent");
}

async fn wait_for(ws: &mut Ws, kind: &str) -> Value {
    loop {
        let Some(Ok(Message::Text(text))) = ws.next().await else {
            panic!("the socket closed before {kind}");
        };
        let value: Value = serde_json::from_str(&text).unwrap();
        if value["type"] == kind {
            return value;
        }
        assert_ne!(value["type"], "error", "{value}");
    }
}

// ---- the relay path ------------------------------------------------------------------------------

/// The bare relay: a datagram from one of the first `--cap` publishers to send (as the media server
/// forwards at most that many videos) goes to every subscriber that said hello, one `send_to` each
/// (what a forwarder must do at least); others are read and dropped.
fn relay() {
    let raw: Vec<String> = std::env::args().collect();
    let cap: usize = arg(&raw, "--cap", usize::MAX);
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    println!("{}", socket.local_addr().unwrap());
    let mut subscribers: Vec<SocketAddr> = Vec::new();
    let mut senders: Vec<SocketAddr> = Vec::new();
    let mut buf = vec![0u8; 2000];
    loop {
        let Ok((n, source)) = socket.recv_from(&mut buf) else {
            continue;
        };
        if buf[..n] == *b"hello" {
            subscribers.push(source);
            continue;
        }
        if !senders.contains(&source) {
            senders.push(source);
        }
        if senders
            .iter()
            .position(|s| *s == source)
            .is_some_and(|i| i >= cap)
        {
            continue;
        }
        for subscriber in &subscribers {
            if *subscriber != source {
                let _ = socket.send_to(&buf[..n], subscriber);
            }
        }
    }
}

struct Relay(Child);

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn run_relay(args: Args) -> RoundResult {
    let mut child = Command::new("taskset")
        .args(["-c", "0"])
        .arg(std::env::current_exe().unwrap())
        .arg("--relay")
        .args(["--cap", &cap(args).to_string()])
        .stdout(Stdio::piped())
        .spawn()
        .expect("the relay starts");
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let relay_addr: SocketAddr = line.trim().parse().unwrap();
    let relay = Relay(child);
    let pid = relay.0.id();
    let (rate, size) = args.pattern();
    // On the wire an SRTP packet is the frame plus about 40 bytes (RTP header, extensions, tag).
    let wire_size = size + 40;
    let listeners: Vec<UdpSocket> = (0..args.listeners)
        .map(|_| UdpSocket::bind("127.0.0.1:0").unwrap())
        .collect();
    let publishers: Vec<UdpSocket> = (0..args.publishers)
        .map(|_| UdpSocket::bind("127.0.0.1:0").unwrap())
        .collect();
    let receivers: Vec<&UdpSocket> = if args.meeting {
        listeners.iter().chain(publishers.iter()).collect()
    } else {
        listeners.iter().collect()
    };
    for socket in &receivers {
        socket.set_nonblocking(true).unwrap();
        socket.send_to(b"hello", relay_addr).unwrap();
    }
    let origin = Instant::now();
    let frame_gap = Duration::from_secs(1) / rate;
    let mut next_frame = vec![Instant::now(); publishers.len()];
    let mut latency = new_histogram();
    let mut buf = vec![0u8; 2000];
    let warm_up = Duration::from_secs(3);
    let mut window: Option<(Instant, f64, u64)> = None;
    let mut sent = 0u64;
    let mut received = 0u64;
    loop {
        let now = Instant::now();
        if window.is_none() && now.duration_since(origin) >= warm_up {
            window = Some((now, cpu_micros(pid), sent));
            received = 0;
            latency.reset();
        }
        if let Some((start, _, _)) = window
            && now.duration_since(start) >= Duration::from_secs(args.seconds)
        {
            break;
        }
        for (index, publisher) in publishers.iter().enumerate() {
            if now >= next_frame[index] {
                next_frame[index] += frame_gap;
                let _ = publisher.send_to(&stamped(origin, wire_size, false), relay_addr);
                sent += 1;
            }
        }
        for socket in &receivers {
            while let Ok((n, _)) = socket.recv_from(&mut buf) {
                received += 1;
                if let Some(delay) = stamp_of(&buf[..n], origin) {
                    let _ = latency.record(delay.as_micros().max(1) as u64);
                }
            }
        }
    }
    let (_, cpu_start, sent_start) = window.expect("the window opened");
    let cpu = cpu_micros(pid) - cpu_start;
    // The first `cap` senders reach every other receiver.
    let capped = args.publishers.min(cap(args));
    let received_per_round = args.listeners * capped
        + if args.meeting {
            args.publishers * capped - capped
        } else {
            0
        };
    let expected = (sent - sent_start) * received_per_round as u64 / args.publishers as u64;
    RoundResult {
        packets: received,
        cpu_micros: cpu,
        loss: 1.0 - (received as f64 / expected.max(1) as f64).min(1.0),
        latency,
        kib_per_transport: None,
    }
}

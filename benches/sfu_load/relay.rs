//! The baseline: a bare UDP relay (this binary re-run with `--relay`) fed the same pattern. It reads a
//! datagram (`recv_from`) and sends it (`send_to`, one each) to every receiver that shows that
//! publisher's layer: what a forwarder must do at least.

use std::net::{SocketAddr, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::RoundResult;
use crate::common;
use crate::pattern::{Args, read_stamp, recv_stamped, relay_packet, timestamped_socket};

/// The relay process: receivers say hello with their index; a publisher's datagram goes to each
/// receiver whose view of it is the datagram's layer.
pub fn serve(args: Args) {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    println!("{}", socket.local_addr().unwrap());
    // table[publisher][layer]: the receivers that show that layer of that publisher.
    let mut table: Vec<Vec<Vec<SocketAddr>>> = vec![vec![Vec::new(); 3]; args.publishers];
    let mut buf = vec![0u8; 2000];
    loop {
        let Ok((n, source)) = socket.recv_from(&mut buf) else {
            continue;
        };
        if let Some(receiver) = buf[..n]
            .strip_prefix(b"hello ")
            .and_then(|i| std::str::from_utf8(i).ok()?.parse::<usize>().ok())
        {
            for (publisher, layers) in table.iter_mut().enumerate() {
                if let Some(layer) = args.view(receiver, publisher) {
                    layers[layer].push(source);
                }
            }
            continue;
        }
        let Some(stamp) = read_stamp(&buf[..n]) else {
            continue;
        };
        let Some(receivers) = table
            .get(stamp.publisher)
            .and_then(|layers| layers.get(stamp.layer))
        else {
            continue;
        };
        for receiver in receivers {
            let _ = socket.send_to(&buf[..n], receiver);
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

/// Starts the relay on core 0 with the same pattern.
fn start(args: Args) -> (Relay, SocketAddr) {
    let mut child = Command::new("taskset")
        .args(["-c", "0"])
        .arg(std::env::current_exe().unwrap())
        .arg("--relay")
        .args(crate::pattern_flags(args))
        .stdout(Stdio::piped())
        .spawn()
        .expect("the relay starts");
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    (Relay(child), line.trim().parse().unwrap())
}

pub fn run(args: Args) -> RoundResult {
    let (relay, relay_addr) = start(args);
    let pid = relay.0.id();
    // On the wire an SRTP packet is its payload and about 40 bytes (header, extensions, tag).
    const OVERHEAD: usize = 40;
    let receivers: Vec<UdpSocket> = (0..args.receivers())
        .map(|_| timestamped_socket())
        .collect();
    let publishers: Vec<UdpSocket> = (0..args.publishers)
        .map(|p| match args.publisher_of(args.listeners + p) {
            // In a meeting a publisher sends from the socket it receives on.
            Some(_) if args.meeting => receivers[args.listeners + p].try_clone().unwrap(),
            _ => UdpSocket::bind("127.0.0.1:0").unwrap(),
        })
        .collect();
    for (index, socket) in receivers.iter().enumerate() {
        socket
            .send_to(format!("hello {index}").as_bytes(), relay_addr)
            .unwrap();
    }
    let frame_gap = Duration::from_secs_f64(1.0 / args.frame_rate());
    let origin = Instant::now();
    // Publishers spread over the frame interval, as on the media server's path.
    let mut next_frame: Vec<Instant> = (0..args.publishers)
        .map(|p| origin + frame_gap.mul_f64(p as f64 / args.publishers as f64))
        .collect();
    let mut trips = common::Trips::default();
    let steal = common::StealTrace::start();
    let mut buf = vec![0u8; 2000];
    let mut window: Option<(Instant, f64, common::MachineTicks)> = None;
    let (mut packets, mut frames) = (0u64, 0u64);
    loop {
        let now = Instant::now();
        if window.is_none() && now.duration_since(origin) >= Duration::from_secs(3) {
            window = Some((now, common::cpu_micros(pid), common::MachineTicks::now()));
            (packets, frames) = (0, 0);
            trips.clear();
        }
        if window.is_some_and(|(start, _, _)| {
            now.duration_since(start) >= Duration::from_secs(args.seconds)
        }) {
            break;
        }
        for (publisher, socket) in publishers.iter().enumerate() {
            if now < next_frame[publisher] {
                continue;
            }
            next_frame[publisher] += frame_gap;
            for layer in 0..args.layers() {
                let sizes = args.packets(layer);
                for (i, size) in sizes.iter().enumerate() {
                    let last = i + 1 == sizes.len();
                    let packet = relay_packet(layer, size + OVERHEAD, publisher, last);
                    let _ = socket.send_to(&packet, relay_addr);
                }
            }
        }
        for socket in &receivers {
            while let Some((n, _, arrived)) = recv_stamped(socket, &mut buf) {
                packets += 1;
                if let Some(stamp) = read_stamp(&buf[..n])
                    && stamp.last
                {
                    frames += 1;
                    trips.record(stamp.sent_nanos, arrived);
                }
            }
        }
    }
    let (_, cpu_start, machine_start) = window.expect("the window opened");
    let expected = args.frames_per_second() * args.seconds as f64;
    RoundResult {
        packets,
        cpu_micros: common::cpu_micros(pid) - cpu_start,
        loss: 1.0 - (frames as f64 / expected.max(1.0)).min(1.0),
        latency: trips.latency(&steal),
        stolen_percent: (common::MachineTicks::now() - machine_start).stolen_percent(),
        kib_per_transport: None,
    }
}

//! Media server load: synthetic publishers and subscribers (str0m clients, one UDP socket each) in
//! this process, against the real release server pinned to one core, alternated in one run with a
//! bare UDP relay (this binary re-run with `--relay`, pinned the same way) fed the same pattern:
//! the same publishers sending the same simulcast layers (packet sizes and rates), each receiver
//! showing one publisher large (the top layer) and `--low` small (the smallest layer).
//!
//! Reports, for each: packets forwarded per second, the server's or relay's CPU time per packet
//! and how busy its core was, frame loss, added latency (publisher's send to the kernel's arrival
//! at the subscriber, p50 / p99, and the p99 of the frames with no stolen time near them:
//! `common::StealTrace`), and for the server its memory per transport.
//!
//! `taskset -c 1 cargo bench --bench sfu_load -- --publishers 25 --meeting --kind video --low 15`
//! (the server and the relay are started with `taskset -c 0`).

#[path = "common.rs"]
mod common;
#[path = "sfu_load/pattern.rs"]
mod pattern;
#[path = "sfu_load/relay.rs"]
mod relay;
#[path = "sfu_load/sfu.rs"]
mod sfu;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::arg;
use pattern::Args;

pub struct RoundResult {
    pub packets: u64,
    pub cpu_micros: f64,
    pub loss: f64,
    pub latency: common::Latency,
    pub kib_per_transport: Option<f64>,
    /// The share of the machine's time its hypervisor gave others over the window
    /// (`common::MachineTicks`): rounds' latencies compare only at a like share.
    pub stolen_percent: f64,
}

fn parse(raw: &[String]) -> Args {
    let video = arg(raw, "--kind", "audio".to_owned()) == "video";
    Args {
        publishers: arg(raw, "--publishers", 10),
        listeners: arg(raw, "--listeners", 0),
        meeting: raw.iter().any(|a| a == "--meeting"),
        video,
        low: arg(raw, "--low", if video { 15 } else { 0 }),
        scale: arg(raw, "--scale", 1.0),
        seconds: arg(raw, "--seconds", 10),
        rounds: arg(raw, "--rounds", 3),
        bandwidth_estimation: raw.iter().any(|a| a == "--bandwidth-estimation"),
        viewer_data_channel: raw.iter().any(|a| a == "--viewer-data-channel"),
    }
}

/// The flags that give a relay process the same pattern.
pub fn pattern_flags(args: Args) -> Vec<String> {
    let mut flags = vec![
        "--publishers".into(),
        args.publishers.to_string(),
        "--listeners".into(),
        args.listeners.to_string(),
        "--kind".into(),
        if args.video { "video" } else { "audio" }.into(),
        "--low".into(),
        args.low.to_string(),
    ];
    if args.meeting {
        flags.push("--meeting".into());
    }
    flags
}

/// The longest `sfu_offer` frame seen (a session description grows with its slots).
static LARGEST_OFFER: AtomicUsize = AtomicUsize::new(0);

pub fn note_offer(bytes: usize) {
    LARGEST_OFFER.fetch_max(bytes, Ordering::Relaxed);
}

fn main() {
    let raw: Vec<String> = std::env::args().collect();
    let args = parse(&raw);
    if raw.iter().any(|a| a == "--relay") {
        return relay::serve(args);
    }
    // The generator on core 1; the server and the relay each get core 0 to themselves.
    common::pin(std::process::id(), 1);
    println!(
        "{} publishers ({}), {} listeners{}; each receiver shows {}; frame rates × {}; {} s windows, \
         {} rounds of SFU then relay{}{}",
        args.publishers,
        if args.video {
            "video: 3 simulcast layers of 150, 500 and 1,000 kbit/s"
        } else {
            "audio: 50 packets of 120 B a second"
        },
        args.listeners,
        if args.meeting {
            ", publishers receive each other"
        } else {
            ""
        },
        if args.video {
            format!(
                "1 large (top layer) and {} small (smallest layer)",
                args.low
            )
        } else {
            "every voice, 10 at most".into()
        },
        args.scale,
        args.seconds,
        args.rounds,
        if args.bandwidth_estimation {
            "; the server estimates bandwidth"
        } else {
            ""
        },
        if args.viewer_data_channel {
            "; viewers offer a data channel"
        } else {
            ""
        }
    );
    println!(
        "| round | path | packets/s | CPU µs / packet | core busy | loss | p50 ms | p99 ms | KiB / transport | stolen % | p99 ms far from stolen time (share of frames) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    let mut sums: HashMap<&str, (f64, usize)> = HashMap::new();
    for round in 1..=args.rounds {
        for path in ["sfu", "relay"] {
            let result = if path == "sfu" {
                sfu::run(args)
            } else {
                relay::run(args)
            };
            let per_packet = result.cpu_micros / result.packets.max(1) as f64;
            println!(
                "| {round} | {path} | {:.0} | {per_packet:.2} | {:.0}% | {:.3}% | {:.2} | {:.2} | {} | {:.1} | {:.2} ({:.0} %) |",
                result.packets as f64 / args.seconds as f64,
                result.cpu_micros / (args.seconds as f64 * 10_000.0),
                result.loss * 100.0,
                result.latency.all.value_at_quantile(0.5) as f64 / 1000.0,
                result.latency.all.value_at_quantile(0.99) as f64 / 1000.0,
                result
                    .kib_per_transport
                    .map_or("-".into(), |k| format!("{k:.0}")),
                result.stolen_percent,
                result.latency.far_from_stolen.value_at_quantile(0.99) as f64 / 1000.0,
                result.latency.far_percent(),
            );
            let entry = sums.entry(path).or_default();
            entry.0 += per_packet;
            entry.1 += 1;
        }
    }
    println!(
        "largest sfu_offer frame: {} bytes",
        LARGEST_OFFER.load(Ordering::Relaxed)
    );
    let mean = |path| sums[path].0 / sums[path].1 as f64;
    println!(
        "CPU per forwarded packet, SFU / relay: {:.2}",
        mean("sfu") / mean("relay")
    );
}

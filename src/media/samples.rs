//! A member's network samples for insights (`meeting::network`), from str0m's statistics: every
//! `SAMPLE_INTERVAL` a transport reports the bytes it carried and its streams' losses. A member's
//! samples run across its transports (a reload starts a new one) on one `SampleGrid` until it
//! leaves the room.

use std::time::Instant;

use str0m::media::{Mid, Rid};
use str0m::stats::{MediaEgressStats, MediaIngressStats, PeerStats};

use crate::meeting::network::NetworkSample;

/// Losses of a transport's streams in one interval, weighted by the packets each carried.
#[derive(Debug, Default, Clone, Copy)]
struct Losses {
    lost: f64,
    packets: u64,
}

impl Losses {
    fn add(&mut self, fraction: Option<f32>, packets: u64) {
        if let Some(fraction) = fraction {
            self.lost += f64::from(fraction) * packets as f64;
            self.packets += packets;
        }
    }

    fn percent(self) -> f32 {
        match self.packets {
            0 => 0.0,
            packets => (100.0 * self.lost / packets as f64) as f32,
        }
    }
}

/// A sample begun by str0m's transport-wide report, completed by its streams' reports that follow
/// it in the same poll.
struct Begun {
    at: Instant,
    sample: NetworkSample,
    /// The transport-wide loss fractions, where str0m has them (from transport-wide congestion
    /// control); otherwise the streams' receiver reports say.
    loss_send: Option<f32>,
    loss_recv: Option<f32>,
    ingress: Losses,
    egress: Losses,
}

/// One transport's statistics turned into samples.
pub(super) struct Sampler {
    /// The last report: when, and the bytes received and sent until then.
    last: (Instant, u64, u64),
    begun: Option<Begun>,
    /// Packets each stream had carried at its last report (`true`: sent by us).
    packets: Vec<(Mid, Option<Rid>, bool, u64)>,
}

impl Sampler {
    pub fn new(now: Instant) -> Self {
        Sampler {
            last: (now, 0, 0),
            begun: None,
            packets: Vec::new(),
        }
    }

    /// str0m's report of the whole transport. A sample begun before it is returned.
    pub fn peer(&mut self, stats: &PeerStats) -> Option<(Instant, NetworkSample)> {
        let done = self.finish();
        let (since, received, sent) = self.last;
        self.last = (stats.timestamp, stats.peer_bytes_rx, stats.peer_bytes_tx);
        let seconds = stats
            .timestamp
            .saturating_duration_since(since)
            .as_secs_f64();
        if seconds <= 0.0 {
            return done;
        }
        let bitrate =
            |now: u64, before: u64| (now.saturating_sub(before) as f64 * 8.0 / seconds) as u32;
        self.begun = Some(Begun {
            at: stats.timestamp,
            sample: NetworkSample {
                bitrate_send: bitrate(stats.peer_bytes_rx, received),
                bitrate_recv: bitrate(stats.peer_bytes_tx, sent),
                ..NetworkSample::default()
            },
            loss_send: stats.ingress_loss_fraction,
            loss_recv: stats.egress_loss_fraction,
            ingress: Losses::default(),
            egress: Losses::default(),
        });
        done
    }

    /// A stream the member sends us: the loss our receiver reports found.
    pub fn ingress(&mut self, stats: &MediaIngressStats) {
        let packets = self.packets_since(stats.mid, stats.rid, false, stats.packets);
        if let Some(begun) = &mut self.begun {
            begun.ingress.add(stats.loss, packets);
        }
    }

    /// A stream we send the member: the loss its receiver reports say.
    pub fn egress(&mut self, stats: &MediaEgressStats) {
        let packets = self.packets_since(stats.mid, stats.rid, true, stats.packets);
        if let Some(begun) = &mut self.begun {
            begun.egress.add(stats.loss, packets);
        }
    }

    fn packets_since(&mut self, mid: Mid, rid: Option<Rid>, sent: bool, total: u64) -> u64 {
        let key = (mid, rid, sent);
        match self
            .packets
            .iter_mut()
            .find(|(m, r, s, _)| (*m, *r, *s) == key)
        {
            Some((_, _, _, before)) => total.saturating_sub(std::mem::replace(before, total)),
            None => {
                self.packets.push((mid, rid, sent, total));
                total
            }
        }
    }

    /// The sample begun, now that its streams have reported.
    pub fn finish(&mut self) -> Option<(Instant, NetworkSample)> {
        let begun = self.begun.take()?;
        let percent = |whole: Option<f32>, streams: Losses| match whole {
            Some(fraction) => 100.0 * fraction.clamp(0.0, 1.0),
            None => streams.percent(),
        };
        let mut sample = begun.sample;
        sample.packet_loss_send = percent(begun.loss_send, begun.ingress);
        sample.packet_loss_recv = percent(begun.loss_recv, begun.egress);
        Some((begun.at, sample))
    }
}

#[cfg(test)]
#[path = "samples_tests.rs"]
mod tests;

//! A member's network samples for insights (`meeting::network`), from str0m's statistics: every
//! `SAMPLE_INTERVAL` a transport reports the bytes it carried and its streams' losses. A member's
//! series runs across its transports (a reload starts a new one) until it leaves the room.

use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use str0m::media::{Mid, Rid};
use str0m::stats::{MediaEgressStats, MediaIngressStats, PeerStats};

use crate::meeting::network::{NetworkSample, NetworkSeries};
use crate::meeting::{ClientId, RoomName};

/// How often a transport is sampled (what Whereby's insights use).
pub(super) const SAMPLE_INTERVAL: Duration = Duration::from_secs(2);
/// A series halves its resolution when it reaches this many samples (two hours at 2 s), so that a
/// member who stays all day costs what one who stays two hours does.
const MOST_SAMPLES: usize = 3600;

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

/// A member's samples, on a grid of intervals from its first.
#[derive(Debug, Default)]
pub(super) struct Series {
    /// The grid's start, on the media thread's clock and on the wall clock.
    started: Option<(Instant, DateTime<Utc>)>,
    interval: Option<Duration>,
    /// Each interval's sample, and how many reports it is the mean of.
    samples: Vec<(NetworkSample, u32)>,
}

impl Series {
    /// A sample of the `SAMPLE_INTERVAL` that ended `at` (which is `wall` on the wall clock).
    /// Intervals with no transport (between a transport's end and the next) are zeros; an interval
    /// longer than a report (once halved) is the mean of its reports.
    pub fn push(&mut self, at: Instant, wall: DateTime<Utc>, sample: NetworkSample) {
        let (start, _) = *self.started.get_or_insert_with(|| {
            let back = TimeDelta::from_std(SAMPLE_INTERVAL).unwrap_or(TimeDelta::zero());
            (at.checked_sub(SAMPLE_INTERVAL).unwrap_or(at), wall - back)
        });
        // A report covers the `SAMPLE_INTERVAL` before `at`; its middle says which interval of
        // the grid it belongs to (a report comes a little early or late).
        let middle = at
            .saturating_duration_since(start + SAMPLE_INTERVAL / 2)
            .as_secs_f64();
        let index = loop {
            let interval = *self.interval.get_or_insert(SAMPLE_INTERVAL);
            let index = (middle / interval.as_secs_f64()) as usize;
            // Coarser until it fits (a transport back after a long time without one, too).
            if index < MOST_SAMPLES - 1 {
                break index;
            }
            self.halve();
        };
        if let Some((last, reports)) = self.samples.get_mut(index) {
            // Another report of the last interval (a reconnection's, or a coarser grid's).
            *last = weighted_mean(&[(*last, *reports), (sample, 1)]);
            *reports += 1;
            return;
        }
        self.samples.resize(index, (NetworkSample::default(), 1));
        self.samples.push((sample, 1));
    }

    /// Each pair of intervals becomes one, of their means.
    fn halve(&mut self) {
        self.samples = self
            .samples
            .chunks(2)
            .map(|pair| (weighted_mean(pair), pair.iter().map(|(_, n)| n).sum()))
            .collect();
        self.interval = self.interval.map(|i| i * 2);
    }

    /// The member's series, once it leaves; `None` when it never had a sample.
    pub fn finish(self, room: RoomName, client: ClientId) -> Option<NetworkSeries> {
        let (_, started) = self.started?;
        let interval = self.interval.unwrap_or(SAMPLE_INTERVAL);
        Some(NetworkSeries {
            room,
            client,
            started,
            interval_ms: u32::try_from(interval.as_millis()).unwrap_or(u32::MAX),
            samples: self.samples.into_iter().map(|(sample, _)| sample).collect(),
        })
    }
}

/// The mean of samples, each weighing the reports it is the mean of.
fn weighted_mean(samples: &[(NetworkSample, u32)]) -> NetworkSample {
    let total: f64 = samples.iter().map(|(_, n)| f64::from(*n)).sum();
    let mean = |f: fn(&NetworkSample) -> f64| {
        samples
            .iter()
            .map(|(s, n)| f(s) * f64::from(*n))
            .sum::<f64>()
            / total.max(1.0)
    };
    NetworkSample {
        bitrate_send: mean(|s| f64::from(s.bitrate_send)).round() as u32,
        bitrate_recv: mean(|s| f64::from(s.bitrate_recv)).round() as u32,
        packet_loss_send: mean(|s| f64::from(s.packet_loss_send)) as f32,
        packet_loss_recv: mean(|s| f64::from(s.packet_loss_recv)) as f32,
    }
}

#[cfg(test)]
#[path = "samples_tests.rs"]
mod tests;

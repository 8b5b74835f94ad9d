//! What was measured of a member's connection, a sample every 2 s (by the media server in a group
//! room, by the member's browser in a normal one): the network samples of
//! `/v1/insights/participant`.

use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};

use super::{ClientId, RoomName};

/// How often a member's connection is sampled (what Whereby's insights use).
pub const SAMPLE_INTERVAL: Duration = Duration::from_secs(2);
/// A segment of a member's samples is kept once it has this many (a minute at 2 s): a crash loses
/// at most the one under way.
pub const SEGMENT_SAMPLES: usize = 30;
/// A gap of more intervals than this with no report starts a new segment, rather than zeros.
const MOST_ZEROS: usize = 30;
/// A stay's samples are at most this many (two hours at 2 s); a longer one's are merged in pairs.
const MOST_SAMPLES: usize = 3600;

/// One interval of a member's connection: "send" is what the member sent, "recv" what it received
/// (to and from the media server in a group room, its peers in a normal one).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct NetworkSample {
    /// Bits a second, headers and encryption included.
    pub bitrate_send: u32,
    pub bitrate_recv: u32,
    /// Per cent of the packets lost on the way.
    pub packet_loss_send: f32,
    pub packet_loss_recv: f32,
}

/// A member's samples from one admission to its end: sample `i` covers the interval that starts
/// `i` intervals after `started`.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkSeries {
    pub room: RoomName,
    pub client: ClientId,
    pub started: DateTime<Utc>,
    pub interval_ms: u32,
    pub samples: Vec<NetworkSample>,
}

impl NetworkSeries {
    /// The samples of the intervals whose middle falls within `from..=to` (a stay in a session,
    /// which may be part of the time the member was admitted), with the start of the first; `None`
    /// when there is none.
    pub fn within(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Option<(DateTime<Utc>, Vec<NetworkSample>)> {
        let interval = self.interval();
        let mut start = self.started;
        let mut first = None;
        let mut found = Vec::new();
        for sample in &self.samples {
            let middle = start + interval / 2;
            if middle > to {
                break;
            }
            if middle >= from {
                first.get_or_insert(start);
                found.push(*sample);
            }
            start += interval;
        }
        first.map(|first| (first, found))
    }

    pub fn interval(&self) -> TimeDelta {
        TimeDelta::milliseconds(i64::from(self.interval_ms.max(1)))
    }
}

/// A member's samples as they come, on a grid of 2 s intervals, kept a segment (a minute) at a
/// time: what a crash can lose is the segment under way.
#[derive(Debug)]
pub struct SampleGrid {
    room: RoomName,
    client: ClientId,
    /// The segment under way: its start, on the caller's clock and on the wall clock.
    started: Option<(Instant, DateTime<Utc>)>,
    /// Each interval's sample, and how many reports it is the mean of.
    samples: Vec<(NetworkSample, u32)>,
    /// Segments complete, to be kept.
    done: Vec<NetworkSeries>,
}

impl SampleGrid {
    pub fn new(room: RoomName, client: ClientId) -> Self {
        SampleGrid {
            room,
            client,
            started: None,
            samples: Vec::new(),
            done: Vec::new(),
        }
    }

    /// A sample of the `SAMPLE_INTERVAL` that ended `at` (which is `wall` on the wall clock).
    /// Short gaps (a reload between two transports) are zeros; after a longer one a new segment
    /// starts. Two reports of one interval count as their mean.
    pub fn push(&mut self, at: Instant, wall: DateTime<Utc>, sample: NetworkSample) {
        let (start, first) = *self.started.get_or_insert_with(|| {
            (
                at.checked_sub(SAMPLE_INTERVAL).unwrap_or(at),
                wall - step(1),
            )
        });
        // A report covers the interval before `at`; its middle says which interval of the grid
        // it belongs to (a report comes a little early or late).
        let middle = at.saturating_duration_since(start + SAMPLE_INTERVAL / 2);
        let index = (middle.as_secs_f64() / SAMPLE_INTERVAL.as_secs_f64()) as usize;
        if let Some((earlier, reports)) = self.samples.get_mut(index) {
            *earlier = weighted_mean(&[(*earlier, *reports), (sample, 1)]);
            *reports += 1;
            return;
        }
        if index > self.samples.len() + MOST_ZEROS {
            self.cut();
            return self.push(at, wall, sample);
        }
        self.samples.resize(index, (NetworkSample::default(), 1));
        self.samples.push((sample, 1));
        if self.samples.len() >= SEGMENT_SAMPLES {
            let length = self.samples.len();
            self.cut();
            // The next segment starts where this one ends.
            self.started = Some((
                start + SAMPLE_INTERVAL * length as u32,
                first + step(length),
            ));
        }
    }

    /// Ends the segment under way.
    fn cut(&mut self) {
        let Some((_, started)) = self.started.take() else {
            return;
        };
        if self.samples.is_empty() {
            return;
        }
        self.done.push(NetworkSeries {
            room: self.room.clone(),
            client: self.client.clone(),
            started,
            interval_ms: SAMPLE_INTERVAL.as_millis() as u32,
            samples: self.samples.drain(..).map(|(sample, _)| sample).collect(),
        });
    }

    /// The segments completed since last asked, to be kept now.
    pub fn take_done(&mut self) -> Vec<NetworkSeries> {
        std::mem::take(&mut self.done)
    }

    /// Every segment not yet taken, the one under way too (the member left).
    pub fn finish(mut self) -> Vec<NetworkSeries> {
        self.cut();
        self.done
    }
}

/// `n` intervals of the grid.
fn step(n: usize) -> TimeDelta {
    TimeDelta::from_std(SAMPLE_INTERVAL * n as u32).unwrap_or(TimeDelta::zero())
}

/// At most `MOST_SAMPLES` of `samples` (at `interval_ms`): pairs are merged into their mean, and
/// the interval doubled, until they fit (a stay of more than two hours).
pub fn bounded(mut interval_ms: u32, mut samples: Vec<NetworkSample>) -> (u32, Vec<NetworkSample>) {
    while samples.len() > MOST_SAMPLES {
        samples = samples
            .chunks(2)
            .map(|pair| weighted_mean(&pair.iter().map(|s| (*s, 1)).collect::<Vec<_>>()))
            .collect();
        interval_ms = interval_ms.saturating_mul(2);
    }
    (interval_ms, samples)
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
#[path = "network_tests.rs"]
mod grid_tests;

#[cfg(test)]
mod tests {
    use super::*;

    fn series(samples: u32) -> NetworkSeries {
        NetworkSeries {
            room: RoomName::parse("/r").expect("a valid room name"),
            client: ClientId::new("c"),
            started: DateTime::from_timestamp_millis(1_000_000).expect("a valid time"),
            interval_ms: 2000,
            samples: (0..samples)
                .map(|i| NetworkSample {
                    bitrate_send: i,
                    ..NetworkSample::default()
                })
                .collect(),
        }
    }

    fn at(ms: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(1_000_000 + ms).expect("a valid time")
    }

    fn sent(within: Option<(DateTime<Utc>, Vec<NetworkSample>)>) -> Vec<u32> {
        within
            .map(|(_, samples)| samples.iter().map(|s| s.bitrate_send).collect())
            .unwrap_or_default()
    }

    #[test]
    fn a_stay_gets_the_intervals_whose_middle_it_covers() {
        let series = series(10);
        assert_eq!(
            sent(series.within(at(0), at(20_000))),
            (0..10).collect::<Vec<_>>()
        );
        // Middles at 1 s, 3 s, 5 s...: a stay from 4 s to 9.5 s has those at 5, 7 and 9 s.
        assert_eq!(sent(series.within(at(4_000), at(9_500))), vec![2, 3, 4]);
        assert_eq!(
            series.within(at(4_000), at(9_500)).map(|(first, _)| first),
            Some(at(4_000))
        );
        assert!(series.within(at(-5_000), at(500)).is_none());
        assert!(series.within(at(30_000), at(40_000)).is_none());
    }
}

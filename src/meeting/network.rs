//! What the media server measured of a member's connection in a group room, a sample every few
//! seconds: the network samples of `/v1/insights/participant`.

use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};

use super::{ClientId, RoomName};

/// How often a member's connection is sampled (what Whereby's insights use).
pub const SAMPLE_INTERVAL: Duration = Duration::from_secs(2);
/// A grid halves its resolution when it reaches this many samples (two hours at 2 s), so that a
/// member who stays all day costs what one who stays two hours does.
const MOST_SAMPLES: usize = 3600;

/// One interval of a member's connection, as the media server saw it. "Send" is what the member
/// sent (the server received), "recv" what it received (the server sent).
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

/// A member's samples as they come, on a grid of intervals from its first: what becomes its
/// `NetworkSeries` when it leaves.
#[derive(Debug, Default)]
pub struct SampleGrid {
    /// The grid's start, on the media thread's clock and on the wall clock.
    started: Option<(Instant, DateTime<Utc>)>,
    interval: Option<Duration>,
    /// Each interval's sample, and how many reports it is the mean of.
    samples: Vec<(NetworkSample, u32)>,
}

impl SampleGrid {
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

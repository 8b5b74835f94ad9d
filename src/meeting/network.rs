//! What the media server measured of a member's connection in a group room, a sample every few
//! seconds: the network samples of `/v1/insights/participant`.

use chrono::{DateTime, TimeDelta, Utc};

use super::{ClientId, RoomName};

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

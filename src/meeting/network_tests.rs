use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use proptest::prelude::*;

use super::*;

fn wall() -> DateTime<Utc> {
    DateTime::from_timestamp_millis(1_700_000_000_000).expect("a valid time")
}

fn grid() -> SampleGrid {
    SampleGrid::new(
        RoomName::parse("/r").expect("a valid name"),
        ClientId::new("c"),
    )
}

fn sample(bitrate: u32) -> NetworkSample {
    NetworkSample {
        bitrate_send: bitrate,
        ..NetworkSample::default()
    }
}

fn sent(series: &NetworkSeries) -> Vec<u32> {
    series.samples.iter().map(|s| s.bitrate_send).collect()
}

#[test]
fn a_short_gap_between_transports_is_zeros_and_two_reports_of_an_interval_their_mean() {
    let t0 = Instant::now();
    let mut grid = grid();
    grid.push(t0, wall(), sample(1));
    grid.push(t0 + Duration::from_millis(2_010), wall(), sample(2));
    // A reload: no transport for about 4 s, then the new one reports twice in one interval (its
    // first report 0.8 s after it started).
    grid.push(t0 + Duration::from_millis(8_100), wall(), sample(30));
    grid.push(t0 + Duration::from_millis(8_900), wall(), sample(40));
    assert!(grid.take_done().is_empty(), "no minute is complete");
    let segments = grid.finish();
    assert_eq!(segments.len(), 1);
    assert_eq!(sent(&segments[0]), vec![1, 2, 0, 0, 35]);
    assert_eq!(segments[0].interval_ms, 2000);
    assert_eq!(segments[0].started, wall() - TimeDelta::seconds(2));
}

/// A minute's segment is handed over as soon as it is complete (a crash loses at most the one under
/// way), and the next starts where it ends.
#[test]
fn each_minute_is_a_segment_handed_over_when_complete() {
    let t0 = Instant::now();
    let mut grid = grid();
    let mut handed = Vec::new();
    for i in 0..65u32 {
        let at = t0 + SAMPLE_INTERVAL * i;
        grid.push(at, wall() + TimeDelta::seconds(2 * i64::from(i)), sample(i));
        let done = grid.take_done();
        if !done.is_empty() {
            handed.push((i, done));
        }
    }
    let when: Vec<u32> = handed.iter().map(|(i, _)| *i).collect();
    assert_eq!(when, vec![29, 59]);
    let rest = grid.finish();
    let segments: Vec<NetworkSeries> = handed
        .into_iter()
        .flat_map(|(_, d)| d)
        .chain(rest)
        .collect();
    let lengths: Vec<usize> = segments.iter().map(|s| s.samples.len()).collect();
    assert_eq!(lengths, vec![30, 30, 5]);
    for pair in segments.windows(2) {
        assert_eq!(pair[1].started, pair[0].started + TimeDelta::seconds(60));
    }
    let all: Vec<u32> = segments.iter().flat_map(sent).collect();
    assert_eq!(all, (0..65).collect::<Vec<_>>());
}

/// A transport back long after the last (a member admitted all that time): a new segment, not a
/// month of zeros.
#[test]
fn a_long_gap_starts_a_new_segment() {
    let t0 = Instant::now();
    let mut grid = grid();
    grid.push(t0, wall(), sample(1));
    let later = TimeDelta::days(30);
    grid.push(
        t0 + Duration::from_secs(30 * 24 * 3600),
        wall() + later,
        sample(2),
    );
    let segments = grid.finish();
    assert_eq!(segments.len(), 2);
    assert_eq!(sent(&segments[1]), vec![2]);
    assert_eq!(segments[1].started, wall() + later - TimeDelta::seconds(2));
}

#[test]
fn a_member_with_no_sample_has_no_series() {
    assert!(grid().finish().is_empty());
}

proptest! {
    /// Reports a little early or late each land in their own interval: every one is kept once,
    /// in order, across segments.
    #[test]
    fn every_report_is_kept_once(jitter in proptest::collection::vec(-400i64..400, 1..200)) {
        let t0 = Instant::now() + Duration::from_secs(1);
        let mut grid = grid();
        let mut kept = Vec::new();
        for (i, ms) in jitter.iter().enumerate() {
            let at = t0 + SAMPLE_INTERVAL * i as u32;
            let at = if *ms >= 0 { at + Duration::from_millis(*ms as u64) } else { at - Duration::from_millis(ms.unsigned_abs()) };
            grid.push(at, wall(), sample(i as u32));
            kept.extend(grid.take_done());
        }
        kept.extend(grid.finish());
        let all: Vec<u32> = kept.iter().flat_map(sent).collect();
        prop_assert_eq!(all, (0..jitter.len() as u32).collect::<Vec<_>>());
    }

    /// However long a stay, what is answered is at most `MOST_SAMPLES`, covers it all, and keeps
    /// its mean.
    #[test]
    fn a_long_stay_is_answered_in_bounded_samples(n in 1usize..20_000) {
        let samples: Vec<NetworkSample> = (0..n).map(|i| sample(1000 + (i % 2) as u32 * 1000)).collect();
        let (interval, bounded) = bounded(2000, samples);
        prop_assert!(bounded.len() <= MOST_SAMPLES);
        let covered = bounded.len() as u64 * u64::from(interval);
        prop_assert!(covered >= n as u64 * 2000);
        prop_assert!(covered < n as u64 * 2000 + u64::from(interval));
        if n > MOST_SAMPLES {
            // The last may stand for fewer intervals than the others (an odd count).
            let whole = &bounded[..bounded.len() - 1];
            prop_assert!(whole.iter().all(|s| s.bitrate_send == 1500), "pairs merged into their mean");
        }
    }
}

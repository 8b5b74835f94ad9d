use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use proptest::prelude::*;

use super::*;

fn wall() -> DateTime<Utc> {
    DateTime::from_timestamp_millis(1_700_000_000_000).expect("a valid time")
}

fn sample(bitrate: u32) -> NetworkSample {
    NetworkSample {
        bitrate_send: bitrate,
        ..NetworkSample::default()
    }
}

#[test]
fn a_series_keeps_its_grid_across_a_gap_between_transports() {
    let t0 = Instant::now();
    let mut grid = SampleGrid::default();
    grid.push(t0, wall(), sample(1));
    grid.push(t0 + Duration::from_millis(2_010), wall(), sample(2));
    // A reload: no transport for about 4 s, then the new one reports twice in one interval
    // (its first report 0.8 s after it started): the interval is their mean.
    grid.push(t0 + Duration::from_millis(8_100), wall(), sample(30));
    grid.push(t0 + Duration::from_millis(8_900), wall(), sample(40));
    let finished = grid
        .finish(
            RoomName::parse("/r").expect("a valid name"),
            ClientId::new("c"),
        )
        .expect("samples");
    let sent: Vec<u32> = finished.samples.iter().map(|s| s.bitrate_send).collect();
    assert_eq!(sent, vec![1, 2, 0, 0, 35]);
    assert_eq!(finished.interval_ms, 2000);
    assert_eq!(finished.started, wall() - TimeDelta::seconds(2));
}

/// A transport back a month after the last (a member admitted all that time): the grid grows
/// coarser until the month fits, rather than a month of zeros at 2 s.
#[test]
fn a_long_gap_fits_in_a_coarser_grid() {
    let t0 = Instant::now();
    let mut grid = SampleGrid::default();
    grid.push(t0, wall(), sample(1));
    grid.push(t0 + Duration::from_secs(30 * 24 * 3600), wall(), sample(2));
    assert!(grid.samples.len() < MOST_SAMPLES, "{}", grid.samples.len());
    assert!(grid.samples.capacity() < 2 * MOST_SAMPLES);
    let interval = grid.interval.expect("an interval");
    assert!(
        interval.as_secs() * MOST_SAMPLES as u64 >= 30 * 24 * 3600,
        "{interval:?}"
    );
    assert_eq!(grid.samples.last().map(|(s, _)| s.bitrate_send), Some(2));
}

#[test]
fn a_member_with_no_sample_has_no_series() {
    let grid = SampleGrid::default();
    assert!(
        grid.finish(
            RoomName::parse("/r").expect("a valid name"),
            ClientId::new("c")
        )
        .is_none()
    );
}

proptest! {
    /// However the grid grows coarser, every report counts once in it: the reports each interval
    /// is the mean of add up to all the reports, and their bitrates to all that was reported.
    #[test]
    fn a_coarser_grid_loses_no_report(bitrates in proptest::collection::vec(0u32..2_000_000, 1..12_000)) {
        let t0 = Instant::now();
        let mut grid = SampleGrid::default();
        for (i, bitrate) in bitrates.iter().enumerate() {
            grid.push(t0 + SAMPLE_INTERVAL * i as u32, wall(), sample(*bitrate));
        }
        let reports: u32 = grid.samples.iter().map(|(_, n)| n).sum();
        prop_assert_eq!(reports as usize, bitrates.len());
        let kept: f64 = grid.samples.iter().map(|(s, n)| f64::from(s.bitrate_send) * f64::from(*n)).sum();
        let sent: f64 = bitrates.iter().map(|b| f64::from(*b)).sum();
        // Each mean is rounded to a whole bit a second.
        prop_assert!((kept - sent).abs() <= bitrates.len() as f64, "{} kept of {}", kept, sent);
    }

    /// However long a member stays, its series stays under its size, and its samples still cover
    /// its whole stay.
    #[test]
    fn a_long_stay_keeps_its_whole_span_in_bounded_samples(intervals in 1usize..20_000) {
        let t0 = Instant::now();
        let mut grid = SampleGrid::default();
        for i in 0..intervals {
            grid.push(t0 + SAMPLE_INTERVAL * i as u32, wall(), sample(1000));
        }
        let finished = grid
            .finish(RoomName::parse("/r").expect("a valid name"), ClientId::new("c"))
            .expect("samples");
        prop_assert!(finished.samples.len() < MOST_SAMPLES);
        let covered = finished.samples.len() as u64 * u64::from(finished.interval_ms);
        let stayed = intervals as u64 * SAMPLE_INTERVAL.as_millis() as u64;
        prop_assert!(covered >= stayed, "{covered} ms of samples for {stayed} ms");
        prop_assert!(covered < stayed + u64::from(finished.interval_ms), "{covered} for {stayed}");
        prop_assert!(finished.samples.iter().all(|s| s.bitrate_send == 1000));
    }
}

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use proptest::prelude::*;
use str0m::media::Mid;
use str0m::stats::{MediaEgressStats, PeerStats};

use super::*;

fn peer(at: Instant, received: u64, sent: u64, egress_loss: Option<f32>) -> PeerStats {
    PeerStats {
        peer_bytes_rx: received,
        peer_bytes_tx: sent,
        bytes_rx: 0,
        bytes_tx: 0,
        timestamp: at,
        bwe_tx: None,
        egress_loss_fraction: egress_loss,
        ingress_loss_fraction: Some(0.0),
        rtt: None,
        selected_candidate_pair: None,
    }
}

fn egress(mid: &str, at: Instant, packets: u64, loss: Option<f32>) -> MediaEgressStats {
    MediaEgressStats {
        mid: Mid::from(mid),
        rid: None,
        bytes: 0,
        packets,
        firs: 0,
        plis: 0,
        nacks: 0,
        rtt: None,
        loss,
        timestamp: at,
        remote: None,
    }
}

fn wall() -> DateTime<Utc> {
    DateTime::from_timestamp_millis(1_700_000_000_000).expect("a valid time")
}

#[test]
fn bitrates_are_the_bytes_of_the_interval_over_its_length() {
    let t0 = Instant::now();
    let mut sampler = Sampler::new(t0);
    let t1 = t0 + Duration::from_secs(2);
    assert!(sampler.peer(&peer(t1, 250_000, 500_000, None)).is_none());
    let (at, first) = sampler.finish().expect("a sample begun");
    assert_eq!(at, t1);
    assert_eq!(
        (first.bitrate_send, first.bitrate_recv),
        (1_000_000, 2_000_000)
    );
    let t2 = t1 + Duration::from_secs(2);
    sampler.peer(&peer(t2, 250_000, 750_000, None));
    let (_, second) = sampler.finish().expect("a sample begun");
    assert_eq!((second.bitrate_send, second.bitrate_recv), (0, 1_000_000));
    assert!(sampler.finish().is_none(), "a sample is given once");
}

#[test]
fn streams_losses_are_weighted_by_the_packets_each_carried_in_the_interval() {
    let t0 = Instant::now();
    let mut sampler = Sampler::new(t0);
    let t1 = t0 + Duration::from_secs(2);
    sampler.peer(&peer(t1, 0, 0, None));
    // 900 packets with 10 % lost, 100 with none: 9 %.
    sampler.egress(&egress("0", t1, 900, Some(0.1)));
    sampler.egress(&egress("1", t1, 100, Some(0.0)));
    let (_, sample) = sampler.finish().expect("a sample begun");
    assert!((sample.packet_loss_recv - 9.0).abs() < 1e-3, "{sample:?}");
    let t2 = t1 + Duration::from_secs(2);
    sampler.peer(&peer(t2, 0, 0, None));
    // Only this interval's packets count: 100 more on each, the first with half lost.
    sampler.egress(&egress("0", t2, 1000, Some(0.5)));
    sampler.egress(&egress("1", t2, 200, Some(0.0)));
    let (_, sample) = sampler.finish().expect("a sample begun");
    assert!((sample.packet_loss_recv - 25.0).abs() < 1e-3, "{sample:?}");
    // The transport-wide figure, where str0m has one, stands over the streams'.
    let t3 = t2 + Duration::from_secs(2);
    sampler.peer(&peer(t3, 0, 0, Some(0.02)));
    sampler.egress(&egress("0", t3, 1100, Some(0.5)));
    let (_, sample) = sampler.finish().expect("a sample begun");
    assert!((sample.packet_loss_recv - 2.0).abs() < 1e-3, "{sample:?}");
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
    let mut series = Series::default();
    series.push(t0, wall(), sample(1));
    series.push(t0 + Duration::from_millis(2_010), wall(), sample(2));
    // A reload: no transport for about 4 s, then the new one reports twice in one interval
    // (its first report 0.8 s after it started): the interval is their mean.
    series.push(t0 + Duration::from_millis(8_100), wall(), sample(30));
    series.push(t0 + Duration::from_millis(8_900), wall(), sample(40));
    let finished = series
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
    let mut series = Series::default();
    series.push(t0, wall(), sample(1));
    series.push(t0 + Duration::from_secs(30 * 24 * 3600), wall(), sample(2));
    assert!(
        series.samples.len() < MOST_SAMPLES,
        "{}",
        series.samples.len()
    );
    assert!(series.samples.capacity() < 2 * MOST_SAMPLES);
    let interval = series.interval.expect("an interval");
    assert!(
        interval.as_secs() * MOST_SAMPLES as u64 >= 30 * 24 * 3600,
        "{interval:?}"
    );
    assert_eq!(series.samples.last().map(|(s, _)| s.bitrate_send), Some(2));
}

#[test]
fn a_member_with_no_sample_has_no_series() {
    let series = Series::default();
    assert!(
        series
            .finish(
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
        let mut series = Series::default();
        for (i, bitrate) in bitrates.iter().enumerate() {
            series.push(t0 + SAMPLE_INTERVAL * i as u32, wall(), sample(*bitrate));
        }
        let reports: u32 = series.samples.iter().map(|(_, n)| n).sum();
        prop_assert_eq!(reports as usize, bitrates.len());
        let kept: f64 = series.samples.iter().map(|(s, n)| f64::from(s.bitrate_send) * f64::from(*n)).sum();
        let sent: f64 = bitrates.iter().map(|b| f64::from(*b)).sum();
        // Each mean is rounded to a whole bit a second.
        prop_assert!((kept - sent).abs() <= bitrates.len() as f64, "{} kept of {}", kept, sent);
    }

    /// However long a member stays, its series stays under its size, and its samples still cover
    /// its whole stay.
    #[test]
    fn a_long_stay_keeps_its_whole_span_in_bounded_samples(intervals in 1usize..20_000) {
        let t0 = Instant::now();
        let mut series = Series::default();
        for i in 0..intervals {
            series.push(t0 + SAMPLE_INTERVAL * i as u32, wall(), sample(1000));
        }
        let finished = series
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

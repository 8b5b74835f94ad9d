use std::time::{Duration, Instant};

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

//! What one published layer may send: a member's client that sends more (a modified client, or a
//! hostile one) would otherwise have every packet copied to each of up to 600 subscribers, on the
//! one core its room's media thread has. What is over the cap is not forwarded; the rest of the
//! room is untouched. A transport's datagrams have a cap of their own, checked before they are
//! decrypted. Time is an input, as everywhere on a media thread.

use std::time::Instant;

use str0m::media::MediaKind;

/// A voice at most: Opus tops out at 510 kbit/s, and sends a packet each 10 ms at the shortest
/// (browsers send one each 20 ms, 32 to 64 kbit/s).
const AUDIO_KBPS: u32 = 512;
const AUDIO_PACKETS_PER_SECOND: u32 = 200;
/// A video layer's packets at most: a camera's 1080p top layer at 5 Mbit/s is about 450 a second.
const VIDEO_PACKETS_PER_SECOND: u32 = 1_500;
/// What one transport's datagrams may be, all told, before str0m reads them (decrypting each):
/// eight video layers' worth (a camera's three and a screen, their resends and feedback, with room
/// to spare), and packets far more than a publisher and a subscriber of 25 videos send. A flood
/// past this costs the media thread a read and a lookup a datagram, not a decryption.
const TRANSPORT_VIDEO_LAYERS: u32 = 8;
const TRANSPORT_PACKETS_PER_SECOND: u32 = 5_000;

/// A rate a second, in bytes and in packets; a second's worth may come at once (a keyframe).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cap {
    bytes: f64,
    packets: f64,
}

impl Cap {
    const fn new(kbps: u32, packets: u32) -> Cap {
        Cap {
            bytes: kbps as f64 * 1000.0 / 8.0,
            packets: packets as f64,
        }
    }
}

/// The caps of a media thread: voices' fixed, video layers' (a camera's layer, a screen) set by
/// `--media-max-video-kbps`, and a transport's datagrams' from that.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Caps {
    audio: Cap,
    video: Cap,
    pub transport: Cap,
}

impl Caps {
    pub fn new(video_kbps: u32) -> Caps {
        Caps {
            audio: Cap::new(AUDIO_KBPS, AUDIO_PACKETS_PER_SECOND),
            video: Cap::new(video_kbps, VIDEO_PACKETS_PER_SECOND),
            transport: Cap::new(
                video_kbps.saturating_mul(TRANSPORT_VIDEO_LAYERS),
                TRANSPORT_PACKETS_PER_SECOND,
            ),
        }
    }

    pub fn of(&self, kind: MediaKind) -> Cap {
        match kind {
            MediaKind::Audio => self.audio,
            MediaKind::Video => self.video,
        }
    }
}

/// What a layer may still send now (a token bucket): it fills at its cap's rate, up to a second's
/// worth, and each packet forwarded takes its bytes and one packet from it.
#[derive(Debug, Clone)]
pub struct Allowance {
    bytes: f64,
    packets: f64,
    at: Instant,
}

impl Allowance {
    /// Full: a layer may start with a keyframe.
    pub fn full(cap: Cap, now: Instant) -> Allowance {
        Allowance {
            bytes: cap.bytes,
            packets: cap.packets,
            at: now,
        }
    }

    /// Whether a packet of `bytes` heard `now` is within the cap (then it is taken from the
    /// allowance); one over it takes nothing.
    pub fn take(&mut self, cap: Cap, bytes: usize, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.at = self.at.max(now);
        self.bytes = (self.bytes + elapsed * cap.bytes).min(cap.bytes);
        self.packets = (self.packets + elapsed * cap.packets).min(cap.packets);
        let bytes = bytes as f64;
        if self.bytes < bytes || self.packets < 1.0 {
            return false;
        }
        self.bytes -= bytes;
        self.packets -= 1.0;
        true
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use proptest::prelude::*;

    use super::*;

    const CAP_KBPS: u32 = 800; // 100,000 bytes a second

    #[test]
    fn a_flood_gets_its_cap_and_a_burst_no_more() {
        let start = Instant::now();
        let cap = Caps::new(CAP_KBPS).of(MediaKind::Video);
        let mut allowance = Allowance::full(cap, start);
        // 1,000-byte packets, 400 a second for 10 s: four times the cap.
        let passed = (0..4_000u64)
            .filter(|i| allowance.take(cap, 1_000, start + Duration::from_micros(i * 2_500)))
            .count();
        // A second's worth at once, then the cap's rate: 100 + 10 × 100 packets (the last refill
        // falls a packet short).
        assert!((1_099..=1_100).contains(&passed), "{passed}");
    }

    #[test]
    fn within_the_cap_everything_passes_and_so_does_a_keyframe() {
        let start = Instant::now();
        let cap = Caps::new(CAP_KBPS).of(MediaKind::Video);
        let mut allowance = Allowance::full(cap, start);
        // 60,000 bytes a second in 1,200-byte packets, and a 60,000-byte keyframe at once each 2 s
        // (90,000 bytes a second in all).
        for second in 0..10u64 {
            let at = start + Duration::from_secs(second);
            if second % 2 == 0 {
                for i in 0..50 {
                    assert!(allowance.take(cap, 1_200, at + Duration::from_micros(i)));
                }
            }
            for i in 0..50 {
                let at = at + Duration::from_millis(20 * i);
                assert!(
                    allowance.take(cap, 1_200, at),
                    "second {second}, packet {i}"
                );
            }
        }
    }

    #[test]
    fn small_packets_are_counted_too() {
        let start = Instant::now();
        let cap = Caps::new(512).of(MediaKind::Audio);
        let mut allowance = Allowance::full(cap, start);
        // 40-byte packets each millisecond: far under the bytes, five times the packets.
        let passed = (0..5_000u64)
            .filter(|i| allowance.take(cap, 40, start + Duration::from_millis(*i)))
            .count();
        assert!((1_199..=1_200).contains(&passed), "{passed}");
    }

    proptest! {
        /// However packets come (sizes, gaps), what passes within any span of time is at most the
        /// cap's rate over it plus a second's worth.
        #[test]
        fn what_passes_never_exceeds_the_cap(
            packets in proptest::collection::vec((1usize..3_000, 0u64..20_000), 1..300),
            kbps in 100u32..10_000,
        ) {
            let start = Instant::now();
            let cap = Caps::new(kbps).of(MediaKind::Video);
            let mut allowance = Allowance::full(cap, start);
            let mut at = start;
            let mut passed: Vec<(Instant, usize)> = Vec::new();
            for (bytes, gap_us) in packets {
                at += Duration::from_micros(gap_us);
                if allowance.take(cap, bytes, at) {
                    passed.push((at, bytes));
                }
            }
            for (i, (from, _)) in passed.iter().enumerate() {
                let mut bytes = 0.0;
                for (to, size) in &passed[i..] {
                    bytes += *size as f64;
                    let span = to.duration_since(*from).as_secs_f64();
                    prop_assert!(bytes <= cap.bytes * (1.0 + span) + 1e-6);
                }
            }
        }
    }
}

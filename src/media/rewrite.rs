//! One outgoing track's numbering, kept continuous while it switches from one source (a person, or a
//! simulcast layer of one) to another: sequence numbers, RTP timestamps and VP8 picture ids are
//! shifted so the receiver sees one stream, and gaps within a source stay gaps (so it can ask for
//! what was lost).

/// What the next packet of the current source becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Rewritten {
    pub seq: u64,
    pub timestamp: u32,
    pub picture_id: Option<u16>,
    pub tl0_pic_idx: Option<u8>,
}

/// A VP8 picture id and whether it is the 15-bit form (else 7-bit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct PictureId {
    pub value: u16,
    pub long: bool,
}

#[derive(Debug, Default)]
pub(super) struct Rewriter {
    seq_offset: i64,
    timestamp_offset: u32,
    picture_offset: u16,
    tl0_offset: u8,
    last: Option<Rewritten>,
    /// The next packet starts a new source: offsets are computed from it.
    rebase: bool,
}

impl Rewriter {
    pub fn new() -> Self {
        Rewriter {
            rebase: true,
            ..Default::default()
        }
    }

    /// The next packet comes from another source (or layer).
    pub fn switch(&mut self) {
        self.rebase = true;
    }

    /// Numbers for one packet (`seq` extended, `timestamp` as sent). `frame_gap` is the timestamp
    /// step put between the last packet of the old source and the first of the new.
    pub fn next(
        &mut self,
        seq: u64,
        timestamp: u32,
        picture_id: Option<PictureId>,
        tl0_pic_idx: Option<u8>,
        frame_gap: u32,
    ) -> Rewritten {
        if self.rebase {
            self.rebase = false;
            match self.last {
                Some(last) => {
                    self.seq_offset = (last.seq + 1) as i64 - seq as i64;
                    self.timestamp_offset = last
                        .timestamp
                        .wrapping_add(frame_gap)
                        .wrapping_sub(timestamp);
                    if let (Some(previous), Some(now)) = (last.picture_id, picture_id) {
                        self.picture_offset = previous.wrapping_add(1).wrapping_sub(now.value);
                    }
                    if let (Some(previous), Some(now)) = (last.tl0_pic_idx, tl0_pic_idx) {
                        self.tl0_offset = previous.wrapping_add(1).wrapping_sub(now);
                    }
                }
                // The first packet ever: numbered from where the source is, but with a rollover
                // count of 0, which is what a new receiver assumes (RFC 3711 §3.3.1).
                None => self.seq_offset = (seq % 65_536) as i64 - seq as i64,
            }
        }
        let rewritten = Rewritten {
            seq: (seq as i64 + self.seq_offset).max(0) as u64,
            timestamp: timestamp.wrapping_add(self.timestamp_offset),
            picture_id: picture_id.map(|p| {
                let mask = if p.long { 0x7fff } else { 0x7f };
                p.value.wrapping_add(self.picture_offset) & mask
            }),
            tl0_pic_idx: tl0_pic_idx.map(|t| t.wrapping_add(self.tl0_offset)),
        };
        // Only the newest counts as "last": a late packet must not pull the next source back.
        if self.last.is_none_or(|last| rewritten.seq > last.seq) {
            self.last = Some(rewritten);
        }
        rewritten
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pid(value: u16) -> Option<PictureId> {
        Some(PictureId { value, long: true })
    }

    #[test]
    fn a_switch_continues_the_numbers_and_gaps_within_a_source_stay() {
        let mut r = Rewriter::new();
        // The first source, already far into its stream: sequence numbers start with rollover 0.
        let first = r.next(70_000, 1_000, pid(500), Some(7), 3000);
        assert_eq!(first.seq, 70_000 % 65_536);
        assert_eq!(
            (first.timestamp, first.picture_id, first.tl0_pic_idx),
            (1_000, pid(500).map(|p| p.value), Some(7))
        );
        let second = r.next(70_001, 4_000, pid(501), Some(8), 3000);
        assert_eq!(second.seq, first.seq + 1);
        // A lost packet upstream stays a gap downstream.
        let after_gap = r.next(70_003, 7_000, pid(502), Some(9), 3000);
        assert_eq!(after_gap.seq, first.seq + 3);
        // Another source: one step on from where the last left off.
        r.switch();
        let switched = r.next(12, 90_000_000, pid(32_000), Some(200), 3000);
        assert_eq!(switched.seq, after_gap.seq + 1);
        assert_eq!(switched.timestamp, after_gap.timestamp + 3000);
        assert_eq!(switched.picture_id, Some(503));
        assert_eq!(switched.tl0_pic_idx, Some(10));
        let next = r.next(13, 90_003_000, pid(32_001), Some(201), 3000);
        assert_eq!(next.seq, switched.seq + 1);
        assert_eq!(next.timestamp, switched.timestamp + 3000);
        assert_eq!(next.picture_id, Some(504));
    }

    use proptest::prelude::*;

    /// A packet as a publisher may send it (a hostile one included), or a switch of source.
    #[derive(Debug, Clone)]
    enum Arrival {
        Packet {
            seq: u64,
            timestamp: u32,
            picture_id: Option<PictureId>,
            tl0: Option<u8>,
        },
        Switch,
    }

    fn arrival() -> impl Strategy<Value = Arrival> {
        let picture_id = proptest::option::of(
            (any::<u16>(), any::<bool>()).prop_map(|(value, long)| PictureId { value, long }),
        );
        prop_oneof![
            // Extended sequence numbers, as str0m gives them: up to 2^48 (a rollover count of 32
            // bits above the 16 on the wire).
            6 => (0u64..1 << 48, any::<u32>(), picture_id, any::<Option<u8>>())
                .prop_map(|(seq, timestamp, picture_id, tl0)| Arrival::Packet { seq, timestamp, picture_id, tl0 }),
            1 => Just(Arrival::Switch),
        ]
    }

    proptest! {
        /// Whatever numbers come, in whatever order: no overflow, and a picture id keeps the form
        /// it came in.
        #[test]
        fn any_numbers_are_rewritten_without_overflow(
            arrivals in proptest::collection::vec(arrival(), 1..60),
            frame_gap in any::<u32>(),
        ) {
            let mut r = Rewriter::new();
            for arrival in arrivals {
                match arrival {
                    Arrival::Switch => r.switch(),
                    Arrival::Packet { seq, timestamp, picture_id, tl0 } => {
                        let out = r.next(seq, timestamp, picture_id, tl0, frame_gap);
                        if let (Some(sent), Some(rewritten)) = (picture_id, out.picture_id) {
                            let most = if sent.long { 0x7fff } else { 0x7f };
                            prop_assert!(rewritten <= most);
                        }
                    }
                }
            }
        }

        /// Within one source, steps between sequence numbers (gaps included) are kept.
        #[test]
        fn steps_within_a_source_are_kept(
            start in 0u64..1 << 40,
            steps in proptest::collection::vec(1u64..50, 1..40),
        ) {
            let mut r = Rewriter::new();
            r.next(1_000, 0, None, None, 3000);
            r.switch();
            let mut seq = start;
            let mut last = r.next(seq, 0, None, None, 3000).seq;
            for step in steps {
                seq += step;
                let out = r.next(seq, 0, None, None, 3000).seq;
                prop_assert_eq!(out - last, step);
                last = out;
            }
        }
    }

    #[test]
    fn picture_ids_and_timestamps_wrap() {
        let mut r = Rewriter::new();
        r.next(
            1,
            u32::MAX - 10,
            Some(PictureId {
                value: 0x7f,
                long: false,
            }),
            None,
            960,
        );
        r.switch();
        let out = r.next(
            500,
            5,
            Some(PictureId {
                value: 3,
                long: false,
            }),
            None,
            960,
        );
        assert_eq!(out.timestamp, (u32::MAX - 10).wrapping_add(960));
        assert_eq!(out.picture_id, Some(0), "7-bit ids wrap at 127");
    }
}

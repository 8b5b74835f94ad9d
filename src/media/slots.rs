//! What one subscriber receives: a few outgoing tracks ("slots") of each kind, negotiated once and
//! reused. The media server points each slot at one publisher's track at a time and tells the client
//! which (`sfu_slots`), so a session description stays the same size however many people publish:
//! at most `MAX_VIDEOS` video and `MAX_AUDIO` audio m-lines, rather than two per person in the room.

use std::collections::HashSet;

use str0m::media::{MediaKind, Mid, Pt, Rid};
use str0m::rtp::Ssrc;

use super::published::{Published, TrackId};
use super::rewrite::Rewriter;
use crate::meeting::ClientId;

/// Videos one subscriber receives at most, whatever it says it shows (a client that never pauses
/// what it does not show cannot make the server send it a whole 200-person room).
pub(super) const MAX_VIDEOS: usize = 25;
/// Voices one subscriber receives at most: the loudest (more at once is noise, not a meeting).
pub(super) const MAX_AUDIO: usize = 10;

/// A publisher's track, as a subscriber wants it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Source {
    pub track: TrackId,
    pub publisher: ClientId,
    /// How wide the subscriber shows it (video).
    pub width: u32,
    /// A shared screen (one layer; shown instead of the publisher's camera).
    pub screen: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SlotState {
    ToOpen,
    Negotiating(Mid),
    Open(Mid),
}

#[derive(Debug)]
pub(super) struct Slot {
    pub kind: MediaKind,
    state: SlotState,
    pub source: Option<Source>,
    /// The layer being forwarded, and the one to switch to at its next keyframe.
    current: Option<Rid>,
    target: Option<Rid>,
    /// A new source, or a single-layer video resumed: it waits for a keyframe.
    needs_keyframe: bool,
    /// Keeps the outgoing numbering continuous across sources and layers.
    pub rewrite: Rewriter,
    /// The source's payload type and the one this subscriber knows the codec by.
    pub payload_type: Option<(Pt, Pt)>,
    /// The SSRC of the slot's outgoing stream, once looked up.
    pub ssrc: Option<Ssrc>,
    /// What the subscriber's bandwidth allows this video (video slots).
    pub allotted: Allotted,
}

/// What a subscriber's bandwidth estimate allows one of its videos (`allocate.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Allotted {
    /// No estimate yet: the layer that fits the size it is shown at.
    BySize,
    /// At most this layer (`None`: the only one of a video sent without simulcast).
    Layer(Option<Rid>),
}

impl Slot {
    fn empty(kind: MediaKind) -> Self {
        Slot {
            kind,
            state: SlotState::ToOpen,
            source: None,
            current: None,
            target: None,
            needs_keyframe: true,
            rewrite: Rewriter::new(),
            payload_type: None,
            ssrc: None,
            allotted: Allotted::BySize,
        }
    }

    pub fn mid(&self) -> Option<Mid> {
        match self.state {
            SlotState::ToOpen => None,
            SlotState::Negotiating(mid) | SlotState::Open(mid) => Some(mid),
        }
    }

    fn point_at(&mut self, source: Option<Source>) {
        self.source = source;
        self.current = None;
        self.target = None;
        self.needs_keyframe = true;
        self.rewrite.switch();
        self.payload_type = None;
        self.allotted = Allotted::BySize;
    }

    /// Whether this frame of the source goes out on this slot, and the layer (`None`: the only one)
    /// the publisher should send a keyframe of first.
    pub fn pass(
        &mut self,
        source: &Published,
        rid: Option<Rid>,
        keyframe: bool,
    ) -> (bool, Option<Option<Rid>>) {
        if self.kind != MediaKind::Video {
            return (true, None);
        }
        let width = self.source.as_ref().map_or(0, |s| s.width);
        if width == 0 {
            // Paused: whatever comes next must start at a keyframe.
            self.current = None;
            self.target = None;
            self.needs_keyframe = true;
            return (false, None);
        }
        if rid.is_none() {
            if self.needs_keyframe && !keyframe {
                return (false, Some(None));
            }
            self.needs_keyframe = false;
            return (true, None);
        }
        let mut wanted = None;
        let target = match self.allotted {
            Allotted::Layer(rid) => rid,
            Allotted::BySize => source.layer_for(width),
        };
        if target != self.target {
            self.target = target;
            if target.is_some() && target != self.current {
                wanted = Some(target);
            }
        }
        if self.current != rid {
            // Switch only where the new layer can be decoded from: its keyframe.
            if rid != self.target || !keyframe {
                return (false, wanted);
            }
            self.current = rid;
            self.rewrite.switch();
        }
        (true, wanted)
    }
}

#[derive(Debug, Default)]
pub(super) struct Slots {
    slots: Vec<Slot>,
}

impl Slots {
    /// Points the slots of `kind` at `wanted` (best first; the first `max` are taken): a source keeps
    /// its slot, new sources take free slots, and slots are added while fewer than needed exist.
    /// True when a slot changed what it carries or a spare one was added (the client must hear of
    /// either).
    pub fn assign(&mut self, kind: MediaKind, wanted: &[Source], max: usize) -> bool {
        let wanted = &wanted[..wanted.len().min(max)];
        let tracks: HashSet<TrackId> = wanted.iter().map(|s| s.track).collect();
        let mut changed = false;
        for slot in self.slots.iter_mut().filter(|s| s.kind == kind) {
            match &mut slot.source {
                Some(source) if tracks.contains(&source.track) => {
                    // Still wanted: only its size may have changed.
                    if let Some(now) = wanted.iter().find(|w| w.track == source.track) {
                        source.width = now.width;
                    }
                }
                Some(_) => {
                    slot.point_at(None);
                    changed = true;
                }
                None => {}
            }
        }
        let placed: HashSet<TrackId> = self
            .slots
            .iter()
            .filter_map(|s| s.source.as_ref().map(|s| s.track))
            .collect();
        for source in wanted.iter().filter(|s| !placed.contains(&s.track)) {
            changed = true;
            match self
                .slots
                .iter_mut()
                .find(|s| s.kind == kind && s.source.is_none())
            {
                Some(free) => free.point_at(Some(source.clone())),
                None => {
                    let mut slot = Slot::empty(kind);
                    slot.point_at(Some(source.clone()));
                    self.slots.push(slot);
                }
            }
        }
        // One free slot of the kind is kept negotiated (under the cap): whoever comes next is
        // forwarded at once on it, not after a new offer and answer with every subscriber.
        let of_kind = self.slots.iter().filter(|s| s.kind == kind).count();
        let free = self
            .slots
            .iter()
            .any(|s| s.kind == kind && s.source.is_none());
        if !free && of_kind < max {
            self.slots.push(Slot::empty(kind));
            changed = true;
        }
        changed
    }

    /// The slot that carries this track.
    pub fn carrying(&mut self, track: TrackId) -> Option<&mut Slot> {
        self.slots
            .iter_mut()
            .find(|s| s.source.as_ref().is_some_and(|src| src.track == track))
    }

    /// The video slots that carry someone, with their index (for `allot`).
    pub fn videos(&self) -> impl Iterator<Item = (usize, &Slot)> {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.kind == MediaKind::Video && s.source.is_some())
    }

    /// Audio slots that carry someone.
    pub fn voices(&self) -> usize {
        self.slots
            .iter()
            .filter(|s| s.kind == MediaKind::Audio && s.source.is_some())
            .count()
    }

    /// Sets what bandwidth allows the slot at `index` (from `videos`); true when that changed.
    pub fn allot(&mut self, index: usize, allotted: Allotted) -> bool {
        match self.slots.get_mut(index) {
            Some(slot) if slot.allotted != allotted => {
                slot.allotted = allotted;
                true
            }
            _ => false,
        }
    }

    pub fn by_mid(&self, mid: Mid) -> Option<&Slot> {
        self.slots.iter().find(|s| s.mid() == Some(mid))
    }

    pub fn unopened(&mut self) -> impl Iterator<Item = &mut Slot> {
        self.slots
            .iter_mut()
            .filter(|s| s.state == SlotState::ToOpen)
    }

    pub fn negotiating(slot: &mut Slot, mid: Mid) {
        slot.state = SlotState::Negotiating(mid);
    }

    /// The client answered: the slots offered are open.
    pub fn answered(&mut self) {
        for slot in &mut self.slots {
            if let SlotState::Negotiating(mid) = slot.state {
                slot.state = SlotState::Open(mid);
            }
        }
    }

    /// What each negotiated slot carries, for the client: its mid and kind, whether it is a
    /// screen, and whose it is.
    pub fn listing(&self) -> Vec<(Mid, MediaKind, bool, Option<ClientId>)> {
        self.slots
            .iter()
            .filter_map(|s| {
                let mid = s.mid()?;
                let screen = s.source.as_ref().is_some_and(|src| src.screen);
                let owner = s.source.as_ref().map(|src| src.publisher.clone());
                Some((mid, s.kind, screen, owner))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::media::published::tests::track;

    fn source(track: TrackId, width: u32) -> Source {
        Source {
            track,
            publisher: ClientId::new(format!("p{track}")),
            width,
            screen: false,
        }
    }

    fn open_all(slots: &mut Slots) {
        for (index, slot) in slots.unopened().enumerate() {
            Slots::negotiating(slot, Mid::from(format!("{index}").as_str()));
        }
        slots.answered();
    }

    #[test]
    fn at_most_the_cap_of_slots_and_a_source_keeps_its_slot() {
        let mut slots = Slots::default();
        let wanted: Vec<Source> = (1..=40).map(|t| source(t, 640)).collect();
        assert!(slots.assign(MediaKind::Video, &wanted, MAX_VIDEOS));
        assert_eq!(slots.unopened().count(), MAX_VIDEOS);
        open_all(&mut slots);
        let mid_of_3 = slots.carrying(3).and_then(|s| s.mid());
        // Publisher 2 goes: its slot is free for the 26th, and 3 stays where it was.
        let wanted: Vec<Source> = (1..=40)
            .filter(|t| *t != 2)
            .map(|t| source(t, 640))
            .collect();
        assert!(slots.assign(MediaKind::Video, &wanted, MAX_VIDEOS));
        assert_eq!(slots.unopened().count(), 0, "no new m-line");
        assert!(slots.carrying(2).is_none());
        assert!(slots.carrying(26).is_some());
        assert_eq!(slots.carrying(3).and_then(|s| s.mid()), mid_of_3);
        // The same wish again changes nothing; audio slots are counted apart.
        assert!(!slots.assign(MediaKind::Video, &wanted, MAX_VIDEOS));
        assert!(slots.assign(MediaKind::Audio, &[source(100, 0)], MAX_AUDIO));
        assert_eq!(slots.listing().len(), MAX_VIDEOS);
    }

    #[test]
    fn a_spare_slot_waits_for_the_next_person_up_to_the_cap() {
        let mut slots = Slots::default();
        // Alone: nobody to carry, yet one slot of the kind is negotiated.
        assert!(slots.assign(MediaKind::Audio, &[], MAX_AUDIO));
        assert_eq!(slots.unopened().count(), 1);
        open_all(&mut slots);
        assert!(
            !slots.assign(MediaKind::Audio, &[], MAX_AUDIO),
            "nothing new"
        );
        // Someone comes: the spare carries them, and a new spare is made ready for the next.
        assert!(slots.assign(MediaKind::Audio, &[source(1, 0)], MAX_AUDIO));
        let carrying = slots.carrying(1).map(|s| s.mid());
        assert!(matches!(carrying, Some(Some(_))), "on a negotiated slot");
        assert_eq!(slots.unopened().count(), 1);
        // At the cap, no spare beyond it.
        let many: Vec<Source> = (1..=20).map(|t| source(t, 0)).collect();
        slots.assign(MediaKind::Audio, &many, MAX_AUDIO);
        assert_eq!(slots.unopened().count() + slots.listing().len(), MAX_AUDIO);
    }

    #[test]
    fn a_video_starts_and_switches_layers_at_keyframes() {
        let now = Instant::now();
        let published = track(&[("h", 640), ("l", 320)], now);
        let mut slots = Slots::default();
        slots.assign(MediaKind::Video, &[source(1, 640)], MAX_VIDEOS);
        let slot = slots.carrying(1).expect("a slot");
        let h = Some(Rid::from("h"));
        let l = Some(Rid::from("l"));
        // Not yet on a layer: a keyframe of the wanted one is asked for, and switched to.
        assert_eq!(slot.pass(&published, h, false), (false, Some(h)));
        assert_eq!(slot.pass(&published, h, true), (true, None));
        assert_eq!(slot.pass(&published, h, false), (true, None));
        // Shown smaller: the small layer, from its next keyframe.
        slot.source.as_mut().unwrap().width = 300;
        assert_eq!(slot.pass(&published, l, false), (false, Some(l)));
        assert_eq!(
            slot.pass(&published, h, true),
            (true, None),
            "the old layer until then"
        );
        assert_eq!(slot.pass(&published, l, true), (true, None));
        assert_eq!(
            slot.pass(&published, h, true),
            (false, None),
            "then only the new one"
        );
        // A single-layer video pointed at anew waits for a keyframe.
        let single = track(&[], now);
        let mut slots = Slots::default();
        slots.assign(MediaKind::Video, &[source(2, 640)], MAX_VIDEOS);
        let slot = slots.carrying(2).expect("a slot");
        assert_eq!(slot.pass(&single, None, false), (false, Some(None)));
        assert_eq!(slot.pass(&single, None, true), (true, None));
    }
}

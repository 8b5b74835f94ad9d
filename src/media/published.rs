//! A track a member publishes, as the media thread knows it: its simulcast layers (heard lately,
//! how wide, how much they send), the keyframes they owe, and the layer a subscriber should get.

use std::time::{Duration, Instant};

use str0m::media::{MediaKind, Mid, Rid};

use super::cap::{Allowance, Cap};

/// A published track, unique on its thread for the thread's life (a transport started anew
/// publishes new tracks).
pub(super) type TrackId = u64;

/// A producer layer is asked for a keyframe at most this often, however many subscribers ask.
const KEYFRAME_INTERVAL: Duration = Duration::from_secs(1);
/// A layer not heard from for this long is taken to be off (the browser stops sending layers it
/// cannot afford).
const LAYER_SILENT: Duration = Duration::from_millis(600);
/// A screen track silent this long is no longer shared: its slot goes back to the camera.
const SCREEN_SILENT: Duration = Duration::from_millis(1500);

#[derive(Clone)]
pub(super) struct Published {
    pub id: TrackId,
    pub mid: Mid,
    pub kind: MediaKind,
    /// A shared screen: a client's second video track (the first is its camera).
    pub screen: bool,
    /// Per simulcast layer (or `None` for a single one): last heard, the width its last keyframe
    /// declared, the last keyframe request.
    layers: Vec<Layer>,
    /// What each layer may send (`cap.rs`).
    cap: Cap,
}

#[derive(Clone)]
struct Layer {
    rid: Option<Rid>,
    heard: Instant,
    width: u32,
    asked: Option<Instant>,
    wanted: bool,
    /// Bytes heard since `window`, and the bitrate the last full window measured.
    bytes: u64,
    window: Instant,
    bitrate: Option<u64>,
    /// What it may still send now; what is over is not forwarded.
    allowance: Allowance,
    /// When it was last logged as over its cap.
    over_told: Option<Instant>,
}

/// A layer over its cap is logged at most this often.
const OVER_TOLD_EVERY: Duration = Duration::from_secs(10);

/// A packet as its layer's cap sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Heard {
    Within,
    /// Over the cap: not forwarded; `tell`: the first such in a while, to be logged.
    Over {
        tell: bool,
    },
}

/// How long a layer's bitrate is measured over before it counts.
const RATE_WINDOW: Duration = Duration::from_millis(500);

impl Layer {
    fn new(rid: Option<Rid>, width: u32, cap: Cap, now: Instant) -> Self {
        Layer {
            rid,
            heard: now,
            width,
            asked: None,
            wanted: true,
            bytes: 0,
            window: now,
            bitrate: None,
            allowance: Allowance::full(cap, now),
            over_told: None,
        }
    }

    fn heard(&mut self, bytes: usize, now: Instant) {
        self.heard = now;
        self.bytes += bytes as u64;
        let elapsed = now.duration_since(self.window);
        if elapsed >= RATE_WINDOW {
            self.bitrate = Some(self.bytes * 8 * 1000 / elapsed.as_millis().max(1) as u64);
            self.bytes = 0;
            self.window = now;
        }
    }

    /// What it sends, as measured, or before that what a layer of its width usually does.
    fn bitrate(&self) -> u64 {
        self.bitrate.unwrap_or(match self.width {
            0..=360 => 150_000,
            361..=720 => 500_000,
            _ => 1_000_000,
        })
    }
}

impl Published {
    pub fn new(id: TrackId, mid: Mid, kind: MediaKind, screen: bool, cap: Cap) -> Self {
        Published {
            id,
            mid,
            kind,
            screen,
            layers: Vec::new(),
            cap,
        }
    }

    /// A packet of layer `rid` was heard; a keyframe's packet also says how wide the layer is.
    /// Whether it is within the layer's cap (else it is not to be forwarded).
    pub fn heard(
        &mut self,
        rid: Option<Rid>,
        payload: &[u8],
        keyframe: bool,
        now: Instant,
    ) -> Heard {
        let cap = self.cap;
        let layer = self.layer(rid, payload.len(), now);
        if keyframe && let Some(width) = vp8_keyframe_width(payload) {
            layer.width = width;
        }
        if layer.allowance.take(cap, payload.len(), now) {
            return Heard::Within;
        }
        // Said at most once in `OVER_TOLD_EVERY` a layer: a flood is one line, not one a packet.
        let told_lately = layer
            .over_told
            .is_some_and(|at| now.saturating_duration_since(at) < OVER_TOLD_EVERY);
        if !told_lately {
            layer.over_told = Some(now);
        }
        Heard::Over { tell: !told_lately }
    }

    /// The layers that owe a keyframe and were not asked for one within `KEYFRAME_INTERVAL`:
    /// each is handed to `ask` and counts as asked now.
    pub fn ask_keyframes(&mut self, now: Instant, mut ask: impl FnMut(Mid, Option<Rid>)) {
        for layer in &mut self.layers {
            let due = layer
                .asked
                .is_none_or(|at| now.duration_since(at) >= KEYFRAME_INTERVAL);
            if !layer.wanted || !due {
                continue;
            }
            ask(self.mid, layer.rid);
            layer.asked = Some(now);
            layer.wanted = false;
        }
    }

    /// A subscriber needs a keyframe (of `rid`, or of every layer when it is `None`).
    pub fn want_keyframe(&mut self, rid: Option<Rid>) {
        for layer in &mut self.layers {
            if rid.is_none() || layer.rid == rid {
                layer.wanted = true;
            }
        }
    }

    /// Whether packets came lately (a screen no longer shared sends none).
    pub fn sending(&self, now: Instant) -> bool {
        self.layers
            .iter()
            .any(|l| now.duration_since(l.heard) < SCREEN_SILENT)
    }

    fn layer(&mut self, rid: Option<Rid>, bytes: usize, now: Instant) -> &mut Layer {
        let index = match self.layers.iter().position(|l| l.rid == rid) {
            Some(index) => index,
            None => {
                self.layers.push(Layer::new(rid, 0, self.cap, now));
                self.layers.len() - 1
            }
        };
        let layer = &mut self.layers[index];
        layer.heard(bytes, now);
        layer.wanted |= layer.width == 0;
        layer
    }

    /// The layers heard from lately, smallest first, up to the one a subscriber showing the video
    /// `width` pixels wide wants (`layer_for`), with their bitrates: what it may be given when
    /// bandwidth is short. Empty when it is not shown.
    pub(super) fn layers_upto(&self, width: u32) -> Vec<(Option<Rid>, u64)> {
        if width == 0 {
            return Vec::new();
        }
        if self.layers.iter().all(|l| l.rid.is_none()) {
            return self.layers.iter().map(|l| (None, l.bitrate())).collect();
        }
        let wanted = self.layer_for(width);
        let mut live = self.live_layers();
        live.sort_by_key(|l| l.width);
        let upto = live
            .iter()
            .position(|l| l.rid == wanted)
            .map_or(live.len(), |index| index + 1);
        live[..upto].iter().map(|l| (l.rid, l.bitrate())).collect()
    }

    /// Simulcast layers heard from within `LAYER_SILENT` of the newest.
    fn live_layers(&self) -> Vec<&Layer> {
        let Some(newest) = self.layers.iter().map(|l| l.heard).max() else {
            return Vec::new();
        };
        self.layers
            .iter()
            .filter(|l| l.rid.is_some() && newest.duration_since(l.heard) < LAYER_SILENT)
            .collect()
    }

    /// The layer to forward to a subscriber showing the video `width` pixels wide: the smallest one
    /// heard from lately that is at least about that wide (a fifth of upscaling is not seen), else
    /// the widest; none when it is not shown.
    pub(super) fn layer_for(&self, width: u32) -> Option<Rid> {
        if width == 0 {
            return None;
        }
        let mut live = self.live_layers();
        live.sort_by_key(|l| l.width);
        live.iter()
            .find(|l| l.width > 0 && l.width * 5 >= width * 4)
            .or(live.last())
            .and_then(|l| l.rid)
    }
}

/// Whether a VP8 payload descriptor carries its picture id in 15 bits (RFC 7741 §4.2: X, then I,
/// then the M bit of the picture id's first byte).
pub(super) fn long_picture_id(payload: &[u8]) -> bool {
    payload.len() > 2 && payload[0] & 0x80 != 0 && payload[1] & 0x80 != 0 && payload[2] & 0x80 != 0
}

/// The width a VP8 keyframe declares, from the packet that starts it (RFC 6386 §9.1: a 3-byte tag,
/// the start code, then 14 bits of width; RFC 7741 puts a payload descriptor of 1 to 6 bytes first).
fn vp8_keyframe_width(payload: &[u8]) -> Option<u32> {
    let head = &payload[..payload.len().min(16)];
    let start = head.windows(3).position(|w| w == [0x9d, 0x01, 0x2a])?;
    let width = payload.get(start + 3..start + 5)?;
    (start >= 4).then(|| u32::from(u16::from_le_bytes([width[0], width[1]]) & 0x3fff))
}

#[cfg(test)]
#[path = "published_tests.rs"]
pub(super) mod tests;

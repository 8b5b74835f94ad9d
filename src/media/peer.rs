//! One admitted member on a media thread: its transport (a str0m `Rtc`, once it has offered), the
//! tracks it publishes and the tracks it receives, and the renegotiations that add and stop the latter.

use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::media::{Direction, KeyframeRequestKind, MediaData, MediaKind, Mid, Rid};
use str0m::{Candidate, Event, IceConnectionState, IceCreds, Output, Rtc, RtcConfig};
use tokio::sync::mpsc;

use super::slots::Slots;
use super::{MediaRefusal, Notice, SlotView};
use crate::meeting::{ClientId, RoomName};

/// A published track, unique on its thread for the thread's life (a transport started anew
/// publishes new tracks).
pub(super) type TrackId = u64;

/// A producer layer is asked for a keyframe at most this often, however many subscribers ask.
const KEYFRAME_INTERVAL: Duration = Duration::from_secs(1);
/// A layer not heard from for this long is taken to be off (the browser stops sending layers it
/// cannot afford).
const LAYER_SILENT: Duration = Duration::from_millis(600);
/// What a subscriber is assumed to show a video at before it says.
pub(super) const DEFAULT_VIEW_WIDTH: u32 = 640;

/// What a transport's step produced that concerns others in the room.
// Happenings pass through one reused Vec; boxing the frame would allocate once per media frame.
#[allow(clippy::large_enum_variant)]
pub(super) enum Happening {
    /// The publisher's transport has a new track to offer to the others.
    TrackAdded(TrackId),
    Media(TrackId, MediaData),
    /// A subscriber lost the picture: the publisher's layer should send a keyframe.
    KeyframeWanted(TrackId),
    AudioLevel(i8),
}

pub(super) struct Published {
    pub id: TrackId,
    pub mid: Mid,
    pub kind: MediaKind,
    /// Per simulcast layer (or `None` for a single one): last heard, the width its last keyframe
    /// declared, the last keyframe request.
    layers: Vec<Layer>,
}

struct Layer {
    rid: Option<Rid>,
    heard: Instant,
    width: u32,
    asked: Option<Instant>,
    wanted: bool,
}

/// A negotiated transport.
pub(super) struct Link {
    pub rtc: Rtc,
    pub ufrag: String,
    notices: mpsc::Sender<Notice>,
    pending: Option<SdpPendingOffer>,
    pub published: Vec<Published>,
    /// What it receives, and whether the client knows what each slot carries now.
    pub slots: Slots,
    pub slots_told: bool,
    pub timeout: Instant,
}

pub(super) struct Peer {
    pub room: RoomName,
    pub client: ClientId,
    pub conn: u64,
    pub publishes: bool,
    /// How wide it shows each publisher's video, as it last said (kept across its transports).
    pub view_widths: HashMap<ClientId, u32>,
    pub link: Option<Link>,
}

/// A random ICE credential: the ufrag is what datagrams are routed by.
fn random_token(len: usize) -> String {
    use rand::Rng;
    use rand::distr::Alphanumeric;
    rand::rng()
        .sample_iter(Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

impl Link {
    /// A new transport from the client's offer: the answer, and the link.
    pub fn accept(
        config: RtcConfig,
        advertised: SocketAddr,
        sdp: &str,
        notices: mpsc::Sender<Notice>,
        now: Instant,
    ) -> Result<(Self, String), MediaRefusal> {
        let offer = SdpOffer::from_sdp_string(sdp)
            .map_err(|err| MediaRefusal::BadDescription(err.to_string()))?;
        let ufrag = random_token(16);
        let mut rtc = config
            .set_local_ice_credentials(IceCreds {
                ufrag: ufrag.clone(),
                pass: random_token(32),
            })
            .build(now);
        let candidate = Candidate::host(advertised, "udp")
            .map_err(|err| MediaRefusal::BadDescription(err.to_string()))?;
        rtc.add_local_candidate(candidate);
        let answer = rtc
            .sdp_api()
            .accept_offer(offer)
            .map_err(|err| MediaRefusal::BadDescription(err.to_string()))?;
        let link = Link {
            rtc,
            ufrag,
            notices,
            pending: None,
            published: Vec::new(),
            slots: Slots::default(),
            slots_told: true,
            timeout: now,
        };
        Ok((link, answer.to_sdp_string()))
    }

    /// The client's answer to our last offer.
    pub fn accept_answer(&mut self, sdp: &str) -> Result<(), MediaRefusal> {
        let answer = SdpAnswer::from_sdp_string(sdp)
            .map_err(|err| MediaRefusal::BadDescription(err.to_string()))?;
        let pending = self.pending.take().ok_or(MediaRefusal::NoPendingOffer)?;
        self.rtc
            .sdp_api()
            .accept_answer(pending, answer)
            .map_err(|err| MediaRefusal::BadDescription(err.to_string()))?;
        self.slots.answered();
        Ok(())
    }

    /// Offers the client the slots it lacks (unless an offer already waits for its answer), and
    /// tells it what each slot carries when that changed. False when the client cannot be told (its
    /// connection is gone or not reading).
    pub fn negotiate(&mut self) -> bool {
        if self.pending.is_none() {
            let mut change = self.rtc.sdp_api();
            let mut added = false;
            for slot in self.slots.unopened() {
                let mid = change.add_media(
                    slot.kind,
                    Direction::SendOnly,
                    Some("anteroom".into()),
                    None,
                    None,
                );
                Slots::negotiating(slot, mid);
                added = true;
            }
            if added && let Some((offer, pending)) = change.apply() {
                self.pending = Some(pending);
                self.slots_told = false;
                if self
                    .notices
                    .try_send(Notice::Offer(offer.to_sdp_string()))
                    .is_err()
                {
                    return false;
                }
            }
        }
        if !self.slots_told {
            let listing = self
                .slots
                .listing()
                .into_iter()
                .map(|(mid, kind, client)| SlotView {
                    mid: mid.to_string(),
                    video: kind == MediaKind::Video,
                    client,
                })
                .collect();
            match self.notices.try_send(Notice::Slots(listing)) {
                Ok(()) => self.slots_told = true,
                // Told later (the worker asks again while `slots_told` is false): a later listing
                // says everything an earlier one would have.
                Err(mpsc::error::TrySendError::Full(_)) => {}
                Err(mpsc::error::TrySendError::Closed(_)) => return false,
            }
        }
        true
    }

    pub fn notify(&self, notice: Notice) -> bool {
        self.notices.try_send(notice).is_ok()
    }

    /// Drains str0m's outputs: datagrams are sent, events become happenings. Returns when it next
    /// wants time.
    pub fn poll(
        &mut self,
        socket: &UdpSocket,
        publishes: bool,
        next_track: &mut TrackId,
        happenings: &mut Vec<Happening>,
        now: Instant,
    ) {
        while self.rtc.is_alive() {
            let output = match self.rtc.poll_output() {
                Ok(output) => output,
                Err(err) => {
                    tracing::info!(error = %err, "a media transport failed");
                    self.rtc.disconnect();
                    break;
                }
            };
            match output {
                Output::Transmit(transmit) => {
                    // A full socket buffer drops this datagram, as the network might; RTP recovers.
                    let _ = socket.send_to(&transmit.contents, transmit.destination);
                }
                Output::Timeout(at) => {
                    self.timeout = at;
                    return;
                }
                Output::Event(event) => {
                    self.on_event(event, publishes, next_track, happenings, now)
                }
            }
        }
    }

    fn on_event(
        &mut self,
        event: Event,
        publishes: bool,
        next_track: &mut TrackId,
        happenings: &mut Vec<Happening>,
        now: Instant,
    ) {
        match event {
            Event::IceConnectionStateChange(IceConnectionState::Disconnected) => {
                self.rtc.disconnect();
            }
            Event::MediaAdded(added) if publishes && added.direction.is_receiving() => {
                *next_track += 1;
                self.published.push(Published {
                    id: *next_track,
                    mid: added.mid,
                    kind: added.kind,
                    layers: Vec::new(),
                });
                happenings.push(Happening::TrackAdded(*next_track));
            }
            Event::MediaData(data) => {
                let Some(track) = self.published.iter_mut().find(|t| t.mid == data.mid) else {
                    return;
                };
                let layer = track.layer(data.rid, now);
                if data.is_keyframe()
                    && let Some(width) = vp8_keyframe_width(&data.data)
                {
                    layer.width = width;
                }
                if !data.contiguous {
                    layer.wanted = true;
                }
                if let Some(level) = data.ext_vals.audio_level {
                    happenings.push(Happening::AudioLevel(level));
                }
                happenings.push(Happening::Media(track.id, data));
            }
            Event::KeyframeRequest(request) => {
                if let Some(source) = self
                    .slots
                    .by_mid(request.mid)
                    .and_then(|s| s.source.as_ref())
                {
                    happenings.push(Happening::KeyframeWanted(source.track));
                }
            }
            _ => {}
        }
    }

    /// Asks the publisher for the keyframes its layers owe, each layer at most once a second.
    pub fn ask_keyframes(&mut self, now: Instant) {
        for track in &mut self.published {
            for layer in &mut track.layers {
                let due = layer
                    .asked
                    .is_none_or(|at| now.duration_since(at) >= KEYFRAME_INTERVAL);
                if !layer.wanted || !due {
                    continue;
                }
                if let Some(mut writer) = self.rtc.writer(track.mid) {
                    let _ = writer.request_keyframe(layer.rid, KeyframeRequestKind::Pli);
                }
                layer.asked = Some(now);
                layer.wanted = false;
            }
        }
    }

    /// A subscriber needs a keyframe of this track (of `rid`, or of every layer when it is `None`).
    pub fn want_keyframe(&mut self, track: TrackId, rid: Option<Rid>) {
        let Some(track) = self.published.iter_mut().find(|t| t.id == track) else {
            return;
        };
        for layer in &mut track.layers {
            if rid.is_none() || layer.rid == rid {
                layer.wanted = true;
            }
        }
    }

    /// Writes one frame of a track this transport subscribes to. Returns the layer the subscriber
    /// now needs a keyframe of, when it should switch.
    pub fn forward(
        &mut self,
        source: &Published,
        data: &MediaData,
        forwarded: &mut u64,
    ) -> Result<Option<Option<Rid>>, ()> {
        let Some(slot) = self.slots.carrying(source.id) else {
            return Ok(None);
        };
        let Some(mid) = slot.mid() else {
            return Ok(None);
        };
        let (pass, keyframe_wanted) = slot.pass(source, data.rid, data.is_keyframe());
        if !pass {
            return Ok(keyframe_wanted);
        }
        let Some(writer) = self.rtc.writer(mid) else {
            return Ok(keyframe_wanted);
        };
        let Some(pt) = writer.match_params(data.params) else {
            return Ok(keyframe_wanted);
        };
        writer
            .write(pt, data.network_time, data.time, data.data.clone())
            .map_err(|err| tracing::debug!(error = %err, "writing media failed"))?;
        *forwarded += 1;
        Ok(keyframe_wanted)
    }
}

impl Published {
    fn layer(&mut self, rid: Option<Rid>, now: Instant) -> &mut Layer {
        let index = match self.layers.iter().position(|l| l.rid == rid) {
            Some(index) => index,
            None => {
                self.layers.push(Layer {
                    rid,
                    heard: now,
                    width: 0,
                    asked: None,
                    wanted: true,
                });
                self.layers.len() - 1
            }
        };
        let layer = &mut self.layers[index];
        layer.heard = now;
        layer.wanted |= layer.width == 0;
        layer
    }

    /// The layer to forward to a subscriber showing the video `width` pixels wide: the smallest one
    /// heard from lately that is at least about that wide (a fifth of upscaling is not seen), else
    /// the widest; none when it is not shown.
    pub(super) fn layer_for(&self, width: u32) -> Option<Rid> {
        if width == 0 {
            return None;
        }
        let newest = self.layers.iter().map(|l| l.heard).max()?;
        let mut live: Vec<&Layer> = self
            .layers
            .iter()
            .filter(|l| l.rid.is_some() && newest.duration_since(l.heard) < LAYER_SILENT)
            .collect();
        live.sort_by_key(|l| l.width);
        live.iter()
            .find(|l| l.width > 0 && l.width * 5 >= width * 4)
            .or(live.last())
            .and_then(|l| l.rid)
    }
}

/// The width a VP8 keyframe declares (RFC 6386 §9.1: a 3-byte tag, the start code, then 14 bits of
/// width).
fn vp8_keyframe_width(frame: &[u8]) -> Option<u32> {
    if frame.len() < 10 || frame[0] & 1 != 0 || frame[3..6] != [0x9d, 0x01, 0x2a] {
        return None;
    }
    Some(u32::from(u16::from_le_bytes([frame[6], frame[7]]) & 0x3fff))
}

#[cfg(test)]
#[path = "peer_tests.rs"]
pub(super) mod tests;

//! One admitted member on a media thread: its transport (a str0m `Rtc`, once it has offered), the
//! tracks it publishes, the slots it receives on (`slots.rs`), and the offers that add slots.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use str0m::bwe::{Bitrate, BweKind};
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::format::PayloadParams;
use str0m::media::{Direction, KeyframeRequestKind, MediaKind, Rid};
use str0m::rtp::{ExtensionValues, RtpPacket, RtpWrite, Vp8Descriptor};
use str0m::{Candidate, Event, IceConnectionState, IceCreds, Output, Rtc, RtcConfig};
use tokio::sync::mpsc;

use super::allocate::HeldEstimate;
use super::cap::{Allowance, Caps};
use super::description::without_sending_sequence_numbers;
use super::hearing::Hearing;
use super::outbox::Outbox;
use super::published::{Heard, Published, TrackId, long_picture_id};
use super::rewrite::PictureId;
use super::samples::Sampler;
use super::slots::Slots;
use super::{MediaRefusal, Notice, SlotView};
use crate::meeting::network::{NetworkSample, SampleGrid};
use crate::meeting::{ClientId, RoomName};

/// RTP timestamp steps put between two sources on one outgoing track: a frame at 30 fps (90 kHz),
/// a 20 ms packet of Opus (48 kHz).
const VIDEO_FRAME_GAP: u32 = 3000;
const AUDIO_FRAME_GAP: u32 = 960;
/// What a video slot keeps of what it sent, for a subscriber's NACK: at most this many packets
/// (half a second or more of a top layer)...
pub(super) const RESEND_PACKETS: usize = 64;
/// ...and none older than this. A NACK comes a round trip after the loss, and the browser asks
/// again each round trip while its jitter buffer still waits; a loss older than a second is better
/// mended by a keyframe. (str0m keeps 3 s: for a small layer, three times the packets, each slot a
/// copy of its own.)
const RESEND_WINDOW: Duration = Duration::from_secs(1);
/// str0m's default: queued resends are dropped when they would be over 15 % of what is sent.
const RESEND_RATIO_CAP: Option<f32> = Some(0.15);
/// What a subscriber is assumed to show a video at before it says.
pub(super) const DEFAULT_VIEW_WIDTH: u32 = 640;

/// What a transport's step produced that concerns others in the room.
// Happenings pass through one reused Vec; boxing the frame would allocate once per media frame.
#[allow(clippy::large_enum_variant)]
pub(super) enum Happening {
    /// The publisher's transport has a new track to offer to the others.
    TrackAdded(TrackId),
    /// A screen track started sending (again): it takes a slot.
    ScreenStarted,
    Packet(TrackId, Box<Incoming>),
    /// A subscriber lost the picture: the publisher's layer should send a keyframe.
    KeyframeWanted(TrackId),
    AudioLevel(i8),
    /// A packet of a layer over its cap was not forwarded; `told`, the first in a while: which
    /// track (a voice, a camera or a screen) and layer, to be logged.
    OverCap {
        told: Option<(&'static str, Option<Rid>)>,
    },
    /// The subscriber's bandwidth estimate changed: its videos' layers are allotted again.
    Estimate,
    /// A published packet that waited too long to be read was not forwarded.
    Stale,
    /// A network sample of the transport, of the interval that ended `at`.
    Sampled(Instant, NetworkSample),
}

/// One RTP packet from a publisher, with what forwarding needs to know of it.
pub(super) struct Incoming {
    pub packet: RtpPacket,
    pub rid: Option<Rid>,
    /// It starts a VP8 keyframe (the only place a subscriber may start or switch layers).
    pub keyframe: bool,
    pub vp8: Option<Vp8Descriptor>,
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
    /// The time it waits for in the thread's timers, if any (`Worker::expire`).
    pub scheduled: Option<Instant>,
    /// What the bandwidth estimator says this subscriber can take (bits a second, a rise held
    /// back a while), and what the estimator was last asked to pad up to and to find.
    pub estimate: HeldEstimate,
    pub desired: (u64, u64),
    /// Packets were written since time last moved forward: str0m sends a written packet only once
    /// it has been given the time after it.
    written: bool,
    /// The datagram just given to it waited too long to be read (`routing.rs`): the media it
    /// carries is dropped at the next poll, which takes the flag.
    pub stale: bool,
    /// The browser closed it (DTLS close_notify: its page went, or it makes a new connection),
    /// rather than it failing.
    pub closed_by_browser: bool,
    /// Our bandwidth estimation is on: what we send carries transport-wide sequence numbers.
    estimates: bool,
    /// What each of its published layers may send.
    caps: Caps,
    /// What its datagrams may still be now, all told (`Caps::transport`).
    intake: Allowance,
    /// Its statistics, turned into network samples for insights.
    sampler: Sampler,
}

pub(super) struct Peer {
    pub room: RoomName,
    pub client: ClientId,
    pub conn: u64,
    pub publishes: bool,
    /// How wide it shows each publisher's video, as it last said (kept across its transports).
    pub view_widths: HashMap<ClientId, u32>,
    /// Boxed: a transport is about 10 KiB, and peers move in and out of the thread's map.
    pub link: Option<Box<Link>>,
    /// Its network samples, across its transports.
    pub network: SampleGrid,
    /// When it was last heard from, across its transports (`hearing.rs`).
    pub hearing: Hearing,
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
        caps: Caps,
        now: Instant,
    ) -> Result<(Self, String), MediaRefusal> {
        let offer = SdpOffer::from_sdp_string(sdp)
            .map_err(|err| MediaRefusal::BadDescription(err.to_string()))?;
        let ufrag = random_token(16);
        let estimates = config.bwe_initial_bitrate().is_some();
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
            scheduled: None,
            estimate: HeldEstimate::default(),
            desired: (0, 0),
            written: false,
            stale: false,
            closed_by_browser: false,
            estimates,
            caps,
            intake: Allowance::full(caps.transport, now),
            sampler: Sampler::new(now),
        };
        Ok((link, answer.to_sdp_string()))
    }

    /// Whether a datagram of `bytes` that came `at` is within the transport's cap (it is read);
    /// one over it is to be dropped unread.
    pub fn admit_datagram(&mut self, bytes: usize, at: Instant) -> bool {
        self.intake.take(self.caps.transport, bytes, at)
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
                let mut sdp = offer.to_sdp_string();
                if !self.estimates {
                    sdp = without_sending_sequence_numbers(&sdp);
                }
                if self.notices.try_send(Notice::Offer(sdp)).is_err() {
                    return false;
                }
            }
        }
        if !self.slots_told {
            let listing = self
                .slots
                .listing()
                .into_iter()
                .map(|(mid, kind, screen, client)| SlotView {
                    mid: mid.to_string(),
                    video: kind == MediaKind::Video,
                    screen,
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

    /// Tells the bandwidth estimator what this subscriber's videos would take at the sizes shown
    /// (it probes for more when that is above its estimate), and the rate of their next layer up
    /// (it pads up to that, within its estimate). Without the padding, a subscriber held to small
    /// layers sends too little for the estimate to grow: str0m, as libwebrtc, raises it to at most
    /// 1.5 times what is acknowledged, so only a probe could bring the top layer back (in CI, once,
    /// it had not come back 45 s after the subscriber's link widened).
    pub fn desire(&mut self, next_layer: u64, wanted: u64) {
        if (next_layer, wanted) != self.desired {
            self.desired = (next_layer, wanted);
            self.rtc
                .bwe()
                .set_bitrate(Bitrate::bps(next_layer), Bitrate::bps(wanted));
        }
    }

    /// Starts the bandwidth estimator afresh from its latest estimate when that has not moved for
    /// a while although this subscriber wants more (`HeldEstimate::stalled`): a new estimator has
    /// no hold, and grows the estimate from there as the link allows.
    pub fn unstall_estimate(&mut self, wants_more: bool, now: Instant) {
        let Some(estimate) = self.estimate.latest() else {
            return;
        };
        if !wants_more || !self.estimate.stalled(now) {
            return;
        }
        tracing::info!(
            estimate,
            unchanged_for = ?super::allocate::STALLED_AFTER,
            "bandwidth estimate unchanged below what the videos want; restarting the estimator"
        );
        self.rtc.bwe().reset(Bitrate::bps(estimate));
        self.estimate.restarted(estimate, now);
    }

    pub fn notify(&self, notice: Notice) -> bool {
        self.notices.try_send(notice).is_ok()
    }

    /// Drains str0m's outputs: datagrams are sent, events become happenings. Returns when it next
    /// wants time.
    pub fn poll(
        &mut self,
        outbox: &mut Outbox,
        publishes: bool,
        next_track: &mut TrackId,
        happenings: &mut Vec<Happening>,
        now: Instant,
    ) {
        let stale = std::mem::take(&mut self.stale);
        // In this pass, not the next: what was forwarded goes out now.
        if std::mem::take(&mut self.written) {
            let _ = self.rtc.handle_input(str0m::Input::Timeout(now));
        }
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
                    outbox.push(transmit.destination, transmit.contents.into());
                }
                Output::Timeout(at) => {
                    self.timeout = at;
                    // A transport's report and its streams' come out together: all are in.
                    if let Some((at, sample)) = self.sampler.finish() {
                        happenings.push(Happening::Sampled(at, sample));
                    }
                    return;
                }
                Output::Event(Event::RtpPacket(_)) if stale => happenings.push(Happening::Stale),
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
            Event::Closed => self.closed_by_browser = true,
            Event::MediaAdded(added) if publishes && added.direction.is_receiving() => {
                *next_track += 1;
                let screen = added.kind == MediaKind::Video
                    && self.published.iter().any(|t| t.kind == MediaKind::Video);
                self.published.push(Published::new(
                    *next_track,
                    added.mid,
                    added.kind,
                    screen,
                    self.caps.of(added.kind),
                ));
                happenings.push(Happening::TrackAdded(*next_track));
            }
            Event::RtpPacket(packet) => {
                let Some((mid, rid)) = self
                    .rtc
                    .direct_api()
                    .stream_rx(&packet.header.ssrc)
                    .map(|stream| (stream.mid(), stream.rid()))
                else {
                    return;
                };
                let Some(track) = self.published.iter_mut().find(|t| t.mid == mid) else {
                    return;
                };
                let vp8 = match track.kind {
                    MediaKind::Video => Vp8Descriptor::parse(&packet.payload).ok(),
                    _ => None,
                };
                let keyframe = vp8.is_some_and(|d| d.starts_keyframe(&packet.payload));
                if track.screen && !track.sending(now) {
                    happenings.push(Happening::ScreenStarted);
                }
                if let Heard::Over { tell } = track.heard(rid, &packet.payload, keyframe, now) {
                    let track = match (track.kind, track.screen) {
                        (MediaKind::Audio, _) => "voice",
                        (MediaKind::Video, false) => "camera",
                        (MediaKind::Video, true) => "screen",
                    };
                    let told = tell.then_some((track, rid));
                    happenings.push(Happening::OverCap { told });
                    return;
                }
                if let Some(level) = packet.header.ext_vals.audio_level {
                    happenings.push(Happening::AudioLevel(level));
                }
                let incoming = Incoming {
                    packet,
                    rid,
                    keyframe,
                    vp8,
                };
                happenings.push(Happening::Packet(track.id, Box::new(incoming)));
            }
            Event::EgressBitrateEstimate(BweKind::Twcc { estimate, .. }) => {
                self.estimate.heard(estimate.as_u64(), now);
                tracing::debug!(estimate = estimate.as_u64(), "bandwidth estimate");
                happenings.push(Happening::Estimate);
            }
            Event::PeerStats(stats) => {
                if let Some((at, sample)) = self.sampler.peer(&stats) {
                    happenings.push(Happening::Sampled(at, sample));
                }
            }
            Event::MediaIngressStats(stats) => self.sampler.ingress(&stats),
            Event::MediaEgressStats(stats) => self.sampler.egress(&stats),
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
        let Link { published, rtc, .. } = self;
        for track in published {
            track.ask_keyframes(now, |mid, rid| {
                if let Some(stream) = rtc.direct_api().stream_rx_by_mid(mid, rid) {
                    stream.request_keyframe(KeyframeRequestKind::Pli);
                }
            });
        }
    }

    /// A subscriber needs a keyframe of this track (of `rid`, or of every layer when it is `None`).
    pub fn want_keyframe(&mut self, track: TrackId, rid: Option<Rid>) {
        if let Some(track) = self.published.iter_mut().find(|t| t.id == track) {
            track.want_keyframe(rid);
        }
    }

    /// Writes one frame of a track this transport subscribes to. Returns the layer the subscriber
    /// now needs a keyframe of, when it should switch.
    pub fn forward(
        &mut self,
        source: &Published,
        incoming: &Incoming,
        params: Option<PayloadParams>,
        forwarded: &mut u64,
    ) -> Option<Option<Rid>> {
        let Link {
            slots,
            rtc,
            written,
            ..
        } = self;
        let slot = slots.carrying(source.id)?;
        let mid = slot.mid()?;
        let (pass, keyframe_wanted) = slot.pass(source, incoming.rid, incoming.keyframe);
        if !pass {
            return keyframe_wanted;
        }
        let header = &incoming.packet.header;
        let pt = match slot.payload_type {
            Some((from, to)) if from == header.payload_type => to,
            _ => {
                let to = rtc.codec_config().match_params(params?)?.pt();
                slot.payload_type = Some((header.payload_type, to));
                to
            }
        };
        let picture_id = incoming.vp8.and_then(|d| {
            Some(PictureId {
                value: d.picture_id()?,
                long: long_picture_id(&incoming.packet.payload),
            })
        });
        let gap = if source.kind == MediaKind::Video {
            VIDEO_FRAME_GAP
        } else {
            AUDIO_FRAME_GAP
        };
        let out = slot.rewrite.next(
            *incoming.packet.seq_no,
            header.timestamp,
            picture_id,
            incoming.vp8.and_then(|d| d.tl0_pic_idx()),
            gap,
        );
        let mut write = RtpWrite::new(
            pt,
            out.seq.into(),
            out.timestamp,
            incoming.packet.timestamp,
            incoming.packet.payload.clone(),
        )
        .marker(header.marker)
        // A voice's level goes along, so subscribers show who speaks without metering the sound.
        .ext_vals(ExtensionValues {
            audio_level: header.ext_vals.audio_level,
            voice_activity: header.ext_vals.voice_activity,
            ..ExtensionValues::default()
        })
        .nackable(true);
        if let Some(descriptor) = incoming.vp8 {
            let mut patch = descriptor.patch();
            if let Some(id) = out.picture_id {
                patch = patch.picture_id(id);
            }
            if let Some(index) = out.tl0_pic_idx {
                patch = patch.tl0_pic_idx(index);
            }
            if let Ok(patch) = patch.build() {
                write = write.vp8_patch(patch);
            }
        }
        let mut api = rtc.direct_api();
        // Found by mid once (a walk over every stream), then by its SSRC (a map lookup).
        let ssrc = match slot.ssrc {
            Some(ssrc) => ssrc,
            None => {
                let stream = api.stream_tx_by_mid(mid, None)?;
                if slot.kind == MediaKind::Video {
                    stream.set_rtx_cache(RESEND_PACKETS, RESEND_WINDOW, RESEND_RATIO_CAP);
                }
                *slot.ssrc.insert(stream.ssrc())
            }
        };
        let stream = api.stream_tx(&ssrc)?;
        stream.write_rtp(write);
        *written = true;
        *forwarded += 1;
        keyframe_wanted
    }
}

//! A media thread: one UDP socket, the rooms hashed to it, and their members' transports. Datagrams
//! are routed by the ICE ufrag their STUN requests name, then by the source address those requests
//! came from; anything else is dropped without an answer.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, TryRecvError};
use std::time::{Duration, Instant};

use chrono::Utc;
use rustc_hash::{FxHashMap, FxHashSet};
use str0m::media::MediaKind;
use str0m::{Input, RtcConfig};
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;

use super::cap::Caps;
use super::description::sending_tracks;
use super::hearing::Hearing;
use super::outbox::Outbox;
use super::peer::{Happening, Link, Peer};
use super::published::TrackId;
use super::speakers::Speakers;
use super::{Command, MediaConfig, MediaCounters, MediaRefusal, Notice};
use crate::meeting::RoomName;
use crate::meeting::network::{NetworkSeries, SampleGrid};

mod assign;
mod interruptions;
mod recovery;
mod routing;
mod rtc_config;

type PeerKey = u64;

/// What one member may publish: a voice, a camera and a screen. More would let one client take
/// every subscriber's slots (a screen is shown before any camera, and voices go by loudness).
const MAX_SENT_AUDIO: usize = 1;
const MAX_SENT_VIDEO: usize = 2;
/// View sizes one subscriber may have the server remember (more than a room's publishers).
const MAX_VIEW_SIZES: usize = 1024;
/// Datagrams read before the transports' output is collected.
const BATCH: usize = 64;
/// Time spent giving transports their timeouts in one pass, at most (the rest in the next passes,
/// between reads). One timeout walks all of a transport's streams, about 50 µs with a meeting's 25
/// video slots, and every datagram of the pass waits for it: a time, not a count, so that cheap
/// timers are not left waiting either (docs/performance.md, "Shorter passes for a lower p99").
const TIMEOUT_BUDGET: Duration = Duration::from_micros(250);
/// Commands are looked at at least this often, however quiet the socket.
const MAX_WAIT: Duration = Duration::from_millis(10);
/// Layers are allotted again at least this often (publishers' layer bitrates change).
const ALLOT_EVERY: Duration = Duration::from_millis(500);
/// Kept back from an estimate for each audio slot in use, and for headroom (RTCP, resends).
const AUDIO_RESERVE: u64 = 40_000;
const HEADROOM_PERCENT: u64 = 10;

struct Worker {
    socket: UdpSocket,
    advertised: SocketAddr,
    /// Where media may come from (empty: anywhere).
    peer_networks: Vec<ipnet::IpNet>,
    counters: Arc<MediaCounters>,
    /// Where members' network samples go when they leave.
    samples: mpsc::Sender<NetworkSeries>,
    config: RtcConfig,
    /// For a member that only receives (a viewer), without bandwidth estimation: `config` without
    /// transport-wide sequence numbers (see `receiving_only`).
    receiving_config: RtcConfig,
    /// What a publisher's layers may send (`--media-max-video-kbps`).
    caps: Caps,
    peers: FxHashMap<PeerKey, Peer>,
    next_key: PeerKey,
    next_track: TrackId,
    rooms: FxHashMap<RoomName, Vec<PeerKey>>,
    by_ufrag: HashMap<String, PeerKey>,
    by_source: HashMap<SocketAddr, PeerKey>,
    /// Every published track: its publisher and kind.
    tracks: FxHashMap<TrackId, (PeerKey, MediaKind)>,
    speakers: FxHashMap<RoomName, Speakers>,
    /// Transports with output to collect, and with something to offer their client.
    dirty: FxHashSet<PeerKey>,
    to_offer: FxHashSet<PeerKey>,
    /// Transports whose client is yet to be told what its slots carry (its notice queue was full).
    retry_offer: FxHashSet<PeerKey>,
    /// Rooms whose slots are to be pointed again, and subscribers whose layers are to be allotted
    /// again: done once a pass, however many changes asked for it (a room of 100 saying how wide
    /// it shows everyone asks 10,000 times).
    reassign_due: FxHashSet<RoomName>,
    allot_due: FxHashSet<PeerKey>,
    /// When each transport wants time next (the earliest first; entries a later poll moved are
    /// skipped when they come up).
    timers: BinaryHeap<Reverse<(Instant, PeerKey)>>,
    /// Reused for each transport's output.
    happenings: Vec<Happening>,
    /// Datagrams to send at the end of this pass.
    outbox: Outbox,
    /// When rooms with screen tracks were last looked at (a screen that stops sends no word).
    screens_checked: Option<Instant>,
    /// When every subscriber's layers were last allotted.
    allotted_at: Option<Instant>,
    /// (transports, connections) as this thread last added them to the shared gauges.
    counted: (u64, u64),
    /// The member whose transport this pass last handed to str0m: the one closed if it panics
    /// (`recovery.rs`).
    busy: Option<PeerKey>,
    /// When the members were last looked over for silence (`interruptions.rs`).
    hearing_checked: Option<Instant>,
}

pub(super) fn run(
    socket: UdpSocket,
    advertised: SocketAddr,
    config: &MediaConfig,
    inbox: Receiver<Command>,
    counters: Arc<MediaCounters>,
    samples: mpsc::Sender<NetworkSeries>,
) {
    let peer_networks = config.peer_networks.clone();
    let bandwidth_estimation = config.bandwidth_estimation;
    let caps = Caps::new(config.max_video_kbps);
    let Some((config, receiving_config)) = rtc_config::configs(bandwidth_estimation) else {
        tracing::error!("cannot make a DTLS certificate; group rooms will have no media");
        return;
    };
    let mut worker = Worker {
        socket,
        samples,
        advertised,
        peer_networks,
        counters,
        config,
        receiving_config,
        caps,
        peers: FxHashMap::default(),
        next_key: 0,
        next_track: 0,
        rooms: FxHashMap::default(),
        by_ufrag: HashMap::new(),
        by_source: HashMap::new(),
        tracks: FxHashMap::default(),
        speakers: FxHashMap::default(),
        dirty: FxHashSet::default(),
        to_offer: FxHashSet::default(),
        retry_offer: FxHashSet::default(),
        reassign_due: FxHashSet::default(),
        allot_due: FxHashSet::default(),
        timers: BinaryHeap::new(),
        happenings: Vec::new(),
        outbox: Outbox::default(),
        screens_checked: None,
        allotted_at: None,
        counted: (0, 0),
        busy: None,
        hearing_checked: None,
    };
    let mut buf = vec![0u8; 2000];
    // A panic in a pass (str0m's, on what some client sent, or ours) closes the transport it was
    // working on, not every room of this thread.
    loop {
        let go_on = worker.catching_panics(|worker| worker.pass(&inbox, &mut buf));
        if go_on == Ok(false) {
            return;
        }
    }
}

impl Worker {
    /// Commands, timeouts, output, then what the socket has. False once the engine is gone.
    fn pass(&mut self, inbox: &Receiver<Command>, buf: &mut [u8]) -> bool {
        self.busy = None;
        loop {
            match inbox.try_recv() {
                Ok(command) => self.command(command),
                Err(TryRecvError::Empty) => break,
                // The engine is gone: the server is stopping.
                Err(TryRecvError::Disconnected) => return false,
            }
        }
        let now = Instant::now();
        self.expire(now);
        self.check_hearing(now);
        self.drive(now);
        self.receive(buf);
        true
    }

    fn command(&mut self, command: Command) {
        match command {
            Command::Admit {
                room,
                client,
                conn,
                publishes,
            } => {
                if let Some(old) = self.find(&room, |p| p.client == client) {
                    self.remove(old);
                }
                self.next_key += 1;
                let key = self.next_key;
                self.rooms.entry(room.clone()).or_default().push(key);
                let peer = Peer {
                    network: SampleGrid::new(room.clone(), client.clone()),
                    room,
                    client,
                    conn,
                    publishes,
                    view_widths: HashMap::new(),
                    link: None,
                    hearing: Hearing::default(),
                };
                tracing::debug!(room = %peer.room, client = %peer.client, "media path admitted");
                self.peers.insert(key, peer);
            }
            Command::Revoke { room, client } => {
                if let Some(key) = self.find(&room, |p| p.client == client) {
                    tracing::debug!(%room, %client, "media path revoked");
                    self.remove(key);
                }
            }
            Command::CloseRoom { room } => {
                for key in self.rooms.get(&room).cloned().unwrap_or_default() {
                    self.remove(key);
                }
            }
            Command::Offer {
                room,
                conn,
                sdp,
                notices,
                reply,
            } => {
                let _ = reply.send(self.offer(&room, conn, &sdp, notices));
            }
            Command::Answer {
                room,
                conn,
                sdp,
                reply,
            } => {
                let result = match self.find(&room, |p| p.conn == conn) {
                    Some(key) => {
                        let answered = self.link_mut(key).map(|link| link.accept_answer(&sdp));
                        self.dirty.insert(key);
                        self.to_offer.insert(key);
                        answered.unwrap_or(Err(MediaRefusal::NoPendingOffer))
                    }
                    None => Err(MediaRefusal::NotAdmitted),
                };
                let _ = reply.send(result);
            }
            Command::ViewSize {
                room,
                conn,
                publisher,
                width,
            } => {
                if let Some(key) = self.find(&room, |p| p.conn == conn)
                    && let Some(peer) = self.peers.get_mut(&key)
                {
                    // Bounded by the room: a client can name only so many publishers that matter,
                    // and the map goes with its admission.
                    if peer.view_widths.len() < MAX_VIEW_SIZES
                        || peer.view_widths.contains_key(&publisher)
                    {
                        peer.view_widths.insert(publisher, width);
                    }
                    self.reassign_due.insert(room);
                }
            }
            Command::FlushSamples { done } => {
                for peer in self.peers.values_mut() {
                    let fresh = SampleGrid::new(peer.room.clone(), peer.client.clone());
                    for series in std::mem::replace(&mut peer.network, fresh).finish() {
                        // The server stops: waiting for the keeper is what is left to do.
                        let _ = self.samples.blocking_send(series);
                    }
                }
                let _ = done.send(());
            }
            #[cfg(test)]
            Command::PanicIn { room, conn } => self.panic_in(&room, conn),
        }
        self.count();
    }

    fn find(&self, room: &RoomName, pick: impl Fn(&Peer) -> bool) -> Option<PeerKey> {
        self.rooms
            .get(room)?
            .iter()
            .copied()
            .find(|key| self.peers.get(key).is_some_and(&pick))
    }

    fn link_mut(&mut self, key: PeerKey) -> Option<&mut Link> {
        self.busy = Some(key);
        self.peers.get_mut(&key)?.link.as_deref_mut()
    }

    /// Updates the shared gauges by this thread's change since it last counted.
    fn count(&mut self) {
        let now = (
            self.peers.len() as u64,
            self.peers.values().filter(|p| p.link.is_some()).count() as u64,
        );
        let before = std::mem::replace(&mut self.counted, now);
        let shift = |gauge: &std::sync::atomic::AtomicU64, from: u64, to: u64| {
            gauge.fetch_add(to.wrapping_sub(from), Ordering::Relaxed);
        };
        shift(&self.counters.transports, before.0, now.0);
        shift(&self.counters.connections, before.1, now.1);
    }

    /// A new transport for an admitted member, from its offer.
    fn offer(
        &mut self,
        room: &RoomName,
        conn: u64,
        sdp: &str,
        notices: tokio::sync::mpsc::Sender<Notice>,
    ) -> Result<String, MediaRefusal> {
        let key = self
            .find(room, |p| p.conn == conn)
            .ok_or(MediaRefusal::NotAdmitted)?;
        self.busy = Some(key);
        self.drop_link(key);
        let publishes = self.peers.get(&key).is_some_and(|peer| peer.publishes);
        // (A member who only receives has what it would send ignored: nothing is published.)
        let sending = publishes.then(|| sending_tracks(sdp));
        if let Some(sending) = sending
            && (sending.audio > MAX_SENT_AUDIO || sending.video > MAX_SENT_VIDEO)
        {
            return Err(MediaRefusal::BadDescription(format!(
                "an offer may send at most {MAX_SENT_AUDIO} audio and {MAX_SENT_VIDEO} video tracks \
                 (a camera and a screen); this one sends {} and {}",
                sending.audio, sending.video
            )));
        }
        let config = if publishes {
            &self.config
        } else {
            &self.receiving_config
        };
        let (link, answer) = Link::accept(
            config.clone(),
            self.advertised,
            sdp,
            notices,
            self.caps,
            Instant::now(),
        )?;
        self.by_ufrag.insert(link.ufrag.clone(), key);
        if let Some(peer) = self.peers.get_mut(&key) {
            tracing::debug!(%room, client = %peer.client, "media transport negotiated");
            peer.link = Some(Box::new(link));
        }
        self.tell_who_is_quiet(key);
        self.dirty.insert(key);
        self.reassign_due.insert(room.clone());
        Ok(answer)
    }

    /// Closes a member's transport (it stays admitted, and may offer again).
    fn drop_link(&mut self, key: PeerKey) {
        let Some(peer) = self.peers.get_mut(&key) else {
            return;
        };
        let Some(link) = peer.link.take() else {
            return;
        };
        let room = peer.room.clone();
        let client = peer.client.clone();
        self.by_ufrag.remove(&link.ufrag);
        self.by_source.retain(|_, owner| *owner != key);
        for track in &link.published {
            self.tracks.remove(&track.id);
        }
        if let Some(speakers) = self.speakers.get_mut(&room) {
            speakers.forget(&client);
        }
        self.reassign_due.insert(room);
    }

    /// Closes the transport of a member who stays admitted, and tells its client, which may offer
    /// again at once: its own side gives a silent path up only 30 s after it last heard from it.
    fn close_link(&mut self, key: PeerKey) {
        if let Some(link) = self.peers.get(&key).and_then(|peer| peer.link.as_deref()) {
            // A client not reading its notices finds out when its own side gives the path up.
            let _ = link.notify(Notice::Closed);
        }
        self.drop_link(key);
        self.count();
    }

    fn remove(&mut self, key: PeerKey) {
        self.drop_link(key);
        let Some(peer) = self.peers.remove(&key) else {
            return;
        };
        self.dirty.remove(&key);
        self.to_offer.remove(&key);
        self.retry_offer.remove(&key);
        if let Some(members) = self.rooms.get_mut(&peer.room) {
            members.retain(|k| *k != key);
            if members.is_empty() {
                self.rooms.remove(&peer.room);
                self.speakers.remove(&peer.room);
            }
        }
        for series in peer.network.finish() {
            self.report(series);
        }
    }

    /// A member's network samples, to be kept for insights (by `services::insights`).
    fn report(&self, series: NetworkSeries) {
        if let Err(TrySendError::Full(series)) = self.samples.try_send(series) {
            tracing::warn!(room = %series.room, client = %series.client,
                "network samples not kept: the store is behind");
        }
    }

    /// Gives time to the transports whose time has come, the longest waiting first, for at most
    /// `TIMEOUT_BUDGET` (at least one): a transport's time is costly (its pacer, estimator and
    /// every stream), and the datagrams that arrive meanwhile wait for the pass to end.
    fn expire(&mut self, now: Instant) {
        let started = Instant::now();
        while started.elapsed() < TIMEOUT_BUDGET
            && let Some(Reverse((at, key))) = self.timers.peek().copied()
            && at <= now
        {
            self.timers.pop();
            let Some(link) = self.link_mut(key) else {
                continue;
            };
            if link.scheduled != Some(at) {
                // A later poll scheduled it again.
                continue;
            }
            link.scheduled = None;
            if link.timeout > now {
                // It asked for later since: wait for that.
                link.scheduled = Some(link.timeout);
                let later = link.timeout;
                self.timers.push(Reverse((later, key)));
                continue;
            }
            let _ = link.rtc.handle_input(Input::Timeout(now));
            self.dirty.insert(key);
        }
    }

    /// The moment the next transport wants time, if any does.
    fn next_timer(&self) -> Option<Instant> {
        self.timers.peek().map(|Reverse((at, _))| *at)
    }

    /// Collects what the touched transports have to say and acts on it, until nothing is left.
    fn drive(&mut self, now: Instant) {
        // Those whose notices did not fit in their queue last time are tried again, once a pass.
        self.to_offer.extend(self.retry_offer.drain());
        while !self.dirty.is_empty()
            || !self.to_offer.is_empty()
            || !self.reassign_due.is_empty()
            || !self.allot_due.is_empty()
        {
            for room in std::mem::take(&mut self.reassign_due) {
                self.reassign(&room);
            }
            for key in std::mem::take(&mut self.allot_due) {
                self.allot(key, now);
            }
            let keys: Vec<PeerKey> = self.dirty.drain().collect();
            for key in keys {
                self.service(key, now);
            }
            self.negotiate();
            self.speak(now);
        }
        self.outbox.flush(&self.socket);
    }

    /// Collects one transport's output and acts on what it says.
    fn service(&mut self, key: PeerKey, now: Instant) {
        self.busy = Some(key);
        let Some(peer) = self.peers.get_mut(&key) else {
            return;
        };
        let publishes = peer.publishes;
        let Some(link) = &mut peer.link else {
            return;
        };
        let mut happenings = std::mem::take(&mut self.happenings);
        link.poll(
            &mut self.outbox,
            publishes,
            &mut self.next_track,
            &mut happenings,
            now,
        );
        if self.outbox.has_batch() {
            // Out now, not after every other transport of this pass has been polled.
            self.outbox.flush(&self.socket);
        }
        let (alive, closed_by_browser) = (link.rtc.is_alive(), link.closed_by_browser);
        // Scheduled when it wants time sooner than it waits for already (an entry that comes up
        // too early is put back for the later time: `expire`).
        if link.scheduled.is_none_or(|at| link.timeout < at) {
            link.scheduled = Some(link.timeout);
            self.timers.push(Reverse((link.timeout, key)));
        }
        for happening in happenings.drain(..) {
            self.happened(key, happening, now);
        }
        self.happenings = happenings;
        if !alive {
            if let Some(peer) = self.peers.get(&key) {
                if closed_by_browser {
                    // As a page goes: not worth an operator's attention.
                    tracing::debug!(room = %peer.room, client = %peer.client,
                        "the browser closed its media transport; its client is told to offer again, if it is still here");
                } else {
                    tracing::info!(room = %peer.room, client = %peer.client,
                        "a media transport closed (its connection failed, or no ICE check came for 15 s); its client is told to offer again");
                }
            }
            self.close_link(key);
        }
    }

    fn happened(&mut self, from: PeerKey, happening: Happening, now: Instant) {
        match happening {
            Happening::TrackAdded(track) => self.track_added(from, track),
            Happening::ScreenStarted => {
                if let Some(room) = self.peers.get(&from).map(|p| p.room.clone()) {
                    self.reassign_due.insert(room);
                }
            }
            Happening::Packet(track, incoming) => self.fan_out(from, track, &incoming, now),
            Happening::KeyframeWanted(track) => {
                if let Some((publisher, _)) = self.tracks.get(&track).copied()
                    && let Some(link) = self.link_mut(publisher)
                {
                    link.want_keyframe(track, None);
                    link.ask_keyframes(now);
                    self.dirty.insert(publisher);
                }
            }
            Happening::Estimate => {
                self.allot_due.insert(from);
            }
            Happening::Sampled(at, sample) => {
                if let Some(peer) = self.peers.get_mut(&from) {
                    peer.network.push(at, Utc::now(), sample);
                    // A minute's segment is kept as soon as it is complete.
                    for series in peer.network.take_done() {
                        self.report(series);
                    }
                }
            }
            Happening::OverCap { told } => {
                self.counters.over_cap.fetch_add(1, Ordering::Relaxed);
                if let Some((track, layer)) = told
                    && let Some(peer) = self.peers.get(&from)
                {
                    tracing::warn!(room = %peer.room, client = %peer.client, track, layer = layer.as_deref(),
                        "a published track sends over its cap (--media-max-video-kbps for video); what is over is not forwarded");
                }
            }
            Happening::Stale => {
                self.counters.stale.fetch_add(1, Ordering::Relaxed);
            }
            Happening::AudioLevel(level) => {
                if let Some(peer) = self.peers.get(&from) {
                    self.speakers.entry(peer.room.clone()).or_default().heard(
                        &peer.client,
                        level,
                        now,
                    );
                }
            }
        }
    }

    fn track_added(&mut self, from: PeerKey, track: TrackId) {
        let Some(publisher) = self.peers.get(&from) else {
            return;
        };
        let Some(kind) = publisher
            .link
            .as_ref()
            .and_then(|l| l.published.iter().find(|t| t.id == track).map(|t| t.kind))
        else {
            return;
        };
        self.tracks.insert(track, (from, kind));
        let room = publisher.room.clone();
        self.reassign_due.insert(room);
    }

    fn negotiate(&mut self) {
        for key in std::mem::take(&mut self.to_offer) {
            if let Some(link) = self.link_mut(key) {
                if !link.negotiate() {
                    // Its connection is gone or not reading: the transport goes with it.
                    link.rtc.disconnect();
                }
                let untold = !link.slots_told;
                self.dirty.insert(key);
                if untold {
                    self.retry_offer.insert(key);
                }
            }
        }
    }
}

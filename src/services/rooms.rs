//! Live rooms: finds the room of a name or starts its actor, one actor per live room; it removes
//! itself when nothing is left in it. A connection's first command goes through here, under the same
//! lock the actor takes to remove itself, so no join can slip into an actor that is going away.
//! Each actor reaches back only through its `RoomLink` (the room's port).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Duration, Utc};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::keeper::{DynKeeper, Place};
use super::orphans::OrphanWatch;
use super::recorder::{self, Recording};
use super::themes::Themes;
use crate::media::MediaEngine;
use crate::meeting::facts::{FactId, RoomFact};
use crate::meeting::network::NetworkSeries;
use crate::meeting::{Meeting, RoomMode, RoomName};
use crate::room::actor::{ConnHandle, RoomActor, RoomCommand};
use crate::room::event::{Answer, ClientView, KnockView, Refusal, RefusalCode};
use crate::room::input::Input;
use crate::room::model::{
    ClientId, ConnId, Credential, Decider, EndReason, KnockAction, KnockTarget, Request,
    Resolution, Theme,
};
use crate::room::port::Encode;
use crate::room::state::{Room, RoomConfig};
use crate::store::{DynStore, StoreError};
use crate::tokens::{KeyRole, TokenError, TokenSigner};
use faults::RecentFaults;
use link::RoomLink;

mod faults;
mod link;

/// Commands a room can have waiting before senders wait for it.
const MAILBOX: usize = 1024;

#[derive(Debug, Clone)]
pub struct RoomSettings {
    pub reject_cooldown: Duration,
    pub resume_grace: Duration,
    pub knock_away_grace: Duration,
    /// How long the key an accepted knocker enters with stays valid.
    pub grant_validity: Duration,
    pub session_end_grace: Duration,
    pub max_knocks: usize,
    pub max_knocks_per_address: usize,
    /// None: knocks wait as long as it takes.
    pub knock_timeout: Option<Duration>,
}

/// Why a room name gives no meeting that may be entered now.
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    #[error("no meeting has this room name")]
    NotFound,
    #[error("the meeting has ended")]
    Expired,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a room cannot be placed now: the cluster cannot say where it runs (Redis away, say).
#[derive(Debug, thiserror::Error)]
#[error("the room cannot be opened now: {0}")]
pub struct Unplaced(String);

/// The room's actor takes no more commands for now (its mailbox is full, or it has just ended).
#[derive(Debug, thiserror::Error)]
#[error("the room is too busy to take more connections right now")]
pub struct RoomBusy;

/// Why a `roomKey` gives no credential for a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("the roomKey has expired")]
    Expired,
    #[error("the roomKey is not valid")]
    Invalid,
    #[error("the roomKey belongs to another room")]
    OtherRoom,
}

/// Why a room was not carried on from its kept state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotCarriedOn {
    /// The state cannot be read or restored (another version's, or damaged).
    Unreadable,
    /// The room runs here already.
    LiveAlready,
}

/// Where a room is to run (`Rooms::place`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    Here,
    /// On another node of the cluster, reached at this base URL.
    Elsewhere(String),
}

/// The room has ended (or is ending) and takes no more commands.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the room has ended")]
pub struct RoomGone;

/// A way to a live room, as a connection holds it.
#[derive(Clone, Debug)]
pub struct RoomHandle {
    pub meeting: Arc<Meeting>,
    commands: mpsc::Sender<RoomCommand>,
}

impl RoomHandle {
    pub async fn send(&self, input: Input) -> Result<(), RoomGone> {
        self.commands
            .send(RoomCommand::Input(input))
            .await
            .map_err(|_| RoomGone)
    }
}

struct Entry {
    generation: u64,
    meeting: Arc<Meeting>,
    commands: mpsc::Sender<RoomCommand>,
}

struct Inner {
    rooms: Mutex<HashMap<RoomName, Entry>>,
    next_generation: AtomicU64,
    store: DynStore,
    themes: Themes,
    tokens: TokenSigner,
    settings: RoomSettings,
    facts: mpsc::UnboundedSender<Recording>,
    encoder: Arc<dyn Encode>,
    shutdown: CancellationToken,
    media: MediaEngine,
    keeper: DynKeeper,
    network_samples: mpsc::Sender<NetworkSeries>,
    /// Every room's actor, so that a stop can wait for them to hand their rooms over.
    actors: TaskTracker,
    /// Held while this node takes a room (its lease, then its kept state, then its actor).
    taking: tokio::sync::Mutex<()>,
    /// Rooms whose state machine failed lately.
    faults: RecentFaults,
}

impl Inner {
    fn rooms(&self) -> MutexGuard<'_, HashMap<RoomName, Entry>> {
        // Holders only insert and remove map entries; a panic between two such steps leaves a map
        // that is still consistent.
        self.rooms.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn commands_of(&self, name: &RoomName) -> Option<mpsc::Sender<RoomCommand>> {
        self.rooms().get(name).map(|e| e.commands.clone())
    }
}

/// Everything a room needs to be started, besides what the service holds.
pub struct RoomsDeps {
    pub store: DynStore,
    pub themes: Themes,
    pub tokens: TokenSigner,
    pub settings: RoomSettings,
    /// Where rooms hand their facts (the recorder).
    pub facts: mpsc::UnboundedSender<Recording>,
    /// The transport's encoding of room events.
    pub encoder: Arc<dyn Encode>,
    /// Cancelled when the server stops: every room ends.
    pub shutdown: CancellationToken,
    /// The media server that carries group rooms' media.
    pub media: MediaEngine,
    /// Where live rooms' state is kept to be carried on.
    pub keeper: DynKeeper,
    /// Where members' network samples go when they leave (normal rooms: their browsers measure).
    pub network_samples: mpsc::Sender<NetworkSeries>,
}

#[derive(Clone)]
pub struct Rooms {
    inner: Arc<Inner>,
}

impl Rooms {
    pub fn new(deps: RoomsDeps) -> Self {
        Rooms {
            inner: Arc::new(Inner {
                rooms: Mutex::new(HashMap::new()),
                next_generation: AtomicU64::new(1),
                store: deps.store,
                themes: deps.themes,
                tokens: deps.tokens,
                settings: deps.settings,
                facts: deps.facts,
                encoder: deps.encoder,
                shutdown: deps.shutdown,
                media: deps.media,
                keeper: deps.keeper,
                network_samples: deps.network_samples,
                actors: TaskTracker::new(),
                taking: tokio::sync::Mutex::new(()),
                faults: RecentFaults::default(),
            }),
        }
    }

    /// Waits until every room's actor has stopped (after the server's shutdown was signalled:
    /// each hands its room over or ends it).
    pub async fn stopped(&self) {
        self.inner.actors.close();
        self.inner.actors.wait().await;
    }

    /// Whether the room runs on this node.
    pub fn is_live(&self, name: &RoomName) -> bool {
        self.inner
            .rooms()
            .get(name)
            .is_some_and(|e| !e.commands.is_closed())
    }

    /// Where a meeting's room is to run: here (it does, or this node takes it now, carrying on
    /// from its kept state if another node ran it before), or on the node that owns it.
    pub async fn place(&self, meeting: &Arc<Meeting>) -> Result<Placement, Unplaced> {
        let name = &meeting.room_name;
        if self.is_live(name) {
            return Ok(Placement::Here);
        }
        let _taking = self.inner.taking.lock().await;
        if self.is_live(name) {
            return Ok(Placement::Here);
        }
        match self.inner.keeper.take(name).await {
            Ok(Place::Here { kept: Some(state) }) => {
                if let Err(NotCarriedOn::Unreadable) = self.carry_on(meeting.clone(), &state) {
                    // The room starts afresh (said in the log): what it had open ends now.
                    self.close_what_it_left_open(name).await;
                }
                Ok(Placement::Here)
            }
            Ok(Place::Here { kept: None }) => Ok(Placement::Here),
            Ok(Place::Elsewhere { url }) => Ok(Placement::Elsewhere(url)),
            Err(err) => Err(Unplaced(err.to_string())),
        }
    }

    /// Where a room runs, when that is another node (for a REST call to go there).
    pub async fn owner_elsewhere(&self, name: &RoomName) -> Option<String> {
        if self.is_live(name) {
            return None;
        }
        self.inner.keeper.owner_elsewhere(name).await
    }

    /// Keeps this node's claim on its rooms (a room it lost goes to its new owner), and takes over
    /// rooms nobody runs (their node died and nobody has come back yet: their timers must run),
    /// once they have stayed so for a while (`orphans.rs`).
    pub async fn maintain(&self, every: std::time::Duration, stop: CancellationToken) {
        let mut ticker = tokio::time::interval(every);
        let mut watch = OrphanWatch::default();
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                () = stop.cancelled() => return,
            }
            let live: Vec<RoomName> = self.inner.rooms().keys().cloned().collect();
            for lost in self.inner.keeper.renew(&live).await {
                if let Some(commands) = self.inner.commands_of(&lost) {
                    let _ = commands.send(RoomCommand::Lost).await;
                }
            }
            for orphan in watch.due(self.inner.keeper.orphans().await) {
                self.adopt(&orphan).await;
            }
        }
    }

    async fn adopt(&self, name: &RoomName) {
        let meeting = match self.inner.store.get_meeting_by_room(name).await {
            Ok(Some(meeting)) if meeting.is_open_at(Utc::now()) => Arc::new(meeting),
            Ok(_) => {
                // Its meeting is gone: take the room only to forget it.
                if let Ok(Place::Here { .. }) = self.inner.keeper.take(name).await {
                    self.inner.keeper.forget(name).await;
                }
                return;
            }
            Err(err) => {
                tracing::warn!(room = %name, error = %err, "cannot look a room's meeting up");
                return;
            }
        };
        match self.place(&meeting).await {
            Ok(Placement::Here) => tracing::info!(room = %name, "took over a room nobody ran"),
            Ok(Placement::Elsewhere(_)) => {}
            Err(err) => tracing::warn!(room = %name, error = %err, "cannot take a room over"),
        }
    }

    pub fn live_rooms(&self) -> usize {
        self.inner.rooms().len()
    }

    /// The meeting behind a room name, if it may be entered now.
    pub async fn meeting(&self, name: &RoomName) -> Result<Arc<Meeting>, LookupError> {
        let live = self.inner.rooms().get(name).map(|e| e.meeting.clone());
        let meeting = match live {
            Some(meeting) => meeting,
            None => Arc::new(
                self.inner
                    .store
                    .get_meeting_by_room(name)
                    .await?
                    .ok_or(LookupError::NotFound)?,
            ),
        };
        if !meeting.is_open_at(Utc::now()) {
            return Err(LookupError::Expired);
        }
        Ok(meeting)
    }

    /// What a `roomKey` lets its bearer be in this meeting's room.
    pub fn credential(
        &self,
        key: Option<&str>,
        meeting: &Meeting,
        now: DateTime<Utc>,
    ) -> Result<Credential, KeyError> {
        let Some(key) = key.filter(|k| !k.is_empty()) else {
            return Ok(Credential::None);
        };
        let claims = self.inner.tokens.verify(key, now).map_err(|e| match e {
            TokenError::Expired => KeyError::Expired,
            TokenError::Invalid => KeyError::Invalid,
        })?;
        if claims.sub != meeting.id.to_string() || claims.room != meeting.room_name.as_str() {
            return Err(KeyError::OtherRoom);
        }
        match (claims.role, claims.cid) {
            (KeyRole::Host, _) => Ok(Credential::Host),
            (KeyRole::Viewer, _) => Ok(Credential::Viewer),
            (KeyRole::GrantedVisitor, Some(cid)) => Ok(Credential::Grant(ClientId::new(cid))),
            (KeyRole::GrantedVisitor, None) => Err(KeyError::Invalid),
        }
    }

    /// Hands a connection's first command to the room's actor, starting the actor if needed.
    pub fn attach(
        &self,
        meeting: Arc<Meeting>,
        conn: ConnId,
        handle: ConnHandle,
        input: Input,
    ) -> Result<RoomHandle, RoomBusy> {
        let mut rooms = self.inner.rooms();
        let entry = match rooms.get(&meeting.room_name) {
            Some(entry) if !entry.commands.is_closed() => entry,
            _ => {
                let entry = self.start(meeting.clone(), None, Vec::new());
                rooms.insert(meeting.room_name.clone(), entry);
                &rooms[&meeting.room_name]
            }
        };
        let room = RoomHandle {
            meeting: entry.meeting.clone(),
            commands: entry.commands.clone(),
        };
        room.commands
            .try_send(RoomCommand::Attach {
                conn,
                handle,
                input,
            })
            .map_err(|_| RoomBusy)?;
        Ok(room)
    }

    /// Carries on a room from its kept state (after this server restarted, or when this node
    /// takes the room over): its people come back on new connections.
    pub fn carry_on(&self, meeting: Arc<Meeting>, state: &str) -> Result<(), NotCarriedOn> {
        let (snapshot, unwritten) = match super::keeper::decode(state) {
            Ok(kept) => kept,
            Err(err) => {
                tracing::error!(room = %meeting.room_name, error = %err, "a kept room state cannot be read; the room starts afresh");
                return Err(NotCarriedOn::Unreadable);
            }
        };
        let room = match Room::restore(self.config_of(&meeting), snapshot, Utc::now()) {
            Ok(room) => room,
            Err(err) => {
                tracing::error!(room = %meeting.room_name, error = %err, "a kept room state cannot be carried on; the room starts afresh");
                return Err(NotCarriedOn::Unreadable);
            }
        };
        let mut rooms = self.inner.rooms();
        if rooms
            .get(&meeting.room_name)
            .is_some_and(|e| !e.commands.is_closed())
        {
            return Err(NotCarriedOn::LiveAlready);
        }
        let name = meeting.room_name.clone();
        let entry = self.start(meeting, Some(room), unwritten);
        rooms.insert(name.clone(), entry);
        tracing::info!(room = %name, "carrying on a room from its kept state");
        Ok(())
    }

    /// A room that starts afresh because its kept state could not be carried on: the knocks,
    /// members and session the store has open for it are closed now, with their webhook events,
    /// and written before the new room says anything (its next kept state knows nothing of them).
    /// The facts the lost state had not seen written are lost with it.
    async fn close_what_it_left_open(&self, name: &RoomName) {
        let facts = match self.inner.store.closing_facts(Some(name), Utc::now()).await {
            Ok(facts) => facts,
            Err(err) => {
                tracing::error!(room = %name, error = %err, "cannot find what a room whose state was lost left open");
                return;
            }
        };
        let count = facts.len();
        let written = recorder::record_durably(&self.inner.facts, facts).await;
        if count > 0 {
            tracing::info!(room = %name, facts = count, written, "closed what a room whose state was lost left open (knocks, members, its session)");
        }
    }

    fn config_of(&self, meeting: &Meeting) -> RoomConfig {
        let settings = &self.inner.settings;
        RoomConfig {
            meeting_id: meeting.id,
            room_name: meeting.room_name.clone(),
            mode: meeting.room_mode,
            locked: meeting.is_locked,
            expires_at: meeting.host_key_expiry(),
            reject_cooldown: settings.reject_cooldown,
            resume_grace: settings.resume_grace,
            knock_away_grace: settings.knock_away_grace,
            grant_validity: settings.grant_validity,
            session_end_grace: settings.session_end_grace,
            max_knocks: settings.max_knocks,
            max_knocks_per_address: settings.max_knocks_per_address,
            knock_timeout: settings.knock_timeout,
            theme: Theme::default(),
            recording: meeting.recording,
        }
    }

    /// Starts a room's actor: a new room, or one `restored` with the facts its last node had not
    /// seen written.
    fn start(
        &self,
        meeting: Arc<Meeting>,
        restored: Option<Room>,
        unwritten: Vec<(FactId, RoomFact)>,
    ) -> Entry {
        let generation = self.inner.next_generation.fetch_add(1, Ordering::Relaxed);
        let (commands, mailbox) = mpsc::channel(MAILBOX);
        let room = restored.unwrap_or_else(|| Room::new(self.config_of(&meeting)));
        let link = RoomLink {
            inner: self.inner.clone(),
            room: meeting.room_name.clone(),
            meeting_id: meeting.id,
            generation,
            media: (meeting.room_mode == RoomMode::Group).then(|| self.inner.media.clone()),
            unwritten: Mutex::default(),
            measured: Mutex::default(),
        }
        .carrying_on(unwritten);
        let actor = RoomActor::new(room, mailbox, link, self.inner.shutdown.clone());
        self.inner.actors.spawn(actor.run());
        Entry {
            generation,
            meeting,
            commands,
        }
    }

    /// A room's look as it is stored now.
    pub async fn look(&self, room: &RoomName) -> Result<Theme, StoreError> {
        self.inner.themes.load(room).await
    }

    /// Shows a live room its new look; a room that is not live loads it when it opens.
    pub async fn theme_changed(&self, room: &RoomName) -> Result<(), StoreError> {
        if self.inner.commands_of(room).is_none() {
            return Ok(());
        }
        let theme = self.inner.themes.load(room).await?;
        if let Some(commands) = self.inner.commands_of(room) {
            // A closed mailbox means the room ended meanwhile: nobody to show it to.
            let _ = commands
                .send(RoomCommand::Input(Input::SetTheme(theme)))
                .await;
        }
        Ok(())
    }

    /// The knock queue of a meeting's room, oldest first (empty when the room is not live).
    pub async fn knocks(&self, meeting: &Meeting) -> Result<Vec<KnockView>, Refusal> {
        match self.ask(&meeting.room_name, Input::ListKnocks).await {
            None => Ok(Vec::new()),
            Some(Answer::Queue(queue)) => Ok(queue),
            Some(Answer::Refused(refusal)) => Err(refusal),
            Some(Answer::Decided(_) | Answer::Members(_)) => Ok(Vec::new()),
        }
    }

    /// The people in a meeting's room (empty when the room is not live).
    pub async fn members(&self, meeting: &Meeting) -> Vec<ClientView> {
        match self.ask(&meeting.room_name, Input::ListMembers).await {
            Some(Answer::Members(members)) => members,
            _ => Vec::new(),
        }
    }

    /// A decision from the REST API, under the same rule as a host's: each knock is decided once.
    pub async fn decide(
        &self,
        meeting: &Meeting,
        target: KnockTarget,
        action: KnockAction,
        message: Option<String>,
    ) -> Result<Vec<(ClientId, Resolution)>, Refusal> {
        let one = matches!(target, KnockTarget::One(_));
        let input = Input::HandleKnock {
            by: Decider::Api,
            target,
            action,
            message,
        };
        match self.ask(&meeting.room_name, input).await {
            Some(Answer::Decided(decided)) => Ok(decided),
            Some(Answer::Refused(refusal)) => Err(refusal),
            // Nobody waits at a room that is not live; deciding all of nobody decides nothing.
            None | Some(Answer::Queue(_) | Answer::Members(_)) if !one => Ok(Vec::new()),
            None | Some(Answer::Queue(_) | Answer::Members(_)) => Err(Refusal {
                code: RefusalCode::KnockNotFound,
                message:
                    "no such knock is waiting: it was decided already, cancelled, or never made"
                        .into(),
                request: Some(Request::HandleKnock),
                retry_after_seconds: None,
            }),
        }
    }

    /// Puts an input to a live room and waits for its answer; None when the room is not live.
    async fn ask(&self, room: &RoomName, input: Input) -> Option<Answer> {
        let commands = self.inner.commands_of(room)?;
        let (reply, answer) = oneshot::channel();
        commands
            .send(RoomCommand::Ask { input, reply })
            .await
            .ok()?;
        answer.await.ok()
    }

    /// Ends a live room (its meeting was deleted); nothing to do when it is not live.
    pub async fn end(&self, name: &RoomName, reason: EndReason) {
        self.tell(name, Input::End(reason)).await;
    }

    /// Gives a room live here an input no connection of it sent; nothing when it is not live here.
    pub async fn tell(&self, name: &RoomName, input: Input) {
        if let Some(commands) = self.inner.commands_of(name) {
            // A closed mailbox means the room ended on its own meanwhile.
            let _ = commands.send(RoomCommand::Input(input)).await;
        }
    }
}

//! Finds the live room of a name, or starts its actor. One actor per live room; it removes itself
//! when nothing is left in it. The first command of a connection goes through here, under the same
//! lock the actor takes to remove itself, so no join can slip into an actor that is going away.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{Duration, Utc};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::actor::{ConnHandle, RoomActor, RoomCommand};
use super::facts::RoomFact;
use super::state::{ConnId, Input, Room, RoomConfig};
use crate::meeting::{Meeting, RoomName};
use crate::signal::protocol::{EndReason, RoomTheme};
use crate::store::{DynStore, StoreError};
use crate::tokens::TokenSigner;

/// Commands a room can have waiting before senders wait for it.
const MAILBOX: usize = 1024;

#[derive(Debug, Clone)]
pub struct RoomSettings {
    pub reject_cooldown: Duration,
    pub resume_grace: Duration,
    /// How long the key an accepted knocker enters with stays valid.
    pub grant_validity: Duration,
    pub session_end_grace: Duration,
    pub max_knocks: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("no meeting has this room name")]
    NotFound,
    #[error("the meeting has ended")]
    Expired,
    #[error("the room is too busy to take more connections right now")]
    Busy,
    #[error(transparent)]
    Store(#[from] StoreError),
}

struct Entry {
    generation: u64,
    meeting: Arc<Meeting>,
    commands: mpsc::Sender<RoomCommand>,
}

/// A way to a live room, as a session holds it.
#[derive(Clone, Debug)]
pub struct RoomHandle {
    pub meeting: Arc<Meeting>,
    pub commands: mpsc::Sender<RoomCommand>,
}

pub struct RoomRegistry {
    rooms: Mutex<HashMap<RoomName, Entry>>,
    next_generation: AtomicU64,
    store: DynStore,
    public_url: String,
    pub tokens: TokenSigner,
    pub settings: RoomSettings,
    facts: mpsc::UnboundedSender<RoomFact>,
    shutdown: CancellationToken,
}

impl RoomRegistry {
    pub fn new(
        store: DynStore,
        public_url: String,
        tokens: TokenSigner,
        settings: RoomSettings,
        facts: mpsc::UnboundedSender<RoomFact>,
        shutdown: CancellationToken,
    ) -> Self {
        RoomRegistry {
            rooms: Mutex::new(HashMap::new()),
            next_generation: AtomicU64::new(1),
            store,
            public_url,
            tokens,
            settings,
            facts,
            shutdown,
        }
    }

    fn rooms(&self) -> std::sync::MutexGuard<'_, HashMap<RoomName, Entry>> {
        // Holders only insert and remove map entries; a panic between two such steps leaves a map
        // that is still consistent.
        self.rooms.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn live_rooms(&self) -> usize {
        self.rooms().len()
    }

    /// The meeting behind a room name, if it may be entered now.
    pub async fn meeting(&self, name: &RoomName) -> Result<Arc<Meeting>, OpenError> {
        let live = self.rooms().get(name).map(|e| e.meeting.clone());
        let meeting = match live {
            Some(meeting) => meeting,
            None => Arc::new(
                self.store
                    .get_meeting_by_room(name)
                    .await?
                    .ok_or(OpenError::NotFound)?,
            ),
        };
        if !meeting.is_open_at(Utc::now()) {
            return Err(OpenError::Expired);
        }
        Ok(meeting)
    }

    /// Hands a connection's first command to the room's actor, starting the actor if needed.
    pub fn attach(
        self: &Arc<Self>,
        meeting: Arc<Meeting>,
        conn: ConnId,
        handle: ConnHandle,
        input: Input,
    ) -> Result<RoomHandle, OpenError> {
        let mut rooms = self.rooms();
        let entry = match rooms.get(&meeting.room_name) {
            Some(entry) if !entry.commands.is_closed() => entry,
            _ => {
                let entry = self.start(meeting.clone());
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
            .map_err(|_| OpenError::Busy)?;
        Ok(room)
    }

    fn start(self: &Arc<Self>, meeting: Arc<Meeting>) -> Entry {
        let generation = self.next_generation.fetch_add(1, Ordering::Relaxed);
        let (commands, mailbox) = mpsc::channel(MAILBOX);
        let settings = &self.settings;
        let room = Room::new(RoomConfig {
            meeting_id: meeting.id,
            room_name: meeting.room_name.clone(),
            mode: meeting.room_mode,
            locked: meeting.is_locked,
            expires_at: meeting.host_key_expiry(),
            reject_cooldown: settings.reject_cooldown,
            resume_grace: settings.resume_grace,
            grant_validity: settings.grant_validity,
            session_end_grace: settings.session_end_grace,
            max_knocks: settings.max_knocks,
            theme: RoomTheme::default(),
        });
        let actor = RoomActor {
            room,
            commands: mailbox,
            conns: HashMap::new(),
            registry: self.clone(),
            generation,
            facts: self.facts.clone(),
            shutdown: self.shutdown.clone(),
        };
        tokio::spawn(actor.run());
        Entry {
            generation,
            meeting,
            commands,
        }
    }

    /// The room's current theme, from the store.
    pub async fn load_theme(&self, room: &RoomName) -> Result<RoomTheme, StoreError> {
        super::theme::load(&self.store, &self.public_url, room).await
    }

    /// Shows a live room its new theme; a room that is not live loads it when it opens.
    pub async fn push_theme(&self, room: &RoomName, theme: RoomTheme) {
        let commands = self.rooms().get(room).map(|e| e.commands.clone());
        if let Some(commands) = commands {
            let _ = commands
                .send(RoomCommand::Input(Input::SetTheme(theme)))
                .await;
        }
    }

    /// Ends a live room (the meeting was deleted); nothing to do when it is not live.
    pub async fn end_room(&self, name: &RoomName, reason: EndReason) {
        let commands = self.rooms().get(name).map(|e| e.commands.clone());
        if let Some(commands) = commands {
            // A closed mailbox means the room ended on its own meanwhile.
            let _ = commands.send(RoomCommand::Input(Input::End(reason))).await;
        }
    }

    /// Called by an idle actor: removes its entry unless a command arrived meanwhile.
    pub(super) fn remove_if_idle(
        &self,
        name: &RoomName,
        generation: u64,
        mailbox: &mpsc::Receiver<RoomCommand>,
    ) -> bool {
        let mut rooms = self.rooms();
        match rooms.get(name) {
            Some(entry) if entry.generation == generation => {
                if !mailbox.is_empty() {
                    return false;
                }
                rooms.remove(name);
                true
            }
            // Already replaced or removed: this actor is no longer the room's.
            _ => true,
        }
    }

    pub(super) fn remove_if_current(&self, name: &RoomName, generation: u64) {
        let mut rooms = self.rooms();
        if rooms.get(name).is_some_and(|e| e.generation == generation) {
            rooms.remove(name);
        }
    }
}

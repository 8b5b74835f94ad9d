//! Where a live room's state is kept so that it can be carried on: by this server after a restart
//! (a server alone: its store, written when it stops), or by another node of a cluster (Redis,
//! written after every change that matters, so that a node's death loses nothing). The room engine
//! makes the snapshot; this is the port that keeps it, and JSON is its form.

use async_trait::async_trait;

use crate::meeting::RoomName;
use crate::room::state::Snapshot;
use crate::store::DynStore;

#[derive(Debug, thiserror::Error)]
pub enum KeepError {
    /// Another node owns the room now: this one must stop running it.
    #[error("the room belongs to another node now")]
    NotOwner,
    #[error("the room's state cannot be kept: {0}")]
    Unavailable(String),
}

/// Where a room is to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// Here: this node owns it now (with its kept state, when another node ran it before).
    Here { kept: Option<String> },
    /// On another node, reached at this base URL.
    Elsewhere { url: String },
}

#[async_trait]
pub trait Keeper: Send + Sync + 'static {
    /// Takes a room that is not live on this node: here when nobody else owns it (a server alone
    /// always takes it), else where it runs.
    async fn take(&self, _room: &RoomName) -> Result<Place, KeepError> {
        Ok(Place::Here { kept: None })
    }
    /// Where a room runs now, if on another node.
    async fn owner_elsewhere(&self, _room: &RoomName) -> Option<String> {
        None
    }
    /// Keeps this node's claim on the rooms it runs; returns those it no longer owns.
    async fn renew(&self, _rooms: &[RoomName]) -> Vec<RoomName> {
        Vec::new()
    }
    /// Rooms with kept state that nobody runs (their node died and nobody came back yet).
    async fn orphans(&self) -> Vec<RoomName> {
        Vec::new()
    }
    /// Whether a room's state is kept after every change that may matter (else only at hand-over).
    fn every_change(&self) -> bool;
    async fn keep(&self, room: &RoomName, state: String) -> Result<(), KeepError>;
    /// The server is stopping: the room's last state, for whoever carries it on.
    async fn hand_over(&self, room: &RoomName, state: String) -> Result<(), KeepError>;
    /// The room is over (ended, or nothing left in it): its kept state goes.
    async fn forget(&self, room: &RoomName);
}

pub type DynKeeper = std::sync::Arc<dyn Keeper>;

/// The room's state in its kept form.
pub fn encode(snapshot: &Snapshot) -> String {
    // A snapshot holds strings, numbers and maps with string keys only: it always serialises.
    serde_json::to_string(snapshot).expect("a room snapshot serialises to JSON")
}

pub fn decode(state: &str) -> Result<Snapshot, serde_json::Error> {
    serde_json::from_str(state)
}

/// A server alone: rooms are written to its store when it stops, and carried on when it starts.
pub struct StoreKeeper {
    pub store: DynStore,
}

#[async_trait]
impl Keeper for StoreKeeper {
    fn every_change(&self) -> bool {
        false
    }

    async fn keep(&self, _: &RoomName, _: String) -> Result<(), KeepError> {
        Ok(())
    }

    async fn hand_over(&self, room: &RoomName, state: String) -> Result<(), KeepError> {
        self.store
            .save_snapshots(&[(room.clone(), state)], chrono::Utc::now())
            .await
            .map_err(|err| KeepError::Unavailable(err.to_string()))
    }

    async fn forget(&self, _: &RoomName) {}
}

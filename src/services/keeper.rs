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

#[async_trait]
pub trait Keeper: Send + Sync + 'static {
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

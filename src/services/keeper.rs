//! Where a live room's state is kept so that it can be carried on: by this server after a restart
//! or a crash (a server alone: its store, `store_keeper.rs`), or by another node of a cluster
//! (Redis, written after every change that matters, so that a node's death loses nothing). The
//! room engine makes the snapshot; this is the port that keeps it, and JSON is its form.

use async_trait::async_trait;

use crate::meeting::RoomName;
use crate::meeting::facts::{FactId, RoomFact};
use crate::room::state::{Snapshot, UnknownVersion};

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
    /// Whether the room's facts the store has not confirmed yet are kept with its state after a
    /// change (for whoever carries the room on to record them: another node).
    fn keeps_unwritten_facts(&self) -> bool {
        true
    }
    async fn keep(&self, room: &RoomName, state: String) -> Result<(), KeepError>;
    /// The server is stopping: the room's last state, for whoever carries it on.
    async fn hand_over(&self, room: &RoomName, state: String) -> Result<(), KeepError>;
    /// The room is over (ended, or nothing left in it): its kept state goes.
    async fn forget(&self, room: &RoomName);
}

pub type DynKeeper = std::sync::Arc<dyn Keeper>;

/// A room's state in its kept form: the engine's snapshot, and beside it the room's facts that
/// the store has not confirmed yet (a cluster's room says nothing before its state is kept, not
/// before its facts are written: whoever carries the room on records those again, and the store
/// writes each once, by its id). A form without facts reads as one with none, and a node that knows
/// no facts here reads the snapshot alone.
#[derive(serde::Serialize, serde::Deserialize)]
struct Kept<R, F> {
    #[serde(flatten)]
    room: R,
    #[serde(default = "Vec::new", skip_serializing_if = "Vec::is_empty")]
    unwritten: Vec<F>,
}

/// The room's state and its unwritten facts in their kept form.
pub fn encode(snapshot: &Snapshot, unwritten: Vec<(&FactId, &RoomFact)>) -> String {
    let kept = Kept {
        room: snapshot,
        unwritten,
    };
    // A snapshot and a fact hold strings, numbers and maps with string keys only: they always
    // serialise.
    serde_json::to_string(&kept).expect("a room snapshot serialises to JSON")
}

/// Why a kept state cannot be carried on by this version.
#[derive(Debug, thiserror::Error)]
pub enum UnreadableState {
    #[error("a kept room state is not in a form this version reads: {0}")]
    Form(#[from] serde_json::Error),
    #[error(transparent)]
    Version(#[from] UnknownVersion),
}

/// A kept state as this version carries it on: the room's snapshot, and its unwritten facts.
pub fn decode(state: &str) -> Result<(Snapshot, Vec<(FactId, RoomFact)>), UnreadableState> {
    let kept: Kept<Snapshot, (FactId, RoomFact)> = serde_json::from_str(state)?;
    kept.room.check()?;
    Ok((kept.room, kept.unwritten))
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::meeting::facts::{ClientCounts, FactKind};
    use crate::meeting::{MeetingId, RoomMode};
    use crate::room::state::Room;
    use crate::room::state::tests::config;

    fn snapshot() -> Snapshot {
        Room::new(config(RoomMode::Normal, true)).snapshot()
    }

    fn fact() -> RoomFact {
        RoomFact {
            kind: FactKind::Locked,
            at: Utc::now(),
            meeting_id: MeetingId(7),
            room_name: RoomName::parse("/kept").expect("a valid room name"),
            room_session_id: Some("s1".into()),
            client: None,
            message: Some("one moment".into()),
            decided_by: None,
            counts: ClientCounts::default(),
            why: None,
        }
    }

    #[test]
    fn facts_kept_with_a_room_read_back_with_it() {
        let (id, fact) = (FactId::new(), fact());
        let kept = encode(&snapshot(), vec![(&id, &fact)]);
        assert_eq!(
            decode(&kept).expect("it reads back"),
            (snapshot(), vec![(id, fact)])
        );
        // A node of the version before reads the snapshot alone.
        let snapshot_alone: Snapshot = serde_json::from_str(&kept).expect("read as a snapshot");
        assert_eq!(snapshot_alone, snapshot());
    }

    #[test]
    fn a_state_kept_before_facts_were_kept_reads_as_one_with_none() {
        let before = serde_json::to_string(&snapshot()).expect("a snapshot serialises");
        assert_eq!(decode(&before).expect("it reads"), (snapshot(), Vec::new()));
        assert_eq!(encode(&snapshot(), Vec::new()), before);
    }
}

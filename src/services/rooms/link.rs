//! One room's port (`RoomLink`): what its actor may ask of the service, and nothing else. In a
//! cluster it also holds the room's facts that the store has not confirmed yet: they are kept with
//! the room's state until it has, so that the room need not wait for the store before it speaks.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::oneshot;
use tokio::sync::oneshot::error::TryRecvError;

use super::Inner;
use crate::media::MediaEngine;
use crate::meeting::facts::{FactId, RoomFact};
use crate::meeting::network::{NetworkSample, NetworkSeries, SampleGrid};
use crate::meeting::{MeetingId, RoomName};
use crate::room::event::{Event, MediaChange};
use crate::room::model::{ClientId, Role, Theme};
use crate::room::port::{PortError, RoomPort};
use crate::room::state::Snapshot;
use crate::services::keeper;
use crate::services::recorder::{self, Recording};

pub(super) struct RoomLink {
    pub(super) inner: Arc<Inner>,
    pub(super) room: RoomName,
    pub(super) meeting_id: MeetingId,
    /// Tells this actor's registry entry apart from a newer actor of the same room.
    pub(super) generation: u64,
    /// The media server, when it carries this room's media (group rooms).
    pub(super) media: Option<MediaEngine>,
    /// Facts handed to the recorder and not yet confirmed written, oldest first (a cluster's
    /// room: they are kept with its state until they are).
    pub(super) unwritten: Mutex<Vec<Unwritten>>,
    /// What its members' browsers measured of their connections (normal rooms), until each leaves.
    pub(super) measured: Mutex<HashMap<ClientId, SampleGrid>>,
}

/// Most facts a room keeps unwritten beside its state. Only a store that takes nothing for long
/// (a room's change or two a second for minutes) reaches it; beyond it, the oldest stay with the
/// recorder, but no longer in the kept state, which would otherwise grow, and be written whole to
/// Redis, at every change.
const MOST_UNWRITTEN: usize = 1000;

/// A fact on its way to the store, and where the recorder says it was written (or not).
pub(super) struct Unwritten {
    id: FactId,
    fact: RoomFact,
    written: oneshot::Receiver<bool>,
}

impl RoomLink {
    /// A room carried on from another node's kept state: the facts it had not seen written are
    /// recorded again (the store writes each once) and kept until they are.
    pub(super) fn carrying_on(self, unwritten: Vec<(FactId, RoomFact)>) -> Self {
        if !unwritten.is_empty() {
            tracing::info!(room = %self.room, facts = unwritten.len(), "recording the facts the room's last node may not have written");
        }
        let pending = unwritten
            .into_iter()
            .map(|(id, fact)| self.send(id, fact))
            .collect();
        *self.unwritten() = pending;
        self
    }

    fn grids(&self) -> MutexGuard<'_, HashMap<ClientId, SampleGrid>> {
        // Only this room's actor takes it, and a grid is whole between two of its steps.
        self.measured.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Members' measured samples, to be kept for insights (a full queue drops them, logged: the
    /// room never waits for the store).
    fn keep_measured(&self, segments: Vec<NetworkSeries>) {
        for series in segments {
            if let Err(TrySendError::Full(series)) = self.inner.network_samples.try_send(series) {
                tracing::warn!(room = %series.room, client = %series.client,
                    "network samples not kept: the store is behind");
            }
        }
    }

    fn unwritten(&self) -> MutexGuard<'_, Vec<Unwritten>> {
        // Only this room's actor takes it, and nothing in it can be left half changed.
        self.unwritten.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Hands a fact to the recorder, to hear when it is written.
    fn send(&self, id: FactId, fact: RoomFact) -> Unwritten {
        let (ack, written) = oneshot::channel();
        // Without a recorder (the server is stopping) the answer never comes: the fact stays
        // unwritten, and is handed over with the room's state.
        let _ = self.inner.facts.send(Recording {
            fact: fact.clone(),
            id: Some(id.clone()),
            written: Some(ack),
        });
        Unwritten { id, fact, written }
    }

    /// Forgets the facts now written; hands those the store would not take to the recorder again.
    /// (An answer that never comes, the recorder gone, leaves the fact to be handed over.)
    fn settle(&self, unwritten: &mut Vec<Unwritten>) {
        let mut still = Vec::with_capacity(unwritten.len());
        for mut pending in unwritten.drain(..) {
            match pending.written.try_recv() {
                Ok(true) => {}
                Ok(false) => {
                    tracing::warn!(room = %self.room, kind = pending.fact.kind.event_type(), "a room fact the store would not take is recorded again");
                    still.push(self.send(pending.id, pending.fact));
                }
                Err(TryRecvError::Empty | TryRecvError::Closed) => still.push(pending),
            }
        }
        *unwritten = still;
    }

    /// The room's state in its kept form, with the facts not yet written.
    fn kept_state(&self, snapshot: &Snapshot, facts: Vec<RoomFact>) -> String {
        let mut unwritten = self.unwritten();
        self.settle(&mut unwritten);
        for fact in facts {
            let pending = self.send(FactId::new(), fact);
            unwritten.push(pending);
        }
        let given_up = keep_newest(&mut unwritten, MOST_UNWRITTEN);
        if given_up > 0 {
            tracing::error!(room = %self.room, facts = given_up, "the store has taken none of this room's facts for long; the oldest are no longer kept for another node");
        }
        keeper::encode(
            snapshot,
            unwritten.iter().map(|u| (&u.id, &u.fact)).collect(),
        )
    }

    /// The room is no longer run here: its media paths close, and unless it moved on, its kept
    /// state goes (in the background: the registry lock is held).
    pub(super) fn closed(&self, handed_over: bool) {
        if let Some(media) = &self.media {
            media.close_room(&self.room);
        }
        let measured = std::mem::take(&mut *self.grids());
        for grid in measured.into_values() {
            self.keep_measured(grid.finish());
        }
        if !handed_over {
            let keeper = self.inner.keeper.clone();
            let room = self.room.clone();
            tokio::spawn(async move { keeper.forget(&room).await });
        }
    }
}

impl RoomPort for RoomLink {
    fn encode(&self, event: &Event) -> Bytes {
        self.inner.encoder.encode(event)
    }

    async fn load_theme(&self) -> Result<Theme, PortError> {
        Ok(self.inner.themes.load(&self.room).await?)
    }

    fn mint_grant(&self, client: &ClientId, now: DateTime<Utc>) -> String {
        self.inner.tokens.grant(
            self.meeting_id,
            &self.room,
            client.as_str(),
            now,
            self.inner.settings.grant_validity,
        )
    }

    fn record(&self, fact: RoomFact) {
        // The recorder lives as long as the server; if it is gone we are shutting down.
        let _ = self.inner.facts.send(Recording {
            fact,
            id: None,
            written: None,
        });
    }

    async fn record_durably(&self, facts: Vec<RoomFact>) -> bool {
        recorder::record_durably(&self.inner.facts, facts).await
    }

    fn media(&self, change: MediaChange) {
        if let MediaChange::Revoke { client_id } = &change {
            let grid = self.grids().remove(client_id);
            if let Some(grid) = grid {
                self.keep_measured(grid.finish());
            }
        }
        // Without a media server (normal rooms) media flows browser to browser.
        let Some(media) = &self.media else {
            return;
        };
        match change {
            MediaChange::Admit {
                client_id,
                conn,
                role,
            } => media.admit(&self.room, &client_id, conn, role != Role::Viewer),
            MediaChange::Revoke { client_id } => media.revoke(&self.room, &client_id),
        }
    }

    fn measured(&self, client: ClientId, sample: NetworkSample) {
        let done = {
            let mut grids = self.grids();
            let grid = grids
                .entry(client.clone())
                .or_insert_with(|| SampleGrid::new(self.room.clone(), client));
            grid.push(Instant::now(), Utc::now(), sample);
            grid.take_done()
        };
        // A minute's segment is kept as soon as it is complete.
        self.keep_measured(done);
    }

    fn keeps_every_change(&self) -> bool {
        self.inner.keeper.every_change()
    }

    async fn keep(&self, snapshot: &Snapshot, facts: Vec<RoomFact>) -> Result<(), PortError> {
        let state = if self.inner.keeper.keeps_unwritten_facts() {
            self.kept_state(snapshot, facts)
        } else {
            // A server alone: the facts go to the store it keeps states in, and sooner (the
            // recorder writes within milliseconds, a state waits `WRITE_GAP`).
            for fact in facts {
                self.record(fact);
            }
            keeper::encode(snapshot, Vec::new())
        };
        Ok(self.inner.keeper.keep(&self.room, state).await?)
    }

    async fn facts_written(&self) {
        let unwritten = std::mem::take(&mut *self.unwritten());
        for pending in unwritten {
            if pending.written.await != Ok(true) {
                tracing::error!(room = %self.room, kind = pending.fact.kind.event_type(), "a room fact could not be written");
            }
        }
    }

    async fn hand_over(&self, snapshot: &Snapshot) -> bool {
        let state = self.kept_state(snapshot, Vec::new());
        match self.inner.keeper.hand_over(&self.room, state).await {
            Ok(()) => true,
            Err(err) => {
                tracing::error!(room = %self.room, error = %err, "cannot hand the room over; it ends");
                false
            }
        }
    }

    fn release_if_idle(&self, nothing_waiting: &dyn Fn() -> bool) -> bool {
        let mut rooms = self.inner.rooms();
        match rooms.get(&self.room) {
            Some(entry) if entry.generation == self.generation => {
                if !nothing_waiting() {
                    return false;
                }
                rooms.remove(&self.room);
                self.closed(false);
                true
            }
            // Already replaced or removed: this actor is no longer the room's.
            _ => true,
        }
    }

    fn release_after_fault(&self) {
        let again = self
            .inner
            .faults
            .failed(&self.room, std::time::Instant::now());
        if again {
            tracing::error!(room = %self.room, "the room failed twice within a minute; its kept state is dropped and it starts afresh");
        }
        // Kept (as if it moved on), for the next opening to carry on from; dropped if again.
        self.release(!again);
    }

    fn release(&self, handed_over: bool) {
        let mut rooms = self.inner.rooms();
        if rooms
            .get(&self.room)
            .is_some_and(|e| e.generation == self.generation)
        {
            rooms.remove(&self.room);
        }
        self.closed(handed_over);
    }
}

/// Keeps the newest `most` of `items`; returns how many older ones went.
fn keep_newest<T>(items: &mut Vec<T>, most: usize) -> usize {
    let over = items.len().saturating_sub(most);
    items.drain(..over);
    over
}

#[cfg(test)]
mod tests {
    use super::keep_newest;

    #[test]
    fn the_oldest_beyond_the_most_go() {
        let mut items: Vec<u32> = (1..=5).collect();
        assert_eq!(keep_newest(&mut items, 5), 0);
        assert_eq!(items, [1, 2, 3, 4, 5]);
        assert_eq!(keep_newest(&mut items, 3), 2);
        assert_eq!(items, [3, 4, 5]);
    }
}

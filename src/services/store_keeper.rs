//! Where a server alone keeps its live rooms: in its own store, so that a crash (`kill -9`, the
//! kernel's OOM killer) is carried on from as a restart is, rather than ending every room. A room's
//! state is taken after each of its changes, but written at most every `WRITE_GAP`, the latest
//! of each room changed meanwhile, in one transaction: the store stays off the signalling path, and
//! a crash loses at most that gap's changes. A stop writes every room's last state before it ends.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::keeper::{KeepError, Keeper, Place};
use crate::meeting::RoomName;
use crate::store::DynStore;

/// The most changes a crash may lose: how long a room's new state waits to be written (with
/// every other room's changed meanwhile).
pub const WRITE_GAP: Duration = Duration::from_millis(20);

/// How long a write that failed waits to be tried again when no change comes meanwhile.
const RETRY_AFTER: Duration = Duration::from_secs(1);

pub struct StoreKeeper {
    store: DynStore,
    /// Each room's latest state not written yet; `None`: the room is over, its state to go.
    pending: Mutex<HashMap<RoomName, Option<String>>>,
    /// The rooms whose state is in the store: only those are looked up when a room opens.
    stored: Mutex<HashSet<RoomName>>,
    /// One write at a time, so that an older state never lands after a newer one; it holds
    /// whether the last write failed (said once, not at every try).
    writing: tokio::sync::Mutex<bool>,
    changed: Notify,
}

impl StoreKeeper {
    /// The keeper, and its writer, which runs until `stop` (then writes what is left, and ends).
    pub fn start(
        store: DynStore,
        stop: CancellationToken,
    ) -> (Arc<Self>, tokio::task::JoinHandle<()>) {
        let keeper = Arc::new(StoreKeeper {
            store,
            pending: Mutex::default(),
            stored: Mutex::default(),
            writing: tokio::sync::Mutex::new(false),
            changed: Notify::new(),
        });
        let writer = tokio::spawn(keeper.clone().write_changes(stop));
        (keeper, writer)
    }

    async fn write_changes(self: Arc<Self>, stop: CancellationToken) {
        loop {
            tokio::select! {
                _ = self.changed.notified() => {}
                _ = stop.cancelled() => break,
            }
            // Changes a little apart are written together.
            tokio::select! {
                _ = tokio::time::sleep(WRITE_GAP) => {}
                _ = stop.cancelled() => {}
            }
            if self.write().await.is_err() {
                // Logged; tried again a little later (or with the next change).
                tokio::select! {
                    _ = tokio::time::sleep(RETRY_AFTER) => self.changed.notify_one(),
                    _ = stop.cancelled() => {}
                }
            }
        }
        let _ = self.write().await;
    }

    fn pending(&self) -> MutexGuard<'_, HashMap<RoomName, Option<String>>> {
        // Each use swaps or inserts whole entries: nothing is left half changed by a panic.
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn stored(&self) -> MutexGuard<'_, HashSet<RoomName>> {
        // Each use inserts or removes whole names.
        self.stored.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Writes what is pending. What a failed write held stays pending, unless a newer state of its
    /// room came meanwhile.
    async fn write(&self) -> Result<(), KeepError> {
        let mut failing = self.writing.lock().await;
        let due = std::mem::take(&mut *self.pending());
        if due.is_empty() {
            return Ok(());
        }
        let (mut kept, mut over) = (Vec::new(), Vec::new());
        for (room, state) in due {
            match state {
                Some(state) => kept.push((room, state)),
                None => over.push(room),
            }
        }
        let mut written = Ok(());
        if !kept.is_empty() {
            written = self.store.save_snapshots(&kept, chrono::Utc::now()).await;
        }
        if written.is_ok() && !over.is_empty() {
            written = self.store.forget_snapshots(&over).await;
        }
        match written {
            Ok(()) => {
                let mut stored = self.stored();
                stored.extend(kept.into_iter().map(|(room, _)| room));
                for room in &over {
                    stored.remove(room);
                }
                drop(stored);
                if std::mem::take(&mut *failing) {
                    tracing::info!("rooms' states are kept again");
                }
                Ok(())
            }
            Err(err) => {
                let rooms = kept.len() + over.len();
                if !std::mem::replace(&mut *failing, true) {
                    tracing::warn!(error = %err, rooms, "rooms' states cannot be kept; a crash now would end them (tried again)");
                }
                let mut pending = self.pending();
                let again = kept.into_iter().map(|(room, state)| (room, Some(state)));
                for (room, state) in again.chain(over.into_iter().map(|room| (room, None))) {
                    pending.entry(room).or_insert(state);
                }
                Err(KeepError::Unavailable(err.to_string()))
            }
        }
    }
}

#[async_trait]
impl Keeper for StoreKeeper {
    /// Here, always; with the room's kept state when it has one: a room that failed and is opened
    /// again (a room that closed has none, and one carried on at the start is live already). The
    /// store is read only for a room whose state this keeper wrote and did not forget.
    async fn take(&self, room: &RoomName) -> Result<Place, KeepError> {
        let pending = self.pending().get(room).cloned();
        let kept = match pending {
            Some(pending) => pending,
            None if self.stored().contains(room) => self
                .store
                .snapshot_of(room)
                .await
                .map_err(|err| KeepError::Unavailable(err.to_string()))?,
            None => None,
        };
        Ok(Place::Here { kept })
    }

    fn every_change(&self) -> bool {
        true
    }

    fn keeps_unwritten_facts(&self) -> bool {
        // The same store takes the facts, sooner than the states: a state written after a crash's
        // last moments may be without some of its facts, as before states were kept at all.
        false
    }

    async fn keep(&self, room: &RoomName, state: String) -> Result<(), KeepError> {
        self.pending().insert(room.clone(), Some(state));
        self.changed.notify_one();
        Ok(())
    }

    async fn hand_over(&self, room: &RoomName, state: String) -> Result<(), KeepError> {
        self.pending().insert(room.clone(), Some(state));
        self.write().await
    }

    async fn forget(&self, room: &RoomName) {
        self.pending().insert(room.clone(), None);
        self.changed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn room(name: &str) -> RoomName {
        RoomName::parse(name).expect("a valid room name")
    }

    /// A SQLite store in a directory of its own (kept as long as the directory is).
    async fn sqlite_store() -> (tempfile::TempDir, DynStore) {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let store = crate::store::open(&crate::store::sqlite_url(dir.path()))
            .await
            .expect("a store");
        (dir, store)
    }

    #[tokio::test]
    async fn the_latest_state_of_each_room_is_written_and_a_room_over_is_forgotten() {
        let (_dir, store) = sqlite_store().await;
        let stop = CancellationToken::new();
        let (keeper, writer) = StoreKeeper::start(store.clone(), stop.clone());
        let (a, b) = (room("/a"), room("/b"));
        keeper.keep(&a, "a1".into()).await.expect("kept");
        keeper.keep(&b, "b1".into()).await.expect("kept");
        keeper.keep(&a, "a2".into()).await.expect("kept");
        // Written within the gap, without a stop.
        tokio::time::sleep(WRITE_GAP * 5).await;
        keeper.forget(&b).await;
        keeper.keep(&a, "a3".into()).await.expect("kept");
        tokio::time::sleep(WRITE_GAP * 5).await;
        let mut kept = store.take_snapshots().await.expect("read");
        kept.sort();
        assert_eq!(kept, [(a.clone(), "a3".to_owned())]);
        // A hand-over is written at once; a stop writes what is pending.
        keeper
            .hand_over(&a, "a4".into())
            .await
            .expect("handed over");
        assert_eq!(
            store.take_snapshots().await.expect("read"),
            [(a.clone(), "a4".to_owned())]
        );
        keeper.keep(&a, "a5".into()).await.expect("kept");
        keeper.keep(&b, "b2".into()).await.expect("kept");
        stop.cancel();
        writer.await.expect("the writer ends");
        let mut kept = store.take_snapshots().await.expect("read");
        kept.sort();
        assert_eq!(kept, [(a, "a5".to_owned()), (b, "b2".to_owned())]);
    }

    #[tokio::test]
    async fn a_state_the_store_would_not_take_stays_pending() {
        let (_dir, store) = sqlite_store().await;
        let (keeper, _writer) = StoreKeeper::start(store.clone(), CancellationToken::new());
        let a = room("/a");
        store.close().await;
        keeper.keep(&a, "a1".into()).await.expect("kept");
        tokio::time::sleep(WRITE_GAP * 5).await;
        // The write failed; the state waits for the next one (the closed store is not asked).
        match keeper.take(&a).await {
            Ok(Place::Here { kept }) => assert_eq!(kept.as_deref(), Some("a1")),
            other => panic!("the pending state is still there: {other:?}"),
        }
        // A room never kept is not looked up in the store either (it would fail, closed).
        match keeper.take(&room("/b")).await {
            Ok(Place::Here { kept: None }) => {}
            other => panic!("nothing kept, and the store not asked: {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_room_opened_again_gets_its_kept_state_unless_it_closed() {
        let (_dir, store) = sqlite_store().await;
        let (keeper, _writer) = StoreKeeper::start(store, CancellationToken::new());
        let a = room("/a");
        let kept = |place| match place {
            Ok(Place::Here { kept }) => kept,
            other => panic!("a server alone takes every room: {other:?}"),
        };
        assert_eq!(kept(keeper.take(&a).await), None);
        keeper.keep(&a, "a1".into()).await.expect("kept");
        // Not written yet, and written.
        assert_eq!(kept(keeper.take(&a).await).as_deref(), Some("a1"));
        tokio::time::sleep(WRITE_GAP * 5).await;
        assert_eq!(kept(keeper.take(&a).await).as_deref(), Some("a1"));
        // Closed: not yet written, and written.
        keeper.forget(&a).await;
        assert_eq!(kept(keeper.take(&a).await), None);
        tokio::time::sleep(WRITE_GAP * 5).await;
        assert_eq!(kept(keeper.take(&a).await), None);
    }
}

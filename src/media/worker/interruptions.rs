//! Members whose media path went quiet (`hearing.rs`): the others in their room are told when it
//! does and when it is back, and a member who makes a new transport is told who is quiet now.

use std::time::{Duration, Instant};

use super::{PeerKey, Worker};
use crate::media::Notice;

/// How often the members are looked over for silence: a tile says so this much later at most.
const CHECK_EVERY: Duration = Duration::from_millis(500);

impl Worker {
    /// Tells the rooms of those who have just gone quiet (at most every `CHECK_EVERY`).
    pub(super) fn check_hearing(&mut self, now: Instant) {
        if self
            .hearing_checked
            .is_some_and(|at| now.saturating_duration_since(at) < CHECK_EVERY)
        {
            return;
        }
        self.hearing_checked = Some(now);
        let quiet: Vec<PeerKey> = self
            .peers
            .iter_mut()
            .filter_map(|(key, peer)| peer.hearing.gone_quiet(now).then_some(*key))
            .collect();
        for key in quiet {
            if let Some(peer) = self.peers.get(&key) {
                tracing::info!(room = %peer.room, client = %peer.client, "nothing heard from a member's media path for a while");
            }
            self.tell_room(key, true);
        }
    }

    /// Tells everyone else in the member's room that its media path is interrupted, or back. Only
    /// for members who publish: a viewer has no tile to say it on.
    pub(super) fn tell_room(&self, key: PeerKey, interrupted: bool) {
        let Some(peer) = self.peers.get(&key).filter(|peer| peer.publishes) else {
            return;
        };
        for other in self.rooms.get(&peer.room).into_iter().flatten() {
            if *other == key {
                continue;
            }
            if let Some(link) = self.peers.get(other).and_then(|p| p.link.as_ref()) {
                let _ = link.notify(Notice::Interrupted(peer.client.clone(), interrupted));
            }
        }
    }

    /// A member's new transport: it is told whose paths are interrupted now (it knew nothing, or
    /// what it knew went with its last transport).
    pub(super) fn tell_who_is_quiet(&self, key: PeerKey) {
        let Some(peer) = self.peers.get(&key) else {
            return;
        };
        let Some(link) = peer.link.as_ref() else {
            return;
        };
        for other in self.rooms.get(&peer.room).into_iter().flatten() {
            if let Some(quiet) = self
                .peers
                .get(other)
                .filter(|p| *other != key && p.publishes && p.hearing.is_quiet())
            {
                let _ = link.notify(Notice::Interrupted(quiet.client.clone(), true));
            }
        }
    }
}

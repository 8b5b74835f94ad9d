//! What a media thread does when a pass panics. The thread carries every group room given to it,
//! so one transport's fault (a bug in str0m reached by what some client sent, or one of ours) must
//! not end media for all of them: the transport str0m was working on is closed, as a transport
//! that failed would be (its member stays admitted; its client is told, and offers again), and the
//! thread goes on with the rest.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::Ordering;

use super::Worker;

impl Worker {
    /// Runs `pass`; a panic in it is recovered from (`recover`) and reported as `Err`, so the caller
    /// runs the next pass.
    pub(super) fn catching_panics<T>(
        &mut self,
        pass: impl FnOnce(&mut Worker) -> T,
    ) -> Result<T, ()> {
        // Unwind safety: what a panic leaves half-done is the busy transport's state, which
        // `recover` throws away, and this pass's scratch lists, which it clears.
        catch_unwind(AssertUnwindSafe(|| pass(self))).map_err(|panic| self.recover(&*panic))
    }

    /// A fault while working on this member's transport, for the tests of the above.
    #[cfg(test)]
    pub(super) fn panic_in(&mut self, room: &crate::meeting::RoomName, conn: u64) {
        if let Some(key) = self.find(room, |p| p.conn == conn) {
            self.busy = Some(key);
            panic!("a fault in a transport, as the test asked");
        }
    }

    fn recover(&mut self, panic: &(dyn Any + Send)) {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(no message)".to_owned());
        self.counters.panics.fetch_add(1, Ordering::Relaxed);
        self.happenings.clear();
        // What the pass had not done yet: every transport's output and every room's slots are
        // looked at again.
        self.dirty.extend(self.peers.keys().copied());
        self.reassign_due.extend(self.rooms.keys().cloned());
        match self.busy.take() {
            Some(key) => {
                let peer = self.peers.get(&key);
                tracing::error!(
                    panic = %what,
                    room = ?peer.map(|p| p.room.to_string()),
                    client = ?peer.map(|p| p.client.to_string()),
                    "a media transport panicked; it is closed and its member may connect again"
                );
                self.close_link(key);
            }
            None => {
                tracing::error!(panic = %what, "a media thread's pass panicked outside any transport");
            }
        }
    }
}

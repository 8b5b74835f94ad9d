//! Whether a host is in the room, as people at the door are told it: a knock made while no host
//! is there waits unseen until one arrives, and the knocker should know that rather than be told
//! a host was alerted. It is one bit about the room, the only one outsiders learn.

use super::{Out, Room};
use crate::room::event::Event;
use crate::room::model::Role;

impl Room {
    /// A host is in the room: connected, or away and expected back (their page reloading, or
    /// their server gone with the room carried on), who will see the queue on their return.
    pub(super) fn host_present(&self) -> bool {
        self.conns.members().any(|(_, _, role)| role == Role::Host)
            || self.away_members.values().any(|m| m.role == Role::Host)
    }

    /// After each input: everyone outside hears of a change (each was told the bit as it came to
    /// the door, in `room_locked`).
    pub(super) fn settle_host_presence(&mut self, out: &mut Out) {
        let present = self.host_present();
        if present != self.host_present_told {
            self.host_present_told = present;
            out.send_many(self.conns.outsiders(), Event::HostPresence { present });
        }
    }
}

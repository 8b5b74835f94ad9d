//! What people outside the room may know of it, and are told as it changes: whether a host is in
//! (a knock made while none is waits unseen until one arrives, and the knocker should know that
//! rather than be told a host was alerted), whether the call is being recorded (they decide
//! whether to go in knowing it), and whether it is still locked (unlocked, someone at the door who
//! has not knocked comes in as anyone would). Nothing else of the room reaches them.

use super::{Out, Room};
use crate::room::event::{DoorView, Event};
use crate::room::model::Role;

impl Room {
    pub(super) fn door_view(&self) -> DoorView {
        DoorView {
            host_present: self.host_present(),
            recording: self.recording.is_some(),
            locked: self.locked,
        }
    }

    /// A host is in the room: connected, or away and expected back (their page reloading, or
    /// their server gone with the room carried on), who will see the queue on their return.
    fn host_present(&self) -> bool {
        self.conns.members().any(|(_, _, role)| role == Role::Host)
            || self.away_members.values().any(|m| m.role == Role::Host)
    }

    /// After each input: everyone outside hears of a change (each was told the view as it came
    /// to the door, in `room_locked`).
    pub(super) fn settle_door_view(&mut self, out: &mut Out) {
        let view = self.door_view();
        if view != self.door_told {
            self.door_told = view;
            out.send_many(self.conns.outsiders(), Event::DoorChanged(view));
        }
    }
}

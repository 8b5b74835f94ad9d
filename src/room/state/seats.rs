//! Seats: how many may be in the room (by mode), and the seats held for accepted knockers until they
//! enter, so that an admitted guest always finds room and "admit all" stops where the seats do.

use std::collections::BTreeSet;

use crate::meeting::RoomMode;
use crate::room::model::{ClientId, Role};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capacity {
    /// Hosts, visitors and admitted knockers.
    pub participants: usize,
    /// Participants plus viewers.
    pub total: usize,
}

impl Capacity {
    pub fn of(mode: RoomMode) -> Self {
        match mode {
            RoomMode::Normal => Capacity {
                participants: 4,
                total: 8,
            },
            // Whereby's group rooms: 200 hosts and participants, and 400 viewers besides.
            RoomMode::Group => Capacity {
                participants: 200,
                total: 600,
            },
        }
    }
}

/// Who is in the room right now, as seats count them.
#[derive(Debug, Clone, Copy)]
pub(super) struct Occupancy {
    pub members: usize,
    pub participants: usize,
}

#[derive(Debug)]
pub(super) struct Seats {
    pub capacity: Capacity,
    held: BTreeSet<ClientId>,
}

impl Seats {
    pub fn new(capacity: Capacity) -> Self {
        Seats {
            capacity,
            held: BTreeSet::new(),
        }
    }

    pub fn hold(&mut self, client: ClientId) {
        self.held.insert(client);
    }

    /// Gives up a held seat (its client entered, or the hold ran out); false when none was held.
    pub fn release(&mut self, client: &ClientId) -> bool {
        self.held.remove(client)
    }

    pub fn held(&self) -> impl Iterator<Item = &ClientId> {
        self.held.iter()
    }

    pub fn held_count(&self) -> usize {
        self.held.len()
    }

    pub fn clear(&mut self) {
        self.held.clear();
    }

    /// Whether a member of this role fits, counting the seats held for accepted knockers other than
    /// `entering` (the client about to take its own held seat).
    pub fn fits(&self, role: Role, now: Occupancy, entering: Option<&ClientId>) -> bool {
        let held = self.held.iter().filter(|id| Some(*id) != entering).count();
        let total = now.members + held;
        let participants = now.participants + held;
        match role {
            Role::Viewer => total < self.capacity.total,
            _ => participants < self.capacity.participants && total < self.capacity.total,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_room_seats_200_participants_and_400_viewers_besides() {
        let seats = Seats::new(Capacity::of(RoomMode::Group));
        let full_of_participants = Occupancy {
            members: 200,
            participants: 200,
        };
        assert!(!seats.fits(Role::GrantedVisitor, full_of_participants, None));
        assert!(seats.fits(Role::Viewer, full_of_participants, None));
        let almost_full = Occupancy {
            members: 599,
            participants: 200,
        };
        assert!(seats.fits(Role::Viewer, almost_full, None));
        let full = Occupancy {
            members: 600,
            participants: 200,
        };
        assert!(!seats.fits(Role::Viewer, full, None));
    }
}

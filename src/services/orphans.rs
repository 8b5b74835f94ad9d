//! Which rooms nobody runs are due to be adopted. A room whose node died is taken by the first node
//! one of its people comes back through, which a balancer hashing on the room makes the same node
//! for all of them (deployment.md). Adopting it sooner from elsewhere would leave them all bridged
//! to the adopter for the rest of the room's life. So a node adopts a room only once it has found
//! it orphaned on `ADOPT_AFTER` maintenance passes in a row (a pass every third of a lease: about a
//! lease after it was first found), for the room's timers to run when nobody comes back at all.

use std::collections::HashMap;

use crate::meeting::RoomName;

/// Passes in a row a room must be found orphaned before this node adopts it.
pub const ADOPT_AFTER: u32 = 4;

#[derive(Default)]
pub struct OrphanWatch {
    /// Each room found orphaned on the last pass, and on how many passes in a row.
    seen: HashMap<RoomName, u32>,
}

impl OrphanWatch {
    /// One maintenance pass found these rooms orphaned: returns those to adopt now.
    pub fn due(&mut self, orphans: Vec<RoomName>) -> Vec<RoomName> {
        let mut seen = HashMap::with_capacity(orphans.len());
        let mut due = Vec::new();
        for room in orphans {
            let passes = self.seen.get(&room).map_or(1, |n| n + 1);
            if passes >= ADOPT_AFTER {
                due.push(room);
            } else {
                seen.insert(room, passes);
            }
        }
        // A room not found this time is run by someone again (or gone): its count starts over.
        self.seen = seen;
        due
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn room(n: u8) -> RoomName {
        RoomName::parse(&format!("/room-{n}")).expect("a valid room name")
    }

    #[test]
    fn a_room_is_due_on_its_fourth_pass_in_a_row_and_counts_again_after_a_gap() {
        let mut watch = OrphanWatch::default();
        for _ in 1..ADOPT_AFTER {
            assert!(watch.due(vec![room(1)]).is_empty());
        }
        // Someone ran it again for a pass: the count starts over.
        assert!(watch.due(vec![]).is_empty());
        for _ in 1..ADOPT_AFTER {
            assert!(watch.due(vec![room(1), room(2)]).is_empty());
        }
        assert_eq!(watch.due(vec![room(1), room(2)]), [room(1), room(2)]);
    }

    proptest! {
        /// Over any sequence of passes, a room is due exactly when the last ADOPT_AFTER passes
        /// since it was last due (or since the start) all found it orphaned.
        #[test]
        fn due_after_adopt_after_passes_in_a_row(passes in prop::collection::vec(prop::collection::vec(0u8..4, 0..4), 0..30)) {
            let mut watch = OrphanWatch::default();
            let mut streak = [0u32; 4];
            for pass in passes {
                let found: Vec<RoomName> = (0..4u8).filter(|n| pass.contains(n)).map(room).collect();
                let due = watch.due(found);
                for n in 0..4u8 {
                    streak[n as usize] = if pass.contains(&n) { streak[n as usize] + 1 } else { 0 };
                    let expected = streak[n as usize] == ADOPT_AFTER;
                    prop_assert_eq!(due.contains(&room(n)), expected);
                    if expected {
                        streak[n as usize] = 0;
                    }
                }
            }
        }
    }
}

//! Which rooms failed lately. A room whose state machine fails (a bug) is carried on from the state
//! kept before the failure, once: if it fails again within `FAULT_MEMORY`, that state may be what
//! fails, and the room starts afresh instead of failing at every opening.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::meeting::RoomName;

/// How long a room's failure is remembered.
pub(super) const FAULT_MEMORY: Duration = Duration::from_secs(60);

#[derive(Default)]
pub(super) struct RecentFaults(Mutex<HashMap<RoomName, Instant>>);

impl RecentFaults {
    /// Notes that `room` failed at `now`; true when it had failed within `FAULT_MEMORY` before.
    pub fn failed(&self, room: &RoomName, now: Instant) -> bool {
        // Holders insert and remove whole entries: a panic leaves the map consistent.
        let mut faults = self.0.lock().unwrap_or_else(|p| p.into_inner());
        faults.retain(|_, at| now.saturating_duration_since(*at) < FAULT_MEMORY);
        faults.insert(room.clone(), now).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_failure_within_a_minute_is_told_apart_from_a_first() {
        let faults = RecentFaults::default();
        let (a, b) = (
            RoomName::parse("/a").expect("a room name"),
            RoomName::parse("/b").expect("a room name"),
        );
        let start = Instant::now();
        assert!(!faults.failed(&a, start), "a first failure");
        assert!(!faults.failed(&b, start), "another room's is its own");
        assert!(faults.failed(&a, start + Duration::from_secs(30)), "again");
        // Remembered from the last failure, not the first.
        assert!(faults.failed(&a, start + Duration::from_secs(80)), "again");
        assert!(
            !faults.failed(&a, start + Duration::from_secs(141)),
            "a minute later"
        );
    }
}

//! Room sessions, as insights and webhooks count them: a session starts with the second member and
//! ends once fewer than two members have stayed that way for the grace period.

use chrono::{DateTime, Duration, Utc};

use super::deadlines::{Deadlines, Timer};
use crate::meeting::MeetingId;

#[derive(Debug, Default)]
pub(super) struct Sessions {
    current: Option<String>,
}

impl Sessions {
    /// The id of the session the room is in.
    pub fn id(&self) -> Option<&str> {
        self.current.as_deref()
    }

    pub fn is_open(&self) -> bool {
        self.current.is_some()
    }

    /// After the number of members changed: returns the id of a session that starts now. With two or
    /// more members, a pending end is called off; with fewer, the end is scheduled (once).
    pub fn members_changed(
        &mut self,
        members: usize,
        now: DateTime<Utc>,
        meeting: MeetingId,
        grace: Duration,
        deadlines: &mut Deadlines,
    ) -> Option<String> {
        match &self.current {
            None if members >= 2 => {
                let id = format!("{meeting}-{}", now.timestamp_millis());
                self.current = Some(id.clone());
                return Some(id);
            }
            Some(_) if members >= 2 => {
                deadlines.cancel(&Timer::SessionEnd);
            }
            Some(_) if !deadlines.contains(&Timer::SessionEnd) => {
                deadlines.set(Timer::SessionEnd, now + grace);
            }
            _ => {}
        }
        None
    }

    /// Goes on with a session a kept room was in.
    pub fn resume(&mut self, id: String) {
        self.current = Some(id);
    }

    /// Ends the session, if there is one; returns its id.
    pub fn end(&mut self, deadlines: &mut Deadlines) -> Option<String> {
        deadlines.cancel(&Timer::SessionEnd);
        self.current.take()
    }
}

//! Whether a member's media path is interrupted, as the media server hears it: nothing at all (no
//! media, no RTCP, no ICE check) has come from them for a while, though they are still in the room.
//! The others' clients are told, so that the member's tile says so rather than standing still.

use std::time::{Duration, Instant};

/// Silence this long means a path that is down. A browser on a working path sends something at
/// least this often even with its microphone and camera off: its ICE consent checks come every
/// 5 s at most (RFC 7675), besides RTCP for what it receives. Chromium calls a peer-to-peer path
/// disconnected after about as long, so the two kinds of room say so alike.
pub(super) const QUIET_AFTER: Duration = Duration::from_secs(6);

/// When a member was last heard from, and whether the others were told their path is down.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Hearing {
    /// `None` until their first datagram: a path still being made is not an interrupted one.
    heard_at: Option<Instant>,
    quiet: bool,
}

impl Hearing {
    /// A datagram came from them: `true` when that ends an interruption the others were told of.
    pub fn heard(&mut self, now: Instant) -> bool {
        self.heard_at = Some(self.heard_at.map_or(now, |at| at.max(now)));
        std::mem::replace(&mut self.quiet, false)
    }

    /// `true` once, when they have been silent long enough for the others to be told.
    pub fn gone_quiet(&mut self, now: Instant) -> bool {
        let Some(heard_at) = self.heard_at else {
            return false;
        };
        if self.quiet || now.saturating_duration_since(heard_at) < QUIET_AFTER {
            return false;
        }
        self.quiet = true;
        true
    }

    /// Whether the others were told their path is down (and not yet that it is back).
    pub fn is_quiet(&self) -> bool {
        self.quiet
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silence_is_told_once_and_its_end_once() {
        let start = Instant::now();
        let mut hearing = Hearing::default();
        assert!(
            !hearing.gone_quiet(start + QUIET_AFTER * 2),
            "never heard: a path being made"
        );
        assert!(!hearing.heard(start), "never quiet: nothing to end");
        assert!(!hearing.gone_quiet(start + QUIET_AFTER - Duration::from_millis(1)));
        assert!(!hearing.heard(start + Duration::from_secs(1)));
        // Counted from the last datagram, not from the start.
        assert!(!hearing.gone_quiet(start + QUIET_AFTER));
        let quiet_at = start + Duration::from_secs(1) + QUIET_AFTER;
        assert!(hearing.gone_quiet(quiet_at));
        assert!(hearing.is_quiet());
        assert!(
            !hearing.gone_quiet(quiet_at + Duration::from_secs(5)),
            "told once"
        );
        assert!(hearing.heard(quiet_at + Duration::from_secs(6)));
        assert!(!hearing.is_quiet());
        assert!(
            !hearing.heard(quiet_at + Duration::from_secs(7)),
            "its end told once"
        );
        assert!(!hearing.gone_quiet(quiet_at + Duration::from_secs(8)));
    }

    #[test]
    fn a_datagram_stamped_earlier_does_not_move_the_last_time_back() {
        let start = Instant::now();
        let mut hearing = Hearing::default();
        hearing.heard(start + Duration::from_secs(3));
        hearing.heard(start);
        assert!(!hearing.gone_quiet(start + QUIET_AFTER));
        assert!(hearing.gone_quiet(start + Duration::from_secs(3) + QUIET_AFTER));
    }
}

//! Who speaks loudest in a room, from the audio levels (RFC 6464) its publishers put on their audio
//! packets. Pure: levels and time come in, a change of speaker comes out.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::meeting::ClientId;

/// How often the loudest speaker is looked for.
const DECIDE_EVERY: Duration = Duration::from_millis(300);
/// Loudness (127 + dBov) a voice must keep up to count as speaking; -50 dBov is quiet speech.
const SPEAKING: f32 = 77.0;
/// How much louder a newcomer must be than the current speaker to take over (no flapping).
const TAKEOVER_MARGIN: f32 = 6.0;
/// How often the loudest voices are ranked again for subscribers' audio slots.
const RERANK_EVERY: Duration = Duration::from_secs(1);
/// No audio packet for this long counts as silence (a muted browser may stop sending).
const QUIET_AFTER: Duration = Duration::from_millis(300);
/// Weight of each new level in the running loudness (audio packets come every 20 ms).
const SMOOTHING: f32 = 0.1;

#[derive(Debug, Default)]
pub struct Speakers {
    /// Running loudness, and when the last audio packet came (a muted browser may send none).
    loudness: HashMap<ClientId, (f32, Instant)>,
    current: Option<ClientId>,
    decided_at: Option<Instant>,
    reranked_at: Option<Instant>,
}

impl Speakers {
    /// One audio packet's level, in -dBov (0 loudest, -127 silence), heard at `now`.
    pub fn heard(&mut self, who: &ClientId, level: i8, now: Instant) {
        let loud = 127.0 + f32::from(level.clamp(-127, 0));
        match self.loudness.get_mut(who) {
            Some((running, at)) => {
                // After a silence with no packets at all, start from silence rather than from
                // how loud it was before.
                if now.duration_since(*at) >= QUIET_AFTER {
                    *running = 0.0;
                }
                *running += SMOOTHING * (loud - *running);
                *at = now;
            }
            None => {
                self.loudness.insert(who.clone(), (loud * SMOOTHING, now));
            }
        }
    }

    /// Publishers heard in this room.
    pub fn voices(&self) -> usize {
        self.loudness.len()
    }

    /// True once a `RERANK_EVERY`, when the loudest voices should be ranked again.
    pub fn due_rerank(&mut self, now: Instant) -> bool {
        if self
            .reranked_at
            .is_some_and(|at| now.duration_since(at) < RERANK_EVERY)
        {
            return false;
        }
        self.reranked_at = Some(now);
        true
    }

    /// How loud someone is at `now` (0 silent, 127 the loudest): nothing when no packet came
    /// for a while.
    pub fn loudness(&self, who: &ClientId, now: Instant) -> f32 {
        match self.loudness.get(who) {
            Some((running, at)) if now.duration_since(*at) < QUIET_AFTER => *running,
            _ => 0.0,
        }
    }

    pub fn forget(&mut self, who: &ClientId) {
        self.loudness.remove(who);
        if self.current.as_ref() == Some(who) {
            self.current = None;
        }
    }

    /// The new dominant speaker, when it changed since the last call.
    pub fn decide(&mut self, now: Instant) -> Option<ClientId> {
        if self
            .decided_at
            .is_some_and(|at| now.duration_since(at) < DECIDE_EVERY)
        {
            return None;
        }
        self.decided_at = Some(now);
        let (loudest, level) = self
            .loudness
            .keys()
            .map(|who| (who, self.loudness(who, now)))
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(who, level)| (who.clone(), level))?;
        if level < SPEAKING || self.current.as_ref() == Some(&loudest) {
            return None;
        }
        let current_level = self.current.as_ref().map_or(0.0, |c| self.loudness(c, now));
        if self.current.is_some() && level < current_level + TAKEOVER_MARGIN {
            return None;
        }
        self.current = Some(loudest.clone());
        Some(loudest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> ClientId {
        ClientId::new(s.to_owned())
    }

    #[test]
    fn the_loud_one_becomes_dominant_and_stays_until_someone_is_clearly_louder() {
        let mut speakers = Speakers::default();
        let start = Instant::now();
        let mut changes = Vec::new();
        for step in 0..200 {
            let now = start + Duration::from_millis(20 * step);
            speakers.heard(&id("loud"), -20, now);
            speakers.heard(&id("quiet"), -90, now);
            if let Some(who) = speakers.decide(now) {
                changes.push(who);
            }
        }
        assert_eq!(changes, vec![id("loud")]);
        // Slightly louder is not enough; clearly louder is.
        for step in 200..400 {
            let now = start + Duration::from_millis(20 * step);
            speakers.heard(&id("loud"), -20, now);
            speakers.heard(&id("quiet"), -5, now);
            if let Some(who) = speakers.decide(now) {
                changes.push(who);
            }
        }
        assert_eq!(changes, vec![id("loud"), id("quiet")]);
    }

    #[test]
    fn silence_makes_no_speaker() {
        let mut speakers = Speakers::default();
        let start = Instant::now();
        for step in 0..100 {
            let now = start + Duration::from_millis(20 * step);
            speakers.heard(&id("a"), -127, now);
            assert_eq!(speakers.decide(now), None);
        }
    }

    #[test]
    fn one_who_stops_sending_gives_way() {
        let mut speakers = Speakers::default();
        let start = Instant::now();
        let mut changes = Vec::new();
        // "a" speaks, then is muted and its browser sends nothing; then "b" speaks more softly.
        for step in 0..100 {
            let now = start + Duration::from_millis(20 * step);
            speakers.heard(&id("a"), -3, now);
            changes.extend(speakers.decide(now));
        }
        for step in 100..200 {
            let now = start + Duration::from_millis(20 * step);
            speakers.heard(&id("b"), -30, now);
            changes.extend(speakers.decide(now));
        }
        assert_eq!(changes, vec![id("a"), id("b")]);
    }
}

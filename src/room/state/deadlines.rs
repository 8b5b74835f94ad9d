//! Every time the room waits for, in one place: what `Tick` acts on, what keeps a room from being
//! idle, and when the actor must next wake up.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::room::model::{ClientId, KnockerKey};

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub(super) enum Timer {
    /// A knocker's connection dropped: its knock keeps its place until then.
    KnockAway(ClientId),
    /// A verdict reached while its knocker was away, kept (by resume token) until then.
    AwayVerdict(String),
    /// A knock waited longer than the room allows: it ends then (unless a host answers first).
    KnockTimeout(ClientId),
    /// A rejected knocker (its device, or its address) may not knock on the room again until then.
    Cooldown(KnockerKey),
    /// The seat held for an accepted knocker, until it enters or the grace runs out.
    HeldSeat(ClientId),
    /// A guest a host removed: its grant is refused until it would have expired.
    Removed(ClientId),
    /// A member the room was carried on without (its server stopped or died): it may take its
    /// place back with its resume token until then.
    MemberAway(String),
    /// Fewer than two members are left: the session ends then, unless a second one returns.
    SessionEnd,
    /// The room itself ends (an hour after the meeting's end date).
    Expiry,
}

#[derive(Debug, Default)]
pub(super) struct Deadlines {
    at: HashMap<Timer, DateTime<Utc>>,
    /// The same timers, soonest first.
    order: BTreeSet<(DateTime<Utc>, Timer)>,
}

impl Deadlines {
    /// Sets (or moves) a timer.
    pub fn set(&mut self, timer: Timer, at: DateTime<Utc>) {
        if let Some(old) = self.at.insert(timer.clone(), at) {
            self.order.remove(&(old, timer.clone()));
        }
        self.order.insert((at, timer));
    }

    /// Removes a timer; returns when it would have fired.
    pub fn cancel(&mut self, timer: &Timer) -> Option<DateTime<Utc>> {
        let at = self.at.remove(timer)?;
        self.order.remove(&(at, timer.clone()));
        Some(at)
    }

    pub fn get(&self, timer: &Timer) -> Option<DateTime<Utc>> {
        self.at.get(timer).copied()
    }

    pub fn contains(&self, timer: &Timer) -> bool {
        self.at.contains_key(timer)
    }

    /// The soonest timer's time.
    pub fn next(&self) -> Option<DateTime<Utc>> {
        self.order.first().map(|(at, _)| *at)
    }

    /// Removes and returns every timer due at `now`, soonest first.
    pub fn take_due(&mut self, now: DateTime<Utc>) -> Vec<Timer> {
        let mut due = Vec::new();
        while let Some((at, _)) = self.order.first()
            && *at <= now
        {
            let Some((_, timer)) = self.order.pop_first() else {
                break;
            };
            self.at.remove(&timer);
            due.push(timer);
        }
        due
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Timer, DateTime<Utc>)> {
        self.at.iter().map(|(timer, at)| (timer, *at))
    }

    pub fn len(&self) -> usize {
        self.at.len()
    }

    pub fn clear(&mut self) {
        self.at.clear();
        self.order.clear();
    }

    /// The two indexes hold the same timers (checked by the room's invariants).
    pub fn is_consistent(&self) -> bool {
        self.at.len() == self.order.len()
            && self
                .order
                .iter()
                .all(|(at, timer)| self.at.get(timer) == Some(at))
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    #[test]
    fn timers_fire_soonest_first_and_move_when_set_again() {
        let t0 = Utc::now();
        let mut d = Deadlines::default();
        d.set(Timer::Expiry, t0 + Duration::seconds(30));
        d.set(Timer::SessionEnd, t0 + Duration::seconds(10));
        d.set(
            Timer::Removed(ClientId::new("a")),
            t0 + Duration::seconds(20),
        );
        d.set(Timer::SessionEnd, t0 + Duration::seconds(25));
        assert_eq!(d.next(), Some(t0 + Duration::seconds(20)));
        assert_eq!(
            d.take_due(t0 + Duration::seconds(25)),
            vec![Timer::Removed(ClientId::new("a")), Timer::SessionEnd]
        );
        assert_eq!(d.len(), 1);
        assert!(d.is_consistent());
        assert_eq!(d.cancel(&Timer::Expiry), Some(t0 + Duration::seconds(30)));
        assert_eq!(d.next(), None);
    }
}

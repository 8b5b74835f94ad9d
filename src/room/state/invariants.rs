//! What must hold between any two steps of the room. The property tests call `check_invariants`
//! after every step; a violation is a bug in the room, so it panics with what broke.

use std::collections::BTreeSet;

use super::Room;
use super::connections::Place;
use super::deadlines::Timer;
use crate::room::model::ClientId;

impl Room {
    /// Panics, saying which, when an internal invariant does not hold.
    pub fn check_invariants(&self) {
        assert!(
            self.deadlines.is_consistent(),
            "the deadline indexes disagree"
        );
        if self.ended {
            assert!(
                self.conns.is_empty()
                    && self.queue.is_empty()
                    && self.away_verdicts.is_empty()
                    && self.away_members.is_empty()
                    && self.seats.held_count() == 0
                    && self.recording.is_none()
                    && !self.session.is_open()
                    && self.deadlines.len() == 0,
                "an ended room remembers nothing"
            );
            return;
        }
        assert_eq!(
            self.deadlines.get(&Timer::Expiry),
            Some(self.config.expires_at),
            "a live room's expiry is scheduled"
        );
        self.check_one_connection_per_client();
        self.check_knocks();
        self.check_seats();
        self.check_session();
        self.check_timers();
    }

    fn check_one_connection_per_client(&self) {
        let mut clients = BTreeSet::new();
        for (conn, c) in self.conns.iter() {
            assert!(
                clients.insert(c.client_id.clone()),
                "client {} has a second connection ({conn})",
                c.client_id
            );
        }
        for away in self.away_members.values() {
            assert!(
                clients.insert(away.client_id.clone()),
                "client {} is connected and away at once",
                away.client_id
            );
        }
    }

    /// A connection is knocking exactly when a queued knock points at it; a knock without a
    /// connection is away, with its grace scheduled; no member is also queued.
    fn check_knocks(&self) {
        let mut queued = BTreeSet::new();
        for knock in self.queue.iter() {
            assert!(
                queued.insert(knock.client_id.clone()),
                "client {} knocks twice",
                knock.client_id
            );
            assert_eq!(
                self.deadlines
                    .contains(&Timer::KnockTimeout(knock.client_id.clone())),
                self.config.knock_timeout.is_some(),
                "the knock of {} has a time-out exactly when the room sets one",
                knock.client_id
            );
            let away = Timer::KnockAway(knock.client_id.clone());
            match knock.conn {
                Some(conn) => {
                    let c = self.conns.get(conn);
                    assert!(
                        c.is_some_and(
                            |c| c.place == Place::Knocking && c.client_id == knock.client_id
                        ),
                        "the knock of {} points at connection {conn}, which is not knocking as it",
                        knock.client_id
                    );
                    assert!(
                        knock.away_since.is_none() && !self.deadlines.contains(&away),
                        "the knock of {} is present and away at once",
                        knock.client_id
                    );
                }
                None => {
                    let due = knock.away_since.map(|t| t + knock.away_grace(&self.config));
                    assert!(
                        due.is_some() && self.deadlines.get(&away) == due,
                        "the away knock of {} has no grace scheduled",
                        knock.client_id
                    );
                }
            }
        }
        for (conn, c) in self.conns.iter() {
            match c.place {
                Place::Knocking => assert!(
                    self.queue
                        .iter()
                        .any(|k| k.conn == Some(conn) && k.client_id == c.client_id),
                    "connection {conn} is knocking with no knock in the queue"
                ),
                Place::Member(_) => assert!(
                    !queued.contains(&c.client_id),
                    "member {} is also in the knock queue",
                    c.client_id
                ),
                Place::Outside => {}
            }
        }
        assert!(
            self.queue.len() <= self.config.max_knocks,
            "the queue is longer than its limit"
        );
    }

    /// Held seats are timed, belong to clients not yet in, and fit with the members.
    fn check_seats(&self) {
        let timed: BTreeSet<ClientId> = self
            .deadlines
            .iter()
            .filter_map(|(timer, _)| match timer {
                Timer::HeldSeat(client) => Some(client.clone()),
                _ => None,
            })
            .collect();
        let held: BTreeSet<ClientId> = self.seats.held().cloned().collect();
        assert_eq!(held, timed, "held seats and their timers disagree");
        for client in &held {
            assert!(
                self.conns.member_conn(client).is_none(),
                "{client} is in the room and still holds a seat"
            );
        }
        let capacity = self.seats.capacity;
        assert!(
            self.participant_count() + held.len() <= capacity.participants,
            "more participants and held seats than the room has"
        );
        assert!(
            self.member_count() + held.len() <= capacity.total,
            "more members and held seats than the room has"
        );
    }

    /// A session is open whenever two or more members are in; with fewer, its end is scheduled.
    fn check_session(&self) {
        // Members away count: the session goes on while they come back.
        let members = self.member_count() + self.away_members.len();
        let end_scheduled = self.deadlines.contains(&Timer::SessionEnd);
        if members >= 2 {
            assert!(
                self.session.is_open() && !end_scheduled,
                "{members} members but no running session"
            );
        } else {
            assert_eq!(
                self.session.is_open(),
                end_scheduled,
                "a session with fewer than two members has its end scheduled, and only then"
            );
        }
    }

    /// Every timer has something to act on.
    fn check_timers(&self) {
        for (timer, _) in self.deadlines.iter() {
            match timer {
                Timer::KnockAway(client) => assert!(
                    self.queue
                        .iter()
                        .any(|k| &k.client_id == client && k.conn.is_none()),
                    "a grace timer for {client}, who is not away"
                ),
                Timer::KnockTimeout(client) => assert!(
                    self.queue.contains(client),
                    "a time-out for {client}, who is not waiting"
                ),
                Timer::AwayVerdict(token) => assert!(
                    self.away_verdicts.contains_key(token),
                    "a timer for a verdict no one keeps"
                ),
                Timer::MemberAway(token) => assert!(
                    self.away_members.contains_key(token),
                    "a grace timer for a member who is not away"
                ),
                Timer::HeldSeat(_)
                | Timer::Cooldown(_)
                | Timer::Removed(_)
                | Timer::SessionEnd
                | Timer::Expiry => {}
            }
        }
        for token in self.away_members.keys() {
            assert!(
                self.deadlines.contains(&Timer::MemberAway(token.clone())),
                "a member away for good"
            );
        }
        for token in self.away_verdicts.keys() {
            assert!(
                self.deadlines.contains(&Timer::AwayVerdict(token.clone())),
                "a kept verdict that never expires"
            );
        }
    }
}

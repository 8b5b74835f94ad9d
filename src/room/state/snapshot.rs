//! A room's state as it can be kept outside this process, and carried on from there: by this server
//! after it restarts, or by another node when this one stops or dies. What it keeps is what people
//! would miss: the knock queue in order with its holds and messages, verdicts not yet heard, who
//! was inside (to let them back without a key or a knock), cooldowns, removals, held seats and the
//! session. Connections are this process's and are not kept: everyone comes back on a new one,
//! with its resume token, within the grace the restored room gives them.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::connections::{Connections, Place};
use super::deadlines::{Deadlines, Timer};
use super::queue::{Knock, KnockQueue};
use super::seats::{Capacity, Seats};
use super::session::Sessions;
use super::{AwayMember, AwayVerdict, Room, RoomConfig};
use crate::room::model::{ClientId, RecordingNow};

/// The version of the kept form; a keeper refuses a snapshot of another.
const VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    version: u32,
    locked: bool,
    /// The first in the spotlight, as servers of before several could be read it (absent from
    /// snapshots of before the spotlight: nobody in it).
    #[serde(default)]
    spotlight: Option<ClientId>,
    /// Everyone in the spotlight, in order (absent from snapshots of before several could be:
    /// `spotlight` alone).
    #[serde(default)]
    spotlights: Vec<ClientId>,
    /// A host's browser recording the call (absent from older snapshots: nobody).
    #[serde(default)]
    recording: Option<RecordingNow>,
    /// Raised hands, oldest first (absent from older snapshots: none).
    #[serde(default)]
    hands: Vec<(ClientId, DateTime<Utc>)>,
    /// By resume token: the members inside when it was taken, and those still away.
    members: Vec<(String, AwayMember)>,
    /// Oldest first.
    knocks: Vec<Knock>,
    away_verdicts: Vec<(String, AwayVerdict)>,
    held_seats: Vec<ClientId>,
    session: Option<String>,
    /// Every timer but the ones a restore sets anew (graces, the room's expiry).
    timers: Vec<(Timer, DateTime<Utc>)>,
}

/// Why a snapshot cannot be carried on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a room snapshot of version {0} cannot be carried on by this version (it reads {VERSION})")]
pub struct UnknownVersion(u32);

impl Snapshot {
    /// Whether this version can carry the snapshot on.
    pub fn check(&self) -> Result<(), UnknownVersion> {
        if self.version != VERSION {
            return Err(UnknownVersion(self.version));
        }
        Ok(())
    }
}

impl Room {
    /// The room's state as it stands, to be kept.
    pub fn snapshot(&self) -> Snapshot {
        let mut members: Vec<(String, AwayMember)> = self
            .conns
            .iter()
            .filter_map(|(_, c)| match c.place {
                Place::Member(role) => Some((
                    c.resume_token.clone(),
                    AwayMember {
                        client_id: c.client_id.clone(),
                        role,
                        identity: c.identity.clone(),
                        media: c.media,
                        peer: c.peer,
                        device: c.device.clone(),
                    },
                )),
                _ => None,
            })
            .collect();
        members.extend(
            self.away_members
                .iter()
                .map(|(token, m)| (token.clone(), m.clone())),
        );
        Snapshot {
            version: VERSION,
            locked: self.locked,
            spotlight: self.spotlights.first().cloned(),
            spotlights: self.spotlights.clone(),
            recording: self.recording.clone(),
            hands: self.hands.clone(),
            members,
            knocks: self
                .queue
                .iter()
                .map(|knock| Knock {
                    // This process's: not kept.
                    conn: None,
                    told_position: None,
                    ..knock.clone()
                })
                .collect(),
            away_verdicts: self
                .away_verdicts
                .iter()
                .map(|(token, v)| (token.clone(), v.clone()))
                .collect(),
            held_seats: self.seats.held().cloned().collect(),
            session: self.session.id().map(str::to_owned),
            timers: self
                .deadlines
                .iter()
                .filter(|(timer, _)| kept_as_is(timer))
                .map(|(timer, at)| (timer.clone(), at))
                .collect(),
        }
    }

    /// Carries a kept room on at `now`: every member is away and every knock is away, each for its
    /// grace from now (their connections were the old process's); the rest is as it was.
    pub fn restore(
        config: RoomConfig,
        snapshot: Snapshot,
        now: DateTime<Utc>,
    ) -> Result<Room, UnknownVersion> {
        snapshot.check()?;
        let grace = now + config.resume_grace;
        let knock_grace = now + config.knock_away_grace;
        let mut deadlines = Deadlines::default();
        deadlines.set(Timer::Expiry, config.expires_at);
        for (timer, at) in snapshot.timers {
            if kept_as_is(&timer) {
                deadlines.set(timer, at);
            }
        }
        let mut queue = KnockQueue::default();
        for mut knock in snapshot.knocks {
            knock.conn = None;
            knock.away_since = Some(now);
            knock.told_position = None;
            deadlines.set(
                Timer::KnockAway(knock.client_id.clone()),
                now + knock.away_grace(&config),
            );
            queue.push(knock);
        }
        let mut away_members = HashMap::new();
        for (token, member) in snapshot.members {
            deadlines.set(Timer::MemberAway(token.clone()), grace);
            away_members.insert(token, member);
        }
        let mut away_verdicts = HashMap::new();
        for (token, verdict) in snapshot.away_verdicts {
            deadlines.set(Timer::AwayVerdict(token.clone()), knock_grace);
            away_verdicts.insert(token, verdict);
        }
        let mut seats = Seats::new(Capacity::of(config.mode));
        for client in snapshot.held_seats {
            if !deadlines.contains(&Timer::HeldSeat(client.clone())) {
                deadlines.set(Timer::HeldSeat(client.clone()), grace);
            }
            seats.hold(client);
        }
        let mut session = Sessions::default();
        if let Some(id) = snapshot.session {
            session.resume(id);
        }
        let mut room = Room {
            seats,
            locked: snapshot.locked,
            spotlights: if snapshot.spotlights.is_empty() {
                snapshot.spotlight.into_iter().collect()
            } else {
                snapshot.spotlights
            },
            recording: snapshot.recording,
            door_told: Default::default(),
            hands: snapshot.hands,
            reactions: Default::default(),
            chat: Default::default(),
            departures: Default::default(),
            config,
            conns: Connections::default(),
            queue,
            away_verdicts,
            away_members,
            session,
            deadlines,
            ended: false,
        };
        // Nobody is connected yet, but the members away count: a running session goes on, and one
        // that had ended its last member's stay ends on time.
        let mut out = super::Out::default();
        room.update_session(&mut out, now);
        // Nobody outside is connected to have been told otherwise.
        room.door_told = room.door_view();
        debug_assert!(out.0.is_empty(), "a restored room says nothing until asked");
        Ok(room)
    }
}

/// Timers a snapshot keeps with their times; the others a restore sets anew: the graces of who is
/// away (from the restore), the room's expiry (from the meeting), a session's end (from who is back).
fn kept_as_is(timer: &Timer) -> bool {
    matches!(
        timer,
        Timer::KnockTimeout(_) | Timer::Cooldown(_) | Timer::HeldSeat(_) | Timer::Removed(_)
    )
}

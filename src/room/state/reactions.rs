//! Reactions: a member (viewers too: an audience applauds) sends the room a passing reaction, and
//! every member, the sender too, is told who sent which. Nothing is kept but when each connection
//! last sent one and how many the room sent this second: each reaction is sent to everyone, so a
//! connection's are spaced out, and a room of hundreds sends a few dozen a second, not hundreds.

use chrono::{DateTime, Duration, Utc};

use super::{Out, Room};
use crate::room::event::{Event, RefusalCode};
use crate::room::model::{ConnId, Reaction, Request};

/// The least time between two reactions of one connection: a few a second are a burst of
/// applause, more would only be copies sent to everyone in the room.
pub(super) const REACTION_GAP: Duration = Duration::milliseconds(500);

/// The most reactions a room sends in a second (each to every member): applause from an audience
/// of 400 is still applause at this rate.
pub(super) const ROOM_REACTIONS_PER_SECOND: u32 = 20;

/// How many reactions the room sent in the second that began at `since`.
#[derive(Debug, Default)]
pub(super) struct ReactionBudget {
    since: Option<DateTime<Utc>>,
    sent: u32,
}

impl ReactionBudget {
    /// Whether one more may go now (and counts it if so).
    fn take(&mut self, now: DateTime<Utc>) -> bool {
        if self
            .since
            .is_none_or(|since| now >= since + Duration::seconds(1))
        {
            self.since = Some(now);
            self.sent = 0;
        }
        if self.sent >= ROOM_REACTIONS_PER_SECOND {
            return false;
        }
        self.sent += 1;
        true
    }
}

impl Room {
    pub(super) fn react(
        &mut self,
        out: &mut Out,
        now: DateTime<Utc>,
        conn: ConnId,
        reaction: Reaction,
    ) {
        let Some(sender) = self.conns.member(conn) else {
            out.refuse(
                conn,
                RefusalCode::NotInRoom,
                "only people in the room may react",
                Request::React,
            );
            return;
        };
        if let Some(last) = sender.last_reaction
            && now < last + REACTION_GAP
        {
            out.refuse(
                conn,
                RefusalCode::TooSoon,
                format!(
                    "one reaction every {} ms at most; this one was not sent",
                    REACTION_GAP.num_milliseconds()
                ),
                Request::React,
            );
            return;
        }
        let client_id = sender.client_id.clone();
        if !self.reactions.take(now) {
            out.refuse(
                conn,
                RefusalCode::TooSoon,
                format!(
                    "the room sends {ROOM_REACTIONS_PER_SECOND} reactions a second at most; this one was not sent"
                ),
                Request::React,
            );
            return;
        }
        if let Some(sender) = self.conns.get_mut(conn) {
            sender.last_reaction = Some(now);
        }
        out.send_many(
            self.conns.member_conns(),
            Event::Reacted {
                client_id,
                reaction,
            },
        );
    }
}

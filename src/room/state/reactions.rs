//! Reactions: a member (viewers too: an audience applauds) sends the room a passing reaction, and
//! every member, the sender too, is told who sent which. Nothing is kept but when each connection
//! last sent one: a connection's reactions are spaced out, as each is sent to everyone.

use chrono::{DateTime, Duration, Utc};

use super::{Out, Room};
use crate::room::event::{Event, RefusalCode};
use crate::room::model::{ConnId, Reaction, Request};

/// The least time between two reactions of one connection: a few a second are a burst of
/// applause, more would only be copies sent to everyone in the room.
pub(super) const REACTION_GAP: Duration = Duration::milliseconds(500);

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

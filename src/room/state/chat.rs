//! Chat: a member's message goes to every member (the server keeps no conversation: someone
//! entering later sees none of it). Each has an id, by which its sender, or a host, removes it
//! for everyone; the room remembers who sent its latest messages for that, not what they said.

use std::collections::VecDeque;

use chrono::{DateTime, Utc};

use super::{Out, Room};
use crate::room::event::{ChatLine, Event, RefusalCode};
use crate::room::model::{ClientId, ConnId, Request, Role};

/// How many of the latest messages their senders may still remove (a host removes any).
const REMEMBERED: usize = 1_000;

/// Who sent the latest messages, by id, and whether each was removed.
#[derive(Debug, Default)]
pub(super) struct ChatLog {
    sent: u64,
    latest: VecDeque<(String, ClientId, bool)>,
}

impl Room {
    pub(super) fn chat(&mut self, out: &mut Out, now: DateTime<Utc>, conn: ConnId, text: String) {
        let Some(sender) = self.conns.member(conn) else {
            out.refuse(
                conn,
                RefusalCode::NotInRoom,
                "only participants of the room may chat",
                Request::Chat,
            );
            return;
        };
        // The time keeps ids apart from those of before a restart, which clients may still show.
        let id = format!("{}-{}", now.timestamp_millis(), self.chat.sent);
        self.chat.sent += 1;
        if self.chat.latest.len() == REMEMBERED {
            self.chat.latest.pop_front();
        }
        let sender_id = sender.client_id.clone();
        self.chat
            .latest
            .push_back((id.clone(), sender_id.clone(), false));
        let line = ChatLine {
            id,
            sender_id,
            display_name: sender.identity.display_name.clone(),
            text,
            at: now,
        };
        out.send_many(self.conns.member_conns(), Event::Chat(line));
    }

    /// Removing a message removed already says nothing.
    pub(super) fn remove_chat(&mut self, out: &mut Out, conn: ConnId, id: String) {
        let Some(member) = self.conns.member(conn) else {
            out.refuse(
                conn,
                RefusalCode::NotInRoom,
                "only participants of the room may remove chat messages",
                Request::RemoveChat,
            );
            return;
        };
        let by = member.client_id.clone();
        let host = self.conns.role_of(conn) == Some(Role::Host);
        let known = self.chat.latest.iter_mut().find(|(known, ..)| *known == id);
        match known {
            Some((_, _, removed)) if *removed => return,
            Some((_, sender, removed)) if host || *sender == by => *removed = true,
            // A host removes any message, also one older than the room remembers.
            None if host => {}
            _ => {
                out.refuse(
                    conn,
                    RefusalCode::Forbidden,
                    "only its sender (or a host) removes a message",
                    Request::RemoveChat,
                );
                return;
            }
        }
        out.send_many(self.conns.member_conns(), Event::ChatRemoved { id, by });
    }
}

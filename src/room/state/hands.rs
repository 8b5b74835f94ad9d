//! Raised hands: a member (viewers too: an audience asks to speak) raises or lowers their own; a
//! host may lower anyone's, or everyone's at once. Members are told each change, and a newcomer finds the hands up, oldest
//! first. A hand stays up while its person's connection is away and goes down with every
//! `client_left` of them (which says so; nothing more is sent), whatever its reason.

use chrono::{DateTime, Utc};

use super::{Out, Room};
use crate::room::event::{Event, RefusalCode};
use crate::room::model::{ClientId, ConnId, Request, Role};

impl Room {
    /// `target` None: the sender's own hand.
    pub(super) fn set_hand(
        &mut self,
        out: &mut Out,
        now: DateTime<Utc>,
        conn: ConnId,
        target: Option<ClientId>,
        raised: bool,
    ) {
        let Some(sender) = self.conns.member(conn) else {
            out.refuse(
                conn,
                RefusalCode::NotInRoom,
                "only people in the room may raise a hand",
                Request::SetHand,
            );
            return;
        };
        let by = sender.client_id.clone();
        let target = target.unwrap_or_else(|| by.clone());
        if target != by {
            let host = self.conns.role_of(conn) == Some(Role::Host);
            if !host || raised {
                out.refuse(
                    conn,
                    RefusalCode::Forbidden,
                    "only hosts may lower another's hand, and nobody raises it for them",
                    Request::SetHand,
                );
                return;
            }
            if self.role_in_room(&target).is_none() {
                out.refuse(
                    conn,
                    RefusalCode::ClientNotFound,
                    format!("no participant {target} in the room"),
                    Request::SetHand,
                );
                return;
            }
        }
        let was_up = self.hands.iter().any(|(client, _)| client == &target);
        if was_up == raised {
            return;
        }
        let raised_at = raised.then_some(now);
        match raised_at {
            Some(at) => self.hands.push((target.clone(), at)),
            None => self.hands.retain(|(client, _)| client != &target),
        }
        let event = Event::HandChanged {
            client_id: target,
            raised_at,
            by,
        };
        out.send_many(self.conns.member_conns(), event);
    }

    /// A host lowers every hand, oldest first: each member hears each go down.
    pub(super) fn lower_all_hands(&mut self, out: &mut Out, conn: ConnId) {
        let Some(by) = self.acting_host(out, conn, Request::LowerAllHands) else {
            return;
        };
        for (client_id, _) in std::mem::take(&mut self.hands) {
            let event = Event::HandChanged {
                client_id,
                raised_at: None,
                by: by.clone(),
            };
            out.send_many(self.conns.member_conns(), event);
        }
    }

    /// With every `client_left` (members.rs): the person's hand goes with them.
    pub(super) fn lower_hand_of(&mut self, client: &ClientId) {
        self.hands.retain(|(c, _)| c != client);
    }

    /// The hands up, oldest first.
    pub(super) fn hands(&self) -> &[(ClientId, DateTime<Utc>)] {
        &self.hands
    }
}

//! The spotlight (Whereby's): hosts show people large on everyone's stage, up to
//! `SPOTLIGHT_MAX` at once, in the order put there; always people in the room: one goes out when
//! they leave (not while their connection is away, since they keep their place then).

use super::{Out, Room};
use crate::room::event::{Event, RefusalCode};
use crate::room::model::{ClientId, ConnId, Request, Role};

/// How many may be in the spotlight at once: four share the stage as a 2×2 grid.
pub const SPOTLIGHT_MAX: usize = 4;

impl Room {
    /// A host puts `target` alone in the spotlight (any others go out), or (`None`) turns it off.
    pub(super) fn set_spotlight(&mut self, out: &mut Out, conn: ConnId, target: Option<ClientId>) {
        let Some(by) = self.acting_host(out, conn, Request::SetSpotlight) else {
            return;
        };
        if let Some(target) = &target
            && !self.may_be_spotlit(out, conn, target, Request::SetSpotlight)
        {
            return;
        }
        let lit: Vec<ClientId> = target.into_iter().collect();
        if self.spotlights == lit {
            return;
        }
        self.spotlights = lit;
        self.announce_spotlight(out, Some(by));
    }

    /// A host adds `target` to the spotlight (`lit`), beside whoever is there, or takes them out.
    pub(super) fn change_spotlight(
        &mut self,
        out: &mut Out,
        conn: ConnId,
        target: ClientId,
        lit: bool,
    ) {
        let request = if lit {
            Request::AddSpotlight
        } else {
            Request::RemoveSpotlight
        };
        let Some(by) = self.acting_host(out, conn, request) else {
            return;
        };
        let there = self.spotlights.contains(&target);
        if lit == there {
            return;
        }
        if !lit {
            self.spotlights.retain(|client| *client != target);
        } else {
            if !self.may_be_spotlit(out, conn, &target, request) {
                return;
            }
            if self.spotlights.len() >= SPOTLIGHT_MAX {
                out.refuse(
                    conn,
                    RefusalCode::SpotlightFull,
                    format!(
                        "at most {SPOTLIGHT_MAX} people are in the spotlight at once; take one out first"
                    ),
                    request,
                );
                return;
            }
            self.spotlights.push(target);
        }
        self.announce_spotlight(out, Some(by));
    }

    /// Whether `target` may be in the spotlight: a participant in the room (a viewer sends no
    /// picture); else the refusal is said.
    fn may_be_spotlit(
        &self,
        out: &mut Out,
        conn: ConnId,
        target: &ClientId,
        request: Request,
    ) -> bool {
        match self.role_in_room(target) {
            None => {
                out.refuse(
                    conn,
                    RefusalCode::ClientNotFound,
                    format!("no participant {target} in the room"),
                    request,
                );
                false
            }
            Some(Role::Viewer) => {
                out.refuse(
                    conn,
                    RefusalCode::Forbidden,
                    "a viewer sends no picture to put in the spotlight",
                    request,
                );
                false
            }
            Some(_) => true,
        }
    }

    /// After every step: the spotlight on someone no longer in the room goes out.
    pub(super) fn settle_spotlight(&mut self, out: &mut Out) {
        let before = self.spotlights.len();
        let spotlights = std::mem::take(&mut self.spotlights);
        self.spotlights = spotlights
            .into_iter()
            .filter(|client| self.role_in_room(client).is_some())
            .collect();
        if self.spotlights.len() != before {
            self.announce_spotlight(out, None);
        }
    }

    /// Who is in the spotlight, in the order put there.
    pub(super) fn spotlights(&self) -> &[ClientId] {
        &self.spotlights
    }

    fn announce_spotlight(&self, out: &mut Out, by: Option<ClientId>) {
        let event = Event::SpotlightChanged {
            client_ids: self.spotlights.clone(),
            by,
        };
        out.send_many(self.conns.member_conns(), event);
    }
}

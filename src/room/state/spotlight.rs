//! The spotlight (Whereby's): a host shows one person large on everyone's stage. At most one at a
//! time, always someone in the room: it goes out when they leave (not while their connection is
//! away, since they keep their place then).

use super::{Out, Room};
use crate::room::event::{Event, RefusalCode};
use crate::room::model::{ClientId, ConnId, Request, Role};

impl Room {
    /// A host puts `target` in the spotlight, or (`None`) turns it off.
    pub(super) fn set_spotlight(&mut self, out: &mut Out, conn: ConnId, target: Option<ClientId>) {
        let Some(by) = self.acting_host(out, conn, Request::SetSpotlight) else {
            return;
        };
        if let Some(target) = &target {
            match self.role_in_room(target) {
                None => {
                    out.refuse(
                        conn,
                        RefusalCode::ClientNotFound,
                        format!("no participant {target} in the room"),
                        Request::SetSpotlight,
                    );
                    return;
                }
                Some(Role::Viewer) => {
                    out.refuse(
                        conn,
                        RefusalCode::Forbidden,
                        "a viewer sends no picture to put in the spotlight",
                        Request::SetSpotlight,
                    );
                    return;
                }
                Some(_) => {}
            }
        }
        if self.spotlight == target {
            return;
        }
        self.spotlight = target;
        self.announce_spotlight(out, Some(by));
    }

    /// After every step: a spotlight on someone no longer in the room goes out.
    pub(super) fn settle_spotlight(&mut self, out: &mut Out) {
        let Some(client) = &self.spotlight else {
            return;
        };
        if self.role_in_room(client).is_none() {
            self.spotlight = None;
            self.announce_spotlight(out, None);
        }
    }

    pub(super) fn spotlight(&self) -> Option<&ClientId> {
        self.spotlight.as_ref()
    }

    fn announce_spotlight(&self, out: &mut Out, by: Option<ClientId>) {
        let event = Event::SpotlightChanged {
            client_id: self.spotlight.clone(),
            by,
        };
        out.send_many(self.conns.member_conns(), event);
    }
}

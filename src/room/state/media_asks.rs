//! A host asks members to turn their microphone or camera off (their client does it at once, as
//! Whereby's `muteParticipants` and `turnOffParticipantCameras`) or on (their client asks the
//! person: `askToSpeak`, `askToTurnOnCamera`). Nothing else changes here: each client says what it
//! sends afterwards with `SetMedia`, as for its own buttons.

use std::collections::BTreeSet;

use super::{Out, Room};
use crate::room::event::{Event, RefusalCode};
use crate::room::model::{ClientId, ConnId, MediaAsk, Request, Role};

impl Room {
    /// Members away or gone since the host's page listed them are passed over; the request is
    /// refused when it names a viewer (who sends nothing) or the host, or nobody present.
    pub(super) fn ask_media(
        &mut self,
        out: &mut Out,
        conn: ConnId,
        targets: Vec<ClientId>,
        ask: MediaAsk,
    ) {
        let Some(by) = self.acting_host(out, conn, Request::AskMedia) else {
            return;
        };
        let mut asked = Vec::new();
        for target in targets.into_iter().collect::<BTreeSet<_>>() {
            let refusal = if target == by {
                Some("use your own microphone and camera buttons")
            } else if self.role_in_room(&target) == Some(Role::Viewer) {
                Some("a viewer sends no microphone or camera")
            } else {
                None
            };
            if let Some(message) = refusal {
                out.refuse(conn, RefusalCode::Forbidden, message, Request::AskMedia);
                return;
            }
            if let Some(target_conn) = self.conns.member_conn(&target) {
                asked.push(target_conn);
            }
        }
        if asked.is_empty() {
            out.refuse(
                conn,
                RefusalCode::ClientNotFound,
                "none of these participants is in the room now",
                Request::AskMedia,
            );
            return;
        }
        out.send_many(asked, Event::MediaAsked { ask, by });
    }
}

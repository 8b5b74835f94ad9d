//! The room behind the door: locking, leaving, removal, media relays, the look, and the end.

use chrono::{DateTime, Utc};

use super::connections::{Conn, Place};
use super::deadlines::Timer;
use super::queue::{Hold, Knock};
use super::{AwayMember, AwayVerdict, Kept, MintGrant, Out, Room};
use crate::meeting::RoomMode;
use crate::meeting::facts::{Departure, FactKind};
use crate::meeting::network::NetworkSample;
use crate::room::event::{Event, MediaChange, RefusalCode};
use crate::room::model::{
    ClientId, ConnId, EndReason, LeaveReason, MediaState, RelayKind, RelayPayload, Request, Role,
    Theme,
};

impl Room {
    pub(super) fn set_lock(
        &mut self,
        out: &mut Out,
        now: DateTime<Utc>,
        conn: ConnId,
        locked: bool,
    ) {
        let Some(by) = self.acting_host(out, conn, Request::SetLock) else {
            return;
        };
        let changed = self.locked != locked;
        self.locked = locked;
        out.send_many(self.conns.member_conns(), Event::LockChanged { locked, by });
        if changed {
            let kind = if locked {
                FactKind::Locked
            } else {
                FactKind::Unlocked
            };
            self.fact(out, now, kind, None, None);
        }
    }

    pub(super) fn leave(&mut self, out: &mut Out, now: DateTime<Utc>, conn: ConnId) {
        let Some(place) = self.conns.place(conn) else {
            out.refuse(
                conn,
                RefusalCode::NotInRoom,
                "you are not in this room",
                Request::Leave,
            );
            return;
        };
        match place {
            Place::Member(role) => {
                if let Some(member) = self.conns.get(conn) {
                    let (token, client_id) =
                        (member.resume_token.clone(), member.client_id.clone());
                    let grace = self.config.resume_grace;
                    self.departures
                        .remember(&token, client_id, role, now, grace);
                }
                self.remove_member(out, now, conn, LeaveReason::Left)
            }
            Place::Knocking => {
                if let Some(gone) = self.conns.remove(conn) {
                    self.remove_knock_of(out, now, &gone.client_id, LeaveReason::Cancelled);
                }
            }
            Place::Outside => {
                self.conns.remove(conn);
            }
        }
        out.send(conn, Event::YouLeft);
    }

    pub(super) fn disconnected(&mut self, out: &mut Out, now: DateTime<Utc>, conn: ConnId) {
        let Some(place) = self.conns.place(conn) else {
            return;
        };
        match place {
            Place::Member(_) => self.step_away(out, now, conn, LeaveReason::Disconnected),
            Place::Knocking => {
                // The knock keeps its place for the grace period; hosts still see it.
                let Some(gone) = self.conns.remove(conn) else {
                    return;
                };
                if let Some(knock) = self.queue.get_mut(&gone.client_id) {
                    knock.conn = None;
                    knock.away_since = Some(now);
                    self.deadlines.set(
                        Timer::KnockAway(gone.client_id.clone()),
                        now + knock.away_grace(&self.config),
                    );
                    out.send_many(
                        self.conns.hosts(),
                        Event::KnockerAway {
                            client_id: gone.client_id,
                        },
                    );
                }
            }
            Place::Outside => {
                self.conns.remove(conn);
            }
        }
    }

    /// A member whose connection dropped, or was replaced by a newer one of the same client: the
    /// others see it go and its media path closes, but until the resume grace ends its resume token
    /// takes its place back, with the same client id, without a key or a knock. It has left (the
    /// fact, the webhook) only if it does not come back in time (`member_gone`), so a network blip
    /// is not a leave and a join. Its seat stays taken meanwhile, and the session goes on.
    pub(super) fn step_away(
        &mut self,
        out: &mut Out,
        now: DateTime<Utc>,
        conn: ConnId,
        reason: LeaveReason,
    ) {
        let Some(Place::Member(role)) = self.conns.place(conn) else {
            return;
        };
        let Some(gone) = self.take_out(out, conn, reason) else {
            return;
        };
        self.deadlines.set(
            Timer::MemberAway(gone.resume_token.clone()),
            now + self.config.resume_grace,
        );
        self.away_members.insert(
            gone.resume_token,
            AwayMember {
                client_id: gone.client_id,
                role,
                identity: gone.identity,
                media: gone.media,
                peer: gone.peer,
                device: gone.device,
            },
        );
    }

    pub(super) fn remove_member(
        &mut self,
        out: &mut Out,
        now: DateTime<Utc>,
        conn: ConnId,
        reason: LeaveReason,
    ) {
        let Some(gone) = self.take_out(out, conn, reason) else {
            return;
        };
        let role = match gone.place {
            Place::Member(role) => Some(role),
            _ => None,
        };
        self.departure_fact(
            out,
            now,
            FactKind::Left,
            Some((&gone.client_id, role, &gone.identity)),
            Departure::Leave(reason),
        );
        self.update_session(out, now);
    }

    /// Takes a connection out of the room: a member's media path closes, and the others hear it go
    /// (away, for a dropped connection: it may come back as itself).
    fn take_out(&mut self, out: &mut Out, conn: ConnId, reason: LeaveReason) -> Option<Conn> {
        let gone = self.conns.remove(conn)?;
        if matches!(gone.place, Place::Member(_)) {
            out.media(MediaChange::Revoke {
                client_id: gone.client_id.clone(),
            });
        }
        let client_id = gone.client_id.clone();
        let event = match reason {
            LeaveReason::Disconnected => Event::ClientAway { client_id },
            reason => {
                // `client_left` takes their hand down, also when they come back on a new
                // connection (`replaced`) in the same step.
                self.lower_hand_of(&client_id);
                Event::ClientLeft { client_id, reason }
            }
        };
        out.send_many(self.conns.member_conns(), event);
        Some(gone)
    }

    /// A member's microphone, camera or screen share changed: the others show it.
    pub(super) fn set_media(&mut self, out: &mut Out, conn: ConnId, media: MediaState) {
        let Some(member) = self
            .conns
            .get_mut(conn)
            .filter(|c| matches!(c.place, Place::Member(_)))
        else {
            out.refuse(
                conn,
                RefusalCode::NotInRoom,
                "you are not in the room",
                Request::SetMedia,
            );
            return;
        };
        member.media = media;
        let client_id = member.client_id.clone();
        let others = self
            .conns
            .member_conns()
            .into_iter()
            .filter(|c| *c != conn)
            .collect();
        out.send_many(others, Event::MediaChanged { client_id, media });
    }

    /// A member's browser measured its connections: kept for insights in a normal room, whose
    /// media goes browser to browser. A group room's media server measures its members itself,
    /// and anyone else has no stay to measure: theirs are dropped.
    pub(super) fn measured(&mut self, out: &mut Out, conn: ConnId, sample: NetworkSample) {
        if self.config.mode != RoomMode::Normal {
            return;
        }
        if let Some(member) = self
            .conns
            .get(conn)
            .filter(|c| matches!(c.place, Place::Member(_)))
        {
            out.measured(member.client_id.clone(), sample);
        }
    }

    pub(super) fn kick(
        &mut self,
        out: &mut Out,
        now: DateTime<Utc>,
        conn: ConnId,
        target: ClientId,
    ) {
        let Some(by) = self.acting_host(out, conn, Request::Kick) else {
            return;
        };
        if let Some(token) = self.away_token_of(&target) {
            self.kick_away(out, now, token, by);
            return;
        }
        let Some(target_conn) = self.conns.member_conn(&target) else {
            out.refuse(
                conn,
                RefusalCode::ClientNotFound,
                format!("no participant {target} in the room"),
                Request::Kick,
            );
            return;
        };
        if target_conn == conn {
            out.refuse(
                conn,
                RefusalCode::Forbidden,
                "use leave_room to leave",
                Request::Kick,
            );
            return;
        }
        if self.conns.role_of(target_conn) == Some(Role::GrantedVisitor) {
            let until = now + self.config.grant_validity;
            self.deadlines.set(Timer::Removed(target.clone()), until);
        }
        out.send(target_conn, Event::Kicked { by });
        out.close(target_conn);
        self.remove_member(out, now, target_conn, LeaveReason::Kicked);
    }

    /// A member away (its connection dropped) is removed as one present is: the others hear it
    /// was removed, it has left, and its return by its token hears why instead of taking its place
    /// back. That is remembered for as long as a removed guest's grant is refused (or its grace,
    /// if longer): a page that was offline for minutes is told, rather than put at the door.
    fn kick_away(&mut self, out: &mut Out, now: DateTime<Utc>, token: String, by: ClientId) {
        let grace_ends = self
            .deadlines
            .get(&Timer::MemberAway(token.clone()))
            .unwrap_or(now + self.config.resume_grace);
        let Some(away) = self.away_member_leaves(out, now, &token, LeaveReason::Kicked) else {
            return;
        };
        let removal_remembered = now + self.config.grant_validity;
        if away.role == Role::GrantedVisitor {
            self.deadlines
                .set(Timer::Removed(away.client_id.clone()), removal_remembered);
        }
        let kept = AwayVerdict {
            client_id: away.client_id,
            identity: away.identity,
            kept: Kept::Kicked { by },
        };
        self.keep_for_return(token, kept, grace_ends.max(removal_remembered));
    }

    /// The resume token of the member `client` if it is away.
    fn away_token_of(&self, client: &ClientId) -> Option<String> {
        self.away_members
            .iter()
            .find(|(_, away)| &away.client_id == client)
            .map(|(token, _)| token.clone())
    }

    /// A guest goes back to the door: its media stops, everyone else hears it left, and it stands
    /// first in line with the host's message, as a knock every host sees.
    pub(super) fn send_to_waiting_room(
        &mut self,
        out: &mut Out,
        now: DateTime<Utc>,
        conn: ConnId,
        target: ClientId,
        message: Option<String>,
    ) {
        let request = Request::SendToWaitingRoom;
        if self.acting_host(out, conn, request).is_none() {
            return;
        }
        let Some(target_conn) = self.conns.member_conn(&target) else {
            if self.away_token_of(&target).is_some() {
                let why = format!(
                    "{target} is reconnecting: send them to the waiting room once they are back, \
                     or remove them"
                );
                out.refuse(conn, RefusalCode::ClientAway, why, request);
                return;
            }
            let why = format!("no participant {target} in the room");
            out.refuse(conn, RefusalCode::ClientNotFound, why, request);
            return;
        };
        if !matches!(
            self.conns.role_of(target_conn),
            Some(Role::Visitor | Role::GrantedVisitor)
        ) {
            let why = "only guests can be sent to the waiting room";
            out.refuse(conn, RefusalCode::Forbidden, why, request);
            return;
        }
        if self.queue.len() >= self.config.max_knocks {
            let why = "the waiting room is full";
            out.refuse(conn, RefusalCode::KnockQueueFull, why, request);
            return;
        }
        let (Some(host), Some(mut guest)) = (
            self.conns.client_view(conn),
            self.conns.get(target_conn).cloned(),
        ) else {
            return;
        };
        self.remove_member(out, now, target_conn, LeaveReason::SentToWaitingRoom);
        // Its grant may not bring it straight back in; a host lets it in again, with a new one.
        let until = now + self.config.grant_validity;
        self.deadlines.set(Timer::Removed(target.clone()), until);
        guest.place = Place::Knocking;
        let hold = Hold {
            message: message.clone(),
            host_display_name: Some(host.display_name.clone()),
        };
        let knock = Knock::new(target_conn, &guest, now, Some(hold));
        self.conns.insert(target_conn, guest);
        out.send(
            target_conn,
            Event::SentBack {
                message,
                host_display_name: host.display_name,
            },
        );
        // Outside now: what it may know of the room from here on.
        out.send(target_conn, Event::DoorChanged(self.door_view()));
        self.enqueue(out, now, knock, true);
    }

    pub(super) fn relay(
        &mut self,
        out: &mut Out,
        conn: ConnId,
        kind: RelayKind,
        to: ClientId,
        payload: RelayPayload,
    ) {
        let request = Request::Relay(kind);
        let Some(sender) = self.conns.member(conn) else {
            out.refuse(
                conn,
                RefusalCode::NotInRoom,
                "only participants of the room may signal media",
                request,
            );
            return;
        };
        if kind == RelayKind::SdpOffer && self.conns.role_of(conn) == Some(Role::Viewer) {
            out.refuse(
                conn,
                RefusalCode::Forbidden,
                "viewers receive media; they do not publish it",
                request,
            );
            return;
        }
        let from = sender.client_id.clone();
        let Some(target) = self.conns.member_conn(&to) else {
            if self.away_token_of(&to).is_some() {
                // Its media restarts when it is back (`new_client`): nothing to relay meanwhile.
                let why = format!("{to} is reconnecting: signal again when they are back");
                out.refuse(conn, RefusalCode::ClientAway, why, request);
                return;
            }
            out.refuse(
                conn,
                RefusalCode::ClientNotFound,
                format!("no participant {to} in the room"),
                request,
            );
            return;
        };
        out.send(
            target,
            Event::Relay {
                kind,
                from,
                payload,
            },
        );
    }

    /// Members get the whole new look, outsiders the knock page.
    pub(super) fn set_theme(&mut self, out: &mut Out, theme: Theme) {
        out.send_many(
            self.conns.outsiders(),
            Event::KnockPageChanged(theme.knock_page()),
        );
        out.send_many(
            self.conns.member_conns(),
            Event::ThemeChanged(theme.clone()),
        );
        self.config.theme = theme;
    }

    /// Everyone, inside or waiting, hears the end and is disconnected; the room forgets everything.
    /// When the server is only restarting, each guest in the room gets a key to come back with (a
    /// host or viewer has its own; a knocker knocks again).
    pub(super) fn end(
        &mut self,
        out: &mut Out,
        now: DateTime<Utc>,
        reason: EndReason,
        grant: MintGrant,
    ) {
        let everyone = self.conns.all();
        let mut told = Vec::new();
        if reason == EndReason::ServerShutdown {
            for (conn, c, role) in self.conns.members() {
                if matches!(role, Role::Visitor | Role::GrantedVisitor) {
                    let rejoin_key = Some(grant(&c.client_id));
                    told.push(conn);
                    out.send(conn, Event::Ended { reason, rejoin_key });
                }
            }
        }
        let others = everyone
            .iter()
            .copied()
            .filter(|c| !told.contains(c))
            .collect();
        out.send_many(
            others,
            Event::Ended {
                reason,
                rejoin_key: None,
            },
        );
        for conn in everyone {
            out.close(conn);
        }
        // A recording ends with the room (its host's page stops it as it is told).
        if let Some(stopped) = self.recording.take() {
            self.recording_fact(out, now, FactKind::RecordingStopped, &stopped);
        }
        for knock in self.queue.drain() {
            self.departure_fact(
                out,
                now,
                FactKind::KnockCancelled,
                Some((&knock.client_id, None, &knock.identity)),
                Departure::RoomEnded(reason),
            );
        }
        let gone = self.conns.drain();
        for conn in gone.into_values() {
            let Place::Member(role) = conn.place else {
                continue;
            };
            out.media(MediaChange::Revoke {
                client_id: conn.client_id.clone(),
            });
            self.departure_fact(
                out,
                now,
                FactKind::Left,
                Some((&conn.client_id, Some(role), &conn.identity)),
                Departure::RoomEnded(reason),
            );
        }
        for (_, away) in std::mem::take(&mut self.away_members) {
            self.departure_fact(
                out,
                now,
                FactKind::Left,
                Some((&away.client_id, Some(away.role), &away.identity)),
                Departure::RoomEnded(reason),
            );
        }
        self.away_verdicts.clear();
        self.seats.clear();
        if let Some(id) = self.session.end(&mut self.deadlines) {
            self.session_fact(
                out,
                now,
                FactKind::SessionEnded,
                id,
                Some(Departure::RoomEnded(reason)),
            );
        }
        self.deadlines.clear();
        self.ended = true;
    }

    /// A member away (its connection dropped, or the room was carried on) did not come back in
    /// time, or came back by a key instead of its token: it has left, and its grace no longer runs.
    pub(super) fn member_gone(&mut self, out: &mut Out, now: DateTime<Utc>, token: &str) {
        self.away_member_leaves(out, now, token, LeaveReason::Disconnected);
    }

    /// An away member leaves for good: the others hear why, and it has left (the fact).
    fn away_member_leaves(
        &mut self,
        out: &mut Out,
        now: DateTime<Utc>,
        token: &str,
        reason: LeaveReason,
    ) -> Option<AwayMember> {
        let away = self.away_members.remove(token)?;
        self.deadlines.cancel(&Timer::MemberAway(token.to_owned()));
        self.lower_hand_of(&away.client_id);
        out.send_many(
            self.conns.member_conns(),
            Event::ClientLeft {
                client_id: away.client_id.clone(),
                reason,
            },
        );
        self.departure_fact(
            out,
            now,
            FactKind::Left,
            Some((&away.client_id, Some(away.role), &away.identity)),
            Departure::Leave(reason),
        );
        self.update_session(out, now);
        Some(away)
    }

    /// The room's state was handed over to be carried on elsewhere: every connection is told to
    /// come back (its resume token takes its place back there) and closed. Nothing ends: no fact,
    /// no media revoked here (the media server closes the room's paths with the room).
    pub(super) fn hand_over(&mut self, out: &mut Out) {
        let everyone = self.conns.all();
        out.send_many(
            everyone.clone(),
            Event::refused(
                RefusalCode::Restarting,
                "the room moves to another server; reconnect, and you are back where you were",
                None,
            ),
        );
        for conn in everyone {
            out.close(conn);
        }
        self.conns = Default::default();
        self.queue = Default::default();
        self.away_verdicts.clear();
        self.away_members.clear();
        self.seats.clear();
        self.session = Default::default();
        // Carried on elsewhere (its snapshot has it): no end is said here.
        self.recording = None;
        self.deadlines.clear();
        self.ended = true;
    }
}

//! Joining: a key (host, viewer, a knocker's grant) lets a connection in, an unlocked room lets
//! anyone in, a locked room shows the door. A resume token takes back a knock whose connection
//! dropped, or collects the verdict reached meanwhile.

use chrono::{DateTime, Utc};

use super::connections::{Conn, Place};
use super::deadlines::Timer;
use super::{AwayMember, AwayVerdict, Kept, Out, Room};
use crate::meeting::facts::FactKind;
use crate::room::event::{
    AtDoor, ClientView, Event, Joined, MediaChange, OwnKnock, RefusalCode, RoomView,
};
use crate::room::input::JoinRequest;
use crate::room::model::{ClientId, ConnId, Credential, KnockerKey, LeaveReason, Request, Role};

impl Room {
    pub(super) fn join(&mut self, out: &mut Out, now: DateTime<Utc>, request: JoinRequest) {
        let conn = request.conn;
        if matches!(self.conns.place(conn), Some(Place::Member(_))) {
            out.refuse(
                conn,
                RefusalCode::AlreadyJoined,
                "this connection is already in the room; send leave_room first",
                Request::Join,
            );
            return;
        }
        if !self.conns.contains(conn)
            && let Some(token) = &request.resume_token
        {
            // A member's reconnection that raced its old socket's close: the old connection steps
            // away, replaced, and is taken back below as any away member is.
            if let Some(older) = self.conns.member_with_token(token, conn) {
                self.step_away(out, now, older, LeaveReason::Replaced);
                replaced(out, older);
            }
            if self.away_members.contains_key(token) {
                self.resume_member(out, now, conn, token, &request);
                return;
            }
            if self.removed_while_away(out, conn, token) {
                return;
            }
        }
        if request.credential == Credential::None
            && !self.conns.contains(conn)
            && let Some(token) = &request.resume_token
        {
            self.replace_attached_knock(out, token);
            if self.resume(out, now, conn, token, &request) {
                return;
            }
        }
        let granted = match &request.credential {
            Credential::Grant(granted) => {
                if !self.take_grant(out, now, conn, granted) {
                    return;
                }
                Some(granted.clone())
            }
            _ => None,
        };
        // A member whose page went (a reload) is back as itself, in its role, without knocking.
        let returning = match (&request.credential, &request.resume_token) {
            (Credential::None, Some(token)) if !self.conns.contains(conn) => self
                .departures
                .take(token, now, self.config.resume_grace)
                .map(|(client_id, role)| (client_id, role, token.clone())),
            _ => None,
        };
        let role = match (&returning, &request.credential) {
            (Some((_, role, _)), _) => Some(*role),
            (None, Credential::Host) => Some(Role::Host),
            (None, Credential::Viewer) => Some(Role::Viewer),
            (None, Credential::Grant(_)) => Some(Role::GrantedVisitor),
            (None, Credential::None) if self.locked => None,
            (None, Credential::None) => Some(Role::Visitor),
        };
        // A connection keeps its client id across attempts; a grant's bearer is the client it names
        // (an admitted knocker enters as itself, also from a new connection after a blip).
        let (client_id, resume_token) = match (self.conns.get(conn), granted, returning) {
            (Some(existing), _, _) => (existing.client_id.clone(), existing.resume_token.clone()),
            (None, Some(granted), _) => (granted, request.fresh_resume_token),
            // (A client back by its departure's token that meanwhile came in another way, by a
            // grant from another tab, is in the room once: here.)
            (None, None, Some((client_id, _, token))) => {
                self.replace_older_connection(out, now, conn, &client_id);
                (client_id, token)
            }
            (None, None, None) => (request.fresh_client_id, request.fresh_resume_token),
        };
        let Some(role) = role else {
            let place = self.conns.place(conn).unwrap_or(Place::Outside);
            let at_door = Conn {
                client_id: client_id.clone(),
                peer: request.peer,
                device: request.device,
                identity: request.identity,
                media: request.media,
                resume_token: resume_token.clone(),
                place,
                last_reaction: None,
            };
            let key = at_door.knocker_key();
            self.conns.insert(conn, at_door);
            out.send(conn, self.door(client_id, resume_token, None, &key, now));
            return;
        };
        if role != Role::Host && self.conns.is_host_name(&request.identity.display_name) {
            out.refuse(
                conn,
                RefusalCode::NameTaken,
                "a host of this room goes by that name; choose another",
                Request::Join,
            );
            return;
        }
        if !self.seats.fits(role, self.occupancy(), Some(&client_id)) {
            out.send(conn, Event::RoomFull);
            return;
        }
        // However it got in, a client that was admitted no longer needs its held seat, nor the
        // place it had while away.
        self.release_seat(&client_id);
        self.forget_away(out, now, &client_id);
        if self.queue.contains(&client_id) {
            // It got in another way (a key, the room was unlocked, or an earlier grant presented
            // while its knock waited away): its knock is moot.
            self.remove_knock_of(out, now, &client_id, LeaveReason::Entered);
        }
        let member = Conn {
            client_id: client_id.clone(),
            peer: request.peer,
            device: request.device.clone(),
            identity: request.identity.clone(),
            media: request.media,
            resume_token,
            place: Place::Member(role),
            last_reaction: None,
        };
        self.seat(out, now, conn, member, role);
        // The session starts with the second member, so this join already belongs to it.
        self.update_session(out, now);
        self.fact(
            out,
            now,
            FactKind::Joined,
            Some((&client_id, Some(role), &request.identity)),
            None,
        );
    }

    /// A member away since the room was carried on takes its place back: the others see it come
    /// in again, and nothing is recorded (it never left).
    fn resume_member(
        &mut self,
        out: &mut Out,
        now: DateTime<Utc>,
        conn: ConnId,
        token: &str,
        request: &JoinRequest,
    ) {
        let Some(away) = self.away_members.remove(token) else {
            return;
        };
        self.deadlines.cancel(&Timer::MemberAway(token.to_owned()));
        let member = Conn {
            client_id: away.client_id,
            peer: request.peer,
            device: request.device.clone().or(away.device),
            identity: away.identity,
            media: request.media,
            resume_token: token.to_owned(),
            place: Place::Member(away.role),
            last_reaction: None,
        };
        self.seat(out, now, conn, member, away.role);
    }

    /// Seats a connection in the room as `role`: its media path opens, it hears the room as
    /// members see it, and the others hear it come in.
    fn seat(&mut self, out: &mut Out, now: DateTime<Utc>, conn: ConnId, member: Conn, role: Role) {
        let others = self.conns.member_conns_hosts_apart();
        let (client_id, resume_token) = (member.client_id.clone(), member.resume_token.clone());
        self.conns.insert(conn, member);
        out.media(MediaChange::Admit {
            client_id: client_id.clone(),
            conn,
            role,
        });
        out.send(
            conn,
            Event::Joined(Box::new(Joined {
                self_id: client_id,
                role,
                resume_token,
                room: self.room_view(role == Role::Host),
                theme: self.config.theme.clone(),
                knockers: (role == Role::Host).then(|| self.queue.views()),
                now,
            })),
        );
        if let Some(view) = self.conns.client_view(conn) {
            let (hosts, guests) = others;
            out.send_many(hosts, Event::ClientJoined(view.clone()));
            out.send_many(guests, Event::ClientJoined(view.for_guests()));
        }
    }

    /// A client back in by a key (not its resume token): its place while away is moot (it left
    /// then, and comes in anew), and so is a verdict kept for it (its token would otherwise attach
    /// a second connection to it).
    fn forget_away(&mut self, out: &mut Out, now: DateTime<Utc>, client_id: &ClientId) {
        let tokens: Vec<String> = self
            .away_members
            .iter()
            .filter(|(_, away)| &away.client_id == client_id)
            .map(|(token, _)| token.clone())
            .collect();
        for token in tokens {
            self.member_gone(out, now, &token);
        }
        let deadlines = &mut self.deadlines;
        self.away_verdicts.retain(|token, verdict| {
            let theirs = &verdict.client_id == client_id;
            if theirs {
                deadlines.cancel(&Timer::AwayVerdict(token.clone()));
            }
            !theirs
        });
    }

    /// A member a host removed while it was away, back by its token (with a key or without): told
    /// so, and closed, as it would have been in the room. Its key, if any, lets it in anew after.
    fn removed_while_away(&mut self, out: &mut Out, conn: ConnId, token: &str) -> bool {
        let removed = |v: &AwayVerdict| matches!(v.kept, Kept::Kicked { .. });
        if !self.away_verdicts.get(token).is_some_and(removed) {
            return false;
        }
        let Some(verdict) = self.away_verdicts.remove(token) else {
            return false;
        };
        self.deadlines.cancel(&Timer::AwayVerdict(token.to_owned()));
        out.send(conn, verdict.kept.event());
        out.close(conn);
        true
    }

    /// Reattaches a knocker that lost its connection, or delivers a verdict reached while it was away.
    fn resume(
        &mut self,
        out: &mut Out,
        now: DateTime<Utc>,
        conn: ConnId,
        token: &str,
        request: &JoinRequest,
    ) -> bool {
        if let Some(knock) = self.queue.away_with_token(token) {
            knock.conn = Some(conn);
            // Not away when its connection was only replaced (hosts were not told of that).
            let was_away = knock.away_since.take().is_some();
            // A new page: its own closing is yet to come.
            knock.page_closed = false;
            knock.told_position = None;
            let unread = knock.unread.take();
            let (client_id, identity, own) =
                (knock.client_id.clone(), knock.identity.clone(), knock.own());
            self.deadlines.cancel(&Timer::KnockAway(client_id.clone()));
            let back = Conn {
                client_id: client_id.clone(),
                peer: request.peer,
                device: request.device.clone(),
                identity,
                media: request.media,
                resume_token: token.to_owned(),
                place: Place::Knocking,
                last_reaction: None,
            };
            let key = back.knocker_key();
            self.conns.insert(conn, back);
            if was_away {
                out.send_many(
                    self.conns.hosts(),
                    Event::KnockerBack {
                        client_id: client_id.clone(),
                    },
                );
            }
            out.send(
                conn,
                self.door(client_id, token.to_owned(), Some(own), &key, now),
            );
            if let Some(message) = unread {
                out.send(conn, message.event());
            }
            return true;
        }
        if let Some(verdict) = self.away_verdicts.remove(token) {
            self.deadlines.cancel(&Timer::AwayVerdict(token.to_owned()));
            let back = Conn {
                client_id: verdict.client_id.clone(),
                peer: request.peer,
                device: request.device.clone(),
                identity: verdict.identity,
                media: request.media,
                resume_token: token.to_owned(),
                place: Place::Outside,
                last_reaction: None,
            };
            let key = back.knocker_key();
            self.conns.insert(conn, back);
            out.send(
                conn,
                self.door(verdict.client_id, token.to_owned(), None, &key, now),
            );
            out.send(conn, verdict.kept.event());
            return true;
        }
        false
    }

    /// What a connection at the door of the locked room sees.
    pub(super) fn door(
        &self,
        self_id: ClientId,
        resume_token: String,
        knock: Option<OwnKnock>,
        key: &KnockerKey,
        now: DateTime<Utc>,
    ) -> Event {
        let knock_cooldown_seconds = self
            .deadlines
            .get(&Timer::Cooldown(key.clone()))
            .filter(|until| *until > now)
            .map(|until| (until - now).num_seconds().max(1) as u64);
        Event::AtDoor(Box::new(AtDoor {
            self_id,
            resume_token,
            knock_page: self.config.theme.knock_page(),
            knock,
            knock_cooldown_seconds,
            view: self.door_view(),
        }))
    }

    /// Lets a connection use a grant for `granted`, which makes it that client: refused to a
    /// connection that is some other client already; any other connection of that client (one the
    /// server has not yet seen die after a network blip) is replaced by this one.
    fn take_grant(
        &mut self,
        out: &mut Out,
        now: DateTime<Utc>,
        conn: ConnId,
        granted: &ClientId,
    ) -> bool {
        if self.deadlines.contains(&Timer::Removed(granted.clone())) {
            out.refuse(
                conn,
                RefusalCode::Forbidden,
                "a host removed you from this room; knock to ask to come back",
                Request::Join,
            );
            return false;
        }
        if self
            .conns
            .get(conn)
            .is_some_and(|own| &own.client_id != granted)
        {
            out.refuse(
                conn,
                RefusalCode::RoomKeyMismatch,
                "this grant was given to another client",
                Request::Join,
            );
            return false;
        }
        self.replace_older_connection(out, now, conn, granted);
        true
    }

    /// The client's older connection, if it has one besides `conn`, gives way to `conn`: a client
    /// is in the room once, on its newest connection.
    fn replace_older_connection(
        &mut self,
        out: &mut Out,
        now: DateTime<Utc>,
        conn: ConnId,
        client: &ClientId,
    ) {
        let Some((older, place)) = self.conns.of_client(client, conn) else {
            return;
        };
        match place {
            Place::Member(_) => self.remove_member(out, now, older, LeaveReason::Replaced),
            Place::Knocking => {
                self.remove_knock_of(out, now, client, LeaveReason::Entered);
                self.conns.remove(older);
            }
            Place::Outside => {
                self.conns.remove(older);
            }
        }
        replaced(out, older);
    }

    /// A knock's resume token from a new connection while its old one is still attached: the
    /// server has not yet seen that one die (the client's reconnection raced its old socket's
    /// close, or the old path is dead without a word). The old connection is replaced, as a grant
    /// replaces its client's older one, and the knock is then taken back as any away knock is,
    /// place and hold included.
    fn replace_attached_knock(&mut self, out: &mut Out, token: &str) {
        if let Some(older) = self.queue.attached_with_token(token) {
            // The knock goes straight to its new connection (`resume`): hosts see no change.
            if let Some(gone) = self.conns.remove(older)
                && let Some(knock) = self.queue.get_mut(&gone.client_id)
            {
                knock.conn = None;
            }
            replaced(out, older);
        }
    }

    /// The room as a member sees it: who is in, and (last) who is away and may come back; with
    /// the integrator's identifiers only for a host.
    pub fn room_view(&self, for_host: bool) -> RoomView {
        let mut away: Vec<ClientView> = self.away_members.values().map(AwayMember::view).collect();
        away.sort_by(|a, b| a.id.cmp(&b.id));
        let clients = self.conns.views().into_iter().chain(away);
        RoomView {
            room_name: self.config.room_name.clone(),
            mode: self.config.mode,
            is_locked: self.locked,
            spotlights: self.spotlights().to_vec(),
            recording_kind: self.config.recording,
            recording: self.recording().cloned(),
            hands: self.hands().to_vec(),
            capacity: self.seats.capacity,
            closes_at: self.config.expires_at,
            clients: if for_host {
                clients.collect()
            } else {
                clients.map(ClientView::for_guests).collect()
            },
        }
    }
}

/// Tells a connection that its client's new one took its place, and closes it.
fn replaced(out: &mut Out, older: ConnId) {
    out.send(
        older,
        Event::refused(
            RefusalCode::Replaced,
            "you joined again from another connection, which replaces this one",
            None,
        ),
    );
    out.close(older);
}

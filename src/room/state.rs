//! The waiting room as a pure state machine: no I/O, no clocks, no randomness. Each input comes with
//! the time; the output is the list of events to send, connections to close and facts to record. The
//! actor around it (actor.rs) only moves bytes.
//!
//! Who may see what is decided here and nowhere else: a connection that is not a member of the room
//! (a knocker, or one that saw `room_locked`) receives only its own verdicts, the knock page and
//! errors. Hosts see every knock; every host receives every change to the queue.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

use super::facts::{ClientCounts, FactClient, FactKind, RoomFact};
use crate::meeting::{MeetingId, RoomMode, RoomName};
use crate::signal::protocol::{
    ClientId, ClientView, DisplayNameRules, EndReason, ErrorCode, KnockAction, KnockHandled,
    KnockState, KnockView, LeaveReason, OwnKnock, RelayKind, Resolution, Role, RoomJoined,
    RoomTheme, RoomView, ServerEvent,
};

/// A WebSocket connection, numbered by the signalling layer.
pub type ConnId = u64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capacity {
    /// Hosts, visitors and admitted knockers.
    pub participants: usize,
    /// Participants plus viewers.
    pub total: usize,
}

impl Capacity {
    pub fn of(mode: RoomMode) -> Self {
        match mode {
            RoomMode::Normal => Capacity {
                participants: 4,
                total: 8,
            },
            RoomMode::Group => Capacity {
                participants: 200,
                total: 400,
            },
        }
    }
}

#[derive(Debug, Clone)]
pub struct RoomConfig {
    pub meeting_id: MeetingId,
    pub room_name: RoomName,
    pub mode: RoomMode,
    pub locked: bool,
    /// The room ends for everyone at this time (an hour after the meeting's end date).
    pub expires_at: DateTime<Utc>,
    pub reject_cooldown: Duration,
    pub resume_grace: Duration,
    /// How long the grant an accepted knocker enters with stays valid.
    pub grant_validity: Duration,
    /// A session ends once fewer than two members have been in the room this long.
    pub session_end_grace: Duration,
    pub max_knocks: usize,
    pub theme: RoomTheme,
}

/// What the caller verified of the key a client joined with (signature, expiry, this meeting).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    None,
    Host,
    Viewer,
    /// The grant a host's `accept` gave a knocker: it enters as that client and no other.
    Grant(ClientId),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub display_name: String,
    pub external_id: Option<String>,
    pub metadata: Option<String>,
    /// The browser's User-Agent, for insights.
    pub user_agent: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KnockTarget {
    One(ClientId),
    All,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    Join(JoinRequest),
    Knock {
        conn: ConnId,
        display_name: Option<String>,
    },
    CancelKnock {
        conn: ConnId,
    },
    HandleKnock {
        conn: ConnId,
        target: KnockTarget,
        action: KnockAction,
        message: Option<String>,
    },
    SetLock {
        conn: ConnId,
        locked: bool,
    },
    Leave {
        conn: ConnId,
    },
    Disconnected {
        conn: ConnId,
    },
    Chat {
        conn: ConnId,
        text: String,
    },
    Kick {
        conn: ConnId,
        target: ClientId,
    },
    EndMeeting {
        conn: ConnId,
    },
    Relay {
        conn: ConnId,
        kind: RelayKind,
        to: ClientId,
        message: Value,
    },
    /// The room's theme changed (or was loaded): members get all of it, outsiders the knock page.
    SetTheme(RoomTheme),
    /// The meeting was deleted, or the server is stopping.
    End(EndReason),
    /// Time passed: expire knocks whose grace ran out, and the room itself at its expiry.
    Tick,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// One event for several connections: the actor serialises it once.
    Send {
        to: Vec<ConnId>,
        event: ServerEvent,
    },
    /// This connection is done: close its socket after what was sent to it.
    Close {
        conn: ConnId,
    },
    Fact(RoomFact),
}

/// Where a connection stands with respect to the room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    /// Saw `room_locked` (or was admitted and has yet to enter); may knock.
    Outside,
    Knocking,
    Member(Role),
}

#[derive(Debug, Clone)]
struct Conn {
    client_id: ClientId,
    peer: IpAddr,
    identity: Identity,
    resume_token: String,
    place: Place,
}

#[derive(Debug, Clone)]
struct Hold {
    message: Option<String>,
    host_display_name: String,
}

#[derive(Debug, Clone)]
struct Knock {
    client_id: ClientId,
    /// None while the knocker's connection is gone and its grace runs.
    conn: Option<ConnId>,
    away_since: Option<DateTime<Utc>>,
    identity: Identity,
    peer: IpAddr,
    resume_token: String,
    knocked_at: DateTime<Utc>,
    hold: Option<Hold>,
}

/// A verdict reached while its knocker was away, kept for the grace period so a resume delivers it.
#[derive(Debug, Clone)]
struct AwayVerdict {
    client_id: ClientId,
    identity: Identity,
    event: ServerEvent,
    expires_at: DateTime<Utc>,
}

/// A room session: from the second member's arrival until fewer than two have stayed a while.
#[derive(Debug, Clone)]
struct Session {
    id: String,
    below_two_since: Option<DateTime<Utc>>,
}

#[derive(Debug)]
pub struct Room {
    config: RoomConfig,
    capacity: Capacity,
    locked: bool,
    conns: BTreeMap<ConnId, Conn>,
    /// Oldest first.
    knocks: Vec<Knock>,
    away_verdicts: HashMap<String, AwayVerdict>,
    cooldowns: HashMap<IpAddr, DateTime<Utc>>,
    /// Seats held for accepted knockers until they enter, or until the resume grace runs out: so an
    /// admitted guest always finds room, and "admit all" stops where the seats do.
    held_seats: HashMap<ClientId, DateTime<Utc>>,
    /// Admitted clients a host removed, until their grants have expired: a removal sticks.
    removed: HashMap<ClientId, DateTime<Utc>>,
    session: Option<Session>,
    ended: bool,
}

/// Collects outputs while an input is handled.
struct Out(Vec<Output>);

impl Out {
    fn send(&mut self, to: ConnId, event: ServerEvent) {
        self.0.push(Output::Send {
            to: vec![to],
            event,
        });
    }

    fn send_many(&mut self, to: Vec<ConnId>, event: ServerEvent) {
        if !to.is_empty() {
            self.0.push(Output::Send { to, event });
        }
    }

    fn error(&mut self, to: ConnId, code: ErrorCode, message: impl Into<String>, request: &str) {
        self.send(to, ServerEvent::error(code, message, Some(request)));
    }
}

impl Room {
    pub fn new(config: RoomConfig) -> Self {
        Room {
            capacity: Capacity::of(config.mode),
            locked: config.locked,
            config,
            conns: BTreeMap::new(),
            knocks: Vec::new(),
            away_verdicts: HashMap::new(),
            cooldowns: HashMap::new(),
            held_seats: HashMap::new(),
            removed: HashMap::new(),
            session: None,
            ended: false,
        }
    }

    pub fn config(&self) -> &RoomConfig {
        &self.config
    }

    pub fn is_locked(&self) -> bool {
        self.locked
    }

    pub fn is_ended(&self) -> bool {
        self.ended
    }

    /// Nothing left to remember: the actor may stop (a later join starts a fresh room).
    pub fn is_idle(&self) -> bool {
        self.conns.is_empty()
            && self.session.is_none()
            && self.knocks.is_empty()
            && self.away_verdicts.is_empty()
            && self.cooldowns.is_empty()
            && self.held_seats.is_empty()
            && self.removed.is_empty()
    }

    /// When `Tick` next has something to do.
    pub fn next_deadline(&self) -> Option<DateTime<Utc>> {
        if self.ended {
            return None;
        }
        let grace = self.config.resume_grace;
        let away = self
            .knocks
            .iter()
            .filter_map(|k| k.away_since.map(|t| t + grace));
        let verdicts = self.away_verdicts.values().map(|v| v.expires_at);
        let timers = self
            .cooldowns
            .values()
            .chain(self.held_seats.values())
            .chain(self.removed.values())
            .copied();
        let session_end = self
            .session
            .as_ref()
            .and_then(|s| s.below_two_since)
            .map(|t| t + self.config.session_end_grace);
        away.chain(verdicts)
            .chain(timers)
            .chain(session_end)
            .chain(std::iter::once(self.config.expires_at))
            .min()
    }

    /// The knock queue as hosts see it, oldest first.
    pub fn knock_views(&self) -> Vec<KnockView> {
        self.knocks.iter().map(knock_view).collect()
    }

    pub fn member_count(&self) -> usize {
        self.members().count()
    }

    pub fn participant_count(&self) -> usize {
        self.members()
            .filter(|(_, _, role)| *role != Role::Viewer)
            .count()
    }

    /// Handles one input at time `now`. `grant` mints the key an accepted knocker enters with.
    pub fn handle(
        &mut self,
        now: DateTime<Utc>,
        input: Input,
        grant: &dyn Fn(&ClientId) -> String,
    ) -> Vec<Output> {
        let mut out = Out(Vec::new());
        if self.ended {
            // The actor stops once a room ends; anything still in flight gets a clear answer.
            if let Some(conn) = input_conn(&input) {
                out.send(
                    conn,
                    ServerEvent::error(ErrorCode::RoomNotFound, "the room has ended", None),
                );
                out.0.push(Output::Close { conn });
            }
            return out.0;
        }
        match input {
            Input::Join(request) => self.join(&mut out, now, request),
            Input::Knock { conn, display_name } => self.knock(&mut out, now, conn, display_name),
            Input::CancelKnock { conn } => self.cancel_knock(&mut out, now, conn),
            Input::HandleKnock {
                conn,
                target,
                action,
                message,
            } => self.handle_knock(&mut out, now, conn, target, action, message, grant),
            Input::SetLock { conn, locked } => self.set_lock(&mut out, now, conn, locked),
            Input::Leave { conn } => self.leave(&mut out, now, conn),
            Input::Disconnected { conn } => self.disconnected(&mut out, now, conn),
            Input::Chat { conn, text } => self.chat(&mut out, now, conn, text),
            Input::Kick { conn, target } => self.kick(&mut out, now, conn, target),
            Input::EndMeeting { conn } => {
                if self.require_host(&mut out, conn, "end_meeting") {
                    self.end(&mut out, now, EndReason::EndedByHost);
                }
            }
            Input::Relay {
                conn,
                kind,
                to,
                message,
            } => self.relay(&mut out, conn, kind, to, message),
            Input::SetTheme(theme) => {
                let members: Vec<ConnId> = self.members().map(|(c, _, _)| c).collect();
                let outside: Vec<ConnId> = self
                    .conns
                    .keys()
                    .copied()
                    .filter(|c| !members.contains(c))
                    .collect();
                out.send_many(outside, ServerEvent::KnockPageUpdated(theme.knock_page()));
                out.send_many(members, ServerEvent::ThemeUpdated(theme.clone()));
                self.config.theme = theme;
            }
            Input::End(reason) => self.end(&mut out, now, reason),
            Input::Tick => self.tick(&mut out, now),
        }
        out.0
    }

    // -----------------------------------------------------------------------------------------
    // Joining

    fn join(&mut self, out: &mut Out, now: DateTime<Utc>, request: JoinRequest) {
        let conn = request.conn;
        if let Some(existing) = self.conns.get(&conn)
            && matches!(existing.place, Place::Member(_))
        {
            out.error(
                conn,
                ErrorCode::AlreadyJoined,
                "this connection is already in the room; send leave_room first",
                "join_room",
            );
            return;
        }
        if request.credential == Credential::None
            && !self.conns.contains_key(&conn)
            && let Some(token) = &request.resume_token
            && self.resume(out, conn, token, request.peer)
        {
            return;
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
        let role = match request.credential {
            Credential::Host => Some(Role::Host),
            Credential::Viewer => Some(Role::Viewer),
            Credential::Grant(_) => Some(Role::GrantedVisitor),
            Credential::None if self.locked => None,
            Credential::None => Some(Role::Visitor),
        };
        // A connection keeps its client id across attempts; a grant's bearer is the client it names
        // (an admitted knocker enters as itself, also from a new connection after a blip).
        let (client_id, resume_token) = match (self.conns.get(&conn), granted) {
            (Some(existing), _) => (existing.client_id.clone(), existing.resume_token.clone()),
            (None, Some(granted)) => (granted, request.fresh_resume_token),
            (None, None) => (request.fresh_client_id, request.fresh_resume_token),
        };
        let Some(role) = role else {
            let place = self
                .conns
                .get(&conn)
                .map_or(Place::Outside, |existing| existing.place);
            self.conns.insert(
                conn,
                Conn {
                    client_id: client_id.clone(),
                    peer: request.peer,
                    identity: request.identity,
                    resume_token: resume_token.clone(),
                    place,
                },
            );
            out.send(conn, self.locked_view(client_id, resume_token, None));
            return;
        };
        if !self.has_room_for(role, Some(&client_id)) {
            out.send(
                conn,
                ServerEvent::RoomJoined(RoomJoined::Full { error: "room_full" }),
            );
            return;
        }
        // However it got in, a client that was admitted no longer needs its held seat.
        self.held_seats.remove(&client_id);
        if let Some(existing) = self.conns.get(&conn)
            && existing.place == Place::Knocking
        {
            // It got in another way (a key, or the room was unlocked): its knock is moot.
            self.remove_knock_of(out, now, &client_id, LeaveReason::Entered);
        }
        self.conns.insert(
            conn,
            Conn {
                client_id: client_id.clone(),
                peer: request.peer,
                identity: request.identity.clone(),
                resume_token,
                place: Place::Member(role),
            },
        );
        let view = ClientView {
            id: client_id.clone(),
            display_name: request.identity.display_name.clone(),
            role,
        };
        let others: Vec<ConnId> = self
            .members()
            .map(|(c, _, _)| c)
            .filter(|c| *c != conn)
            .collect();
        out.send(
            conn,
            ServerEvent::RoomJoined(RoomJoined::Joined {
                self_id: client_id.clone(),
                role,
                room: self.room_view(),
                theme: self.config.theme.clone(),
                knockers: (role == Role::Host).then(|| self.knock_views()),
            }),
        );
        out.send_many(others, ServerEvent::NewClient { client: view });
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

    /// Reattaches a knocker that lost its connection, or delivers a verdict reached while it was away.
    fn resume(&mut self, out: &mut Out, conn: ConnId, token: &str, peer: IpAddr) -> bool {
        if let Some(knock) = self
            .knocks
            .iter_mut()
            .find(|k| k.conn.is_none() && k.resume_token == token)
        {
            knock.conn = Some(conn);
            knock.away_since = None;
            let own = OwnKnock {
                state: if knock.hold.is_some() {
                    KnockState::Held
                } else {
                    KnockState::Waiting
                },
                message: knock.hold.as_ref().and_then(|h| h.message.clone()),
                host_display_name: knock.hold.as_ref().map(|h| h.host_display_name.clone()),
            };
            let client_id = knock.client_id.clone();
            self.conns.insert(
                conn,
                Conn {
                    client_id: client_id.clone(),
                    peer,
                    identity: knock.identity.clone(),
                    resume_token: token.to_owned(),
                    place: Place::Knocking,
                },
            );
            out.send(
                conn,
                self.locked_view(client_id, token.to_owned(), Some(own)),
            );
            return true;
        }
        if let Some(verdict) = self.away_verdicts.remove(token) {
            self.conns.insert(
                conn,
                Conn {
                    client_id: verdict.client_id.clone(),
                    peer,
                    identity: verdict.identity,
                    resume_token: token.to_owned(),
                    place: Place::Outside,
                },
            );
            out.send(
                conn,
                self.locked_view(verdict.client_id, token.to_owned(), None),
            );
            out.send(conn, verdict.event);
            return true;
        }
        false
    }

    fn locked_view(
        &self,
        self_id: ClientId,
        resume_token: String,
        knock: Option<OwnKnock>,
    ) -> ServerEvent {
        ServerEvent::RoomJoined(RoomJoined::Locked {
            error: "room_locked",
            self_id,
            is_locked: true,
            resume_token,
            display_name_rules: DisplayNameRules::default(),
            knock_page: self.config.theme.knock_page(),
            knock,
        })
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
        if self.removed.contains_key(granted) {
            out.error(
                conn,
                ErrorCode::Forbidden,
                "a host removed you from this room; knock to ask to come back",
                "join_room",
            );
            return false;
        }
        if self
            .conns
            .get(&conn)
            .is_some_and(|own| &own.client_id != granted)
        {
            out.error(
                conn,
                ErrorCode::RoomKeyMismatch,
                "this grant was given to another client",
                "join_room",
            );
            return false;
        }
        let older = self
            .conns
            .iter()
            .find(|(other, c)| **other != conn && &c.client_id == granted)
            .map(|(other, c)| (*other, c.place));
        if let Some((older, place)) = older {
            match place {
                Place::Member(_) => self.remove_member(out, now, older, LeaveReason::Replaced),
                Place::Knocking => {
                    self.remove_knock_of(out, now, granted, LeaveReason::Entered);
                    self.conns.remove(&older);
                }
                Place::Outside => {
                    self.conns.remove(&older);
                }
            }
            out.send(
                older,
                ServerEvent::error(
                    ErrorCode::Replaced,
                    "you joined again from another connection, which replaces this one",
                    None,
                ),
            );
            out.0.push(Output::Close { conn: older });
        }
        true
    }

    /// Whether a member of this role fits, counting the seats held for accepted knockers other than
    /// `entering` (the client about to take its own held seat).
    fn has_room_for(&self, role: Role, entering: Option<&ClientId>) -> bool {
        let held = self
            .held_seats
            .keys()
            .filter(|id| Some(*id) != entering)
            .count();
        let total = self.member_count() + held;
        let participants = self.participant_count() + held;
        match role {
            Role::Viewer => total < self.capacity.total,
            _ => participants < self.capacity.participants && total < self.capacity.total,
        }
    }

    // -----------------------------------------------------------------------------------------
    // Knocking

    fn knock(
        &mut self,
        out: &mut Out,
        now: DateTime<Utc>,
        conn: ConnId,
        display_name: Option<String>,
    ) {
        let Some(knocker) = self.conns.get_mut(&conn) else {
            out.error(
                conn,
                ErrorCode::NotLockedOut,
                "send join_room first; knock only when it answers room_locked",
                "knock_room",
            );
            return;
        };
        match knocker.place {
            Place::Member(_) => {
                out.error(
                    conn,
                    ErrorCode::NotLockedOut,
                    "you are already in the room",
                    "knock_room",
                );
                return;
            }
            Place::Knocking => {
                out.error(
                    conn,
                    ErrorCode::AlreadyKnocking,
                    "you are already knocking; wait for a host or cancel",
                    "knock_room",
                );
                return;
            }
            Place::Outside => {}
        }
        if let Some(until) = self.cooldowns.get(&knocker.peer)
            && *until > now
        {
            let seconds = (*until - now).num_seconds().max(1);
            out.error(
                conn,
                ErrorCode::KnockCooldown,
                format!("a host turned this knock away; you may knock again in {seconds} s"),
                "knock_room",
            );
            return;
        }
        if self.knocks.len() >= self.config.max_knocks {
            out.error(
                conn,
                ErrorCode::KnockQueueFull,
                "too many people are waiting; try again later",
                "knock_room",
            );
            return;
        }
        if let Some(name) = display_name {
            knocker.identity.display_name = name;
        }
        knocker.place = Place::Knocking;
        let knock = Knock {
            client_id: knocker.client_id.clone(),
            conn: Some(conn),
            away_since: None,
            identity: knocker.identity.clone(),
            peer: knocker.peer,
            resume_token: knocker.resume_token.clone(),
            knocked_at: now,
            hold: None,
        };
        let view = knock_view(&knock);
        let client_id = knock.client_id.clone();
        let identity = knock.identity.clone();
        self.knocks.push(knock);
        out.send(
            conn,
            ServerEvent::KnockSent {
                client_id: client_id.clone(),
            },
        );
        out.send_many(self.hosts(), ServerEvent::RoomKnocked(view));
        self.fact(
            out,
            now,
            FactKind::Knocked,
            Some((&client_id, None, &identity)),
            None,
        );
    }

    fn cancel_knock(&mut self, out: &mut Out, now: DateTime<Utc>, conn: ConnId) {
        let Some(client_id) = self
            .conns
            .get(&conn)
            .filter(|c| c.place == Place::Knocking)
            .map(|c| c.client_id.clone())
        else {
            out.error(
                conn,
                ErrorCode::KnockNotFound,
                "you have no knock waiting",
                "cancel_room_knock",
            );
            return;
        };
        self.remove_knock_of(out, now, &client_id, LeaveReason::Cancelled);
    }

    /// Takes a knock out of the queue without a verdict (cancel, disconnect, entered another way):
    /// every host hears `knocker_left`.
    fn remove_knock_of(
        &mut self,
        out: &mut Out,
        now: DateTime<Utc>,
        client_id: &ClientId,
        reason: LeaveReason,
    ) {
        let Some(index) = self.knocks.iter().position(|k| &k.client_id == client_id) else {
            return;
        };
        let knock = self.knocks.remove(index);
        if let Some(conn) = knock.conn
            && let Some(c) = self.conns.get_mut(&conn)
            && c.place == Place::Knocking
        {
            c.place = Place::Outside;
        }
        out.send_many(
            self.hosts(),
            ServerEvent::KnockerLeft {
                client_id: knock.client_id.clone(),
                reason,
            },
        );
        self.fact(
            out,
            now,
            FactKind::KnockCancelled,
            Some((&knock.client_id, None, &knock.identity)),
            None,
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn handle_knock(
        &mut self,
        out: &mut Out,
        now: DateTime<Utc>,
        conn: ConnId,
        target: KnockTarget,
        action: KnockAction,
        message: Option<String>,
        grant: &dyn Fn(&ClientId) -> String,
    ) {
        if !self.require_host(out, conn, "handle_knock") {
            return;
        }
        let targets: Vec<ClientId> = match target {
            KnockTarget::All => self.knocks.iter().map(|k| k.client_id.clone()).collect(),
            KnockTarget::One(id) => {
                if !self.knocks.iter().any(|k| k.client_id == id) {
                    out.error(
                        conn,
                        ErrorCode::KnockNotFound,
                        format!("no knock from {id} is waiting: it was decided already, cancelled, or never made"),
                        "handle_knock",
                    );
                    return;
                }
                vec![id]
            }
        };
        for client_id in targets {
            match action {
                KnockAction::Accept => {
                    if !self.has_room_for(Role::GrantedVisitor, None) {
                        out.error(
                            conn,
                            ErrorCode::RoomFull,
                            format!("the room is full; {client_id} stays waiting"),
                            "handle_knock",
                        );
                        return;
                    }
                    self.decide(
                        out,
                        now,
                        conn,
                        &client_id,
                        Resolution::Accepted,
                        message.clone(),
                        grant,
                    );
                }
                KnockAction::Reject => {
                    self.decide(
                        out,
                        now,
                        conn,
                        &client_id,
                        Resolution::Rejected,
                        message.clone(),
                        grant,
                    );
                }
                KnockAction::Hold => self.hold(out, now, conn, &client_id, message.clone()),
            }
        }
    }

    /// A final verdict: the knock leaves the queue, its knocker hears it, every host hears it.
    #[allow(clippy::too_many_arguments)]
    fn decide(
        &mut self,
        out: &mut Out,
        now: DateTime<Utc>,
        host_conn: ConnId,
        client_id: &ClientId,
        resolution: Resolution,
        message: Option<String>,
        grant: &dyn Fn(&ClientId) -> String,
    ) {
        let Some(index) = self.knocks.iter().position(|k| &k.client_id == client_id) else {
            return;
        };
        let knock = self.knocks.remove(index);
        let host = self.client_view(host_conn);
        if resolution == Resolution::Accepted {
            self.held_seats
                .insert(client_id.clone(), now + self.config.resume_grace);
        }
        let retry_after = (resolution == Resolution::Rejected).then(|| {
            self.cooldowns
                .insert(knock.peer, now + self.config.reject_cooldown);
            self.config.reject_cooldown.num_seconds().max(0) as u64
        });
        let verdict = ServerEvent::KnockHandled(KnockHandled::Verdict {
            resolution,
            message: message.clone(),
            host_display_name: host.as_ref().map(|h| h.display_name.clone()),
            room_key: (resolution == Resolution::Accepted).then(|| grant(client_id)),
            retry_after_seconds: retry_after,
        });
        match knock.conn {
            Some(knocker) => {
                if let Some(c) = self.conns.get_mut(&knocker) {
                    c.place = Place::Outside;
                }
                out.send(knocker, verdict);
            }
            None => {
                let expires_at = knock.away_since.unwrap_or(now) + self.config.resume_grace;
                self.away_verdicts.insert(
                    knock.resume_token.clone(),
                    AwayVerdict {
                        client_id: knock.client_id.clone(),
                        identity: knock.identity.clone(),
                        event: verdict,
                        expires_at,
                    },
                );
            }
        }
        if let Some(host) = host {
            out.send_many(
                self.hosts(),
                ServerEvent::KnockHandled(KnockHandled::Resolution {
                    client_id: client_id.clone(),
                    resolution,
                    message: message.clone(),
                    handled_by: host,
                }),
            );
        }
        let kind = match resolution {
            Resolution::Accepted => FactKind::KnockAccepted,
            Resolution::Rejected => FactKind::KnockRejected,
            Resolution::Held => FactKind::KnockHeld,
        };
        self.fact(
            out,
            now,
            kind,
            Some((client_id, None, &knock.identity)),
            message,
        );
    }

    /// Not a verdict: the knock stays queued with the host's message and name.
    fn hold(
        &mut self,
        out: &mut Out,
        now: DateTime<Utc>,
        host_conn: ConnId,
        client_id: &ClientId,
        message: Option<String>,
    ) {
        let Some(host) = self.client_view(host_conn) else {
            return;
        };
        let Some(knock) = self.knocks.iter_mut().find(|k| &k.client_id == client_id) else {
            return;
        };
        knock.hold = Some(Hold {
            message: message.clone(),
            host_display_name: host.display_name.clone(),
        });
        let identity = knock.identity.clone();
        if let Some(knocker) = knock.conn {
            out.send(
                knocker,
                ServerEvent::KnockHandled(KnockHandled::Verdict {
                    resolution: Resolution::Held,
                    message: message.clone(),
                    host_display_name: Some(host.display_name.clone()),
                    room_key: None,
                    retry_after_seconds: None,
                }),
            );
        }
        out.send_many(
            self.hosts(),
            ServerEvent::KnockHandled(KnockHandled::Resolution {
                client_id: client_id.clone(),
                resolution: Resolution::Held,
                message: message.clone(),
                handled_by: host,
            }),
        );
        self.fact(
            out,
            now,
            FactKind::KnockHeld,
            Some((client_id, None, &identity)),
            message,
        );
    }

    // -----------------------------------------------------------------------------------------
    // The room itself

    fn set_lock(&mut self, out: &mut Out, now: DateTime<Utc>, conn: ConnId, locked: bool) {
        if !self.require_host(out, conn, "set_lock") {
            return;
        }
        let changed = self.locked != locked;
        self.locked = locked;
        let by = self.conns[&conn].client_id.clone();
        let members = self.members().map(|(c, _, _)| c).collect();
        out.send_many(
            members,
            ServerEvent::RoomLocked {
                is_locked: locked,
                by_client_id: by,
            },
        );
        if changed {
            let kind = if locked {
                FactKind::Locked
            } else {
                FactKind::Unlocked
            };
            self.fact(out, now, kind, None, None);
        }
    }

    fn leave(&mut self, out: &mut Out, now: DateTime<Utc>, conn: ConnId) {
        let Some(place) = self.conns.get(&conn).map(|c| c.place) else {
            out.error(
                conn,
                ErrorCode::NotInRoom,
                "you are not in this room",
                "leave_room",
            );
            return;
        };
        match place {
            Place::Member(_) => {
                self.remove_member(out, now, conn, LeaveReason::Left);
                out.send(conn, ServerEvent::RoomLeft {});
            }
            Place::Knocking => {
                let client_id = self.conns[&conn].client_id.clone();
                self.remove_knock_of(out, now, &client_id, LeaveReason::Cancelled);
                self.conns.remove(&conn);
                out.send(conn, ServerEvent::RoomLeft {});
            }
            Place::Outside => {
                self.conns.remove(&conn);
                out.send(conn, ServerEvent::RoomLeft {});
            }
        }
    }

    fn disconnected(&mut self, out: &mut Out, now: DateTime<Utc>, conn: ConnId) {
        let Some(place) = self.conns.get(&conn).map(|c| c.place) else {
            return;
        };
        match place {
            Place::Member(_) => self.remove_member(out, now, conn, LeaveReason::Disconnected),
            Place::Knocking => {
                // The knock keeps its place for the grace period; hosts still see it.
                let client_id = self.conns[&conn].client_id.clone();
                if let Some(knock) = self.knocks.iter_mut().find(|k| k.client_id == client_id) {
                    knock.conn = None;
                    knock.away_since = Some(now);
                }
                self.conns.remove(&conn);
            }
            Place::Outside => {
                self.conns.remove(&conn);
            }
        }
    }

    fn remove_member(
        &mut self,
        out: &mut Out,
        now: DateTime<Utc>,
        conn: ConnId,
        reason: LeaveReason,
    ) {
        let Some(gone) = self.conns.remove(&conn) else {
            return;
        };
        let role = match gone.place {
            Place::Member(role) => Some(role),
            _ => None,
        };
        let members = self.members().map(|(c, _, _)| c).collect();
        out.send_many(
            members,
            ServerEvent::ClientLeft {
                client_id: gone.client_id.clone(),
                reason,
            },
        );
        self.fact(
            out,
            now,
            FactKind::Left,
            Some((&gone.client_id, role, &gone.identity)),
            None,
        );
        self.update_session(out, now);
    }

    fn chat(&mut self, out: &mut Out, now: DateTime<Utc>, conn: ConnId, text: String) {
        let Some(sender) = self.member(conn) else {
            out.error(
                conn,
                ErrorCode::NotInRoom,
                "only participants of the room may chat",
                "chat_message",
            );
            return;
        };
        let event = ServerEvent::ChatMessage {
            sender_id: sender.client_id.clone(),
            display_name: sender.identity.display_name.clone(),
            text,
            timestamp: now.timestamp_millis(),
        };
        let members = self.members().map(|(c, _, _)| c).collect();
        out.send_many(members, event);
    }

    fn kick(&mut self, out: &mut Out, now: DateTime<Utc>, conn: ConnId, target: ClientId) {
        if !self.require_host(out, conn, "kick_client") {
            return;
        }
        let Some(target_conn) = self.member_conn(&target) else {
            out.error(
                conn,
                ErrorCode::ClientNotFound,
                format!("no participant {target} in the room"),
                "kick_client",
            );
            return;
        };
        if target_conn == conn {
            out.error(
                conn,
                ErrorCode::Forbidden,
                "use leave_room to leave",
                "kick_client",
            );
            return;
        }
        if self.role_of(target_conn) == Some(Role::GrantedVisitor) {
            self.removed
                .insert(target.clone(), now + self.config.grant_validity);
        }
        let by = self.conns[&conn].client_id.clone();
        out.send(target_conn, ServerEvent::ClientKicked { by_client_id: by });
        out.0.push(Output::Close { conn: target_conn });
        self.remove_member(out, now, target_conn, LeaveReason::Kicked);
    }

    /// Everyone, inside or waiting, hears the end and is disconnected; the room forgets everything.
    fn end(&mut self, out: &mut Out, now: DateTime<Utc>, reason: EndReason) {
        let everyone: Vec<ConnId> = self.conns.keys().copied().collect();
        out.send_many(everyone.clone(), ServerEvent::RoomEnded { reason });
        for conn in &everyone {
            out.0.push(Output::Close { conn: *conn });
        }
        for knock in std::mem::take(&mut self.knocks) {
            self.fact(
                out,
                now,
                FactKind::KnockCancelled,
                Some((&knock.client_id, None, &knock.identity)),
                None,
            );
        }
        let members: Vec<(ClientId, Role, Identity)> = self
            .members()
            .map(|(_, c, role)| (c.client_id.clone(), role, c.identity.clone()))
            .collect();
        self.conns.clear();
        for (client_id, role, identity) in members {
            self.fact(
                out,
                now,
                FactKind::Left,
                Some((&client_id, Some(role), &identity)),
                None,
            );
        }
        self.away_verdicts.clear();
        self.cooldowns.clear();
        self.held_seats.clear();
        self.removed.clear();
        if let Some(session) = self.session.take() {
            self.session_fact(out, now, FactKind::SessionEnded, session.id);
        }
        self.ended = true;
    }

    /// Starts a session at the second member; ends it once fewer than two have stayed a while.
    fn update_session(&mut self, out: &mut Out, now: DateTime<Utc>) {
        let members = self.member_count();
        match &mut self.session {
            None if members >= 2 => {
                let id = format!("{}-{}", self.config.meeting_id, now.timestamp_millis());
                self.session = Some(Session {
                    id: id.clone(),
                    below_two_since: None,
                });
                self.session_fact(out, now, FactKind::SessionStarted, id);
            }
            Some(session) if members >= 2 => session.below_two_since = None,
            Some(session) if session.below_two_since.is_none() => {
                session.below_two_since = Some(now);
            }
            _ => {}
        }
    }

    fn session_fact(&self, out: &mut Out, now: DateTime<Utc>, kind: FactKind, session_id: String) {
        let mut fact = self.new_fact(now, kind, None, None);
        fact.room_session_id = Some(session_id);
        out.0.push(Output::Fact(fact));
    }

    fn relay(
        &mut self,
        out: &mut Out,
        conn: ConnId,
        kind: RelayKind,
        to: ClientId,
        message: Value,
    ) {
        let request = kind.as_str();
        let Some(sender) = self.member(conn) else {
            out.error(
                conn,
                ErrorCode::NotInRoom,
                "only participants of the room may signal media",
                request,
            );
            return;
        };
        if kind == RelayKind::SdpOffer && self.role_of(conn) == Some(Role::Viewer) {
            out.error(
                conn,
                ErrorCode::Forbidden,
                "viewers receive media; they do not publish it",
                request,
            );
            return;
        }
        let from = sender.client_id.clone();
        let Some(target) = self.member_conn(&to) else {
            out.error(
                conn,
                ErrorCode::ClientNotFound,
                format!("no participant {to} in the room"),
                request,
            );
            return;
        };
        out.send(target, ServerEvent::relay(kind, from, message));
    }

    fn tick(&mut self, out: &mut Out, now: DateTime<Utc>) {
        if now >= self.config.expires_at {
            self.end(out, now, EndReason::MeetingExpired);
            return;
        }
        let grace = self.config.resume_grace;
        let expired: Vec<ClientId> = self
            .knocks
            .iter()
            .filter(|k| k.away_since.is_some_and(|t| t + grace <= now))
            .map(|k| k.client_id.clone())
            .collect();
        for client_id in expired {
            self.remove_knock_of(out, now, &client_id, LeaveReason::Disconnected);
        }
        self.away_verdicts.retain(|_, v| v.expires_at > now);
        self.cooldowns.retain(|_, until| *until > now);
        self.held_seats.retain(|_, until| *until > now);
        self.removed.retain(|_, until| *until > now);
        let session_over = self.session.as_ref().is_some_and(|s| {
            s.below_two_since
                .is_some_and(|t| t + self.config.session_end_grace <= now)
        });
        if session_over && let Some(session) = self.session.take() {
            self.session_fact(out, now, FactKind::SessionEnded, session.id);
        }
    }

    // -----------------------------------------------------------------------------------------
    // Helpers

    fn members(&self) -> impl Iterator<Item = (ConnId, &Conn, Role)> {
        self.conns.iter().filter_map(|(id, c)| match c.place {
            Place::Member(role) => Some((*id, c, role)),
            _ => None,
        })
    }

    /// The connection of the member with this client id.
    fn member_conn(&self, client: &ClientId) -> Option<ConnId> {
        self.members()
            .find(|(_, c, _)| &c.client_id == client)
            .map(|(conn, _, _)| conn)
    }

    fn member(&self, conn: ConnId) -> Option<&Conn> {
        self.conns
            .get(&conn)
            .filter(|c| matches!(c.place, Place::Member(_)))
    }

    fn role_of(&self, conn: ConnId) -> Option<Role> {
        match self.conns.get(&conn)?.place {
            Place::Member(role) => Some(role),
            _ => None,
        }
    }

    fn hosts(&self) -> Vec<ConnId> {
        self.members()
            .filter(|(_, _, role)| *role == Role::Host)
            .map(|(c, _, _)| c)
            .collect()
    }

    fn require_host(&self, out: &mut Out, conn: ConnId, request: &str) -> bool {
        let is_host = self.role_of(conn) == Some(Role::Host);
        if !is_host {
            out.error(
                conn,
                ErrorCode::Forbidden,
                "only hosts may do this",
                request,
            );
        }
        is_host
    }

    fn client_view(&self, conn: ConnId) -> Option<ClientView> {
        let c = self.conns.get(&conn)?;
        Some(ClientView {
            id: c.client_id.clone(),
            display_name: c.identity.display_name.clone(),
            role: self.role_of(conn)?,
        })
    }

    fn room_view(&self) -> RoomView {
        RoomView {
            room_name: self.config.room_name.as_str().to_owned(),
            mode: self.config.mode,
            is_locked: self.locked,
            clients: self
                .members()
                .map(|(_, c, role)| ClientView {
                    id: c.client_id.clone(),
                    display_name: c.identity.display_name.clone(),
                    role,
                })
                .collect(),
        }
    }

    fn counts(&self) -> ClientCounts {
        let mut counts = ClientCounts::default();
        for (_, _, role) in self.members() {
            counts.total += 1;
            *counts.by_role.entry(role).or_default() += 1;
        }
        counts
    }

    fn fact(
        &self,
        out: &mut Out,
        now: DateTime<Utc>,
        kind: FactKind,
        client: Option<(&ClientId, Option<Role>, &Identity)>,
        message: Option<String>,
    ) {
        out.0
            .push(Output::Fact(self.new_fact(now, kind, client, message)));
    }

    fn new_fact(
        &self,
        now: DateTime<Utc>,
        kind: FactKind,
        client: Option<(&ClientId, Option<Role>, &Identity)>,
        message: Option<String>,
    ) -> RoomFact {
        RoomFact {
            kind,
            at: now,
            meeting_id: self.config.meeting_id,
            room_name: self.config.room_name.clone(),
            room_session_id: self.session.as_ref().map(|s| s.id.clone()),
            client: client.map(|(id, role, identity)| FactClient {
                client_id: id.clone(),
                role,
                display_name: identity.display_name.clone(),
                external_id: identity.external_id.clone(),
                metadata: identity.metadata.clone(),
                user_agent: identity.user_agent.clone(),
            }),
            message,
            counts: self.counts(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct JoinRequest {
    pub conn: ConnId,
    /// Used when this connection has no client id in the room yet.
    pub fresh_client_id: ClientId,
    pub peer: IpAddr,
    pub credential: Credential,
    pub identity: Identity,
    pub resume_token: Option<String>,
    /// Given to this connection if it ends up outside the room.
    pub fresh_resume_token: String,
}

fn knock_view(knock: &Knock) -> KnockView {
    KnockView {
        client_id: knock.client_id.clone(),
        display_name: knock.identity.display_name.clone(),
        external_id: knock.identity.external_id.clone(),
        metadata: knock.identity.metadata.clone(),
        knocked_at: knock.knocked_at.timestamp_millis(),
        state: if knock.hold.is_some() {
            KnockState::Held
        } else {
            KnockState::Waiting
        },
        hold_message: knock.hold.as_ref().and_then(|h| h.message.clone()),
    }
}

fn input_conn(input: &Input) -> Option<ConnId> {
    match input {
        Input::Join(JoinRequest { conn, .. }) => Some(*conn),
        Input::Knock { conn, .. }
        | Input::CancelKnock { conn }
        | Input::HandleKnock { conn, .. }
        | Input::SetLock { conn, .. }
        | Input::Leave { conn }
        | Input::Chat { conn, .. }
        | Input::Kick { conn, .. }
        | Input::EndMeeting { conn }
        | Input::Relay { conn, .. } => Some(*conn),
        Input::Disconnected { .. } | Input::SetTheme(_) | Input::End(_) | Input::Tick => None,
    }
}

#[cfg(test)]
#[path = "state_tests.rs"]
mod tests;

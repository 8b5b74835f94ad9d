//! The waiting room as a pure state machine: no I/O, no clocks, no randomness. Each input comes with
//! the time; the outputs are events for connections, connections to close, facts to record and media
//! to admit or revoke. The actor around it (actor.rs) only moves them.
//!
//! Who may see what is decided here and nowhere else: a connection that is not a member of the room
//! (a knocker, or one at the door) receives only its own verdicts, the knock page, refusals, and
//! whether a host is in and the call recorded (door_view.rs). Hosts see every knock; every host
//! receives every change to the queue.
//!
//! The room is made of small parts: `connections` (who is where), `queue` (the knocks), `seats`
//! (capacity and held seats), `session` (for insights) and `deadlines` (every timer). The handlers
//! live beside them: `entry` (joining), `door` (knocking and verdicts), `members` (the call itself).

mod chat;
mod closing;
mod connections;
mod deadlines;
mod door;
mod door_view;
mod entry;
mod hands;
mod invariants;
mod media_asks;
mod members;
mod queue;
mod reactions;
mod recording;
mod returns;
mod seats;
mod session;
mod snapshot;
pub(crate) mod spotlight;

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};

use self::connections::{Connections, Place};
use self::deadlines::{Deadlines, Timer};
use self::queue::KnockQueue;
pub use self::seats::Capacity;
use self::seats::{Occupancy, Seats};
use self::session::Sessions;
pub use self::snapshot::{Snapshot, UnknownVersion};
use serde::{Deserialize, Serialize};

use super::event::{
    Answer, ClientView, Event, KnockView, MediaChange, Output, Refusal, RefusalCode, Verdict,
};
use super::input::Input;
use super::model::{
    ClientId, ConnId, Decider, EndReason, Identity, MediaState, Request, Role, Theme,
};
use crate::meeting::facts::{DecidedBy, Departure, FactClient, FactKind, RoomFact};
use crate::meeting::network::NetworkSample;
use crate::meeting::{MeetingId, RecordingKind, RoomMode, RoomName};

#[derive(Debug, Clone)]
pub struct RoomConfig {
    pub meeting_id: MeetingId,
    pub room_name: RoomName,
    pub mode: RoomMode,
    pub locked: bool,
    /// The room ends for everyone at this time (an hour after the meeting's end date).
    pub expires_at: DateTime<Utc>,
    pub reject_cooldown: Duration,
    /// How long a member whose connection dropped keeps its place (and an accepted knocker its
    /// seat).
    pub resume_grace: Duration,
    /// How long a knocker whose connection dropped keeps its place in line: longer, since a phone
    /// waiting a while locks its screen, and the page's connection goes with it.
    pub knock_away_grace: Duration,
    /// How long the grant an accepted knocker enters with stays valid.
    pub grant_validity: Duration,
    /// A session ends once fewer than two members have been in the room this long.
    pub session_end_grace: Duration,
    pub max_knocks: usize,
    /// Most knocks waiting from one address (a flood from a few addresses cannot fill the queue).
    pub max_knocks_per_address: usize,
    /// A knock no host has answered within this time ends (None: knocks wait as long as it takes).
    pub knock_timeout: Option<Duration>,
    pub theme: Theme,
    /// Whether a host's browser may record the call (`Local`); the others forbid it here.
    pub recording: RecordingKind,
}

/// A verdict reached while its knocker was away (or a member's removal while it was away), kept
/// for the grace period so a resume delivers it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct AwayVerdict {
    client_id: ClientId,
    identity: Identity,
    kept: Kept,
}

/// What the room keeps for a knocker who is away, to tell it on its return.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Kept {
    Verdict(Verdict),
    KnockExpired {
        message: String,
    },
    HostMessage {
        message: String,
        host_display_name: String,
    },
    /// A member removed by a host while its connection was down.
    Kicked {
        by: ClientId,
    },
}

impl Kept {
    fn event(self) -> Event {
        match self {
            Kept::Verdict(verdict) => Event::Verdict(verdict),
            Kept::KnockExpired { message } => Event::KnockExpired { message },
            Kept::HostMessage {
                message,
                host_display_name,
            } => Event::HostMessage {
                message,
                host_display_name,
            },
            Kept::Kicked { by } => Event::Kicked { by },
        }
    }
}

/// A member the room was carried on without (its server stopped or died with the room's state
/// kept): until its grace ends, its resume token takes its place back, without a key or a knock.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct AwayMember {
    client_id: ClientId,
    role: Role,
    identity: Identity,
    media: MediaState,
    peer: std::net::IpAddr,
    device: Option<String>,
}

impl AwayMember {
    fn view(&self) -> ClientView {
        ClientView::new(
            self.client_id.clone(),
            &self.identity,
            self.role,
            self.media,
            true,
        )
    }
}

#[derive(Debug)]
pub struct Room {
    config: RoomConfig,
    locked: bool,
    /// Whom a host shows large on everyone's stage (spotlight.rs).
    spotlights: Vec<ClientId>,
    /// A host's browser recording the call (recording.rs).
    recording: Option<super::model::RecordingNow>,
    /// What outsiders were last told of the room (door_view.rs; derived, not kept in a snapshot).
    door_told: super::event::DoorView,
    /// Raised hands, oldest first (hands.rs).
    hands: Vec<(ClientId, DateTime<Utc>)>,
    /// How many reactions went out this second (reactions.rs; not kept in a snapshot).
    reactions: reactions::ReactionBudget,
    /// Who sent the latest chat messages (chat.rs; not kept in a snapshot).
    chat: chat::ChatLog,
    /// Members whose page went lately, who may come back without knocking (returns.rs; not kept
    /// in a snapshot).
    departures: returns::RecentDepartures,
    conns: Connections,
    queue: KnockQueue,
    /// By resume token.
    away_verdicts: HashMap<String, AwayVerdict>,
    /// By resume token.
    away_members: HashMap<String, AwayMember>,
    seats: Seats,
    session: Sessions,
    deadlines: Deadlines,
    ended: bool,
}

/// Mints the key an accepted knocker enters with.
pub type MintGrant<'a> = &'a dyn Fn(&ClientId) -> String;

/// Collects outputs while an input is handled.
#[derive(Default)]
struct Out(Vec<Output>);

impl Out {
    fn send(&mut self, to: ConnId, event: Event) {
        self.0.push(Output::Send {
            to: vec![to],
            event,
        });
    }

    fn send_many(&mut self, to: Vec<ConnId>, event: Event) {
        if !to.is_empty() {
            self.0.push(Output::Send { to, event });
        }
    }

    fn refuse(
        &mut self,
        to: ConnId,
        code: RefusalCode,
        message: impl Into<String>,
        request: Request,
    ) {
        self.send(to, Event::refused(code, message, Some(request)));
    }

    /// A refusal to whoever asked: a host's connection, or the REST API.
    fn refuse_to(
        &mut self,
        by: Decider,
        code: RefusalCode,
        message: impl Into<String>,
        request: Request,
    ) {
        match by {
            Decider::Host(conn) => self.refuse(conn, code, message, request),
            Decider::Api => self.answer(Answer::Refused(Refusal {
                code,
                message: message.into(),
                request: Some(request),
                retry_after_seconds: None,
            })),
        }
    }

    fn answer(&mut self, answer: Answer) {
        self.0.push(Output::Answer(answer));
    }

    fn close(&mut self, conn: ConnId) {
        self.0.push(Output::Close { conn });
    }

    fn media(&mut self, change: MediaChange) {
        self.0.push(Output::Media(change));
    }

    fn measured(&mut self, client_id: ClientId, sample: NetworkSample) {
        self.0.push(Output::Measured { client_id, sample });
    }
}

impl Room {
    pub fn new(config: RoomConfig) -> Self {
        let mut deadlines = Deadlines::default();
        deadlines.set(Timer::Expiry, config.expires_at);
        Room {
            seats: Seats::new(Capacity::of(config.mode)),
            locked: config.locked,
            spotlights: Vec::new(),
            recording: None,
            // As a room with nobody in it is seen from outside (no host, no recording).
            door_told: super::event::DoorView {
                locked: config.locked,
                ..Default::default()
            },
            hands: Vec::new(),
            reactions: Default::default(),
            chat: Default::default(),
            departures: Default::default(),
            config,
            conns: Connections::default(),
            queue: KnockQueue::default(),
            away_verdicts: HashMap::new(),
            away_members: HashMap::new(),
            session: Sessions::default(),
            deadlines,
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
            && !self.session.is_open()
            && self.queue.is_empty()
            && self.away_verdicts.is_empty()
            && self.away_members.is_empty()
            && self
                .deadlines
                .iter()
                .all(|(timer, _)| *timer == Timer::Expiry)
    }

    /// When `Tick` next has something to do.
    pub fn next_deadline(&self) -> Option<DateTime<Utc>> {
        self.deadlines.next()
    }

    /// The knock queue as hosts see it, oldest first.
    pub fn knock_views(&self) -> Vec<KnockView> {
        self.queue.views()
    }

    pub fn member_count(&self) -> usize {
        self.conns.member_count()
    }

    pub fn participant_count(&self) -> usize {
        self.conns.participant_count()
    }

    /// Handles one input at time `now`.
    pub fn handle(&mut self, now: DateTime<Utc>, input: Input, grant: MintGrant) -> Vec<Output> {
        let mut out = Out::default();
        if self.ended {
            // The actor stops once a room ends; anything still in flight gets a clear answer.
            if let Some(conn) = input.conn() {
                out.send(
                    conn,
                    Event::refused(RefusalCode::RoomEnded, "the room has ended", None),
                );
                out.close(conn);
            }
            return out.0;
        }
        match input {
            Input::Join(request) => self.join(&mut out, now, request),
            Input::Knock { conn, display_name } => self.knock(&mut out, now, conn, display_name),
            Input::CancelKnock { conn } => self.cancel_knock(&mut out, now, conn),
            Input::HandleKnock {
                by,
                target,
                action,
                message,
            } => self.handle_knock(&mut out, now, by, target, action, message, grant),
            Input::MessageKnockers {
                conn,
                target,
                message,
            } => self.message_knockers(&mut out, conn, target, message),
            Input::SendToWaitingRoom {
                conn,
                target,
                message,
            } => self.send_to_waiting_room(&mut out, now, conn, target, message),
            Input::ListKnocks => out.answer(Answer::Queue(self.queue.views())),
            Input::ListMembers => out.answer(Answer::Members(self.conns.views())),
            Input::SetLock { conn, locked } => self.set_lock(&mut out, now, conn, locked),
            Input::SetSpotlight { conn, target } => self.set_spotlight(&mut out, conn, target),
            Input::ChangeSpotlight { conn, target, lit } => {
                self.change_spotlight(&mut out, conn, target, lit)
            }
            Input::SetRecording { conn, on } => self.set_recording(&mut out, now, conn, on),
            Input::SetHand {
                conn,
                target,
                raised,
            } => self.set_hand(&mut out, now, conn, target, raised),
            Input::LowerAllHands { conn } => self.lower_all_hands(&mut out, conn),
            Input::React { conn, reaction } => self.react(&mut out, now, conn, reaction),
            Input::AskMedia { conn, targets, ask } => self.ask_media(&mut out, conn, targets, ask),
            Input::Leave { conn } => self.leave(&mut out, now, conn),
            Input::PageClosing { conn } => self.page_closing(conn),
            Input::PageBack { resume_token } => self.page_back(now, &resume_token),
            Input::Disconnected { conn } => self.disconnected(&mut out, now, conn),
            Input::Chat { conn, text } => self.chat(&mut out, now, conn, text),
            Input::RemoveChat { conn, id } => self.remove_chat(&mut out, conn, id),
            Input::Kick { conn, target } => self.kick(&mut out, now, conn, target),
            Input::EndMeeting { conn } => {
                if self
                    .acting_host(&mut out, conn, Request::EndMeeting)
                    .is_some()
                {
                    self.end(&mut out, now, EndReason::EndedByHost, grant);
                }
            }
            Input::SetMedia { conn, media } => self.set_media(&mut out, conn, media),
            Input::Measured { conn, sample } => self.measured(&mut out, conn, sample),
            Input::Relay {
                conn,
                kind,
                to,
                payload,
            } => self.relay(&mut out, conn, kind, to, payload),
            Input::SetTheme(theme) => self.set_theme(&mut out, theme),
            Input::End(reason) => self.end(&mut out, now, reason, grant),
            Input::HandOver => self.hand_over(&mut out),
            Input::Tick => self.tick(&mut out, now, grant),
        }
        if !self.ended {
            self.settle_spotlight(&mut out);
            self.settle_recording(&mut out, now);
            self.settle_door_view(&mut out);
            // Whoever moved in line hears where they stand now.
            for (conn, position) in self.queue.moved() {
                out.send(conn, Event::QueuePosition { position });
            }
        }
        out.0
    }

    /// Acts on every deadline that came due: the room's expiry first; then knocks whose grace ran
    /// out, in queue order; then the session's end. Other timers simply lapse.
    fn tick(&mut self, out: &mut Out, now: DateTime<Utc>, grant: MintGrant) {
        let due = self.deadlines.take_due(now);
        if due.contains(&Timer::Expiry) {
            self.end(out, now, EndReason::MeetingExpired, grant);
            return;
        }
        let mut gone_away = Vec::new();
        let mut timed_out = Vec::new();
        let mut members_gone = Vec::new();
        let mut session_over = false;
        for timer in due {
            match timer {
                Timer::KnockAway(client) => gone_away.push(client),
                Timer::KnockTimeout(client) => timed_out.push(client),
                Timer::AwayVerdict(token) => {
                    self.away_verdicts.remove(&token);
                }
                Timer::HeldSeat(client) => {
                    self.seats.release(&client);
                }
                Timer::MemberAway(token) => members_gone.push(token),
                Timer::SessionEnd => session_over = true,
                Timer::Cooldown(_) | Timer::Removed(_) | Timer::Expiry => {}
            }
        }
        for token in members_gone {
            self.member_gone(out, now, &token);
        }
        for client in self.queue.client_ids() {
            if gone_away.contains(&client) {
                self.remove_knock_of(out, now, &client, super::model::LeaveReason::Disconnected);
            } else if timed_out.contains(&client) {
                self.expire_knock(out, now, &client);
            }
        }
        if session_over && let Some(id) = self.session.end(&mut self.deadlines) {
            self.session_fact(out, now, FactKind::SessionEnded, id, None);
        }
    }

    /// Who takes a seat: the members, and those away who may take theirs back.
    fn occupancy(&self) -> Occupancy {
        let away_participants = self
            .away_members
            .values()
            .filter(|m| m.role != Role::Viewer)
            .count();
        Occupancy {
            members: self.conns.member_count() + self.away_members.len(),
            participants: self.conns.participant_count() + away_participants,
        }
    }

    /// Holds a seat for an accepted knocker for the resume grace.
    fn hold_seat(&mut self, client: &ClientId, now: DateTime<Utc>) {
        self.seats.hold(client.clone());
        self.deadlines.set(
            Timer::HeldSeat(client.clone()),
            now + self.config.resume_grace,
        );
    }

    fn release_seat(&mut self, client: &ClientId) {
        self.seats.release(client);
        self.deadlines.cancel(&Timer::HeldSeat(client.clone()));
    }

    /// The host on `conn`, who may make `request`; anyone else is refused it.
    /// The role of a member of the room, connected or away.
    fn role_in_room(&self, client: &ClientId) -> Option<Role> {
        let present = self.conns.iter().find_map(|(_, c)| match c.place {
            Place::Member(role) if &c.client_id == client => Some(role),
            _ => None,
        });
        present.or_else(|| {
            self.away_members
                .values()
                .find(|away| &away.client_id == client)
                .map(|away| away.role)
        })
    }

    fn acting_host(&self, out: &mut Out, conn: ConnId, request: Request) -> Option<ClientId> {
        let host = self
            .conns
            .get(conn)
            .filter(|c| c.place == Place::Member(Role::Host))
            .map(|c| c.client_id.clone());
        if host.is_none() {
            out.refuse(
                conn,
                RefusalCode::Forbidden,
                "only hosts may do this",
                request,
            );
        }
        host
    }

    /// After members came or went: a session may start, or its end be scheduled or called off.
    fn update_session(&mut self, out: &mut Out, now: DateTime<Utc>) {
        // Members away are counted: the session goes on while they come back.
        let started = self.session.members_changed(
            self.conns.member_count() + self.away_members.len(),
            now,
            self.config.meeting_id,
            self.config.session_end_grace,
            &mut self.deadlines,
        );
        if let Some(id) = started {
            self.session_fact(out, now, FactKind::SessionStarted, id, None);
        }
    }

    fn session_fact(
        &self,
        out: &mut Out,
        now: DateTime<Utc>,
        kind: FactKind,
        session_id: String,
        why: Option<Departure>,
    ) {
        let mut fact = self.new_fact(now, kind, None, None);
        fact.room_session_id = Some(session_id);
        fact.why = why;
        out.0.push(Output::Fact(fact));
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

    /// A fact of someone's going (a leave, a knock ended without a verdict), saying why.
    fn departure_fact(
        &self,
        out: &mut Out,
        now: DateTime<Utc>,
        kind: FactKind,
        client: Option<(&ClientId, Option<Role>, &Identity)>,
        why: Departure,
    ) {
        let mut fact = self.new_fact(now, kind, client, None);
        fact.why = Some(why);
        out.0.push(Output::Fact(fact));
    }

    /// A knock's verdict, saying who decided it.
    fn verdict_fact(
        &self,
        out: &mut Out,
        now: DateTime<Utc>,
        kind: FactKind,
        client: (&ClientId, &Identity),
        message: Option<String>,
        by: Decider,
    ) {
        let mut fact = self.new_fact(now, kind, Some((client.0, None, client.1)), message);
        fact.decided_by = Some(match by {
            Decider::Host(_) => DecidedBy::Host,
            Decider::Api => DecidedBy::Api,
        });
        out.0.push(Output::Fact(fact));
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
            room_session_id: self.session.id().map(str::to_owned),
            client: client.map(|(id, role, identity)| FactClient {
                client_id: id.clone(),
                role,
                display_name: identity.display_name.clone(),
                external_id: identity.external_id.clone(),
                metadata: identity.metadata.clone(),
                user_agent: identity.user_agent.clone(),
            }),
            message,
            decided_by: None,
            counts: self.conns.counts(),
            why: None,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;

//! The state machine, driven directly: scenarios for each rule (`door`, `room`), then property tests
//! of its invariants over random input sequences (`properties`).

mod away;
mod chat;
mod door;
mod hands;
mod media_asks;
mod observer;
mod properties;
mod reactions;
mod recording;
mod returns;
mod room;
mod spotlight;
mod waiting;

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};

use super::deadlines::Timer;
use super::*;
use crate::meeting::facts::FactKind;
use crate::room::event::{Answer, DoorView, Refusal, ResolvedKnock, Verdict};
use crate::room::input::JoinRequest;
use crate::room::model::{
    Credential, KnockAction, KnockState, KnockTarget, LeaveReason, MediaState, RelayKind,
    RelayPayload, Resolution,
};

pub(crate) fn config(mode: RoomMode, locked: bool) -> RoomConfig {
    RoomConfig {
        meeting_id: MeetingId(1),
        room_name: RoomName::parse("/room").unwrap(),
        mode,
        locked,
        expires_at: start() + Duration::hours(2),
        reject_cooldown: Duration::seconds(60),
        resume_grace: Duration::seconds(15),
        knock_away_grace: Duration::seconds(120),
        grant_validity: Duration::minutes(5),
        session_end_grace: Duration::seconds(30),
        max_knocks: 50,
        max_knocks_per_address: 50,
        knock_timeout: None,
        theme: Theme::default(),
        recording: crate::meeting::RecordingKind::Local,
    }
}

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 24, 12, 0, 0).unwrap()
}

fn ip(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 0, 0, last))
}

fn grant(id: &ClientId) -> String {
    format!("grant-for-{id}")
}

fn payload(json: &str) -> RelayPayload {
    RelayPayload(Arc::from(json))
}

struct Harness {
    room: Room,
    now: DateTime<Utc>,
    facts: Vec<RoomFact>,
    closed: Vec<ConnId>,
    /// Clients with a media path, as the room's admit and revoke outputs left it.
    media: BTreeSet<ClientId>,
    /// Answers to inputs from the REST API.
    answers: Vec<Answer>,
    /// Whose network samples the room passed on, in order.
    pub measured: Vec<ClientId>,
}

impl Harness {
    fn new(mode: RoomMode, locked: bool) -> Self {
        Harness {
            room: Room::new(config(mode, locked)),
            now: start(),
            facts: Vec::new(),
            closed: Vec::new(),
            media: BTreeSet::new(),
            answers: Vec::new(),
            measured: Vec::new(),
        }
    }

    /// Feeds one input; returns what each connection received, in order.
    fn input(&mut self, input: Input) -> Vec<(ConnId, Event)> {
        let mut received = Vec::new();
        for output in self.room.handle(self.now, input, &grant) {
            match output {
                Output::Send { to, event } => {
                    for conn in to {
                        received.push((conn, event.clone()));
                    }
                }
                Output::Close { conn } => self.closed.push(conn),
                Output::Fact(fact) => self.facts.push(fact),
                Output::Media(MediaChange::Admit { client_id, .. }) => {
                    assert!(
                        self.media.insert(client_id.clone()),
                        "{client_id} admitted to media twice"
                    );
                }
                Output::Answer(answer) => self.answers.push(answer),
                Output::Measured { client_id, .. } => {
                    assert!(
                        self.media.contains(&client_id),
                        "{client_id} measured without being in the room"
                    );
                    self.measured.push(client_id);
                }
                Output::Media(MediaChange::Revoke { client_id }) => {
                    assert!(
                        self.media.remove(&client_id),
                        "{client_id} revoked without being admitted"
                    );
                }
            }
        }
        self.room.check_invariants();
        received
    }

    /// The room is handed over and carried on, as a restarted server or another node would: its
    /// snapshot goes through the kept form (JSON) and back unchanged, every connection is told to
    /// come back and closed, and the restored room starts now. Returns what the handover said.
    fn move_room(&mut self) -> Vec<(ConnId, Event)> {
        let snapshot = self.room.snapshot();
        let kept = serde_json::to_string(&snapshot).expect("a snapshot serialises");
        let config = self.room.config().clone();
        let said = self.input(Input::HandOver);
        let back: Snapshot = serde_json::from_str(&kept).expect("a kept snapshot reads back");
        assert_eq!(back, snapshot, "the kept form loses nothing");
        self.room = Room::restore(config, back, self.now).expect("this version's snapshot");
        // The media server closes a room's paths with the room; they open again as people return.
        self.media.clear();
        self.room.check_invariants();
        said
    }

    /// This connection knocks, under the name it joined with.
    fn knock(&mut self, conn: ConnId) -> Vec<(ConnId, Event)> {
        self.input(Input::Knock {
            conn,
            display_name: None,
        })
    }

    fn join(&mut self, conn: ConnId, credential: Credential, name: &str) -> Vec<(ConnId, Event)> {
        self.input(Input::Join(join_request(conn, credential, name)))
    }

    /// A new connection joins with the resume token connection `of` was given, from its address.
    fn resume(&mut self, conn: ConnId, of: ConnId, name: &str) -> Vec<(ConnId, Event)> {
        self.input(Input::Join(JoinRequest {
            peer: ip(of as u8),
            resume_token: Some(format!("resume-{of}")),
            ..join_request(conn, Credential::None, name)
        }))
    }

    fn advance(&mut self, seconds: i64) -> Vec<(ConnId, Event)> {
        self.now += Duration::seconds(seconds);
        self.input(Input::Tick)
    }

    fn handle(
        &mut self,
        host: ConnId,
        knocker: &str,
        action: KnockAction,
        message: Option<&str>,
    ) -> Vec<(ConnId, Event)> {
        self.input(Input::HandleKnock {
            by: Decider::Host(host),
            target: KnockTarget::One(ClientId::new(knocker)),
            action,
            message: message.map(str::to_owned),
        })
    }

    /// Connection `conn` joins as `name`, knocks, a host (1) lets it in, and it enters by its grant.
    fn let_in(&mut self, conn: ConnId, name: &str) {
        self.join(conn, Credential::None, name);
        self.knock(conn);
        let client = format!("c{conn}");
        self.handle(1, &client, KnockAction::Accept, None);
        self.join(conn, Credential::Grant(ClientId::new(client)), name);
    }

    fn fact_kinds(&self) -> Vec<FactKind> {
        self.facts.iter().map(|f| f.kind).collect()
    }
}

fn to(conn: ConnId, received: &[(ConnId, Event)]) -> Vec<Event> {
    received
        .iter()
        .filter(|(c, _)| *c == conn)
        .map(|(_, e)| e.clone())
        .collect()
}

/// The room as `room_joined` showed it to this connection, if it was let in.
fn joined_room(conn: ConnId, received: &[(ConnId, Event)]) -> Option<crate::room::event::RoomView> {
    to(conn, received).into_iter().find_map(|e| match e {
        Event::Joined(joined) => Some(joined.room),
        _ => None,
    })
}

/// An unlocked group room with a host (1), a guest (2) and a viewer (3).
fn room_of_three() -> Harness {
    let mut h = Harness::new(RoomMode::Group, false);
    h.join(1, Credential::Host, "Host");
    h.join(2, Credential::None, "Pat");
    h.join(3, Credential::Viewer, "Vic");
    h
}

fn error_code(events: &[Event]) -> Option<RefusalCode> {
    events.iter().find_map(|e| match e {
        Event::Refused(Refusal { code, .. }) => Some(*code),
        _ => None,
    })
}

/// Connection `old` of `client` was replaced by a newer one: it heard why and was closed, and
/// `other`, a member, saw the client go and come back.
fn assert_replaced(
    h: &Harness,
    said: &[(ConnId, Event)],
    old: ConnId,
    other: ConnId,
    client: &str,
) {
    assert_eq!(
        error_code(&to(old, said)),
        Some(RefusalCode::Replaced),
        "the old connection hears why"
    );
    assert!(h.closed.contains(&old));
    assert!(
        matches!(
            &to(other, said)[..],
            [
                Event::ClientLeft { client_id, reason: LeaveReason::Replaced },
                Event::ClientJoined(view),
            ] if client_id.as_str() == client && view.id.as_str() == client
        ),
        "{said:?}"
    );
}

mod moved;

pub(crate) fn join_request(conn: ConnId, credential: Credential, name: &str) -> JoinRequest {
    JoinRequest {
        conn,
        fresh_client_id: ClientId::new(format!("c{conn}")),
        peer: ip(conn as u8),
        credential,
        identity: Identity {
            display_name: name.into(),
            external_id: None,
            metadata: None,
            avatar_url: None,
            user_agent: None,
        },
        media: Default::default(),
        device: None,
        resume_token: None,
        fresh_resume_token: format!("resume-{conn}"),
    }
}

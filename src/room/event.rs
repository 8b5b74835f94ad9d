//! What the room says: events addressed to connections, and everything else a step of the state
//! machine produces (connections to close, facts to record, media to admit or revoke). The transport
//! turns events into its own frames (`signal/wire.rs`).

use chrono::{DateTime, Utc};

use super::model::{
    ClientId, ConnId, EndReason, Identity, KnockPage, KnockState, LeaveReason, MediaAsk,
    MediaState, Reaction, RecordingNow, RelayKind, RelayPayload, Request, Resolution, Role, Theme,
};
use crate::meeting::facts::RoomFact;
use crate::meeting::network::NetworkSample;
use crate::meeting::{RecordingKind, RoomMode, RoomName};

#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// One event for several connections: the transport encodes it once.
    Send {
        to: Vec<ConnId>,
        event: Event,
    },
    /// This connection is done: close it after what was sent to it.
    Close {
        conn: ConnId,
    },
    Fact(RoomFact),
    Media(MediaChange),
    /// What a member's browser measured of its connections (a normal room's media goes browser
    /// to browser: the server sees none of it), to be kept for insights.
    Measured {
        client_id: ClientId,
        sample: NetworkSample,
    },
    /// The answer to an input that came without a connection (the REST API's questions and
    /// decisions).
    Answer(Answer),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    Queue(Vec<KnockView>),
    Members(Vec<ClientView>),
    Decided(Vec<(ClientId, Resolution)>),
    Refused(Refusal),
}

/// Who may have a media path into the room: exactly its members (host, visitor, granted visitor;
/// viewers to receive only). A knocker never does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaChange {
    Admit {
        client_id: ClientId,
        conn: ConnId,
        role: Role,
    },
    Revoke {
        client_id: ClientId,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The joiner is in: the room as members see it.
    Joined(Box<Joined>),
    /// The joiner is at the door of a locked room: only what a knocker may see.
    AtDoor(Box<AtDoor>),
    /// The room has no seat for the joiner.
    RoomFull,
    /// To the knocker: its knock is queued.
    KnockSent {
        client_id: ClientId,
    },
    /// To every host.
    Knocked(KnockView),
    /// To the knocker: how a host answered.
    Verdict(Verdict),
    /// To every host: how a knock was decided, so every host's list stays the same.
    Resolved(ResolvedKnock),
    /// To a knocker: a host's word while it waits (its place is kept).
    HostMessage {
        message: String,
        host_display_name: String,
    },
    /// To a member a host sent back to the waiting room.
    SentBack {
        message: Option<String>,
        host_display_name: String,
    },
    /// To a knocker whose knock waited longer than the room allows.
    KnockExpired {
        message: String,
    },
    /// To every connection outside the room: what it may know of the room changed.
    DoorChanged(DoorView),
    /// To a knocker: where it stands in line (1 is next).
    QueuePosition {
        position: usize,
    },
    /// To every host: a knocker's connection dropped. Its knock keeps its place (and may be decided)
    /// for the resume grace; `KnockerBack` when it is back, else `KnockerLeft`.
    KnockerAway {
        client_id: ClientId,
    },
    /// To every host: a knocker away is back on a new connection.
    KnockerBack {
        client_id: ClientId,
    },
    /// To every host: a knock left the queue without a verdict.
    KnockerLeft {
        client_id: ClientId,
        reason: LeaveReason,
    },
    LockChanged {
        locked: bool,
        by: ClientId,
    },
    /// To every member: who is in the spotlight now (in the order put there; empty: nobody), and
    /// which host changed it (`None`: one went out as they left).
    SpotlightChanged {
        client_ids: Vec<ClientId>,
        by: Option<ClientId>,
    },
    /// To every member: a host's browser is recording the call now (`None`: it stopped), and
    /// which host started or stopped it (`None`: it stopped as its host left).
    RecordingChanged {
        recording: Option<RecordingNow>,
        by: Option<ClientId>,
    },
    /// To every member: a hand went up (`raised_at`, when) or down, by its own member or a host.
    HandChanged {
        client_id: ClientId,
        raised_at: Option<DateTime<Utc>>,
        by: ClientId,
    },
    /// To every member, the sender too: a member's reaction, to show a few seconds.
    Reacted {
        client_id: ClientId,
        reaction: Reaction,
    },
    /// To a member a host asked something of its microphone or camera.
    MediaAsked {
        ask: MediaAsk,
        by: ClientId,
    },
    /// To every member: a chat message was removed, by its sender or a host.
    ChatRemoved {
        id: String,
        by: ClientId,
    },
    ClientJoined(ClientView),
    /// To the other members: a member's connection dropped. It may come back as itself within the
    /// resume grace (`ClientJoined` with the same id); if not, `ClientLeft` follows.
    ClientAway {
        client_id: ClientId,
    },
    ClientLeft {
        client_id: ClientId,
        reason: LeaveReason,
    },
    /// To the connection that left.
    YouLeft,
    Chat(ChatLine),
    /// To the other members: a member's microphone, camera or screen share changed.
    MediaChanged {
        client_id: ClientId,
        media: MediaState,
    },
    /// To the removed client.
    Kicked {
        by: ClientId,
    },
    /// The room is over; when the server is only restarting, a guest gets a key to come back with.
    Ended {
        reason: EndReason,
        rejoin_key: Option<String>,
    },
    /// To connections outside the room, when the look changes.
    KnockPageChanged(KnockPage),
    /// To members, when the look changes.
    ThemeChanged(Theme),
    Relay {
        kind: RelayKind,
        from: ClientId,
        payload: RelayPayload,
    },
    Refused(Refusal),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Joined {
    pub self_id: ClientId,
    pub role: Role,
    /// Takes this member's place back if the room moves to another server (it may then come back
    /// without a key, for a while).
    pub resume_token: String,
    pub room: RoomView,
    pub theme: Theme,
    /// Hosts only: the knock queue, oldest first.
    pub knockers: Option<Vec<KnockView>>,
    /// The room's time as it let the member in: the times it tells of (a knock's, a recording's
    /// start) are the room's clock, which the member's may not agree with.
    pub now: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AtDoor {
    pub self_id: ClientId,
    pub resume_token: String,
    pub knock_page: KnockPage,
    /// The knocker's own knock, when this join resumed one.
    pub knock: Option<OwnKnock>,
    /// What an outsider may know of the room.
    pub view: DoorView,
    /// Seconds before this person may knock again, after a rejection.
    pub knock_cooldown_seconds: Option<u64>,
}

/// What people outside a room may know of it (door_view.rs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DoorView {
    /// A host is in the room (connected, or away and expected back) to see a knock.
    pub host_present: bool,
    /// A host's browser is recording the call.
    pub recording: bool,
    /// The room is locked (a host unlocking it lets those at the door in without knocking).
    pub locked: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RoomView {
    pub room_name: RoomName,
    pub mode: RoomMode,
    pub is_locked: bool,
    /// Whom hosts put in the spotlight (in that order), shown large on everyone's stage.
    pub spotlights: Vec<ClientId>,
    /// Whether a host's browser may record the call (`Local`).
    pub recording_kind: RecordingKind,
    /// A host's browser recording the call, if one is.
    pub recording: Option<RecordingNow>,
    /// The hands up, oldest first, with when each went up.
    pub hands: Vec<(ClientId, DateTime<Utc>)>,
    pub capacity: super::state::Capacity,
    pub clients: Vec<ClientView>,
    /// When the room closes for everyone (an hour after the meeting's end date).
    pub closes_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ClientView {
    pub id: ClientId,
    pub display_name: String,
    pub role: Role,
    pub media: MediaState,
    /// Its connection dropped and it may come back (within the resume grace): its seat is its own.
    pub away: bool,
    /// What the integrator passed when it joined; hosts see them, others get views without
    /// (`ClientView::for_guests`), as only hosts see them on a knock.
    pub external_id: Option<String>,
    pub metadata: Option<String>,
    /// The picture everyone sees for this person.
    pub avatar_url: Option<String>,
}

impl ClientView {
    /// A client as hosts see it.
    pub fn new(
        id: ClientId,
        identity: &Identity,
        role: Role,
        media: MediaState,
        away: bool,
    ) -> ClientView {
        ClientView {
            id,
            display_name: identity.display_name.clone(),
            role,
            media,
            away,
            external_id: identity.external_id.clone(),
            metadata: identity.metadata.clone(),
            avatar_url: identity.avatar_url.clone(),
        }
    }

    /// The view for anyone but a host: without the integrator's identifiers.
    pub fn for_guests(self) -> ClientView {
        ClientView {
            external_id: None,
            metadata: None,
            ..self
        }
    }
}

/// A knock as hosts see it.
#[derive(Debug, Clone, PartialEq)]
pub struct KnockView {
    pub client_id: ClientId,
    pub display_name: String,
    pub external_id: Option<String>,
    pub metadata: Option<String>,
    pub avatar_url: Option<String>,
    pub knocked_at: DateTime<Utc>,
    pub state: KnockState,
    pub hold_message: Option<String>,
    /// Where it stands in line: 1 is next.
    pub position: usize,
    /// Its connection dropped; it may be back within the resume grace.
    pub away: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OwnKnock {
    pub state: KnockState,
    pub message: Option<String>,
    pub host_display_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Verdict {
    pub resolution: Resolution,
    pub message: Option<String>,
    pub host_display_name: Option<String>,
    /// Accepted: the grant to enter with.
    pub room_key: Option<String>,
    /// Rejected: seconds before this client may knock on the room again.
    pub retry_after_seconds: Option<u64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedKnock {
    pub client_id: ClientId,
    pub resolution: Resolution,
    pub message: Option<String>,
    /// The host who decided; None when the REST API did.
    pub handled_by: Option<ClientView>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ChatLine {
    /// The room's name for this message (to remove it by).
    pub id: String,
    pub sender_id: ClientId,
    pub display_name: String,
    pub text: String,
    pub at: DateTime<Utc>,
}

/// A request the room would not carry out, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub code: RefusalCode,
    /// For people.
    pub message: String,
    pub request: Option<Request>,
    /// When the same request may succeed: after a cooldown, in this many seconds.
    pub retry_after_seconds: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalCode {
    RoomEnded,
    AlreadyJoined,
    RoomKeyMismatch,
    /// To a connection that its own client replaced by joining from another connection.
    Replaced,
    RoomFull,
    NotInRoom,
    NotLockedOut,
    AlreadyKnocking,
    KnockCooldown,
    KnockQueueFull,
    KnockNotFound,
    Forbidden,
    ClientNotFound,
    /// A member whose connection dropped, to an action that needs it connected.
    ClientAway,
    /// A display name that is a host's of this room.
    NameTaken,
    /// Too many people waiting from one address.
    AddressLimit,
    /// Sooner after the sender's last request of the kind than the room allows (reactions).
    TooSoon,
    /// The room moves (its server stops or hands it over): reconnect to carry on.
    Restarting,
    /// As many as may be are in the spotlight already.
    SpotlightFull,
    /// The meeting may not be recorded, or another host records it already.
    RecordingUnavailable,
}

impl Event {
    pub fn refused(
        code: RefusalCode,
        message: impl Into<String>,
        request: Option<Request>,
    ) -> Self {
        Event::Refused(Refusal {
            code,
            message: message.into(),
            request,
            retry_after_seconds: None,
        })
    }
}

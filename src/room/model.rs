//! The room's own words: who is asking (connections, credentials, identities), what they ask for,
//! how knocks end, and how the room looks. No wire format here: `signal/` spells these for clients.

use std::sync::Arc;

// Serde: a room's state may be kept outside the process (state/snapshot.rs); the format is the
// keeper's choice, not the room's.
use serde::{Deserialize, Serialize};

pub use crate::meeting::facts::{EndReason, LeaveReason};
pub use crate::meeting::{ClientId, Role};

/// A connection to the room, numbered by the transport.
pub type ConnId = u64;

/// What the caller verified of the key a client joined with (signature, expiry, this meeting).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    None,
    Host,
    Viewer,
    /// The grant a host's `accept` gave a knocker: it enters as that client and no other.
    Grant(ClientId),
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub display_name: String,
    pub external_id: Option<String>,
    pub metadata: Option<String>,
    /// The picture the others see for this person (an address their browsers load).
    #[serde(default)]
    pub avatar_url: Option<String>,
    /// The browser's User-Agent, for insights.
    pub user_agent: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KnockTarget {
    One(ClientId),
    All,
}

/// Who decides a knock: a host in the room, or the integrator's backend through the REST API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decider {
    Host(ConnId),
    Api,
}

impl Decider {
    pub fn conn(self) -> Option<ConnId> {
        match self {
            Decider::Host(conn) => Some(conn),
            Decider::Api => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KnockAction {
    Accept,
    Hold,
    Reject,
}

/// How a host answered a knock: `Held` keeps it queued, the other two end it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Resolution {
    Accepted,
    Held,
    Rejected,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KnockState {
    Waiting,
    Held,
}

/// What a member sends: its microphone and camera on or off, and whether its video is a shared
/// screen. Others show a muted microphone, a face instead of a black tile, a screen on the big stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaState {
    pub audio: bool,
    pub video: bool,
    pub screen: bool,
}

impl Default for MediaState {
    fn default() -> Self {
        MediaState {
            audio: true,
            video: true,
            screen: false,
        }
    }
}

/// Media negotiation between members, which the room relays without reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelayKind {
    ReadyToReceiveOffer,
    SdpOffer,
    SdpAnswer,
    IceCandidate,
    IceEndOfCandidates,
}

/// A passing reaction a member sends the room (Whereby's emoji reactions): shown a few seconds
/// by every member's client, kept by nobody.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reaction {
    ThumbsUp,
    Clap,
    Heart,
    Laugh,
    Surprised,
    Celebrate,
}

/// What a host asks of members' devices (Whereby's host actions): their microphone or camera
/// turned off, which their client does at once, or on, which their client asks them (nobody's
/// microphone or camera is turned on from afar).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaAsk {
    Mute,
    TurnOffCamera,
    Unmute,
    TurnOnCamera,
}

/// What a relayed message carries, as the transport encoded it: the room passes it on untouched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayPayload(pub Arc<str>);

/// What a rejection's cooldown holds back: the person's device when its client says which it is
/// (so a rejection does not block others behind the same address), else the address.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum KnockerKey {
    Device(String),
    Address(std::net::IpAddr),
}

/// The kind of request a refusal answers, so the client can tell which of its requests failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    Join,
    Knock,
    CancelKnock,
    HandleKnock,
    SetLock,
    SetSpotlight,
    AddSpotlight,
    RemoveSpotlight,
    StartRecording,
    StopRecording,
    SetHand,
    LowerAllHands,
    React,
    AskMedia,
    Leave,
    Chat,
    RemoveChat,
    Kick,
    EndMeeting,
    MessageKnockers,
    SendToWaitingRoom,
    SetMedia,
    Relay(RelayKind),
}

/// A host's browser recording the call (state/recording.rs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordingNow {
    pub by: ClientId,
    pub started_at: chrono::DateTime<chrono::Utc>,
    /// Who that host is, for the facts of its start and its end (the end may come after they left).
    pub identity: Identity,
}

/// A background: an uploaded image, or one of Whereby's presets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Background {
    pub image_url: Option<String>,
    pub preset: Option<BackgroundPreset>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BackgroundPreset {
    pub palette: Option<String>,
    pub theme: Option<String>,
}

/// `#rrggbb` colours; none set means the defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Colors {
    pub primary: Option<String>,
    pub secondary: Option<String>,
    pub focus: Option<String>,
}

impl Colors {
    pub fn is_empty(&self) -> bool {
        self.primary.is_none() && self.secondary.is_none() && self.focus.is_none()
    }
}

/// The room's whole look, for members.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Theme {
    pub logo_url: Option<String>,
    pub room_background: Background,
    pub knock_page_background: Background,
    pub colors: Colors,
}

/// What a locked-out client may know of the room's look.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KnockPage {
    pub background: Background,
    pub logo_url: Option<String>,
    pub colors: Colors,
}

impl Theme {
    pub fn knock_page(&self) -> KnockPage {
        KnockPage {
            background: self.knock_page_background.clone(),
            logo_url: self.logo_url.clone(),
            colors: self.colors.clone(),
        }
    }
}

//! What the room is told: requests from connections (already validated by the transport), and what
//! happens around it (time passes, the theme changes, the meeting is deleted).

use std::net::IpAddr;

use crate::meeting::network::NetworkSample;

use super::model::{
    ClientId, ConnId, Credential, Decider, EndReason, Identity, KnockAction, KnockTarget, MediaAsk,
    MediaState, Reaction, RelayKind, RelayPayload, Theme,
};

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
        by: Decider,
        target: KnockTarget,
        action: KnockAction,
        message: Option<String>,
    },
    /// A host's word to people waiting, without a verdict: they keep their place.
    MessageKnockers {
        conn: ConnId,
        target: KnockTarget,
        message: String,
    },
    /// A host sends a guest in the room back to the door, first in line.
    SendToWaitingRoom {
        conn: ConnId,
        target: ClientId,
        message: Option<String>,
    },
    /// The queue as it stands (for the REST API).
    ListKnocks,
    /// The people in the room as it stands (for the REST API).
    ListMembers,
    SetLock {
        conn: ConnId,
        locked: bool,
    },
    /// A member raises or lowers its own hand (`target` None), or a host lowers another's.
    SetHand {
        conn: ConnId,
        target: Option<ClientId>,
        raised: bool,
    },
    /// A host lowers every hand that is up.
    LowerAllHands {
        conn: ConnId,
    },
    /// A member sends the room a reaction.
    React {
        conn: ConnId,
        reaction: Reaction,
    },
    /// A host asks these members to turn their microphone or camera off (done at once by their
    /// client) or on (asked of the person).
    AskMedia {
        conn: ConnId,
        targets: Vec<ClientId>,
        ask: MediaAsk,
    },
    /// A host shows `target` alone large on everyone's stage, or (`None`) nobody.
    SetSpotlight {
        conn: ConnId,
        target: Option<ClientId>,
    },
    /// A host adds `target` to those shown large (`lit`), or takes them out.
    ChangeSpotlight {
        conn: ConnId,
        target: ClientId,
        lit: bool,
    },
    /// A host starts (`on`) or stops the recording of the call in their own browser.
    SetRecording {
        conn: ConnId,
        on: bool,
    },
    Leave {
        conn: ConnId,
    },
    Disconnected {
        conn: ConnId,
    },
    /// The connection's page is being closed or reloaded (its socket goes next): a knock keeps
    /// its place only for the resume grace, time for a reload to take it back, not the away
    /// grace of a phone that locked its screen.
    PageClosing {
        conn: ConnId,
    },
    /// A page back with this resume token (reloaded) shows its review before it joins: a knock it
    /// left keeps its place for the away grace again, not only a reload's.
    PageBack {
        resume_token: String,
    },
    Chat {
        conn: ConnId,
        text: String,
    },
    /// A member removes their own chat message, or a host anyone's.
    RemoveChat {
        conn: ConnId,
        id: String,
    },
    /// A member's microphone, camera or screen share changed.
    SetMedia {
        conn: ConnId,
        media: MediaState,
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
        payload: RelayPayload,
    },
    /// What a member's browser measured of its connections over the last interval.
    Measured {
        conn: ConnId,
        sample: NetworkSample,
    },
    /// The room's theme changed (or was loaded): members get all of it, outsiders the knock page.
    SetTheme(Theme),
    /// The meeting was deleted, or the server is stopping.
    End(EndReason),
    /// The room's state was handed over to be carried on elsewhere (another node, or this server
    /// after its restart): every connection is told to come back and closed; nothing ends.
    HandOver,
    /// Time passed: whatever deadline came due is acted on.
    Tick,
}

#[derive(Debug, Clone, PartialEq)]
pub struct JoinRequest {
    pub conn: ConnId,
    /// Used when this connection has no client id in the room yet.
    pub fresh_client_id: ClientId,
    /// Whom the door's per-address limits count this client as: its IPv4 address, or its IPv6
    /// address's /64 (`proxy::network_of`).
    pub peer: IpAddr,
    pub credential: Credential,
    pub identity: Identity,
    /// What it sends as it enters.
    pub media: MediaState,
    /// The device the client says it is (it keeps a random id): rejections hold it back, not the
    /// whole address.
    pub device: Option<String>,
    pub resume_token: Option<String>,
    /// Given to this connection if it ends up outside the room.
    pub fresh_resume_token: String,
}

impl Input {
    /// Whether the room's kept state can change (what is only passed on, or asked, changes
    /// nothing a snapshot holds).
    pub fn may_change_state(&self) -> bool {
        !matches!(
            self,
            Input::Relay { .. }
                | Input::Measured { .. }
                | Input::Chat { .. }
                | Input::RemoveChat { .. }
                | Input::React { .. }
                | Input::AskMedia { .. }
                | Input::ListKnocks
                | Input::ListMembers
                | Input::SetTheme(_)
                | Input::HandOver
        )
    }

    /// The connection that sent this input, if one did.
    pub fn conn(&self) -> Option<ConnId> {
        match self {
            Input::Join(JoinRequest { conn, .. }) => Some(*conn),
            Input::HandleKnock { by, .. } => by.conn(),
            Input::Knock { conn, .. }
            | Input::CancelKnock { conn }
            | Input::MessageKnockers { conn, .. }
            | Input::SendToWaitingRoom { conn, .. }
            | Input::SetLock { conn, .. }
            | Input::SetSpotlight { conn, .. }
            | Input::ChangeSpotlight { conn, .. }
            | Input::SetRecording { conn, .. }
            | Input::SetHand { conn, .. }
            | Input::LowerAllHands { conn }
            | Input::React { conn, .. }
            | Input::AskMedia { conn, .. }
            | Input::Leave { conn }
            | Input::PageClosing { conn }
            | Input::Chat { conn, .. }
            | Input::RemoveChat { conn, .. }
            | Input::SetMedia { conn, .. }
            | Input::Measured { conn, .. }
            | Input::Kick { conn, .. }
            | Input::EndMeeting { conn }
            | Input::Relay { conn, .. } => Some(*conn),
            Input::Disconnected { .. }
            | Input::PageBack { .. }
            | Input::ListKnocks
            | Input::ListMembers
            | Input::SetTheme(_)
            | Input::End(_)
            | Input::HandOver
            | Input::Tick => None,
        }
    }
}

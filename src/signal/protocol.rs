//! The frames clients send, decoded, and the error codes the server answers with. docs/protocol.md
//! describes them for client authors; keep the two in step. Frames are JSON text:
//! `{"type": "...", "payload": {...}}`. Each wire name is spelled once: message types by the
//! variants of `MessageType`, payload fields by serde from the structs below.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::room::model::{KnockAction, MediaAsk, Reaction, RelayKind, Request};

/// Bumped when a change would break existing clients; sent in `hello`.
pub const PROTOCOL_VERSION: u32 = 1;

/// Every type of frame a client may send.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, strum::EnumString, strum::IntoStaticStr, strum::EnumIter,
)]
#[strum(serialize_all = "snake_case")]
pub enum MessageType {
    PreviewRoom,
    JoinRoom,
    KnockRoom,
    CancelRoomKnock,
    HandleKnock,
    SetLock,
    SetSpotlight,
    AddSpotlight,
    RemoveSpotlight,
    StartRecording,
    StopRecording,
    SetHand,
    LowerAllHands,
    SendReaction,
    AskMedia,
    LeaveRoom,
    /// The page is being closed or reloaded: a waiting knock keeps its place only briefly.
    PageClosing,
    ChatMessage,
    RemoveChatMessage,
    KickClient,
    EndMeeting,
    MessageKnockers,
    SendToWaitingRoom,
    SetMediaState,
    ReadyToReceiveOffer,
    SdpOffer,
    SdpAnswer,
    IceCandidate,
    IceEndOfCandidates,
    SfuOffer,
    SfuAnswer,
    SfuView,
    NetworkSample,
    /// Is the server there? Answered by `pong` (a page cannot see WebSocket pings).
    Ping,
}

impl MessageType {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    fn relay(self) -> Option<RelayKind> {
        Some(match self {
            MessageType::ReadyToReceiveOffer => RelayKind::ReadyToReceiveOffer,
            MessageType::SdpOffer => RelayKind::SdpOffer,
            MessageType::SdpAnswer => RelayKind::SdpAnswer,
            MessageType::IceCandidate => RelayKind::IceCandidate,
            MessageType::IceEndOfCandidates => RelayKind::IceEndOfCandidates,
            _ => return None,
        })
    }

    pub fn of_relay(kind: RelayKind) -> Self {
        match kind {
            RelayKind::ReadyToReceiveOffer => MessageType::ReadyToReceiveOffer,
            RelayKind::SdpOffer => MessageType::SdpOffer,
            RelayKind::SdpAnswer => MessageType::SdpAnswer,
            RelayKind::IceCandidate => MessageType::IceCandidate,
            RelayKind::IceEndOfCandidates => MessageType::IceEndOfCandidates,
        }
    }

    /// The frame type a room's refusal answers.
    pub fn of_request(request: Request) -> Self {
        match request {
            Request::Join => MessageType::JoinRoom,
            Request::Knock => MessageType::KnockRoom,
            Request::CancelKnock => MessageType::CancelRoomKnock,
            Request::HandleKnock => MessageType::HandleKnock,
            Request::SetLock => MessageType::SetLock,
            Request::SetSpotlight => MessageType::SetSpotlight,
            Request::AddSpotlight => MessageType::AddSpotlight,
            Request::RemoveSpotlight => MessageType::RemoveSpotlight,
            Request::StartRecording => MessageType::StartRecording,
            Request::StopRecording => MessageType::StopRecording,
            Request::SetHand => MessageType::SetHand,
            Request::LowerAllHands => MessageType::LowerAllHands,
            Request::React => MessageType::SendReaction,
            Request::AskMedia => MessageType::AskMedia,
            Request::Leave => MessageType::LeaveRoom,
            Request::Chat => MessageType::ChatMessage,
            Request::RemoveChat => MessageType::RemoveChatMessage,
            Request::Kick => MessageType::KickClient,
            Request::EndMeeting => MessageType::EndMeeting,
            Request::MessageKnockers => MessageType::MessageKnockers,
            Request::SendToWaitingRoom => MessageType::SendToWaitingRoom,
            Request::SetMedia => MessageType::SetMediaState,
            Request::Relay(kind) => MessageType::of_relay(kind),
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct JoinRoom {
    pub room_name: String,
    #[serde(default)]
    pub room_key: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub external_id: Option<String>,
    #[serde(default)]
    pub metadata: Option<String>,
    /// Whereby's `avatarUrl`: the picture the others see for this person.
    #[serde(default)]
    pub avatar_url: Option<String>,
    /// From an earlier `room_joined` (locked): reclaims a knock whose connection dropped.
    #[serde(default)]
    pub resume_token: Option<String>,
    /// A random id the client keeps for its device: a rejection's cooldown holds back this device
    /// rather than everyone behind the same address.
    #[serde(default)]
    pub device_id: Option<String>,
    /// Whether the microphone and camera are on as it enters (both, when not said).
    #[serde(default)]
    pub audio: Option<bool>,
    #[serde(default)]
    pub video: Option<bool>,
}

/// A member's microphone, camera and screen share, for the others to show.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SetMediaState {
    pub audio: bool,
    pub video: bool,
    #[serde(default)]
    pub screen: bool,
}

/// What a member's browser measured of its connections over the last interval (normal rooms):
/// bits a second sent and received, per cent of packets lost each way.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct NetworkSampleFrame {
    pub bitrate_send: f64,
    pub bitrate_recv: f64,
    pub packet_loss_send: f64,
    pub packet_loss_recv: f64,
}

/// Before the device check: is the room there, what would this key make me, and the ICE servers
/// (with TURN credentials) for the check and the call.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PreviewRoom {
    pub room_name: String,
    #[serde(default)]
    pub room_key: Option<String>,
    /// The place a reloaded page had (its `resumeToken`): a knock away keeps it while the page
    /// shows its review.
    #[serde(default)]
    pub resume_token: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Accept,
    Hold,
    Reject,
}

impl From<Action> for KnockAction {
    fn from(action: Action) -> Self {
        match action {
            Action::Accept => KnockAction::Accept,
            Action::Hold => KnockAction::Hold,
            Action::Reject => KnockAction::Reject,
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct HandleKnock {
    /// One knocker; omit it and set `all` to decide every waiting knock at once.
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub all: bool,
    pub action: Action,
    #[serde(default)]
    pub message: Option<String>,
}

/// A host's word to one knocker (`clientId`) or to everyone waiting (`all: true`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct MessageKnockers {
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub all: bool,
    pub message: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SendToWaitingRoom {
    pub client_id: String,
    #[serde(default)]
    pub message: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SetLock {
    pub locked: bool,
}

/// `clientId` absent: the sender's own hand; a host may lower (never raise) another's.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SetHand {
    pub raised: bool,
    #[serde(default)]
    pub client_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SendReaction {
    pub reaction: ReactionName,
}

/// A reaction as clients name it, in `send_reaction` and `reaction`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReactionName {
    ThumbsUp,
    Clap,
    Heart,
    Laugh,
    Surprised,
    Celebrate,
}

impl From<ReactionName> for Reaction {
    fn from(name: ReactionName) -> Self {
        match name {
            ReactionName::ThumbsUp => Reaction::ThumbsUp,
            ReactionName::Clap => Reaction::Clap,
            ReactionName::Heart => Reaction::Heart,
            ReactionName::Laugh => Reaction::Laugh,
            ReactionName::Surprised => Reaction::Surprised,
            ReactionName::Celebrate => Reaction::Celebrate,
        }
    }
}

impl From<Reaction> for ReactionName {
    fn from(reaction: Reaction) -> Self {
        match reaction {
            Reaction::ThumbsUp => ReactionName::ThumbsUp,
            Reaction::Clap => ReactionName::Clap,
            Reaction::Heart => ReactionName::Heart,
            Reaction::Laugh => ReactionName::Laugh,
            Reaction::Surprised => ReactionName::Surprised,
            Reaction::Celebrate => ReactionName::Celebrate,
        }
    }
}

/// A host's request of members' microphones or cameras (at least one client id).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AskMedia {
    pub client_ids: Vec<String>,
    pub ask: MediaAskName,
}

/// What `ask_media` asks, as clients name it (also in `media_asked`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaAskName {
    Mute,
    TurnOffCamera,
    Unmute,
    TurnOnCamera,
}

impl From<MediaAskName> for MediaAsk {
    fn from(name: MediaAskName) -> Self {
        match name {
            MediaAskName::Mute => MediaAsk::Mute,
            MediaAskName::TurnOffCamera => MediaAsk::TurnOffCamera,
            MediaAskName::Unmute => MediaAsk::Unmute,
            MediaAskName::TurnOnCamera => MediaAsk::TurnOnCamera,
        }
    }
}

impl From<MediaAsk> for MediaAskName {
    fn from(ask: MediaAsk) -> Self {
        match ask {
            MediaAsk::Mute => MediaAskName::Mute,
            MediaAsk::TurnOffCamera => MediaAskName::TurnOffCamera,
            MediaAsk::Unmute => MediaAskName::Unmute,
            MediaAsk::TurnOnCamera => MediaAskName::TurnOnCamera,
        }
    }
}

/// `clientId` null (or absent): nobody in the spotlight.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SetSpotlight {
    #[serde(default)]
    pub client_id: Option<String>,
}

/// `add_spotlight` / `remove_spotlight`: whom to put in the spotlight beside the others, or take
/// out of it.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ChangeSpotlight {
    pub client_id: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ChatMessage {
    pub text: String,
}

/// The `id` a `chat_message` came with.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RemoveChatMessage {
    pub id: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct KickClient {
    pub client_id: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct KnockRoom {
    /// Replaces the display name given at `join_room`.
    #[serde(default)]
    pub display_name: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Relay {
    pub receiver_id: String,
    #[serde(default)]
    pub message: Value,
}

/// A session description for the media server of a group room (`sfu_offer`, `sfu_answer`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SfuDescription {
    pub sdp: String,
}

/// How wide a subscriber shows one publisher's video, in device pixels (0: not shown), so the media
/// server sends the layer that fits.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SfuView {
    pub client_id: String,
    pub width: u32,
}

/// Frames for the media server, which the session hands over without troubling the room.
#[derive(Debug, Clone, PartialEq)]
pub enum SfuMessage {
    Offer(SfuDescription),
    Answer(SfuDescription),
    View(SfuView),
}

#[derive(Debug, Clone, PartialEq)]
pub enum ClientMessage {
    PreviewRoom(PreviewRoom),
    JoinRoom(JoinRoom),
    KnockRoom(KnockRoom),
    CancelRoomKnock,
    HandleKnock(HandleKnock),
    SetLock(SetLock),
    SetSpotlight(SetSpotlight),
    AddSpotlight(ChangeSpotlight),
    RemoveSpotlight(ChangeSpotlight),
    StartRecording,
    StopRecording,
    SetHand(SetHand),
    LowerAllHands,
    SendReaction(SendReaction),
    AskMedia(AskMedia),
    LeaveRoom,
    PageClosing,
    ChatMessage(ChatMessage),
    RemoveChatMessage(RemoveChatMessage),
    KickClient(KickClient),
    EndMeeting,
    MessageKnockers(MessageKnockers),
    SendToWaitingRoom(SendToWaitingRoom),
    SetMediaState(SetMediaState),
    Relay(RelayKind, Relay),
    Sfu(SfuMessage),
    NetworkSample(NetworkSampleFrame),
    Ping,
}

/// Why a frame could not be read as a client message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    pub code: ErrorCode,
    pub message: String,
    /// The frame's `type`, when it had one.
    pub request_type: Option<String>,
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    payload: Option<Value>,
}

fn payload<T: serde::de::DeserializeOwned>(
    kind: MessageType,
    payload: Value,
) -> Result<T, DecodeError> {
    serde_json::from_value(payload).map_err(|err| DecodeError {
        code: ErrorCode::InvalidPayload,
        message: format!("{}: {err}", kind.as_str()),
        request_type: Some(kind.as_str().to_owned()),
    })
}

impl ClientMessage {
    pub fn decode(frame: &str) -> Result<Self, DecodeError> {
        let not_an_object = |detail: String| DecodeError {
            code: ErrorCode::InvalidJson,
            message: format!(
                "a frame must be a JSON object {{\"type\": ..., \"payload\": {{...}}}}{detail}"
            ),
            request_type: None,
        };
        let envelope: Envelope =
            serde_json::from_str(frame).map_err(|err| not_an_object(format!(": {err}")))?;
        // serde also reads the envelope from an array (`["leave_room"]`); only objects are frames.
        if !frame.trim_start().starts_with('{') {
            return Err(not_an_object(String::new()));
        }
        let kind: MessageType = envelope.kind.parse().map_err(|_| DecodeError {
            code: ErrorCode::UnknownType,
            message: format!("unknown message type {:?}", envelope.kind),
            request_type: Some(envelope.kind.clone()),
        })?;
        // A missing payload is an empty one, so `{"type": "leave_room"}` is enough.
        let body = envelope
            .payload
            .unwrap_or_else(|| Value::Object(Default::default()));
        Ok(match kind {
            MessageType::PreviewRoom => ClientMessage::PreviewRoom(payload(kind, body)?),
            MessageType::JoinRoom => ClientMessage::JoinRoom(payload(kind, body)?),
            MessageType::KnockRoom => ClientMessage::KnockRoom(payload(kind, body)?),
            MessageType::CancelRoomKnock => ClientMessage::CancelRoomKnock,
            MessageType::HandleKnock => ClientMessage::HandleKnock(payload(kind, body)?),
            MessageType::SetLock => ClientMessage::SetLock(payload(kind, body)?),
            MessageType::SetSpotlight => ClientMessage::SetSpotlight(payload(kind, body)?),
            MessageType::AddSpotlight => ClientMessage::AddSpotlight(payload(kind, body)?),
            MessageType::RemoveSpotlight => ClientMessage::RemoveSpotlight(payload(kind, body)?),
            MessageType::StartRecording => ClientMessage::StartRecording,
            MessageType::StopRecording => ClientMessage::StopRecording,
            MessageType::SetHand => ClientMessage::SetHand(payload(kind, body)?),
            MessageType::LowerAllHands => ClientMessage::LowerAllHands,
            MessageType::SendReaction => ClientMessage::SendReaction(payload(kind, body)?),
            MessageType::AskMedia => ClientMessage::AskMedia(payload(kind, body)?),
            MessageType::LeaveRoom => ClientMessage::LeaveRoom,
            MessageType::PageClosing => ClientMessage::PageClosing,
            MessageType::ChatMessage => ClientMessage::ChatMessage(payload(kind, body)?),
            MessageType::RemoveChatMessage => {
                ClientMessage::RemoveChatMessage(payload(kind, body)?)
            }
            MessageType::KickClient => ClientMessage::KickClient(payload(kind, body)?),
            MessageType::EndMeeting => ClientMessage::EndMeeting,
            MessageType::MessageKnockers => ClientMessage::MessageKnockers(payload(kind, body)?),
            MessageType::SendToWaitingRoom => {
                ClientMessage::SendToWaitingRoom(payload(kind, body)?)
            }
            MessageType::SetMediaState => ClientMessage::SetMediaState(payload(kind, body)?),
            MessageType::ReadyToReceiveOffer
            | MessageType::SdpOffer
            | MessageType::SdpAnswer
            | MessageType::IceCandidate
            | MessageType::IceEndOfCandidates => {
                let relay = kind.relay().expect("the arm lists only relay types");
                ClientMessage::Relay(relay, payload(kind, body)?)
            }
            MessageType::SfuOffer => ClientMessage::Sfu(SfuMessage::Offer(payload(kind, body)?)),
            MessageType::SfuAnswer => ClientMessage::Sfu(SfuMessage::Answer(payload(kind, body)?)),
            MessageType::SfuView => ClientMessage::Sfu(SfuMessage::View(payload(kind, body)?)),
            MessageType::NetworkSample => ClientMessage::NetworkSample(payload(kind, body)?),
            MessageType::Ping => ClientMessage::Ping,
        })
    }

    pub fn kind(&self) -> MessageType {
        match self {
            ClientMessage::PreviewRoom(_) => MessageType::PreviewRoom,
            ClientMessage::JoinRoom(_) => MessageType::JoinRoom,
            ClientMessage::KnockRoom(_) => MessageType::KnockRoom,
            ClientMessage::CancelRoomKnock => MessageType::CancelRoomKnock,
            ClientMessage::HandleKnock(_) => MessageType::HandleKnock,
            ClientMessage::SetLock(_) => MessageType::SetLock,
            ClientMessage::SetSpotlight(_) => MessageType::SetSpotlight,
            ClientMessage::AddSpotlight(_) => MessageType::AddSpotlight,
            ClientMessage::RemoveSpotlight(_) => MessageType::RemoveSpotlight,
            ClientMessage::StartRecording => MessageType::StartRecording,
            ClientMessage::StopRecording => MessageType::StopRecording,
            ClientMessage::SetHand(_) => MessageType::SetHand,
            ClientMessage::LowerAllHands => MessageType::LowerAllHands,
            ClientMessage::SendReaction(_) => MessageType::SendReaction,
            ClientMessage::AskMedia(_) => MessageType::AskMedia,
            ClientMessage::LeaveRoom => MessageType::LeaveRoom,
            ClientMessage::PageClosing => MessageType::PageClosing,
            ClientMessage::ChatMessage(_) => MessageType::ChatMessage,
            ClientMessage::RemoveChatMessage(_) => MessageType::RemoveChatMessage,
            ClientMessage::KickClient(_) => MessageType::KickClient,
            ClientMessage::EndMeeting => MessageType::EndMeeting,
            ClientMessage::MessageKnockers(_) => MessageType::MessageKnockers,
            ClientMessage::SendToWaitingRoom(_) => MessageType::SendToWaitingRoom,
            ClientMessage::SetMediaState(_) => MessageType::SetMediaState,
            ClientMessage::Relay(kind, _) => MessageType::of_relay(*kind),
            ClientMessage::Sfu(SfuMessage::Offer(_)) => MessageType::SfuOffer,
            ClientMessage::Sfu(SfuMessage::Answer(_)) => MessageType::SfuAnswer,
            ClientMessage::Sfu(SfuMessage::View(_)) => MessageType::SfuView,
            ClientMessage::NetworkSample(_) => MessageType::NetworkSample,
            ClientMessage::Ping => MessageType::Ping,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    InvalidJson,
    UnknownType,
    InvalidPayload,
    InvalidDisplayName,
    InvalidMessage,
    InvalidRoomName,
    RoomNotFound,
    InvalidRoomKey,
    RoomKeyExpired,
    RoomKeyMismatch,
    RoomFull,
    AlreadyJoined,
    /// To a connection that its own client replaced by joining from another connection.
    Replaced,
    NotInRoom,
    NotLockedOut,
    AlreadyKnocking,
    KnockCooldown,
    KnockQueueFull,
    KnockNotFound,
    Forbidden,
    ClientNotFound,
    ClientAway,
    /// As many as may be are in the spotlight already.
    SpotlightFull,
    /// The meeting may not be recorded (its recording type is not `local`), or another host
    /// records it already.
    RecordingUnavailable,
    RateLimited,
    SlowConsumer,
    /// A new connection that named no room in time (then close code 1008).
    JoinTimeout,
    ServerShuttingDown,
    /// A page of an origin that may not open signalling connections here (then close code 1008);
    /// the frame says where the server's own pages are (`publicUrl`).
    OriginNotAllowed,
    /// A media-server frame from a connection without a media path: not admitted, or the room's
    /// media goes peer to peer (normal rooms).
    NoMediaPath,
    /// A session description the media server cannot use.
    InvalidDescription,
    Internal,
}

#[cfg(test)]
#[path = "protocol_tests.rs"]
mod tests;

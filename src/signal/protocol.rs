//! Every message of the signalling protocol, both directions, with serde. docs/protocol.md describes
//! them for client authors; keep the two in step. Frames are JSON text: `{"type": "...", "payload": {...}}`.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Bumped when a change would break existing clients; sent in `hello`.
pub const PROTOCOL_VERSION: u32 = 1;

/// Whereby's display-name rule: at most this many characters...
pub const DISPLAY_NAME_MAX_CHARS: usize = 100;
/// ...and none of these.
pub const DISPLAY_NAME_FORBIDDEN: &str = "$!<>:;";
pub const EXTERNAL_ID_MAX_CHARS: usize = 256;
pub const METADATA_MAX_CHARS: usize = 4096;
pub const MESSAGE_MAX_CHARS: usize = 1000;
pub const CHAT_MAX_CHARS: usize = 4000;

/// A public client id: random, stable across a knocker's resume.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ClientId(pub Arc<str>);

impl ClientId {
    pub fn new(id: impl Into<Arc<str>>) -> Self {
        ClientId(id.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ClientId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Host,
    Viewer,
    Visitor,
    GrantedVisitor,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Host => "host",
            Role::Viewer => "viewer",
            Role::Visitor => "visitor",
            Role::GrantedVisitor => "granted_visitor",
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// Client to server

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
    /// From an earlier `room_joined` (locked): reclaims a knock whose connection dropped.
    #[serde(default)]
    pub resume_token: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KnockAction {
    Accept,
    Hold,
    Reject,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct HandleKnock {
    /// One knocker; omit it and set `all` to decide every waiting knock at once.
    #[serde(default)]
    pub client_id: Option<ClientId>,
    #[serde(default)]
    pub all: bool,
    pub action: KnockAction,
    #[serde(default)]
    pub message: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SetLock {
    pub locked: bool,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ChatMessage {
    pub text: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct KickClient {
    pub client_id: ClientId,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct KnockRoom {
    /// Replaces the display name given at `join_room`.
    #[serde(default)]
    pub display_name: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RelayKind {
    ReadyToReceiveOffer,
    SdpOffer,
    SdpAnswer,
    IceCandidate,
    IceEndOfCandidates,
}

impl RelayKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RelayKind::ReadyToReceiveOffer => "ready_to_receive_offer",
            RelayKind::SdpOffer => "sdp_offer",
            RelayKind::SdpAnswer => "sdp_answer",
            RelayKind::IceCandidate => "ice_candidate",
            RelayKind::IceEndOfCandidates => "ice_end_of_candidates",
        }
    }

    fn parse(kind: &str) -> Option<Self> {
        Some(match kind {
            "ready_to_receive_offer" => RelayKind::ReadyToReceiveOffer,
            "sdp_offer" => RelayKind::SdpOffer,
            "sdp_answer" => RelayKind::SdpAnswer,
            "ice_candidate" => RelayKind::IceCandidate,
            "ice_end_of_candidates" => RelayKind::IceEndOfCandidates,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Relay {
    pub receiver_id: ClientId,
    #[serde(default)]
    pub message: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ClientMessage {
    JoinRoom(JoinRoom),
    KnockRoom(KnockRoom),
    CancelRoomKnock,
    HandleKnock(HandleKnock),
    SetLock(SetLock),
    LeaveRoom,
    ChatMessage(ChatMessage),
    KickClient(KickClient),
    EndMeeting,
    Relay(RelayKind, Relay),
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

fn payload<T: serde::de::DeserializeOwned>(kind: &str, payload: Value) -> Result<T, DecodeError> {
    serde_json::from_value(payload).map_err(|err| DecodeError {
        code: ErrorCode::InvalidPayload,
        message: format!("{kind}: {err}"),
        request_type: Some(kind.to_owned()),
    })
}

impl ClientMessage {
    pub fn decode(frame: &str) -> Result<Self, DecodeError> {
        let envelope: Envelope = serde_json::from_str(frame).map_err(|err| DecodeError {
            code: ErrorCode::InvalidJson,
            message: format!(
                "a frame must be a JSON object {{\"type\": ..., \"payload\": {{...}}}}: {err}"
            ),
            request_type: None,
        })?;
        let kind = envelope.kind.as_str();
        // A missing payload is an empty one, so `{"type": "leave_room"}` is enough.
        let body = envelope
            .payload
            .unwrap_or_else(|| Value::Object(Default::default()));
        Ok(match kind {
            "join_room" => ClientMessage::JoinRoom(payload(kind, body)?),
            "knock_room" => ClientMessage::KnockRoom(payload(kind, body)?),
            "cancel_room_knock" => ClientMessage::CancelRoomKnock,
            "handle_knock" => ClientMessage::HandleKnock(payload(kind, body)?),
            "set_lock" => ClientMessage::SetLock(payload(kind, body)?),
            "leave_room" => ClientMessage::LeaveRoom,
            "chat_message" => ClientMessage::ChatMessage(payload(kind, body)?),
            "kick_client" => ClientMessage::KickClient(payload(kind, body)?),
            "end_meeting" => ClientMessage::EndMeeting,
            other => match RelayKind::parse(other) {
                Some(relay) => ClientMessage::Relay(relay, payload(kind, body)?),
                None => {
                    return Err(DecodeError {
                        code: ErrorCode::UnknownType,
                        message: format!("unknown message type {other:?}"),
                        request_type: Some(other.to_owned()),
                    });
                }
            },
        })
    }

    pub fn kind(&self) -> &'static str {
        match self {
            ClientMessage::JoinRoom(_) => "join_room",
            ClientMessage::KnockRoom(_) => "knock_room",
            ClientMessage::CancelRoomKnock => "cancel_room_knock",
            ClientMessage::HandleKnock(_) => "handle_knock",
            ClientMessage::SetLock(_) => "set_lock",
            ClientMessage::LeaveRoom => "leave_room",
            ClientMessage::ChatMessage(_) => "chat_message",
            ClientMessage::KickClient(_) => "kick_client",
            ClientMessage::EndMeeting => "end_meeting",
            ClientMessage::Relay(kind, _) => kind.as_str(),
        }
    }
}

/// Checks a display name against Whereby's rules; an absent or blank one becomes "Guest".
pub fn validate_display_name(raw: Option<&str>) -> Result<String, String> {
    let name = raw.map(str::trim).unwrap_or("");
    if name.is_empty() {
        return Ok("Guest".to_owned());
    }
    if name.chars().count() > DISPLAY_NAME_MAX_CHARS {
        return Err(format!(
            "displayName is longer than {DISPLAY_NAME_MAX_CHARS} characters"
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| DISPLAY_NAME_FORBIDDEN.contains(*c) || c.is_control())
    {
        return Err(format!(
            "displayName may not contain {bad:?} (nor any of {DISPLAY_NAME_FORBIDDEN} or control characters)"
        ));
    }
    Ok(name.to_owned())
}

/// A free-text message from a host (hold or reject): trimmed, bounded, empty means none.
pub fn validate_message(raw: Option<&str>, max: usize) -> Result<Option<String>, String> {
    let Some(text) = raw.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if text.chars().count() > max {
        return Err(format!("message is longer than {max} characters"));
    }
    Ok(Some(text.to_owned()))
}

// ---------------------------------------------------------------------------------------------------
// Server to client

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
    RateLimited,
    SlowConsumer,
    ServerShuttingDown,
    Internal,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientView {
    pub id: ClientId,
    pub display_name: String,
    pub role: Role,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KnockState {
    Waiting,
    Held,
}

/// A knock as hosts see it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KnockView {
    pub client_id: ClientId,
    pub display_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<String>,
    /// Milliseconds since the Unix epoch.
    pub knocked_at: i64,
    pub state: KnockState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hold_message: Option<String>,
}

/// What a locked-out client may know of the room's look: the knock page's background, the logo and
/// the colours. Only what is set is sent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KnockPage {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub background_url: Option<String>,
    /// `{palette?, theme?}` when a preset is chosen instead of an image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub background_preset: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logo_url: Option<String>,
    /// `{primary?, secondary?, focus?}` as `#rrggbb`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub colors: Option<Value>,
}

/// The room's whole look, for members.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RoomTheme {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logo_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub room_background_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub room_background_preset: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub knock_page_background_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub knock_page_background_preset: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub colors: Option<Value>,
}

impl RoomTheme {
    pub fn knock_page(&self) -> KnockPage {
        KnockPage {
            background_url: self.knock_page_background_url.clone(),
            background_preset: self.knock_page_background_preset.clone(),
            logo_url: self.logo_url.clone(),
            colors: self.colors.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DisplayNameRules {
    pub max_length: usize,
    pub forbidden_characters: &'static str,
}

impl Default for DisplayNameRules {
    fn default() -> Self {
        DisplayNameRules {
            max_length: DISPLAY_NAME_MAX_CHARS,
            forbidden_characters: DISPLAY_NAME_FORBIDDEN,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RoomView {
    pub room_name: String,
    pub mode: crate::meeting::RoomMode,
    pub is_locked: bool,
    pub clients: Vec<ClientView>,
}

/// The knocker's own knock, when it resumed one.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OwnKnock {
    pub state: KnockState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_display_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum RoomJoined {
    #[serde(rename_all = "camelCase")]
    Joined {
        self_id: ClientId,
        role: Role,
        room: RoomView,
        theme: RoomTheme,
        /// Hosts only: the knock queue, oldest first.
        #[serde(skip_serializing_if = "Option::is_none")]
        knockers: Option<Vec<KnockView>>,
    },
    /// `error: room_locked`: only what a knocker may see.
    #[serde(rename_all = "camelCase")]
    Locked {
        error: &'static str,
        self_id: ClientId,
        is_locked: bool,
        resume_token: String,
        display_name_rules: DisplayNameRules,
        knock_page: KnockPage,
        #[serde(skip_serializing_if = "Option::is_none")]
        knock: Option<OwnKnock>,
    },
    #[serde(rename_all = "camelCase")]
    Full { error: &'static str },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    Accepted,
    Held,
    Rejected,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum KnockHandled {
    /// To the knocker: its verdict.
    #[serde(rename_all = "camelCase")]
    Verdict {
        resolution: Resolution,
        #[serde(skip_serializing_if = "Option::is_none")]
        message: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        host_display_name: Option<String>,
        /// Accepted: send `join_room` with this as `roomKey` to enter.
        #[serde(skip_serializing_if = "Option::is_none")]
        room_key: Option<String>,
        /// Rejected: seconds before this client may knock on the room again.
        #[serde(skip_serializing_if = "Option::is_none")]
        retry_after_seconds: Option<u64>,
    },
    /// To every host: how a knock was decided, so all hosts' lists stay the same.
    #[serde(rename_all = "camelCase")]
    Resolution {
        client_id: ClientId,
        resolution: Resolution,
        #[serde(skip_serializing_if = "Option::is_none")]
        message: Option<String>,
        handled_by: ClientView,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LeaveReason {
    Left,
    Disconnected,
    Kicked,
    Cancelled,
    Entered,
    /// The same client joined again from a new connection (after a network blip), which replaces
    /// this one.
    Replaced,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    EndedByHost,
    MeetingDeleted,
    MeetingExpired,
    ServerShutdown,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", content = "payload", rename_all = "snake_case")]
pub enum ServerEvent {
    #[serde(rename_all = "camelCase")]
    Hello {
        protocol_version: u32,
    },
    RoomJoined(RoomJoined),
    /// Acknowledges `knock_room` to the knocker.
    #[serde(rename_all = "camelCase")]
    KnockSent {
        client_id: ClientId,
    },
    RoomKnocked(KnockView),
    KnockHandled(KnockHandled),
    #[serde(rename_all = "camelCase")]
    KnockerLeft {
        client_id: ClientId,
        reason: LeaveReason,
    },
    #[serde(rename_all = "camelCase")]
    RoomLocked {
        is_locked: bool,
        by_client_id: ClientId,
    },
    #[serde(rename_all = "camelCase")]
    NewClient {
        client: ClientView,
    },
    #[serde(rename_all = "camelCase")]
    ClientLeft {
        client_id: ClientId,
        reason: LeaveReason,
    },
    #[serde(rename_all = "camelCase")]
    RoomLeft {},
    #[serde(rename_all = "camelCase")]
    ChatMessage {
        sender_id: ClientId,
        display_name: String,
        text: String,
        timestamp: i64,
    },
    #[serde(rename_all = "camelCase")]
    ClientKicked {
        by_client_id: ClientId,
    },
    #[serde(rename_all = "camelCase")]
    RoomEnded {
        reason: EndReason,
    },
    /// To connections outside the room.
    KnockPageUpdated(KnockPage),
    /// To members.
    ThemeUpdated(RoomTheme),
    #[serde(rename_all = "camelCase")]
    ReadyToReceiveOffer {
        client_id: ClientId,
    },
    #[serde(rename_all = "camelCase")]
    SdpOffer {
        client_id: ClientId,
        message: Value,
    },
    #[serde(rename_all = "camelCase")]
    SdpAnswer {
        client_id: ClientId,
        message: Value,
    },
    #[serde(rename_all = "camelCase")]
    IceCandidate {
        client_id: ClientId,
        message: Value,
    },
    #[serde(rename_all = "camelCase")]
    IceEndOfCandidates {
        client_id: ClientId,
    },
    #[serde(rename_all = "camelCase")]
    Error {
        code: ErrorCode,
        message: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        request_type: Option<String>,
    },
}

impl ServerEvent {
    pub fn error(code: ErrorCode, message: impl Into<String>, request_type: Option<&str>) -> Self {
        ServerEvent::Error {
            code,
            message: message.into(),
            request_type: request_type.map(str::to_owned),
        }
    }

    pub fn relay(kind: RelayKind, from: ClientId, message: Value) -> Self {
        match kind {
            RelayKind::ReadyToReceiveOffer => ServerEvent::ReadyToReceiveOffer { client_id: from },
            RelayKind::SdpOffer => ServerEvent::SdpOffer {
                client_id: from,
                message,
            },
            RelayKind::SdpAnswer => ServerEvent::SdpAnswer {
                client_id: from,
                message,
            },
            RelayKind::IceCandidate => ServerEvent::IceCandidate {
                client_id: from,
                message,
            },
            RelayKind::IceEndOfCandidates => ServerEvent::IceEndOfCandidates { client_id: from },
        }
    }

    /// The wire form. Serialising plain data to a string cannot fail.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("server events serialise")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::Strategy;

    #[test]
    fn decodes_messages_and_explains_bad_frames() {
        let join = ClientMessage::decode(
            r#"{"type":"join_room","payload":{"roomName":"/r","displayName":"Ann"}}"#,
        )
        .unwrap();
        assert!(matches!(join, ClientMessage::JoinRoom(j) if j.room_name == "/r"));
        assert_eq!(
            ClientMessage::decode(r#"{"type":"leave_room"}"#).unwrap(),
            ClientMessage::LeaveRoom
        );
        let bad = ClientMessage::decode("not json").unwrap_err();
        assert_eq!(bad.code, ErrorCode::InvalidJson);
        let unknown = ClientMessage::decode(r#"{"type":"fly"}"#).unwrap_err();
        assert_eq!(unknown.code, ErrorCode::UnknownType);
        let missing = ClientMessage::decode(r#"{"type":"set_lock","payload":{}}"#).unwrap_err();
        assert_eq!(missing.code, ErrorCode::InvalidPayload);
        assert!(missing.message.contains("locked"), "{}", missing.message);
        let wrong =
            ClientMessage::decode(r#"{"type":"handle_knock","payload":{"action":"maybe"}}"#)
                .unwrap_err();
        assert_eq!(wrong.code, ErrorCode::InvalidPayload);
    }

    #[test]
    fn display_names_follow_wherebys_rules() {
        assert_eq!(validate_display_name(Some("  Ann  ")).unwrap(), "Ann");
        assert_eq!(validate_display_name(None).unwrap(), "Guest");
        assert!(validate_display_name(Some("<img src=x onerror=alert(1)>")).is_err());
        assert!(validate_display_name(Some(&"x".repeat(101))).is_err());
        assert!(validate_display_name(Some(&"é".repeat(100))).is_ok());
        assert!(validate_display_name(Some("a\u{0}b")).is_err());
    }

    proptest::proptest! {
        /// Whatever a client sends, decoding answers Ok or a DecodeError; it never panics.
        #[test]
        fn decoding_never_panics(frame in ".{0,200}") {
            let _ = ClientMessage::decode(&frame);
        }

        /// Frames of the right shape with arbitrary types and payload values.
        #[test]
        fn decoding_envelopes_never_panics(
            kind in proptest::sample::select(vec![
                "join_room", "knock_room", "cancel_room_knock", "handle_knock", "set_lock",
                "leave_room", "chat_message", "kick_client", "end_meeting", "sdp_offer",
                "ice_candidate", "ready_to_receive_offer", "unknown",
            ]),
            key in "[a-zA-Z]{1,12}",
            value in proptest::prop_oneof![
                proptest::strategy::Just(serde_json::Value::Null),
                proptest::arbitrary::any::<bool>().prop_map(serde_json::Value::from),
                proptest::arbitrary::any::<i64>().prop_map(serde_json::Value::from),
                ".{0,40}".prop_map(serde_json::Value::from),
            ],
        ) {
            let frame = serde_json::json!({"type": kind, "payload": {key: value}}).to_string();
            if let Err(err) = ClientMessage::decode(&frame) {
                proptest::prop_assert!(!err.message.is_empty());
            }
        }
    }

    #[test]
    fn events_have_the_documented_shape() {
        let event = ServerEvent::KnockerLeft {
            client_id: ClientId::new("c1"),
            reason: LeaveReason::Cancelled,
        };
        assert_eq!(
            event.to_json(),
            r#"{"type":"knocker_left","payload":{"clientId":"c1","reason":"cancelled"}}"#
        );
    }
}

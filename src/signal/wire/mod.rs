//! The server's frames: a room's events as clients read them, and the few frames a connection sends
//! of its own (`hello`, errors about the frame just read). The wire structs borrow from the event, so
//! an event is written once, straight to bytes, whoever receives it.

use bytes::Bytes;
use serde::Serialize;
use serde_json::value::RawValue;

mod views;

use self::views::{
    ClientWire, DisplayNameRules, EndWire, KnockHandled, KnockPageWire, KnockWire, LeaveWire,
    OwnKnockWire, RecordingWire, RoomJoined, RoomViewWire, ThemeWire,
};
use super::protocol::{ErrorCode, MediaAskName, MessageType, PROTOCOL_VERSION, ReactionName};
use crate::meeting::text::{DISPLAY_NAME_FORBIDDEN, DISPLAY_NAME_MAX_CHARS};
use crate::room::event::{Event, RefusalCode};
use crate::room::model::{ClientId, RelayKind, RelayPayload};
use crate::room::port::Encode;

/// Encodes room events as JSON text frames.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonWire;

impl Encode for JsonWire {
    fn encode(&self, event: &Event) -> Bytes {
        to_bytes(&Frame::of(event))
    }
}

/// `hello`, the first frame of every connection: the protocol's version, and how often the server
/// pings (a client that hears nothing for that long asks, with `ping`).
pub fn hello(ping_interval: std::time::Duration) -> Bytes {
    to_bytes(&Frame::Hello {
        protocol_version: PROTOCOL_VERSION,
        ping_interval: ping_interval.as_secs().max(1),
    })
}

/// The answer to `ping`.
pub fn pong() -> Bytes {
    to_bytes(&Frame::Pong)
}

/// The answer to `preview_room`: the room is there, what the key would make its bearer, how the
/// door looks, and the ICE servers (TURN credentials included) for the device check and the call.
pub fn room_preview(
    room_name: &str,
    mode: &str,
    role: Option<&str>,
    recording_type: &str,
    knock_page: &crate::room::model::KnockPage,
    ice_servers: &serde_json::Value,
) -> Bytes {
    to_bytes(&Frame::RoomPreview {
        room_name,
        mode,
        role,
        recording_type,
        knock_page: views::KnockPageWire::of(knock_page),
        ice_servers,
    })
}

/// An error about a frame the connection sent (or about the connection itself).
pub fn error(code: ErrorCode, message: &str, request_type: Option<&str>) -> Bytes {
    to_bytes(&Frame::Error {
        code,
        message,
        request_type,
        retry_after_seconds: None,
        public_url: None,
    })
}

/// To a page of an origin that may not connect here: where this server's own pages are.
pub fn origin_not_allowed(public_url: &str) -> Bytes {
    let message = format!(
        "pages of this origin may not open signalling connections here; this server's rooms are at {public_url}"
    );
    to_bytes(&Frame::Error {
        code: ErrorCode::OriginNotAllowed,
        message: &message,
        request_type: None,
        retry_after_seconds: None,
        public_url: Some(public_url),
    })
}

/// The media server's answer to a client's `sfu_offer`, or its own offer of changed tracks.
pub fn sfu_description(offer: bool, sdp: &str) -> Bytes {
    to_bytes(&if offer {
        Frame::SfuOffer { sdp }
    } else {
        Frame::SfuAnswer { sdp }
    })
}

/// What each of a client's receiving tracks carries now (by mid).
pub fn sfu_slots(slots: &[crate::media::SlotView]) -> Bytes {
    let slots = slots
        .iter()
        .map(|slot| SlotWire {
            mid: &slot.mid,
            kind: match (slot.video, slot.screen) {
                (true, true) => "screen",
                (true, false) => "video",
                (false, _) => "audio",
            },
            client_id: slot.client.as_ref().map(|c| c.as_str()),
        })
        .collect();
    to_bytes(&Frame::SfuSlots { slots })
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SlotWire<'a> {
    mid: &'a str,
    kind: &'static str,
    client_id: Option<&'a str>,
}

/// The media server closed the client's transport, which it may offer again.
pub fn sfu_closed() -> Bytes {
    to_bytes(&Frame::SfuClosed {})
}

/// Who speaks loudest in a group room now.
pub fn dominant_speaker(client_id: &str) -> Bytes {
    to_bytes(&Frame::DominantSpeaker { client_id })
}

/// A member's media path in a group room went quiet (`interrupted`), or is back.
pub fn media_interrupted(client_id: &str, interrupted: bool) -> Bytes {
    to_bytes(&Frame::MediaInterrupted {
        client_id,
        interrupted,
    })
}

fn to_bytes(frame: &Frame) -> Bytes {
    // Plain data with string keys: serialising it cannot fail.
    Bytes::from(serde_json::to_vec(frame).expect("wire frames serialise"))
}

#[derive(Serialize)]
#[serde(tag = "type", content = "payload", rename_all = "snake_case")]
enum Frame<'a> {
    #[serde(rename_all = "camelCase")]
    Hello {
        protocol_version: u32,
        /// Seconds.
        ping_interval: u64,
    },
    Pong,
    SfuOffer {
        sdp: &'a str,
    },
    SfuAnswer {
        sdp: &'a str,
    },
    SfuSlots {
        slots: Vec<SlotWire<'a>>,
    },
    SfuClosed {},
    #[serde(rename_all = "camelCase")]
    DominantSpeaker {
        client_id: &'a str,
    },
    #[serde(rename_all = "camelCase")]
    MediaInterrupted {
        client_id: &'a str,
        interrupted: bool,
    },
    #[serde(rename_all = "camelCase")]
    RoomPreview {
        room_name: &'a str,
        mode: &'a str,
        /// What the key given makes its bearer; absent without a key.
        #[serde(skip_serializing_if = "Option::is_none")]
        role: Option<&'a str>,
        /// The meeting's `recording.type`: `local` lets its hosts record the call.
        recording_type: &'a str,
        knock_page: KnockPageWire<'a>,
        ice_servers: &'a serde_json::Value,
    },
    // Boxed: a room's whole view is much larger than any other frame.
    RoomJoined(Box<RoomJoined<'a>>),
    #[serde(rename_all = "camelCase")]
    KnockSent {
        client_id: &'a str,
    },
    RoomKnocked(KnockWire<'a>),
    KnockHandled(KnockHandled<'a>),
    #[serde(rename_all = "camelCase")]
    KnockerLeft {
        client_id: &'a str,
        reason: LeaveWire,
    },
    #[serde(rename_all = "camelCase")]
    HostMessage {
        message: &'a str,
        host_display_name: &'a str,
    },
    #[serde(rename_all = "camelCase")]
    SentToWaitingRoom {
        #[serde(skip_serializing_if = "Option::is_none")]
        message: Option<&'a str>,
        host_display_name: &'a str,
    },
    #[serde(rename_all = "camelCase")]
    KnockExpired {
        message: &'a str,
    },
    #[serde(rename_all = "camelCase")]
    DoorChanged {
        host_present: bool,
        is_recording: bool,
        is_locked: bool,
    },
    #[serde(rename_all = "camelCase")]
    KnockPosition {
        position: usize,
    },
    #[serde(rename_all = "camelCase")]
    RoomLocked {
        is_locked: bool,
        by_client_id: &'a str,
    },
    #[serde(rename_all = "camelCase")]
    SpotlightChanged {
        /// The first in the spotlight (as clients of before several could be read it).
        client_id: Option<&'a str>,
        client_ids: Vec<&'a str>,
        by_client_id: Option<&'a str>,
    },
    #[serde(rename_all = "camelCase")]
    RecordingChanged {
        recording: Option<RecordingWire<'a>>,
        by_client_id: Option<&'a str>,
    },
    #[serde(rename_all = "camelCase")]
    HandChanged {
        client_id: &'a str,
        raised: bool,
        /// When it went up (milliseconds since the epoch); `null` when it came down.
        raised_at: Option<i64>,
        by_client_id: &'a str,
    },
    #[serde(rename_all = "camelCase")]
    Reaction {
        client_id: &'a str,
        reaction: ReactionName,
    },
    #[serde(rename_all = "camelCase")]
    MediaAsked {
        ask: MediaAskName,
        by_client_id: &'a str,
    },
    #[serde(rename_all = "camelCase")]
    NewClient {
        client: ClientWire<'a>,
    },
    #[serde(rename_all = "camelCase")]
    KnockerAway {
        client_id: &'a str,
    },
    #[serde(rename_all = "camelCase")]
    KnockerBack {
        client_id: &'a str,
    },
    #[serde(rename_all = "camelCase")]
    ClientAway {
        client_id: &'a str,
    },
    #[serde(rename_all = "camelCase")]
    ClientLeft {
        client_id: &'a str,
        reason: LeaveWire,
    },
    #[serde(rename_all = "camelCase")]
    RoomLeft {},
    #[serde(rename_all = "camelCase")]
    ChatMessage {
        id: &'a str,
        sender_id: &'a str,
        display_name: &'a str,
        text: &'a str,
        /// Milliseconds since the Unix epoch.
        timestamp: i64,
    },
    #[serde(rename_all = "camelCase")]
    ChatMessageRemoved {
        id: &'a str,
        by_client_id: &'a str,
    },
    #[serde(rename_all = "camelCase")]
    ClientKicked {
        by_client_id: &'a str,
    },
    #[serde(rename_all = "camelCase")]
    RoomEnded {
        reason: EndWire,
        /// A guest's key to come back with, when the server is only restarting.
        #[serde(skip_serializing_if = "Option::is_none")]
        rejoin_key: Option<&'a str>,
    },
    #[serde(rename_all = "camelCase")]
    MediaState {
        client_id: &'a str,
        audio: bool,
        video: bool,
        screen: bool,
    },
    KnockPageUpdated(KnockPageWire<'a>),
    ThemeUpdated(ThemeWire<'a>),
    #[serde(rename_all = "camelCase")]
    ReadyToReceiveOffer {
        client_id: &'a str,
    },
    #[serde(rename_all = "camelCase")]
    SdpOffer {
        client_id: &'a str,
        message: &'a RawValue,
    },
    #[serde(rename_all = "camelCase")]
    SdpAnswer {
        client_id: &'a str,
        message: &'a RawValue,
    },
    #[serde(rename_all = "camelCase")]
    IceCandidate {
        client_id: &'a str,
        message: &'a RawValue,
    },
    #[serde(rename_all = "camelCase")]
    IceEndOfCandidates {
        client_id: &'a str,
    },
    #[serde(rename_all = "camelCase")]
    Error {
        code: ErrorCode,
        message: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        request_type: Option<&'a str>,
        /// With `knock_cooldown`: the seconds until a knock may succeed.
        #[serde(skip_serializing_if = "Option::is_none")]
        retry_after_seconds: Option<i64>,
        /// With `origin_not_allowed`: the address of the server's own pages.
        #[serde(skip_serializing_if = "Option::is_none")]
        public_url: Option<&'a str>,
    },
}

impl<'a> Frame<'a> {
    fn of(event: &'a Event) -> Self {
        match event {
            Event::Joined(joined) => Frame::RoomJoined(Box::new(RoomJoined::Joined {
                self_id: joined.self_id.as_str(),
                role: joined.role.as_str(),
                resume_token: &joined.resume_token,
                room: RoomViewWire::of(&joined.room),
                theme: ThemeWire::of(&joined.theme),
                knockers: joined
                    .knockers
                    .as_ref()
                    .map(|list| list.iter().map(KnockWire::of).collect()),
                server_time: joined.now.timestamp_millis(),
            })),
            Event::AtDoor(door) => Frame::RoomJoined(Box::new(RoomJoined::Locked {
                error: "room_locked",
                self_id: door.self_id.as_str(),
                is_locked: true,
                resume_token: &door.resume_token,
                display_name_rules: DisplayNameRules {
                    max_length: DISPLAY_NAME_MAX_CHARS,
                    forbidden_characters: DISPLAY_NAME_FORBIDDEN,
                },
                knock_page: KnockPageWire::of(&door.knock_page),
                knock: door.knock.as_ref().map(OwnKnockWire::of),
                knock_cooldown_seconds: door.knock_cooldown_seconds,
                host_present: door.view.host_present,
                is_recording: door.view.recording,
            })),
            Event::RoomFull => Frame::RoomJoined(Box::new(RoomJoined::Full { error: "room_full" })),
            Event::KnockSent { client_id } => Frame::KnockSent {
                client_id: client_id.as_str(),
            },
            Event::Knocked(knock) => Frame::RoomKnocked(KnockWire::of(knock)),
            Event::Verdict(verdict) => Frame::KnockHandled(KnockHandled::verdict(verdict)),
            Event::Resolved(resolved) => Frame::KnockHandled(KnockHandled::resolved(resolved)),
            Event::HostMessage {
                message,
                host_display_name,
            } => Frame::HostMessage {
                message,
                host_display_name,
            },
            Event::SentBack {
                message,
                host_display_name,
            } => Frame::SentToWaitingRoom {
                message: message.as_deref(),
                host_display_name,
            },
            Event::KnockExpired { message } => Frame::KnockExpired { message },
            Event::DoorChanged(view) => Frame::DoorChanged {
                host_present: view.host_present,
                is_recording: view.recording,
                is_locked: view.locked,
            },
            Event::QueuePosition { position } => Frame::KnockPosition {
                position: *position,
            },
            Event::KnockerLeft { client_id, reason } => Frame::KnockerLeft {
                client_id: client_id.as_str(),
                reason: (*reason).into(),
            },
            Event::LockChanged { locked, by } => Frame::RoomLocked {
                is_locked: *locked,
                by_client_id: by.as_str(),
            },
            Event::SpotlightChanged { client_ids, by } => Frame::SpotlightChanged {
                client_id: client_ids.first().map(ClientId::as_str),
                client_ids: client_ids.iter().map(ClientId::as_str).collect(),
                by_client_id: by.as_ref().map(ClientId::as_str),
            },
            Event::RecordingChanged { recording, by } => Frame::RecordingChanged {
                recording: recording.as_ref().map(RecordingWire::of),
                by_client_id: by.as_ref().map(ClientId::as_str),
            },
            Event::HandChanged {
                client_id,
                raised_at,
                by,
            } => Frame::HandChanged {
                client_id: client_id.as_str(),
                raised: raised_at.is_some(),
                raised_at: raised_at.map(|at| at.timestamp_millis()),
                by_client_id: by.as_str(),
            },
            Event::Reacted {
                client_id,
                reaction,
            } => Frame::Reaction {
                client_id: client_id.as_str(),
                reaction: (*reaction).into(),
            },
            Event::MediaAsked { ask, by } => Frame::MediaAsked {
                ask: (*ask).into(),
                by_client_id: by.as_str(),
            },
            Event::ClientJoined(client) => Frame::NewClient {
                client: ClientWire::of(client),
            },
            Event::KnockerAway { client_id } => Frame::KnockerAway {
                client_id: client_id.as_str(),
            },
            Event::KnockerBack { client_id } => Frame::KnockerBack {
                client_id: client_id.as_str(),
            },
            Event::ClientAway { client_id } => Frame::ClientAway {
                client_id: client_id.as_str(),
            },
            Event::ClientLeft { client_id, reason } => Frame::ClientLeft {
                client_id: client_id.as_str(),
                reason: (*reason).into(),
            },
            Event::YouLeft => Frame::RoomLeft {},
            Event::Chat(line) => Frame::ChatMessage {
                id: &line.id,
                sender_id: line.sender_id.as_str(),
                display_name: &line.display_name,
                text: &line.text,
                timestamp: line.at.timestamp_millis(),
            },
            Event::ChatRemoved { id, by } => Frame::ChatMessageRemoved {
                id,
                by_client_id: by.as_str(),
            },
            Event::Kicked { by } => Frame::ClientKicked {
                by_client_id: by.as_str(),
            },
            Event::Ended { reason, rejoin_key } => Frame::RoomEnded {
                reason: (*reason).into(),
                rejoin_key: rejoin_key.as_deref(),
            },
            Event::MediaChanged { client_id, media } => Frame::MediaState {
                client_id: client_id.as_str(),
                audio: media.audio,
                video: media.video,
                screen: media.screen,
            },
            Event::KnockPageChanged(page) => Frame::KnockPageUpdated(KnockPageWire::of(page)),
            Event::ThemeChanged(theme) => Frame::ThemeUpdated(ThemeWire::of(theme)),
            Event::Relay {
                kind,
                from,
                payload,
            } => relay(*kind, from.as_str(), payload),
            Event::Refused(refusal) => Frame::Error {
                code: refusal_code(refusal.code),
                message: &refusal.message,
                request_type: refusal.request.map(|r| MessageType::of_request(r).as_str()),
                retry_after_seconds: refusal.retry_after_seconds,
                public_url: None,
            },
        }
    }
}

fn relay<'a>(kind: RelayKind, client_id: &'a str, payload: &'a RelayPayload) -> Frame<'a> {
    // The transport encoded this payload itself (see `translate.rs`); it is JSON.
    let message = serde_json::from_str::<&RawValue>(&payload.0)
        .unwrap_or_else(|_| serde_json::from_str("null").expect("null is JSON"));
    match kind {
        RelayKind::ReadyToReceiveOffer => Frame::ReadyToReceiveOffer { client_id },
        RelayKind::SdpOffer => Frame::SdpOffer { client_id, message },
        RelayKind::SdpAnswer => Frame::SdpAnswer { client_id, message },
        RelayKind::IceCandidate => Frame::IceCandidate { client_id, message },
        RelayKind::IceEndOfCandidates => Frame::IceEndOfCandidates { client_id },
    }
}

fn refusal_code(code: RefusalCode) -> ErrorCode {
    match code {
        RefusalCode::RoomEnded => ErrorCode::RoomNotFound,
        RefusalCode::AlreadyJoined => ErrorCode::AlreadyJoined,
        RefusalCode::RoomKeyMismatch => ErrorCode::RoomKeyMismatch,
        RefusalCode::Replaced => ErrorCode::Replaced,
        RefusalCode::RoomFull => ErrorCode::RoomFull,
        RefusalCode::NotInRoom => ErrorCode::NotInRoom,
        RefusalCode::NotLockedOut => ErrorCode::NotLockedOut,
        RefusalCode::AlreadyKnocking => ErrorCode::AlreadyKnocking,
        RefusalCode::KnockCooldown => ErrorCode::KnockCooldown,
        RefusalCode::KnockQueueFull => ErrorCode::KnockQueueFull,
        RefusalCode::KnockNotFound => ErrorCode::KnockNotFound,
        RefusalCode::Forbidden => ErrorCode::Forbidden,
        RefusalCode::ClientNotFound => ErrorCode::ClientNotFound,
        RefusalCode::ClientAway => ErrorCode::ClientAway,
        RefusalCode::SpotlightFull => ErrorCode::SpotlightFull,
        RefusalCode::RecordingUnavailable => ErrorCode::RecordingUnavailable,
        RefusalCode::NameTaken => ErrorCode::InvalidDisplayName,
        RefusalCode::AddressLimit | RefusalCode::TooSoon => ErrorCode::RateLimited,
        RefusalCode::Restarting => ErrorCode::ServerShuttingDown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::room::model::{ClientId, LeaveReason};

    fn text(event: &Event) -> String {
        String::from_utf8(JsonWire.encode(event).to_vec()).unwrap()
    }

    #[test]
    fn events_have_the_documented_shape() {
        let event = Event::KnockerLeft {
            client_id: ClientId::new("c1"),
            reason: LeaveReason::Cancelled,
        };
        assert_eq!(
            text(&event),
            r#"{"type":"knocker_left","payload":{"clientId":"c1","reason":"cancelled"}}"#
        );
        assert_eq!(
            text(&Event::RoomFull),
            r#"{"type":"room_joined","payload":{"error":"room_full"}}"#
        );
        let relay = Event::Relay {
            kind: RelayKind::SdpOffer,
            from: ClientId::new("h"),
            payload: RelayPayload(r#"{"sdp":"v=0","type":"offer"}"#.into()),
        };
        assert_eq!(
            text(&relay),
            r#"{"type":"sdp_offer","payload":{"clientId":"h","message":{"sdp":"v=0","type":"offer"}}}"#
        );
        use crate::room::model::Request;
        // (The spotlight's limit is a group room's: a normal room holds no fifth participant.)
        for (code, request, wire) in [
            (
                RefusalCode::KnockNotFound,
                Request::HandleKnock,
                r#""code":"knock_not_found","message":"said","requestType":"handle_knock""#,
            ),
            (
                RefusalCode::SpotlightFull,
                Request::AddSpotlight,
                r#""code":"spotlight_full","message":"said","requestType":"add_spotlight""#,
            ),
            (
                RefusalCode::RecordingUnavailable,
                Request::StartRecording,
                r#""code":"recording_unavailable","message":"said","requestType":"start_recording""#,
            ),
        ] {
            let refused = Event::refused(code, "said", Some(request));
            assert_eq!(
                text(&refused),
                format!(r#"{{"type":"error","payload":{{{wire}}}}}"#)
            );
        }
        assert_eq!(
            String::from_utf8(hello(std::time::Duration::from_secs(20)).to_vec()).unwrap(),
            r#"{"type":"hello","payload":{"protocolVersion":1,"pingInterval":20}}"#
        );
        assert_eq!(
            String::from_utf8(pong().to_vec()).unwrap(),
            r#"{"type":"pong"}"#
        );
        assert_eq!(
            String::from_utf8(media_interrupted("c2", true).to_vec()).unwrap(),
            r#"{"type":"media_interrupted","payload":{"clientId":"c2","interrupted":true}}"#
        );
        assert_eq!(
            String::from_utf8(sfu_closed().to_vec()).unwrap(),
            r#"{"type":"sfu_closed","payload":{}}"#
        );
    }
}

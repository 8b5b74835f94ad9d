//! From a decoded frame to what the room is told: the texts people type are checked here, at the
//! edge, and a frame that breaks a rule is answered without troubling the room. Pure, so that the
//! decoder, this and the room can be driven together by generated frames (see the tests).

use std::net::IpAddr;
use std::sync::Arc;

use super::protocol::{
    ClientMessage, ErrorCode, HandleKnock, JoinRoom, MessageKnockers, NetworkSampleFrame,
    SfuMessage,
};
use crate::meeting::network::NetworkSample;
use crate::meeting::text::{self, EXTERNAL_ID_MAX_CHARS, METADATA_MAX_CHARS};
use crate::meeting::{ClientId, RoomName};
use crate::room::input::{Input, JoinRequest};
use crate::room::model::{
    ConnId, Credential, Decider, Identity, KnockTarget, MediaState, RelayPayload,
};

/// A frame the connection answers itself, with this error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub code: ErrorCode,
    pub message: String,
}

fn refused(code: ErrorCode, message: impl ToString) -> Refused {
    Refused {
        code,
        message: message.to_string(),
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Translated {
    /// `preview_room`: answered by the connection itself, once the meeting and key are checked.
    Preview {
        room_name: RoomName,
        room_key: Option<String>,
        resume_token: Option<String>,
    },
    /// `join_room`: the meeting and the key are checked next (they need the store and the signer).
    Join(Join),
    Room(Input),
    /// For the media server of a group room.
    Media(SfuMessage),
    /// `ping`: answered by the connection itself.
    Ping,
}

/// A `join_room` whose texts are valid.
#[derive(Debug, Clone, PartialEq)]
pub struct Join {
    pub room_name: RoomName,
    pub room_key: Option<String>,
    pub identity: Identity,
    pub media: MediaState,
    pub device: Option<String>,
    pub resume_token: Option<String>,
}

impl Join {
    /// The room's input, once the key is known to give `credential`.
    pub fn into_request(self, conn: ConnId, peer: IpAddr, credential: Credential) -> Input {
        Input::Join(JoinRequest {
            conn,
            fresh_client_id: ClientId::new(uuid::Uuid::new_v4().to_string()),
            peer,
            credential,
            identity: self.identity,
            media: self.media,
            device: self.device,
            resume_token: self.resume_token,
            fresh_resume_token: random_token(),
        })
    }
}

fn random_token() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut bytes = [0u8; 18];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Resume tokens are ours and short; anything longer is not one. Device ids are the client's, as
/// short, of URL-safe characters.
const RESUME_TOKEN_MAX: usize = 64;
const DEVICE_ID_MAX: usize = 64;

fn device_id(raw: Option<String>) -> Option<String> {
    raw.filter(|id| {
        (8..=DEVICE_ID_MAX).contains(&id.len())
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

/// `clientId` or `all: true`, never both.
fn target(client_id: Option<String>, all: bool) -> Result<KnockTarget, Refused> {
    match (client_id, all) {
        (Some(id), false) => Ok(KnockTarget::One(ClientId::new(id))),
        (None, true) => Ok(KnockTarget::All),
        _ => Err(refused(
            ErrorCode::InvalidPayload,
            "give either clientId or \"all\": true",
        )),
    }
}

pub fn translate(
    conn: ConnId,
    message: ClientMessage,
    user_agent: Option<&str>,
) -> Result<Translated, Refused> {
    let input = match message {
        ClientMessage::PreviewRoom(preview) => {
            let room_name = RoomName::parse(&preview.room_name)
                .map_err(|e| refused(ErrorCode::InvalidRoomName, e))?;
            return Ok(Translated::Preview {
                room_name,
                room_key: preview.room_key,
                resume_token: preview.resume_token.filter(|t| t.len() <= RESUME_TOKEN_MAX),
            });
        }
        ClientMessage::JoinRoom(join) => return join_room(join, user_agent).map(Translated::Join),
        ClientMessage::KnockRoom(knock) => {
            let display_name = knock
                .display_name
                .as_deref()
                .map(|n| text::display_name(Some(n)))
                .transpose()
                .map_err(|e| refused(ErrorCode::InvalidDisplayName, e))?;
            Input::Knock { conn, display_name }
        }
        ClientMessage::CancelRoomKnock => Input::CancelKnock { conn },
        ClientMessage::HandleKnock(handle) => handle_knock(conn, handle)?,
        ClientMessage::SetLock(lock) => Input::SetLock {
            conn,
            locked: lock.locked,
        },
        ClientMessage::SetSpotlight(spotlight) => Input::SetSpotlight {
            conn,
            target: spotlight.client_id.map(ClientId::new),
        },
        ClientMessage::AddSpotlight(change) => Input::ChangeSpotlight {
            conn,
            target: ClientId::new(change.client_id),
            lit: true,
        },
        ClientMessage::RemoveSpotlight(change) => Input::ChangeSpotlight {
            conn,
            target: ClientId::new(change.client_id),
            lit: false,
        },
        ClientMessage::StartRecording => Input::SetRecording { conn, on: true },
        ClientMessage::StopRecording => Input::SetRecording { conn, on: false },
        ClientMessage::SetHand(hand) => Input::SetHand {
            conn,
            target: hand.client_id.map(ClientId::new),
            raised: hand.raised,
        },
        ClientMessage::LowerAllHands => Input::LowerAllHands { conn },
        ClientMessage::SendReaction(sent) => Input::React {
            conn,
            reaction: sent.reaction.into(),
        },
        ClientMessage::AskMedia(asked) => {
            if asked.client_ids.is_empty() {
                return Err(refused(
                    ErrorCode::InvalidPayload,
                    "clientIds: name at least one participant",
                ));
            }
            Input::AskMedia {
                conn,
                targets: asked.client_ids.into_iter().map(ClientId::new).collect(),
                ask: asked.ask.into(),
            }
        }
        ClientMessage::LeaveRoom => Input::Leave { conn },
        ClientMessage::PageClosing => Input::PageClosing { conn },
        ClientMessage::ChatMessage(chat) => Input::Chat {
            conn,
            text: text::chat(&chat.text).map_err(|e| refused(ErrorCode::InvalidMessage, e))?,
        },
        ClientMessage::RemoveChatMessage(removal) => {
            // Ids are the server's own, short; a longer one cannot be one of them.
            if removal.id.is_empty() || removal.id.len() > 64 {
                return Err(refused(
                    ErrorCode::InvalidPayload,
                    "id: the id of a chat_message (1 to 64 characters)",
                ));
            }
            Input::RemoveChat {
                conn,
                id: removal.id,
            }
        }
        ClientMessage::KickClient(kick) => Input::Kick {
            conn,
            target: ClientId::new(kick.client_id),
        },
        ClientMessage::EndMeeting => Input::EndMeeting { conn },
        ClientMessage::MessageKnockers(words) => message_knockers(conn, words)?,
        ClientMessage::SetMediaState(state) => Input::SetMedia {
            conn,
            media: MediaState {
                audio: state.audio,
                video: state.video,
                screen: state.screen,
            },
        },
        ClientMessage::SendToWaitingRoom(back) => Input::SendToWaitingRoom {
            conn,
            target: ClientId::new(back.client_id),
            message: text::host_message(back.message.as_deref())
                .map_err(|e| refused(ErrorCode::InvalidMessage, e))?,
        },
        ClientMessage::Sfu(message) => return Ok(Translated::Media(message)),
        ClientMessage::Ping => return Ok(Translated::Ping),
        ClientMessage::NetworkSample(sample) => Input::Measured {
            conn,
            sample: network_sample(sample)?,
        },
        ClientMessage::Relay(kind, relay) => Input::Relay {
            conn,
            kind,
            to: ClientId::new(relay.receiver_id),
            // Kept as the JSON text it will be sent on as; the room never reads it.
            payload: RelayPayload(Arc::from(relay.message.to_string())),
        },
    };
    Ok(Translated::Room(input))
}

/// Most a browser may say it sends or receives, in bits a second (what a sample holds).
const MAX_BITRATE: f64 = u32::MAX as f64;

fn network_sample(frame: NetworkSampleFrame) -> Result<NetworkSample, Refused> {
    let bitrate = |name: &str, value: f64| {
        if (0.0..=MAX_BITRATE).contains(&value) {
            Ok(value.round() as u32)
        } else {
            Err(refused(
                ErrorCode::InvalidPayload,
                format!(
                    "{name} must be a number of bits a second from 0 to {MAX_BITRATE}, not {value}"
                ),
            ))
        }
    };
    let percent = |name: &str, value: f64| {
        if (0.0..=100.0).contains(&value) {
            Ok(value as f32)
        } else {
            Err(refused(
                ErrorCode::InvalidPayload,
                format!("{name} must be a per cent from 0 to 100, not {value}"),
            ))
        }
    };
    Ok(NetworkSample {
        bitrate_send: bitrate("bitrateSend", frame.bitrate_send)?,
        bitrate_recv: bitrate("bitrateRecv", frame.bitrate_recv)?,
        packet_loss_send: percent("packetLossSend", frame.packet_loss_send)?,
        packet_loss_recv: percent("packetLossRecv", frame.packet_loss_recv)?,
    })
}

fn handle_knock(conn: ConnId, handle: HandleKnock) -> Result<Input, Refused> {
    let message = text::host_message(handle.message.as_deref())
        .map_err(|e| refused(ErrorCode::InvalidMessage, e))?;
    Ok(Input::HandleKnock {
        by: Decider::Host(conn),
        target: target(handle.client_id, handle.all)?,
        action: handle.action.into(),
        message,
    })
}

fn message_knockers(conn: ConnId, words: MessageKnockers) -> Result<Input, Refused> {
    let message = text::host_message(Some(&words.message))
        .map_err(|e| refused(ErrorCode::InvalidMessage, e))?
        .ok_or_else(|| refused(ErrorCode::InvalidMessage, "message is empty"))?;
    Ok(Input::MessageKnockers {
        conn,
        target: target(words.client_id, words.all)?,
        message,
    })
}

fn join_room(join: JoinRoom, user_agent: Option<&str>) -> Result<Join, Refused> {
    let room_name =
        RoomName::parse(&join.room_name).map_err(|e| refused(ErrorCode::InvalidRoomName, e))?;
    let display_name = text::display_name(join.display_name.as_deref())
        .map_err(|e| refused(ErrorCode::InvalidDisplayName, e))?;
    let external_id = text::bounded(join.external_id, "externalId", EXTERNAL_ID_MAX_CHARS)
        .map_err(|e| refused(ErrorCode::InvalidPayload, e))?;
    let metadata = text::bounded(join.metadata, "metadata", METADATA_MAX_CHARS)
        .map_err(|e| refused(ErrorCode::InvalidPayload, e))?;
    let avatar_url = text::avatar_url(join.avatar_url.as_deref())
        .map_err(|e| refused(ErrorCode::InvalidPayload, e))?;
    Ok(Join {
        room_name,
        room_key: join.room_key,
        identity: Identity {
            display_name,
            external_id,
            metadata,
            avatar_url,
            user_agent: user_agent.map(str::to_owned),
        },
        media: MediaState {
            audio: join.audio.unwrap_or(true),
            video: join.video.unwrap_or(true),
            screen: false,
        },
        device: device_id(join.device_id),
        resume_token: join.resume_token.filter(|t| t.len() <= RESUME_TOKEN_MAX),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(payload: &str) -> Result<Translated, Refused> {
        let frame = format!(r#"{{"type":"network_sample","payload":{payload}}}"#);
        let message = ClientMessage::decode(&frame).expect("a well-formed frame");
        translate(1, message, None)
    }

    /// A browser's measurements are bounded: bits a second a sample can hold, loss in per cent.
    #[test]
    fn network_samples_are_numbers_in_range() {
        let good = sample(
            r#"{"bitrateSend":812345.6,"bitrateRecv":0,"packetLossSend":0.5,"packetLossRecv":100}"#,
        );
        assert_eq!(
            good,
            Ok(Translated::Room(Input::Measured {
                conn: 1,
                sample: NetworkSample {
                    bitrate_send: 812_346,
                    bitrate_recv: 0,
                    packet_loss_send: 0.5,
                    packet_loss_recv: 100.0,
                }
            }))
        );
        for (payload, named) in [
            (
                r#"{"bitrateSend":-1,"bitrateRecv":0,"packetLossSend":0,"packetLossRecv":0}"#,
                "bitrateSend",
            ),
            (
                r#"{"bitrateSend":0,"bitrateRecv":5e9,"packetLossSend":0,"packetLossRecv":0}"#,
                "bitrateRecv",
            ),
            (
                r#"{"bitrateSend":0,"bitrateRecv":0,"packetLossSend":101,"packetLossRecv":0}"#,
                "packetLossSend",
            ),
            (
                r#"{"bitrateSend":0,"bitrateRecv":0,"packetLossSend":0,"packetLossRecv":-0.1}"#,
                "packetLossRecv",
            ),
        ] {
            let refused = sample(payload).expect_err(payload);
            assert_eq!(refused.code, ErrorCode::InvalidPayload);
            assert!(refused.message.contains(named), "{}", refused.message);
        }
        let missing =
            ClientMessage::decode(r#"{"type":"network_sample","payload":{"bitrateSend":1}}"#)
                .expect_err("fields are required");
        assert_eq!(missing.code, ErrorCode::InvalidPayload);
    }
}

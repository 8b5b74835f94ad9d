//! One WebSocket connection: reads frames, checks them (shape, size, rate, keys), turns them into room
//! inputs, and writes what its room sends back. Everything about who may do what is decided by the
//! room's state machine; this layer only refuses what is malformed or abusive.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use rand::RngCore;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::SignalContext;
use super::protocol::{
    CHAT_MAX_CHARS, ClientId, ClientMessage, EXTERNAL_ID_MAX_CHARS, ErrorCode, HandleKnock,
    JoinRoom, MESSAGE_MAX_CHARS, METADATA_MAX_CHARS, PROTOCOL_VERSION, ServerEvent,
    validate_display_name, validate_message,
};
use crate::meeting::RoomName;
use crate::room::actor::{ConnHandle, Outbound, RoomCommand};
use crate::room::registry::{OpenError, RoomHandle};
use crate::room::state::{ConnId, Credential, Identity, Input, JoinRequest, KnockTarget};
use crate::tokens::{KeyRole, TokenError};

/// Events a connection can have waiting; a client that lets more pile up is cut off.
const OUTBOX: usize = 256;
const CLOSE_NORMAL: u16 = 1000;
const CLOSE_GOING_AWAY: u16 = 1001;
const CLOSE_POLICY: u16 = 1008;
const CLOSE_TOO_BIG: u16 = 1009;
/// A peer whose socket takes longer than this to accept a frame is not reading: drop it rather than
/// stall this connection's loop (and with it, its pings and its cut-off).
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

type DirectLimiter = governor::DefaultDirectRateLimiter;

struct Session {
    conn: ConnId,
    peer: IpAddr,
    user_agent: Option<String>,
    handle: ConnHandle,
    room: Option<RoomHandle>,
    ctx: Arc<SignalContext>,
    frames: DirectLimiter,
    last_rate_error: Option<Instant>,
}

/// What the read side asks the loop to do.
enum Next {
    Continue,
    Reply(Box<ServerEvent>),
}

pub async fn run(
    mut socket: WebSocket,
    ctx: Arc<SignalContext>,
    peer: IpAddr,
    user_agent: Option<String>,
) {
    let conn = ctx.next_conn_id();
    let (outbox, mut inbox) = mpsc::channel(OUTBOX);
    let cut_off = CancellationToken::new();
    let mut session = Session {
        conn,
        peer,
        user_agent,
        handle: ConnHandle {
            outbox,
            cut_off: cut_off.clone(),
        },
        room: None,
        frames: governor::RateLimiter::direct(ctx.settings.frame_quota),
        ctx: ctx.clone(),
        last_rate_error: None,
    };
    tracing::debug!(conn, %peer, "signalling connection opened");
    let hello = ServerEvent::Hello {
        protocol_version: PROTOCOL_VERSION,
    };
    if send_event(&mut socket, &hello).await.is_err() {
        return;
    }
    let ping_every = ctx.settings.ping_interval;
    let mut ping = tokio::time::interval(ping_every);
    ping.tick().await;
    let mut last_heard = Instant::now();
    let close = loop {
        tokio::select! {
            incoming = socket.recv() => {
                let message = match incoming {
                    Some(Ok(message)) => message,
                    Some(Err(err)) => break read_error_close(&err),
                    None => break None,
                };
                last_heard = Instant::now();
                match message {
                    Message::Text(text) => {
                        if let Next::Reply(event) = session.on_frame(&text).await
                            && send_event(&mut socket, &event).await.is_err()
                        {
                            break None;
                        }
                    }
                    Message::Binary(_) => {
                        let event = ServerEvent::error(ErrorCode::InvalidJson, "binary frames are not part of the protocol; send JSON text", None);
                        if send_event(&mut socket, &event).await.is_err() {
                            break None;
                        }
                    }
                    Message::Ping(_) | Message::Pong(_) => {}
                    Message::Close(_) => break None,
                }
            }
            outbound = inbox.recv() => match outbound {
                Some(Outbound::Frame(frame)) => {
                    if send(&mut socket, Message::Text(frame)).await.is_err() {
                        break None;
                    }
                }
                Some(Outbound::Close) => {
                    // The room is done with this connection (kicked, or the room ended).
                    session.room = None;
                    break Some((CLOSE_NORMAL, "closed by the room"));
                }
                None => break None,
            },
            _ = ping.tick() => {
                if last_heard.elapsed() > ping_every * 2 + ping_every / 2 {
                    tracing::info!(conn, %peer, "no frame or pong for too long; dropping the connection");
                    break None;
                }
                if send(&mut socket, Message::Ping(Default::default())).await.is_err() {
                    break None;
                }
            }
            () = cut_off.cancelled() => {
                session.room = None;
                let event = ServerEvent::error(ErrorCode::SlowConsumer, "too many events waiting for this connection; reconnect", None);
                let _ = send_event(&mut socket, &event).await;
                break Some((CLOSE_POLICY, "cannot keep up"));
            }
            () = ctx.shutdown.cancelled(), if session.room.is_none() => {
                let event = ServerEvent::error(ErrorCode::ServerShuttingDown, "the server is restarting; reconnect shortly", None);
                let _ = send_event(&mut socket, &event).await;
                break Some((CLOSE_GOING_AWAY, "server shutting down"));
            }
        }
    };
    if let Some((code, reason)) = close {
        let frame = CloseFrame {
            code,
            reason: Utf8Bytes::from_static(reason),
        };
        let _ = send(&mut socket, Message::Close(Some(frame))).await;
    }
    if let Some(room) = session.room.take() {
        let _ = room
            .commands
            .send(RoomCommand::Input(Input::Disconnected { conn }))
            .await;
    }
    tracing::debug!(conn, %peer, "signalling connection closed");
}

fn read_error_close(err: &axum::Error) -> Option<(u16, &'static str)> {
    use std::error::Error as _;
    use tungstenite::error::{CapacityError, Error as WsError};
    let too_big = err
        .source()
        .and_then(|inner| inner.downcast_ref::<WsError>())
        .is_some_and(|inner| {
            matches!(
                inner,
                WsError::Capacity(CapacityError::MessageTooLong { .. })
            )
        });
    if too_big {
        tracing::info!(error = %err, "frame over the size limit; closing the connection");
        return Some((CLOSE_TOO_BIG, "frame too large (64 KiB at most)"));
    }
    tracing::debug!(error = %err, "WebSocket read failed");
    None
}

/// Sends one frame, giving up on a peer that does not take it within `SEND_TIMEOUT`.
async fn send(socket: &mut WebSocket, message: Message) -> Result<(), ()> {
    match tokio::time::timeout(SEND_TIMEOUT, socket.send(message)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err(()),
        Err(_) => {
            tracing::info!("a peer stopped reading; dropping the connection");
            Err(())
        }
    }
}

async fn send_event(socket: &mut WebSocket, event: &ServerEvent) -> Result<(), ()> {
    send(socket, Message::Text(Utf8Bytes::from(event.to_json()))).await
}

fn error(code: ErrorCode, message: impl Into<String>, request: &str) -> Next {
    Next::Reply(Box::new(ServerEvent::error(code, message, Some(request))))
}

fn random_token() -> String {
    let mut bytes = [0u8; 18];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn bounded(value: Option<String>, max: usize, field: &str) -> Result<Option<String>, String> {
    match value {
        Some(v) if v.chars().count() > max => {
            Err(format!("{field} is longer than {max} characters"))
        }
        other => Ok(other),
    }
}

impl Session {
    async fn on_frame(&mut self, text: &str) -> Next {
        if self.frames.check().is_err() {
            // One error a second at most, so a flood is not answered with a flood.
            let now = Instant::now();
            if self
                .last_rate_error
                .is_some_and(|at| now.duration_since(at) < Duration::from_secs(1))
            {
                return Next::Continue;
            }
            self.last_rate_error = Some(now);
            return Next::Reply(Box::new(ServerEvent::error(
                ErrorCode::RateLimited,
                "too many frames; slow down (frames over the limit are dropped)",
                None,
            )));
        }
        let message = match ClientMessage::decode(text) {
            Ok(message) => message,
            Err(err) => {
                return Next::Reply(Box::new(ServerEvent::error(
                    err.code,
                    err.message,
                    err.request_type.as_deref(),
                )));
            }
        };
        let kind = message.kind();
        let input = match message {
            ClientMessage::JoinRoom(join) => return self.join(join).await,
            ClientMessage::KnockRoom(knock) => {
                let display_name = match knock
                    .display_name
                    .as_deref()
                    .map(|n| validate_display_name(Some(n)))
                    .transpose()
                {
                    Ok(name) => name,
                    Err(reason) => return error(ErrorCode::InvalidDisplayName, reason, kind),
                };
                if self.ctx.knocks_per_ip.check_key(&self.peer).is_err() {
                    return error(
                        ErrorCode::RateLimited,
                        "too many knocks from this address; wait a minute",
                        kind,
                    );
                }
                Input::Knock {
                    conn: self.conn,
                    display_name,
                }
            }
            ClientMessage::CancelRoomKnock => Input::CancelKnock { conn: self.conn },
            ClientMessage::HandleKnock(handle) => match self.handle_knock(handle) {
                Ok(input) => input,
                Err((code, reason)) => return error(code, reason, kind),
            },
            ClientMessage::SetLock(lock) => Input::SetLock {
                conn: self.conn,
                locked: lock.locked,
            },
            ClientMessage::LeaveRoom => Input::Leave { conn: self.conn },
            ClientMessage::ChatMessage(chat) => {
                let text = chat.text.trim();
                if text.is_empty() || text.chars().count() > CHAT_MAX_CHARS {
                    return error(
                        ErrorCode::InvalidMessage,
                        format!("text must be 1 to {CHAT_MAX_CHARS} characters"),
                        kind,
                    );
                }
                Input::Chat {
                    conn: self.conn,
                    text: text.to_owned(),
                }
            }
            ClientMessage::KickClient(kick) => Input::Kick {
                conn: self.conn,
                target: kick.client_id,
            },
            ClientMessage::EndMeeting => Input::EndMeeting { conn: self.conn },
            ClientMessage::Relay(relay_kind, relay) => Input::Relay {
                conn: self.conn,
                kind: relay_kind,
                to: relay.receiver_id,
                message: relay.message,
            },
        };
        let leaving = matches!(input, Input::Leave { .. });
        let Some(room) = &self.room else {
            return error(ErrorCode::NotInRoom, "send join_room first", kind);
        };
        if room.commands.send(RoomCommand::Input(input)).await.is_err() {
            self.room = None;
            return error(ErrorCode::NotInRoom, "the room has ended", kind);
        }
        if leaving {
            // The room forgets this connection on leave; the next join_room attaches afresh.
            self.room = None;
        }
        Next::Continue
    }

    fn handle_knock(&self, handle: HandleKnock) -> Result<Input, (ErrorCode, String)> {
        let message = validate_message(handle.message.as_deref(), MESSAGE_MAX_CHARS)
            .map_err(|reason| (ErrorCode::InvalidMessage, reason))?;
        let target = match (handle.client_id, handle.all) {
            (Some(id), false) => KnockTarget::One(id),
            (None, true) => KnockTarget::All,
            _ => {
                let reason = "give either clientId or \"all\": true".to_owned();
                return Err((ErrorCode::InvalidPayload, reason));
            }
        };
        Ok(Input::HandleKnock {
            conn: self.conn,
            target,
            action: handle.action,
            message,
        })
    }

    async fn join(&mut self, join: JoinRoom) -> Next {
        let kind = "join_room";
        let name = match RoomName::parse(&join.room_name) {
            Ok(name) => name,
            Err(reason) => return error(ErrorCode::InvalidRoomName, reason, kind),
        };
        let display_name = match validate_display_name(join.display_name.as_deref()) {
            Ok(name) => name,
            Err(reason) => return error(ErrorCode::InvalidDisplayName, reason, kind),
        };
        let (external_id, metadata) = match (
            bounded(join.external_id, EXTERNAL_ID_MAX_CHARS, "externalId"),
            bounded(join.metadata, METADATA_MAX_CHARS, "metadata"),
        ) {
            (Ok(e), Ok(m)) => (e, m),
            (Err(reason), _) | (_, Err(reason)) => {
                return error(ErrorCode::InvalidPayload, reason, kind);
            }
        };
        let meeting = match self.ctx.rooms.meeting(&name).await {
            Ok(meeting) => meeting,
            Err(OpenError::NotFound) => {
                return error(
                    ErrorCode::RoomNotFound,
                    format!("no meeting has the room {name}"),
                    kind,
                );
            }
            Err(OpenError::Expired) => {
                return error(
                    ErrorCode::RoomNotFound,
                    format!("the meeting of room {name} has ended"),
                    kind,
                );
            }
            Err(err) => {
                tracing::error!(error = %err, room = %name, "cannot open a room");
                return error(
                    ErrorCode::Internal,
                    "the server could not open the room; try again",
                    kind,
                );
            }
        };
        let credential = match join.room_key.as_deref().filter(|k| !k.is_empty()) {
            None => Credential::None,
            Some(key) => match self.ctx.rooms.tokens.verify(key, Utc::now()) {
                Err(TokenError::Expired) => {
                    return error(ErrorCode::RoomKeyExpired, "the roomKey has expired", kind);
                }
                Err(TokenError::Invalid) => {
                    return error(ErrorCode::InvalidRoomKey, "the roomKey is not valid", kind);
                }
                Ok(claims)
                    if claims.sub != meeting.id.to_string() || claims.room != name.as_str() =>
                {
                    return error(
                        ErrorCode::RoomKeyMismatch,
                        "the roomKey belongs to another room",
                        kind,
                    );
                }
                Ok(claims) => match (claims.role, claims.cid) {
                    (KeyRole::Host, _) => Credential::Host,
                    (KeyRole::Viewer, _) => Credential::Viewer,
                    (KeyRole::GrantedVisitor, Some(cid)) => Credential::Grant(ClientId::new(cid)),
                    (KeyRole::GrantedVisitor, None) => {
                        return error(ErrorCode::InvalidRoomKey, "the roomKey is not valid", kind);
                    }
                },
            },
        };
        let input = Input::Join(JoinRequest {
            conn: self.conn,
            fresh_client_id: ClientId::new(uuid::Uuid::new_v4().to_string()),
            peer: self.peer,
            credential,
            identity: Identity {
                display_name,
                external_id,
                metadata,
                user_agent: self.user_agent.clone(),
            },
            resume_token: join.resume_token.filter(|t| t.len() <= 64),
            fresh_resume_token: random_token(),
        });
        // Same room again (a knocker entering with its grant): the room already knows this connection.
        if let Some(room) = &self.room
            && room.meeting.room_name == name
        {
            if room.commands.send(RoomCommand::Input(input)).await.is_err() {
                self.room = None;
                return error(ErrorCode::NotInRoom, "the room has ended", kind);
            }
            return Next::Continue;
        }
        if let Some(previous) = self.room.take() {
            let _ = previous
                .commands
                .send(RoomCommand::Input(Input::Disconnected { conn: self.conn }))
                .await;
        }
        match self
            .ctx
            .rooms
            .attach(meeting, self.conn, self.handle.clone(), input)
        {
            Ok(room) => {
                self.room = Some(room);
                Next::Continue
            }
            Err(err) => error(ErrorCode::Internal, err.to_string(), kind),
        }
    }
}

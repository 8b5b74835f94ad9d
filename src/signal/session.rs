//! One WebSocket connection: reads frames, checks them (shape, size, rate, keys), turns them into room
//! inputs, and writes what its room sends back. Everything about who may do what is decided by the
//! room's state machine; this layer only refuses what is malformed or abusive.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use bytes::Bytes;
use chrono::Utc;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::SignalContext;
use super::protocol::{ClientMessage, ErrorCode, MessageType};
use super::translate::{Join, Translated, translate};
use super::wire;
use crate::room::actor::{ConnHandle, Outbound};
use crate::room::input::Input;
use crate::room::model::ConnId;
use crate::services::rooms::{KeyError, OpenError, RoomHandle};

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
    Reply(Bytes),
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
    if send_frame(&mut socket, wire::hello()).await.is_err() {
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
                        if let Next::Reply(frame) = session.on_frame(&text).await
                            && send_frame(&mut socket, frame).await.is_err()
                        {
                            break None;
                        }
                    }
                    Message::Binary(_) => {
                        let frame = wire::error(ErrorCode::InvalidJson, "binary frames are not part of the protocol; send JSON text", None);
                        if send_frame(&mut socket, frame).await.is_err() {
                            break None;
                        }
                    }
                    Message::Ping(_) | Message::Pong(_) => {}
                    Message::Close(_) => break None,
                }
            }
            outbound = inbox.recv() => match outbound {
                Some(Outbound::Frame(frame)) => {
                    if send_frame(&mut socket, frame).await.is_err() {
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
                let frame = wire::error(ErrorCode::SlowConsumer, "too many events waiting for this connection; reconnect", None);
                let _ = send_frame(&mut socket, frame).await;
                break Some((CLOSE_POLICY, "cannot keep up"));
            }
            () = ctx.shutdown.cancelled(), if session.room.is_none() => {
                let frame = wire::error(ErrorCode::ServerShuttingDown, "the server is restarting; reconnect shortly", None);
                let _ = send_frame(&mut socket, frame).await;
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
        let _ = room.send(Input::Disconnected { conn }).await;
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

/// Sends a text frame we wrote ourselves. Our encoders write JSON, which is UTF-8; a frame that
/// somehow is not is dropped rather than sent broken.
async fn send_frame(socket: &mut WebSocket, frame: Bytes) -> Result<(), ()> {
    match Utf8Bytes::try_from(frame) {
        Ok(text) => send(socket, Message::Text(text)).await,
        Err(err) => {
            tracing::error!(error = %err, "an encoded frame is not UTF-8; not sent");
            Ok(())
        }
    }
}

fn error(code: ErrorCode, message: impl std::fmt::Display, request: MessageType) -> Next {
    Next::Reply(wire::error(
        code,
        &message.to_string(),
        Some(request.as_str()),
    ))
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
            return Next::Reply(wire::error(
                ErrorCode::RateLimited,
                "too many frames; slow down (frames over the limit are dropped)",
                None,
            ));
        }
        let message = match ClientMessage::decode(text) {
            Ok(message) => message,
            Err(err) => {
                return Next::Reply(wire::error(
                    err.code,
                    &err.message,
                    err.request_type.as_deref(),
                ));
            }
        };
        let kind = message.kind();
        let input = match translate(self.conn, message, self.user_agent.as_deref()) {
            Ok(Translated::Join(join)) => return self.join(join).await,
            Ok(Translated::Room(input)) => input,
            Err(refused) => return error(refused.code, refused.message, kind),
        };
        if matches!(input, Input::Knock { .. })
            && self.ctx.knocks_per_ip.check_key(&self.peer).is_err()
        {
            return error(
                ErrorCode::RateLimited,
                "too many knocks from this address; wait a minute",
                kind,
            );
        }
        let leaving = matches!(input, Input::Leave { .. });
        let Some(room) = &self.room else {
            return error(ErrorCode::NotInRoom, "send join_room first", kind);
        };
        if room.send(input).await.is_err() {
            self.room = None;
            return error(ErrorCode::NotInRoom, "the room has ended", kind);
        }
        if leaving {
            // The room forgets this connection on leave; the next join_room attaches afresh.
            self.room = None;
        }
        Next::Continue
    }

    async fn join(&mut self, join: Join) -> Next {
        let kind = MessageType::JoinRoom;
        let name = join.room_name.clone();
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
        let credential =
            match self
                .ctx
                .rooms
                .credential(join.room_key.as_deref(), &meeting, Utc::now())
            {
                Ok(credential) => credential,
                Err(err) => {
                    let code = match err {
                        KeyError::Expired => ErrorCode::RoomKeyExpired,
                        KeyError::Invalid => ErrorCode::InvalidRoomKey,
                        KeyError::OtherRoom => ErrorCode::RoomKeyMismatch,
                    };
                    return error(code, err, kind);
                }
            };
        let input = join.into_request(self.conn, self.peer, credential);
        // Same room again (a knocker entering with its grant): the room already knows this connection.
        if let Some(room) = &self.room
            && room.meeting.room_name == name
        {
            if room.send(input).await.is_err() {
                self.room = None;
                return error(ErrorCode::NotInRoom, "the room has ended", kind);
            }
            return Next::Continue;
        }
        if let Some(previous) = self.room.take() {
            let _ = previous.send(Input::Disconnected { conn: self.conn }).await;
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
            Err(err) => error(ErrorCode::Internal, err, kind),
        }
    }
}

//! One WebSocket connection: reads frames, checks them (shape, size, rate, keys), turns them into room
//! inputs, and writes what its room sends back. Everything about who may do what is decided by the
//! room's state machine; this layer only refuses what is malformed or abusive.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ws::{Message, WebSocket};
use bytes::Bytes;
use chrono::Utc;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::outgoing::{Sent, close_with, flush, send, send_frame, send_queued};
use super::protocol::{ClientMessage, ErrorCode, MessageType, SfuMessage};
use super::translate::{Join, Translated, translate};
use super::wire;
use super::{PREVIEW_TIMEOUT, SignalContext};
use crate::media::{self, MediaRefusal, Notice};
use crate::meeting::{ClientId, Meeting, RoomMode, RoomName};
use crate::proxy::network_of;
use crate::room::actor::{ConnHandle, Outbound};
use crate::room::input::Input;
use crate::room::model::{ConnId, Credential, Role};
use crate::services::rooms::{KeyError, LookupError, Placement, RoomHandle};

/// Wider than any screen: a larger view size is taken as this.
const MAX_VIEW_WIDTH: u32 = 8192;
/// Steps of the room (each one event or a few) a connection can have waiting; a client that lets
/// more pile up is cut off.
const OUTBOX: usize = 256;
const CLOSE_NORMAL: u16 = 1000;
const CLOSE_GOING_AWAY: u16 = 1001;
const CLOSE_POLICY: u16 = 1008;
const CLOSE_TOO_BIG: u16 = 1009;
/// "Service restart": come back shortly.
const CLOSE_RESTART: u16 = 1012;

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
    /// Until the connection has joined a room: when it is closed for not naming one.
    join_deadline: Option<tokio::time::Instant>,
    /// The media server's notices for a transport this connection just negotiated, for the loop to
    /// listen to.
    new_media_link: Option<mpsc::Receiver<Notice>>,
    /// Another node of the cluster bridged this connection here.
    bridged: bool,
}

/// How the read loop ended.
enum Ending {
    /// The connection goes on, bridged to the node that runs its room.
    Bridge { owner: String, first: String },
    /// We close, with this code and reason.
    Close(u16, &'static str),
    /// The peer closed; its Close frame was answered.
    PeerClosed,
    /// The connection is gone (an error, or the peer vanished): nothing to say.
    Dropped,
}

/// What the read side asks the loop to do.
enum Next {
    Continue,
    Reply(Bytes),
    /// The room runs on another node: from this frame on, the connection is bridged to it.
    Bridge {
        owner: String,
        first: String,
    },
    /// The room cannot be reached here now (it moved, or its keeper is unreachable): this frame
    /// says so, then the connection closes so that the client comes back (and finds it).
    ComeBack(Bytes),
}

pub async fn run(
    mut socket: WebSocket,
    ctx: Arc<SignalContext>,
    peer: IpAddr,
    user_agent: Option<String>,
    bridged: bool,
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
        join_deadline: Some(tokio::time::Instant::now() + ctx.settings.join_timeout),
        new_media_link: None,
        bridged,
    };
    let mut media_notices: Option<mpsc::Receiver<Notice>> = None;
    tracing::debug!(conn, %peer, "signalling connection opened");
    let ping_every = ctx.settings.ping_interval;
    if send_frame(&mut socket, wire::hello(ping_every))
        .await
        .is_err()
    {
        return;
    }
    let mut ping = tokio::time::interval(ping_every);
    ping.tick().await;
    let mut last_heard = Instant::now();
    let ending = loop {
        let join_deadline = session.join_deadline;
        let must_join = async {
            match join_deadline {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            incoming = socket.recv() => {
                let message = match incoming {
                    Some(Ok(message)) => message,
                    Some(Err(err)) => break read_error_close(&err),
                    None => break Ending::Dropped,
                };
                last_heard = Instant::now();
                match message {
                    Message::Text(text) => {
                        // Boxed: a frame's handling (a join looks the meeting up in the store) is
                        // large and short-lived; inline, every idle connection would carry its room.
                        match Box::pin(session.on_frame(&text)).await {
                            Next::Reply(frame) => {
                                if send_frame(&mut socket, frame).await.is_err() {
                                    break Ending::Dropped;
                                }
                            }
                            Next::Bridge { owner, first } => break Ending::Bridge { owner, first },
                            Next::ComeBack(frame) => {
                                let _ = send_frame(&mut socket, frame).await;
                                break Ending::Close(CLOSE_RESTART, "come back shortly");
                            }
                            Next::Continue => {}
                        }
                        // Listened to only once its answer is sent: the server's next offer
                        // must reach the client after it.
                        if let Some(link) = session.new_media_link.take() {
                            media_notices = Some(link);
                        }
                    }
                    Message::Binary(_) => {
                        let frame = wire::error(ErrorCode::InvalidJson, "binary frames are not part of the protocol; send JSON text", None);
                        if send_frame(&mut socket, frame).await.is_err() {
                            break Ending::Dropped;
                        }
                    }
                    Message::Ping(_) | Message::Pong(_) => {}
                    Message::Close(_) => {
                        // The closing handshake: tungstenite has queued the answer to the peer's
                        // Close (its own code); flushing sends it.
                        let _ = flush(&mut socket).await;
                        break Ending::PeerClosed;
                    }
                }
            }
            outbound = inbox.recv() => match outbound {
                Some(Outbound::Frames(frames)) => match send_queued(&mut socket, frames, &mut inbox).await {
                    Sent::Written => {}
                    Sent::ThenClose => {
                        session.room = None;
                        break Ending::Close(CLOSE_NORMAL, "closed by the room");
                    }
                    Sent::Failed => break Ending::Dropped,
                },
                Some(Outbound::Close) => {
                    // The room is done with this connection (kicked, or the room ended).
                    session.room = None;
                    break Ending::Close(CLOSE_NORMAL, "closed by the room");
                }
                None => break Ending::Dropped,
            },
            notice = next_notice(&mut media_notices) => {
                let frame = match notice {
                    Some(Notice::Offer(sdp)) => wire::sfu_description(true, &sdp),
                    Some(Notice::DominantSpeaker(who)) => wire::dominant_speaker(who.as_str()),
                    Some(Notice::Interrupted(who, interrupted)) => wire::media_interrupted(who.as_str(), interrupted),
                    Some(Notice::Slots(slots)) => wire::sfu_slots(&slots),
                    Some(Notice::Closed) => wire::sfu_closed(),
                    None => {
                        // The media server closed this transport (revoked, or replaced).
                        media_notices = None;
                        continue;
                    }
                };
                if send_frame(&mut socket, frame).await.is_err() {
                    break Ending::Dropped;
                }
            }
            _ = ping.tick() => {
                if super::silent_too_long(last_heard, ping_every) {
                    tracing::info!(conn, %peer, "no frame or pong for too long; dropping the connection");
                    break Ending::Dropped;
                }
                if send(&mut socket, Message::Ping(Default::default())).await.is_err() {
                    break Ending::Dropped;
                }
            }
            () = must_join => {
                tracing::info!(conn, %peer, "the connection named no room in time; closing it");
                let frame = wire::error(ErrorCode::JoinTimeout, "join a room (join_room) soon after connecting", None);
                let _ = send_frame(&mut socket, frame).await;
                break Ending::Close(CLOSE_POLICY, "no room joined in time");
            }
            () = cut_off.cancelled() => {
                session.room = None;
                let frame = wire::error(ErrorCode::SlowConsumer, "too many events waiting for this connection; reconnect", None);
                let _ = send_frame(&mut socket, frame).await;
                break Ending::Close(CLOSE_POLICY, "cannot keep up");
            }
            () = ctx.shutdown.cancelled(), if session.room.is_none() => {
                let frame = wire::error(ErrorCode::ServerShuttingDown, "the server is restarting; reconnect shortly", None);
                let _ = send_frame(&mut socket, frame).await;
                break Ending::Close(CLOSE_GOING_AWAY, "server shutting down");
            }
        }
    };
    if let Ending::Bridge { owner, first } = ending {
        // Not in a room here: nothing to tell a room when the bridge ends.
        let Some(cluster) = &ctx.cluster else {
            return;
        };
        tracing::debug!(conn, %peer, %owner, "bridging a connection to its room's node");
        let owner = super::bridge::Owner {
            url: owner,
            token: cluster.token.clone(),
        };
        // Boxed: a bridge's state (its own WebSocket, and connecting it) is kilobytes; inline,
        // every connection's session would carry it, bridged or not.
        Box::pin(super::bridge::run(
            socket,
            owner,
            first,
            peer,
            session.user_agent.clone(),
            ping_every,
        ))
        .await;
        return;
    }
    if let Ending::Close(code, reason) = ending {
        close_with(&mut socket, code, reason).await;
    }
    if let Some(room) = session.room.take() {
        let _ = room.send(Input::Disconnected { conn }).await;
    }
    tracing::debug!(conn, %peer, "signalling connection closed");
}

/// A page of an origin that may not connect here: told so, and where this server's pages are
/// (`origin_not_allowed`), then closed (1008). Nothing it sends is read.
pub(super) async fn refuse_origin(mut socket: WebSocket, public_url: &str) {
    if send_frame(&mut socket, wire::origin_not_allowed(public_url))
        .await
        .is_ok()
    {
        close_with(&mut socket, CLOSE_POLICY, "origin not allowed").await;
    }
}

async fn next_notice(notices: &mut Option<mpsc::Receiver<Notice>>) -> Option<Notice> {
    match notices {
        Some(notices) => notices.recv().await,
        None => std::future::pending().await,
    }
}

fn read_error_close(err: &axum::Error) -> Ending {
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
        return Ending::Close(CLOSE_TOO_BIG, "frame too large (64 KiB at most)");
    }
    tracing::debug!(error = %err, "WebSocket read failed");
    Ending::Dropped
}

fn error(code: ErrorCode, message: impl std::fmt::Display, request: MessageType) -> Next {
    Next::Reply(wire::error(
        code,
        &message.to_string(),
        Some(request.as_str()),
    ))
}

/// `server_shutting_down`, then the connection closes: the client reconnects and tries again.
fn come_back(message: &str, request: MessageType) -> Next {
    Next::ComeBack(wire::error(
        ErrorCode::ServerShuttingDown,
        message,
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
            Ok(Translated::Preview {
                room_name,
                room_key,
                resume_token,
            }) => return self.preview(room_name, room_key, resume_token, text).await,
            Ok(Translated::Join(join)) => return self.join(join, text).await,
            Ok(Translated::Room(input)) => input,
            Ok(Translated::Media(message)) => return self.media(message, kind).await,
            Ok(Translated::Ping) => return Next::Reply(wire::pong()),
            Err(refused) => return error(refused.code, refused.message, kind),
        };
        if matches!(input, Input::Knock { .. })
            && !self.ctx.limits.knock(network_of(self.peer)).await
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

    /// A frame for the media server of a group room.
    async fn media(&mut self, message: SfuMessage, kind: MessageType) -> Next {
        let Some(room) = &self.room else {
            return error(ErrorCode::NotInRoom, "send join_room first", kind);
        };
        if room.meeting.room_mode != RoomMode::Group {
            return error(
                ErrorCode::NoMediaPath,
                "this room's media goes peer to peer (sdp_offer and friends); the media server carries group rooms",
                kind,
            );
        }
        let name = room.meeting.room_name.clone();
        let media = &self.ctx.media;
        let refused = |refusal: MediaRefusal| {
            let code = match refusal {
                MediaRefusal::NotAdmitted => ErrorCode::NoMediaPath,
                MediaRefusal::BadDescription(_) | MediaRefusal::NoPendingOffer => {
                    ErrorCode::InvalidDescription
                }
                MediaRefusal::Unavailable => ErrorCode::Internal,
            };
            error(code, refusal, kind)
        };
        match message {
            SfuMessage::Offer(offer) => {
                let (notices, link) = mpsc::channel(media::NOTICES);
                match media.offer(&name, self.conn, offer.sdp, notices).await {
                    Ok(answer) => {
                        self.new_media_link = Some(link);
                        Next::Reply(wire::sfu_description(false, &answer))
                    }
                    Err(refusal) => refused(refusal),
                }
            }
            SfuMessage::Answer(answer) => match media.answer(&name, self.conn, answer.sdp).await {
                Ok(()) => Next::Continue,
                Err(refusal) => refused(refusal),
            },
            SfuMessage::View(view) => {
                let publisher = ClientId::new(view.client_id);
                media.view_size(&name, self.conn, &publisher, view.width.min(MAX_VIEW_WIDTH));
                Next::Continue
            }
        }
    }

    /// The meeting of a room that may be entered now, or the error frame that says why not.
    async fn open_meeting(&self, name: &RoomName, kind: MessageType) -> Result<Arc<Meeting>, Next> {
        match self.ctx.rooms.meeting(name).await {
            Ok(meeting) => Ok(meeting),
            Err(LookupError::NotFound) => Err(error(
                ErrorCode::RoomNotFound,
                format!("no meeting has the room {name}"),
                kind,
            )),
            Err(LookupError::Expired) => Err(error(
                ErrorCode::RoomNotFound,
                format!("the meeting of room {name} has ended"),
                kind,
            )),
            // The store answers nothing for now (its meeting could not be read): the client comes
            // back shortly, as from a restart, rather than being told something went wrong.
            Err(LookupError::Store(err)) if err.is_unavailable() => {
                tracing::warn!(error = %err, room = %name, "cannot open a room: the store is unavailable");
                Err(come_back(
                    "the room cannot be opened right now; reconnect shortly",
                    kind,
                ))
            }
            Err(err) => {
                tracing::error!(error = %err, room = %name, "cannot open a room");
                Err(error(
                    ErrorCode::Internal,
                    "the server could not open the room; try again",
                    kind,
                ))
            }
        }
    }

    /// What a `roomKey` makes its bearer in this meeting's room, or the error frame that says why
    /// it does not.
    fn credential(
        &self,
        key: Option<&str>,
        meeting: &Meeting,
        kind: MessageType,
    ) -> Result<Credential, Next> {
        self.ctx
            .rooms
            .credential(key, meeting, Utc::now())
            .map_err(|err| {
                let code = match err {
                    KeyError::Expired => ErrorCode::RoomKeyExpired,
                    KeyError::Invalid => ErrorCode::InvalidRoomKey,
                    KeyError::OtherRoom => ErrorCode::RoomKeyMismatch,
                };
                error(code, err, kind)
            })
    }

    /// Before the device check: the room is there, what the key would make its bearer, the door's
    /// look, and the ICE servers with TURN credentials (minted only for a room that is open).
    async fn preview(
        &mut self,
        name: RoomName,
        key: Option<String>,
        resume_token: Option<String>,
        text: &str,
    ) -> Next {
        let kind = MessageType::PreviewRoom;
        // A reloaded page (it has a resume token) whose room runs on another node: bridged there
        // now rather than at its join, so that the room hears the page is back (below) and keeps
        // its knock's place through the review.
        if resume_token.is_some()
            && self.room.is_none()
            && !self.bridged
            && let Some(owner) = self.ctx.rooms.owner_elsewhere(&name).await
        {
            return Next::Bridge {
                owner,
                first: text.to_owned(),
            };
        }
        let meeting = match self.open_meeting(&name, kind).await {
            Ok(meeting) => meeting,
            Err(refusal) => return refusal,
        };
        let role = match self.credential(key.as_deref(), &meeting, kind) {
            Ok(Credential::None) => None,
            Ok(Credential::Host) => Some(Role::Host),
            Ok(Credential::Viewer) => Some(Role::Viewer),
            Ok(Credential::Grant(_)) => Some(Role::GrantedVisitor),
            Err(refusal) => return refusal,
        };
        let page = match self.ctx.rooms.look(&name).await {
            Ok(theme) => theme.knock_page(),
            Err(err) => {
                tracing::error!(error = %err, room = %name, "cannot load a room's look");
                Default::default()
            }
        };
        if self.room.is_none() {
            self.join_deadline = Some(tokio::time::Instant::now() + PREVIEW_TIMEOUT);
        }
        // A reloaded page, back at its review: a knock it left waiting keeps its place meanwhile.
        if let Some(resume_token) = resume_token {
            self.ctx
                .rooms
                .tell(&name, Input::PageBack { resume_token })
                .await;
        }
        let ice = self.ctx.ice.ice_servers(Utc::now().timestamp());
        Next::Reply(wire::room_preview(
            name.as_str(),
            meeting.room_mode.as_str(),
            role.map(Role::as_str),
            meeting.recording.as_str(),
            &page,
            &ice,
        ))
    }

    async fn join(&mut self, mut join: Join, text: &str) -> Next {
        let kind = MessageType::JoinRoom;
        // A picture from an origin the operator did not list is left out; the person still enters.
        if let Some(address) = &join.identity.avatar_url
            && !self.ctx.avatars.allows(address)
        {
            tracing::warn!(
                avatar_url = %address,
                "avatarUrl left out: its origin is not among --avatar-origins (ANTEROOM_AVATAR_ORIGINS)"
            );
            join.identity.avatar_url = None;
        }
        let name = join.room_name.clone();
        let meeting = match self.open_meeting(&name, kind).await {
            Ok(meeting) => meeting,
            Err(refusal) => return refusal,
        };
        let credential = match self.credential(join.room_key.as_deref(), &meeting, kind) {
            Ok(credential) => credential,
            Err(refusal) => return refusal,
        };
        let input = join.into_request(self.conn, network_of(self.peer), credential);
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
        match self.ctx.rooms.place(&meeting).await {
            Ok(Placement::Here) => {}
            // A connection another node bridged here is never bridged again: its client comes
            // back, and finds the room where it runs now.
            Ok(Placement::Elsewhere(_)) if self.bridged => {
                return come_back("the room has moved to another server; reconnect", kind);
            }
            Ok(Placement::Elsewhere(owner)) if self.room.is_none() => {
                return Next::Bridge {
                    owner,
                    first: text.to_owned(),
                };
            }
            Ok(Placement::Elsewhere(_)) => {
                return error(
                    ErrorCode::AlreadyJoined,
                    "this connection is in another room; open a new connection for this one",
                    kind,
                );
            }
            Err(err) => {
                tracing::warn!(room = %name, error = %err, "cannot open a room");
                return come_back(
                    "the room cannot be opened right now; reconnect shortly",
                    kind,
                );
            }
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
                self.join_deadline = None;
                Next::Continue
            }
            // Its actor's mailbox is full for now (or it has just ended): the client comes back
            // shortly rather than being told something went wrong.
            Err(err) => {
                tracing::warn!(room = %name, error = %err, "cannot attach a connection to its room");
                come_back("the room is busy; reconnect shortly", kind)
            }
        }
    }
}

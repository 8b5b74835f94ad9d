//! A signalling connection whose room runs on another node: from the frame that names the room on,
//! its frames are passed both ways over a WebSocket of this node's to that node, which runs the
//! session as if the client had connected to it (it is told the client's address). Why not Redis
//! pub/sub: a session is a stream that must keep its order and lose nothing, which a TCP connection
//! gives and pub/sub (at most once, no back-pressure) does not; and the owner's media server is
//! reached through the owner's own session, as for a direct connection.

use std::net::IpAddr;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures_util::{FutureExt, SinkExt, Stream, StreamExt};
use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::tungstenite::Message as UpMessage;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame as UpCloseFrame, WebSocketConfig};

use super::outgoing::FRAMES_PER_WRITE;
use crate::cluster::{CLIENT_HEADER, NODE_HEADER};

/// 1012, "service restart": the client should come back (its room moves, or its node went away).
const CLOSE_RESTART: u16 = 1012;
/// How long the owner has to accept the bridge.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a bridge ends on the owner's side.
enum Stop {
    ClientGone,
    OwnerClosed(Option<UpCloseFrame>),
    OwnerGone,
}

/// The owner's half of a bridge, as the client's frames go to it.
pub struct Owner {
    pub url: String,
    pub token: String,
}

/// Passes the client's frames (starting with `first`, the one that named the room) to the owner and
/// the owner's back, until either side closes. A bridge that cannot be made, or breaks, tells the
/// client to come back (the room moves, or its node went away: another takes it over).
pub async fn run(
    mut client: WebSocket,
    owner: Owner,
    first: String,
    peer: IpAddr,
    user_agent: Option<String>,
    ping_every: Duration,
) {
    let upstream = match connect(&owner, peer, user_agent.as_deref()).await {
        Ok(upstream) => upstream,
        Err(why) => {
            tracing::info!(owner = %owner.url, error = %why, "cannot reach the room's node; the client will come back");
            come_back_later(&mut client).await;
            return;
        }
    };
    let (mut up_tx, mut up_rx) = upstream.split();
    // The owner greets with its own `hello`; the client had this node's.
    if !matches!(up_rx.next().await, Some(Ok(UpMessage::Text(_))))
        || up_tx.send(UpMessage::Text(first.into())).await.is_err()
    {
        come_back_later(&mut client).await;
        return;
    }
    // With a balancer that hashes on the room (deployment.md), few connections get this far.
    metrics::counter!("anteroom_bridged_connections_total").increment(1);
    // The client is this node's to ping, and to drop when silent, as a session here does: the owner
    // hears the bridge, which answers its pings whatever became of the client.
    let mut ping = tokio::time::interval(ping_every);
    ping.tick().await;
    let mut last_heard = std::time::Instant::now();
    loop {
        tokio::select! {
            _ = ping.tick() => {
                if super::silent_too_long(last_heard, ping_every) {
                    tracing::info!(%peer, "no frame or pong for too long; dropping the bridged connection");
                    let _ = up_tx.send(UpMessage::Close(None)).await;
                    return;
                }
                if client.send(Message::Ping(Default::default())).await.is_err() {
                    let _ = up_tx.send(UpMessage::Close(None)).await;
                    return;
                }
            }
            from_client = client.recv() => match from_client.inspect(|_| last_heard = std::time::Instant::now()) {
                Some(Ok(Message::Text(text))) => {
                    if up_tx.send(UpMessage::Text(text.as_str().into())).await.is_err() {
                        come_back_later(&mut client).await;
                        return;
                    }
                }
                Some(Ok(Message::Close(frame))) => {
                    let frame = frame.map(|f| UpCloseFrame { code: f.code.into(), reason: f.reason.as_str().into() });
                    let _ = up_tx.send(UpMessage::Close(frame)).await;
                    return;
                }
                // Pings are each hop's own business; binary frames the owner refuses, as here.
                Some(Ok(Message::Binary(bytes))) => {
                    let _ = up_tx.send(UpMessage::Binary(bytes)).await;
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                Some(Err(_)) | None => {
                    let _ = up_tx.send(UpMessage::Close(None)).await;
                    return;
                }
            },
            from_owner = up_rx.next() => match pass_on(&mut client, &mut up_rx, from_owner).await {
                None => {}
                Some(Stop::ClientGone) => {
                    let _ = up_tx.send(UpMessage::Close(None)).await;
                    return;
                }
                Some(Stop::OwnerClosed(frame)) => {
                    let frame = frame.map(|f| CloseFrame { code: f.code.into(), reason: Utf8Bytes::from(f.reason.as_str()) });
                    let _ = client.send(Message::Close(frame)).await;
                    return;
                }
                // The owner is gone (its node died): the client comes back, to whoever takes over.
                Some(Stop::OwnerGone) => {
                    come_back_later(&mut client).await;
                    return;
                }
            },
        }
    }
}

/// Passes `from_owner`, and what else the owner's socket already holds (the owner writes a room's
/// frames for one connection in one go), on to the client in one write. `None` while the bridge
/// goes on.
async fn pass_on(
    client: &mut WebSocket,
    up_rx: &mut (impl Stream<Item = Result<UpMessage, WsError>> + Unpin),
    mut from_owner: Option<Result<UpMessage, WsError>>,
) -> Option<Stop> {
    let mut frames = 0;
    let stop = loop {
        match from_owner {
            Some(Ok(UpMessage::Text(text))) => {
                let text = Message::Text(Utf8Bytes::from(text.as_str()));
                if client.feed(text).await.is_err() {
                    break Some(Stop::ClientGone);
                }
                frames += 1;
            }
            Some(Ok(UpMessage::Close(frame))) => break Some(Stop::OwnerClosed(frame)),
            Some(Ok(_)) => {}
            Some(Err(_)) | None => break Some(Stop::OwnerGone),
        }
        if frames == FRAMES_PER_WRITE {
            break None;
        }
        match up_rx.next().now_or_never() {
            Some(next) => from_owner = next,
            None => break None,
        }
    };
    let flushed = super::outgoing::flush(client).await.is_ok();
    if flushed && frames > 0 {
        super::outgoing::written(frames);
    }
    match stop {
        None if !flushed => Some(Stop::ClientGone),
        stop => stop,
    }
}

async fn connect(
    owner: &Owner,
    peer: IpAddr,
    user_agent: Option<&str>,
) -> Result<
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    String,
> {
    let url = format!(
        "{}/v1/signal",
        owner
            .url
            .replacen("https://", "wss://", 1)
            .replacen("http://", "ws://", 1)
    );
    let mut request = url.into_client_request().map_err(|e| e.to_string())?;
    let headers = request.headers_mut();
    let mut set = |name: &'static str, value: &str| {
        if let Ok(value) = value.parse() {
            headers.insert(name, value);
        }
    };
    set(NODE_HEADER, &owner.token);
    set(CLIENT_HEADER, &peer.to_string());
    if let Some(agent) = user_agent {
        set("user-agent", agent);
    }
    // As the client's own socket (`signal::endpoint`): a small read buffer, not tungstenite's
    // 128 KiB one, which it zero-fills as it reads (4 % of a node's CPU under load); no write buffer;
    // Nagle off, so a knock or a verdict leaves at once.
    let config = WebSocketConfig::default()
        .read_buffer_size(super::READ_BUFFER_BYTES)
        .write_buffer_size(0)
        .max_message_size(Some(super::MAX_FRAME_BYTES))
        .max_frame_size(Some(super::MAX_FRAME_BYTES));
    let connecting = tokio_tungstenite::connect_async_with_config(request, Some(config), true);
    match tokio::time::timeout(CONNECT_TIMEOUT, connecting).await {
        Ok(Ok((stream, _))) => Ok(stream),
        Ok(Err(err)) => Err(err.to_string()),
        Err(_) => Err("no answer in time".into()),
    }
}

/// Tells the client to reconnect (as a server restart does) and closes.
async fn come_back_later(client: &mut WebSocket) {
    let frame = super::wire::error(
        super::protocol::ErrorCode::ServerShuttingDown,
        "the room's server is changing; reconnect shortly",
        None,
    );
    if let Ok(text) = Utf8Bytes::try_from(frame) {
        let _ = client.send(Message::Text(text)).await;
    }
    let _ = client
        .send(Message::Close(Some(CloseFrame {
            code: CLOSE_RESTART,
            reason: Utf8Bytes::from_static("the room moves"),
        })))
        .await;
}

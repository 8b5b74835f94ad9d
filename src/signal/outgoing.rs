//! Writing frames to a client's socket. The frames one step of the room had for a connection (a
//! knocker's `knock_sent` and `knock_position`, say), and any queued behind them, leave in one
//! write: each write is a system call here and a wake-up of the reader there, which on a busy
//! machine is most of what a small frame costs (docs/performance.md, "Frames queued together,
//! written together").

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use bytes::Bytes;
use futures_util::SinkExt;
use tokio::sync::mpsc;

use crate::room::actor::Outbound;

/// How long a Close we send waits for the peer's.
const CLOSE_HANDSHAKE: Duration = Duration::from_secs(2);
/// A peer whose socket takes longer than this to accept a frame is not reading: drop it rather than
/// stall this connection's loop (and with it, its pings and its cut-off).
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Frames written together at most, unless one step had more for the connection: a client that
/// has fallen far behind still gets a write every this many, not one the size of its whole queue.
pub(super) const FRAMES_PER_WRITE: usize = 32;
/// Frames fed to a socket are held until this many bytes are waiting, or until it is flushed;
/// anything larger is written as it is fed.
pub(super) const WRITE_BATCH_BYTES: usize = 16 * 1024;

/// What became of a batch of queued frames.
pub(super) enum Sent {
    /// All written.
    Written,
    /// Written; the room then asked for the connection to be closed.
    ThenClose,
    /// The peer is gone or not reading.
    Failed,
}

/// Writes a step's `first` frames and the steps' frames queued behind them (up to
/// `FRAMES_PER_WRITE` in all), then flushes them in one write.
pub(super) async fn send_queued(
    socket: &mut WebSocket,
    first: Vec<Bytes>,
    queue: &mut mpsc::Receiver<Outbound>,
) -> Sent {
    let mut close = false;
    let mut frames = first.len();
    let batch = async {
        for frame in first {
            feed_frame(socket, frame).await?;
        }
        while frames < FRAMES_PER_WRITE {
            match queue.try_recv() {
                Ok(Outbound::Frames(step)) => {
                    frames += step.len();
                    for frame in step {
                        feed_frame(socket, frame).await?;
                    }
                }
                Ok(Outbound::Close) => {
                    close = true;
                    break;
                }
                // Empty, or the room is gone (the loop hears of that on its next receive).
                Err(_) => break,
            }
        }
        socket.flush().await
    };
    let sent = within_send_timeout(batch).await;
    if sent.is_ok() {
        written(frames);
    }
    match sent {
        Ok(()) if close => Sent::ThenClose,
        Ok(()) => Sent::Written,
        Err(()) => Sent::Failed,
    }
}

/// Sends one frame, giving up on a peer that does not take it within `SEND_TIMEOUT`.
pub(super) async fn send(socket: &mut WebSocket, message: Message) -> Result<(), ()> {
    within_send_timeout(socket.send(message)).await
}

/// Sends a text frame we wrote ourselves.
pub(super) async fn send_frame(socket: &mut WebSocket, frame: Bytes) -> Result<(), ()> {
    within_send_timeout(async {
        feed_frame(socket, frame).await?;
        socket.flush().await
    })
    .await?;
    written(1);
    Ok(())
}

/// Counts what a write carried (`/metrics`: frames per write shows how often frames go together).
pub(super) fn written(frames: usize) {
    metrics::counter!("anteroom_signal_frames_sent_total").increment(frames as u64);
    metrics::counter!("anteroom_signal_writes_total").increment(1);
}

/// Flushes what is queued in the socket (the answer to a peer's Close, say).
pub(super) async fn flush(socket: &mut WebSocket) -> Result<(), ()> {
    within_send_timeout(socket.flush()).await
}

/// Our encoders write JSON, which is UTF-8; a frame that somehow is not is dropped rather than sent
/// broken.
async fn feed_frame(socket: &mut WebSocket, frame: Bytes) -> Result<(), axum::Error> {
    match Utf8Bytes::try_from(frame) {
        Ok(text) => socket.feed(Message::Text(text)).await,
        Err(err) => {
            tracing::error!(error = %err, "an encoded frame is not UTF-8; not sent");
            Ok(())
        }
    }
}

async fn within_send_timeout(
    sending: impl Future<Output = Result<(), axum::Error>>,
) -> Result<(), ()> {
    match tokio::time::timeout(SEND_TIMEOUT, sending).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err(()),
        Err(_) => {
            tracing::info!("a peer stopped reading; dropping the connection");
            Err(())
        }
    }
}

/// Closes with `code`, then waits (briefly) for the peer's Close, reading what it still sends:
/// closing a socket with unread data resets it, and a reset can cost the peer the frames before
/// our Close.
pub(super) async fn close_with(socket: &mut WebSocket, code: u16, reason: &'static str) {
    let frame = CloseFrame {
        code,
        reason: Utf8Bytes::from_static(reason),
    };
    if send(socket, Message::Close(Some(frame))).await.is_ok() {
        let _ = tokio::time::timeout(CLOSE_HANDSHAKE, async {
            while let Some(Ok(message)) = socket.recv().await {
                if let Message::Close(_) = message {
                    break;
                }
            }
        })
        .await;
    }
}

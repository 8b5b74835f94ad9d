//! Signalling: the WebSocket endpoint `GET /v1/signal`, one session per connection. This is the only
//! place that knows the protocol's wire format: `protocol` reads frames, `translate` turns them into
//! room inputs, `wire` writes room events as frames. docs/protocol.md is the client author's view.

pub mod protocol;
pub mod relay_baseline;
mod session;
pub mod translate;
pub mod wire;

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::{ConnectInfo, State, WebSocketUpgrade};
use axum::response::Response;
use governor::{DefaultKeyedRateLimiter, Quota};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::services::rooms::Rooms;

/// Largest frame a client may send: SDP offers are a few KiB; anything near this is abuse.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;
/// Per-socket read buffer: small, because idle connections are the common case (see DESIGN.md).
const READ_BUFFER_BYTES: usize = 4096;

#[derive(Debug, Clone)]
pub struct SignalSettings {
    pub ping_interval: Duration,
    pub frame_quota: Quota,
    pub knock_quota: Quota,
}

impl SignalSettings {
    pub fn new(ping_interval: Duration, frames_per_second: u32, knocks_per_minute: u32) -> Self {
        let frames = NonZeroU32::new(frames_per_second.max(1)).unwrap_or(NonZeroU32::MIN);
        let knocks = NonZeroU32::new(knocks_per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
        SignalSettings {
            ping_interval,
            // Bursts of twice the rate: a browser sends a dozen ICE candidates at once.
            frame_quota: Quota::per_second(frames)
                .allow_burst(frames.saturating_mul(NonZeroU32::MIN.saturating_add(1))),
            knock_quota: Quota::per_minute(knocks),
        }
    }
}

pub struct SignalContext {
    pub rooms: Rooms,
    pub settings: SignalSettings,
    pub knocks_per_ip: DefaultKeyedRateLimiter<IpAddr>,
    pub shutdown: CancellationToken,
    /// Every session holds a token, so shutdown can wait for them all to close.
    pub sessions: TaskTracker,
    next_conn: AtomicU64,
}

impl SignalContext {
    pub fn new(rooms: Rooms, settings: SignalSettings, shutdown: CancellationToken) -> Self {
        SignalContext {
            rooms,
            knocks_per_ip: governor::RateLimiter::keyed(settings.knock_quota),
            settings,
            shutdown,
            sessions: TaskTracker::new(),
            next_conn: AtomicU64::new(1),
        }
    }

    fn next_conn_id(&self) -> u64 {
        self.next_conn.fetch_add(1, Ordering::Relaxed)
    }
}

/// `GET /v1/signal`: upgrades to a WebSocket. No API key: room keys inside the protocol decide roles.
pub async fn endpoint(
    ws: WebSocketUpgrade,
    State(ctx): State<Arc<SignalContext>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: axum::http::HeaderMap,
) -> Response {
    let user_agent = headers
        .get(axum::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|ua| ua.chars().take(512).collect::<String>());
    let token = ctx.sessions.token();
    ws.read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(0)
        .max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .on_failed_upgrade(|err| tracing::debug!(error = %err, "WebSocket upgrade failed"))
        .on_upgrade(move |socket| async move {
            session::run(socket, ctx, peer.ip(), user_agent).await;
            drop(token);
        })
}

#[cfg(test)]
mod fuzz_tests;

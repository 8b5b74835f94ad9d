//! Signalling: the WebSocket endpoint `GET /v1/signal`, one session per connection. This is the only
//! place that knows the protocol's wire format: `protocol` reads frames, `translate` turns them into
//! room inputs, `wire` writes room events as frames. docs/protocol.md is the client author's view.

mod bridge;
mod outgoing;
mod per_address;
pub mod protocol;
pub mod relay_baseline;
mod session;
pub mod translate;
pub mod wire;

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Extension;
use axum::extract::{State, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use governor::Quota;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::cluster::{CLIENT_HEADER, Cluster, NODE_HEADER};
use crate::media::MediaEngine;
use crate::meeting::avatar::AvatarOrigins;
use crate::proxy::{ClientIp, network_of};
use crate::serve::ConnectionSlot;
use crate::services::ice::IceConfig;
use crate::services::limits::DynLimits;
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
    /// A new connection names a room (join or preview) within this time, or is closed.
    pub join_timeout: Duration,
    /// Most signalling connections one address (an IPv6 client: its /64) may hold; 0: no limit.
    pub connections_per_address: usize,
}

/// Whether a peer pinged every `ping_every` and last heard at `last_heard` has been silent too long
/// (two and a half intervals: two pings unanswered, and time for the third's pong), and is dropped.
pub(crate) fn silent_too_long(last_heard: std::time::Instant, ping_every: Duration) -> bool {
    last_heard.elapsed() > ping_every * 2 + ping_every / 2
}

/// A connection that previewed a room has this long to join it (its person checks their devices).
pub const PREVIEW_TIMEOUT: Duration = Duration::from_secs(600);

impl SignalSettings {
    pub fn new(
        ping_interval: Duration,
        frames_per_second: u32,
        knocks_per_minute: u32,
        join_timeout: Duration,
        connections_per_address: usize,
    ) -> Self {
        let frames = NonZeroU32::new(frames_per_second.max(1)).unwrap_or(NonZeroU32::MIN);
        let knocks = NonZeroU32::new(knocks_per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
        SignalSettings {
            ping_interval,
            // Bursts of twice the rate: a browser sends a dozen ICE candidates at once.
            frame_quota: Quota::per_second(frames)
                .allow_burst(frames.saturating_mul(NonZeroU32::MIN.saturating_add(1))),
            knock_quota: Quota::per_minute(knocks),
            join_timeout,
            connections_per_address,
        }
    }
}

/// The pages whose scripts may open a signalling connection: the server's own (its public URL),
/// and the embedding origins configured. A request with no `Origin` comes from no browser page
/// (a backend, a native app) and is let through: only browsers send one, and only browsers can be
/// made to act for a hostile page.
#[derive(Debug, Clone)]
pub struct AllowedOrigins {
    origins: Vec<String>,
    /// Where the server's own pages are, to tell a page refused.
    public_url: String,
}

impl AllowedOrigins {
    pub fn new(public_url: &str, extra: &[String]) -> Self {
        let origin = |raw: &str| {
            url::Url::parse(raw)
                .map(|u| u.origin().ascii_serialization())
                .unwrap_or_else(|_| raw.trim_end_matches('/').to_ascii_lowercase())
        };
        let mut origins: Vec<String> = extra.iter().map(|o| origin(o)).collect();
        origins.push(origin(public_url));
        AllowedOrigins {
            origins,
            public_url: public_url.to_owned(),
        }
    }

    fn allows(&self, headers: &HeaderMap) -> bool {
        match headers.get(header::ORIGIN) {
            None => true,
            Some(origin) => origin.to_str().is_ok_and(|origin| {
                self.origins
                    .iter()
                    .any(|allowed| allowed.eq_ignore_ascii_case(origin))
            }),
        }
    }
}

/// What a signalling session needs besides its room.
pub struct SignalDeps {
    pub rooms: Rooms,
    pub settings: SignalSettings,
    pub ice: Arc<IceConfig>,
    pub origins: AllowedOrigins,
    /// Where people's pictures may come from; others are left out of their join.
    pub avatars: AvatarOrigins,
    pub shutdown: CancellationToken,
    pub media: MediaEngine,
    pub limits: DynLimits,
    /// In a cluster: this node, to bridge connections to the node that runs their room.
    pub cluster: Option<Cluster>,
}

pub struct SignalContext {
    pub rooms: Rooms,
    pub settings: SignalSettings,
    pub ice: Arc<IceConfig>,
    pub origins: AllowedOrigins,
    pub avatars: AvatarOrigins,
    /// The knocks an address may make a minute, across all rooms (and nodes).
    pub limits: DynLimits,
    pub shutdown: CancellationToken,
    pub media: MediaEngine,
    pub cluster: Option<Cluster>,
    /// Every session holds a token, so shutdown can wait for them all to close.
    pub sessions: TaskTracker,
    /// The connections each address holds (this node's own clients, not bridged ones).
    per_address: per_address::PerAddress,
    next_conn: AtomicU64,
}

impl SignalContext {
    pub fn new(deps: SignalDeps) -> Self {
        SignalContext {
            per_address: per_address::PerAddress::new(deps.settings.connections_per_address),
            rooms: deps.rooms,
            limits: deps.limits,
            settings: deps.settings,
            ice: deps.ice,
            origins: deps.origins,
            avatars: deps.avatars,
            shutdown: deps.shutdown,
            media: deps.media,
            cluster: deps.cluster,
            sessions: TaskTracker::new(),
            // Unique across a cluster's nodes: each starts at a random point of the 64-bit space.
            next_conn: AtomicU64::new(u64::from(rand::random::<u32>()) << 32 | 1),
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
    ClientIp(client): ClientIp,
    slot: Option<Extension<ConnectionSlot>>,
    headers: HeaderMap,
) -> Response {
    // Another node of the cluster, bridging a client's connection: it says who the client is.
    let bridged = ctx
        .cluster
        .as_ref()
        .is_some_and(|c| c.is_node(headers.get(NODE_HEADER).map(|v| v.as_bytes())));
    let client = match headers
        .get(CLIENT_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<IpAddr>().ok())
    {
        Some(forwarded) if bridged => forwarded,
        _ => client,
    };
    // A page of another origin is let in only to be told why it may not stay, and where this
    // server's pages are: a browser shows a page nothing of a refused upgrade (it would say
    // "Connecting…" for ever).
    let refused_origin = !bridged && !ctx.origins.allows(&headers);
    if refused_origin {
        tracing::warn!(
            %client,
            origin = ?headers.get(header::ORIGIN),
            public_url = %ctx.origins.public_url,
            "refused a signalling connection from a page of another origin (if people reach the \
             server at that address, set --public-url to it, or list it in --allowed-origins)"
        );
    }
    // Bridged connections were counted where their client is connected.
    let place = if bridged {
        None
    } else {
        let Some(place) = ctx.per_address.enter(network_of(client)) else {
            let body = crate::api::error::ErrorBody {
                error: "too many connections from your address; close some and try again".into(),
            };
            return (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response();
        };
        Some(place)
    };
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|ua| ua.chars().take(512).collect::<String>());
    let token = ctx.sessions.token();
    ws.read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(outgoing::WRITE_BATCH_BYTES)
        .max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .on_failed_upgrade(|err| tracing::debug!(error = %err, "WebSocket upgrade failed"))
        .on_upgrade(move |socket| async move {
            if refused_origin {
                session::refuse_origin(socket, &ctx.origins.public_url).await;
            } else {
                session::run(socket, ctx, client, user_agent, bridged).await;
            }
            // The connection's place under the caps is given up with the session.
            drop(place);
            drop(slot);
            drop(token);
        })
}

#[cfg(test)]
mod fuzz_tests;

//! The browser client, served by the binary itself: files under `web/` are embedded at build time
//! (no build step for them), a room URL (`/{roomName}`) opens the room page, `/embed.js` defines the
//! `<whereby-embed>` element, `/` is a landing page, and two small endpoints remain for clients:
//! the public ICE servers and the pre-call check's bandwidth probe.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use rust_embed::RustEmbed;
use serde::Deserialize;
use serde_json::json;

use crate::api::error::ApiError;
use crate::meeting::RoomName;
use crate::meeting::avatar::AvatarOrigins;
use crate::proxy::{ClientIp, network_of};
use crate::services::ice::IceConfig;

#[derive(RustEmbed)]
#[folder = "web/"]
// The npm packages themselves stay out: what the client uses is copied to web/vendor/.
#[exclude = "node_modules/*"]
#[exclude = "test/*"]
#[exclude = "package.json"]
#[exclude = "package-lock.json"]
struct Assets;

/// The room page's policy: our own scripts and styles only, media and images from us (and blobs),
/// WebSockets back to us. Names people type can never run as script, even if a bug put them in HTML.
/// Images may also come from the origins people's pictures may (`--avatar-origins`) and the
/// camera's background pictures may (`--background-origins`), and no other. WebAssembly may be
/// compiled (`'wasm-unsafe-eval'`: the background effects' segmentation, our own file), which lets
/// no JavaScript text run.
fn room_page_policy(avatars: &AvatarOrigins, backgrounds: &AvatarOrigins) -> HeaderValue {
    let policy = format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; \
         img-src 'self' data: blob:{}{}; media-src 'self' blob:; connect-src 'self' ws: wss:; \
         frame-ancestors *; base-uri 'none'; form-action 'none'",
        avatars.as_sources(),
        backgrounds.as_sources()
    );
    HeaderValue::from_str(&policy)
        .expect("origins are ASCII as browsers write them (url's ascii_serialization)")
}

fn asset(path: &str, headers: &HeaderMap) -> Option<Response> {
    let file = Assets::get(path)?;
    let etag = format!("\"{}\"", hex::encode(&file.metadata.sha256_hash()[..12]));
    let mut response = if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == etag.as_bytes())
    {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        // Embedded files are 'static: served without copying them per request.
        match file.data {
            std::borrow::Cow::Borrowed(bytes) => Bytes::from_static(bytes).into_response(),
            std::borrow::Cow::Owned(bytes) => bytes.into_response(),
        }
    };
    let h = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(file.metadata.mimetype()) {
        h.insert(header::CONTENT_TYPE, value);
    }
    if let Ok(value) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, value);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    Some(response)
}

/// `GET /assets/{*path}`: the client's scripts, styles and sounds.
pub async fn assets(Path(path): Path<String>, headers: HeaderMap) -> Result<Response, ApiError> {
    asset(&path, &headers).ok_or_else(|| ApiError::NotFound("no such file".into()))
}

/// `GET /embed.js`: the `<whereby-embed>` element, loadable from any origin.
pub async fn embed_script(headers: HeaderMap) -> Result<Response, ApiError> {
    let mut response =
        asset("embed.js", &headers).ok_or_else(|| ApiError::NotFound("no such file".into()))?;
    response.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    Ok(response)
}

/// `GET /{roomName}`: the room page for any well-formed room name. Whether the room exists is
/// learnt over the WebSocket, where the page can say so in words.
pub async fn room_page(Path(room): Path<String>, State(client): State<ClientSupport>) -> Response {
    if RoomName::parse(&room).is_err() {
        let page = format!(
            "<!doctype html><title>Not found</title><p>No such page. <a href=\"{}/\">anteroom</a>",
            client.base
        );
        return (StatusCode::NOT_FOUND, Html(page)).into_response();
    }
    page(&client.pages.room, &client)
}

/// `GET /`: what this server is, and a way into a room whose name someone was given.
pub async fn landing_page(State(client): State<ClientSupport>) -> Response {
    page(&client.pages.landing, &client)
}

/// One of the client's HTML pages, under the room page's policy.
fn page(html: &Option<Bytes>, client: &ClientSupport) -> Response {
    let Some(html) = html else {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            "a page is missing from this build",
        )
            .into_response();
    };
    let mut response = Html(html.clone()).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, client.page_policy.clone());
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    response
}

/// The client's two HTML pages, their files' addresses under the server's base path. (The
/// scripts find the base themselves, from their own address: `web/js/base.js`.)
#[derive(Clone)]
struct Pages {
    room: Option<Bytes>,
    landing: Option<Bytes>,
}

impl Pages {
    fn under(base: &str) -> Self {
        let page = |file: &str| {
            let html = Assets::get(file)?;
            let html = String::from_utf8_lossy(&html.data)
                .replace("=\"/assets/", &format!("=\"{base}/assets/"));
            Some(Bytes::from(html))
        };
        Pages {
            room: page("room.html"),
            landing: page("index.html"),
        }
    }
}

/// What the browser client is given besides its files: ICE servers, and the bandwidth probe (with
/// its per-address limit).
#[derive(Clone)]
pub struct ClientSupport {
    pub ice: Arc<IceConfig>,
    pub probes: Arc<governor::DefaultKeyedRateLimiter<IpAddr>>,
    /// The pages' Content-Security-Policy.
    pub page_policy: HeaderValue,
    /// The path every route is served under: the public URL's (`/meet`), or "" at its root.
    pub base: Arc<str>,
    pages: Pages,
}

impl ClientSupport {
    pub fn new(
        ice: Arc<IceConfig>,
        avatars: &AvatarOrigins,
        backgrounds: &AvatarOrigins,
        base: &str,
    ) -> Self {
        ClientSupport {
            ice,
            probes: Arc::new(probe_limiter()),
            page_policy: room_page_policy(avatars, backgrounds),
            base: base.into(),
            pages: Pages::under(base),
        }
    }
}

/// `GET /client-config`: the public part of the client's settings, for clients of our own making
/// (the room page takes its ICE servers from `room_preview` instead).
pub async fn client_config(State(client): State<ClientSupport>) -> Response {
    let body = json!({
        // STUN only: TURN credentials go to connections that named an open room
        // (`preview_room` or `join_room` on the WebSocket).
        "iceServers": client.ice.public_servers(),
        "bandwidthProbeBytes": BANDWIDTH_PROBE_MAX,
    });
    let mut response = axum::Json(body).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The largest body the bandwidth probe sends or takes.
pub const BANDWIDTH_PROBE_MAX: usize = 1024 * 1024;

/// Probes per address per minute, so the probe cannot be used to pull traffic.
fn probe_limiter() -> governor::DefaultKeyedRateLimiter<std::net::IpAddr> {
    governor::RateLimiter::keyed(governor::Quota::per_minute(
        NonZeroU32::new(30).unwrap_or(NonZeroU32::MIN),
    ))
}

#[derive(Deserialize)]
pub struct ProbeQuery {
    bytes: Option<usize>,
}

fn check_probe_budget(client: &ClientSupport, ClientIp(ip): ClientIp) -> Result<(), ApiError> {
    client.probes.check_key(&network_of(ip)).map_err(|_| {
        ApiError::TooManyRequests(
            "too many bandwidth probes from this address; wait a minute".into(),
        )
    })
}

/// `GET /bandwidth-probe?bytes=N`: N bytes (at most 1 MiB) to time a download.
pub async fn probe_download(
    State(client): State<ClientSupport>,
    peer: ClientIp,
    Query(query): Query<ProbeQuery>,
) -> Result<Response, ApiError> {
    check_probe_budget(&client, peer)?;
    let bytes = query.bytes.unwrap_or(256 * 1024).min(BANDWIDTH_PROBE_MAX);
    let mut response = vec![0x5a_u8; bytes].into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// `POST /bandwidth-probe`: takes up to 1 MiB to time an upload, answers how much arrived.
pub async fn probe_upload(
    State(client): State<ClientSupport>,
    peer: ClientIp,
    body: Bytes,
) -> Result<Response, ApiError> {
    check_probe_budget(&client, peer)?;
    Ok(axum::Json(json!({ "bytes": body.len() })).into_response())
}

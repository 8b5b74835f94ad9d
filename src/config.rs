//! Settings for `anteroom serve`: command-line flags, each also settable as an `ANTEROOM_*` environment
//! variable (flags win). Every setting is documented in docs/configuration.md; keep the two in step.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

/// Where the store is. Shared by `serve` and the admin subcommands.
#[derive(Args, Debug, Clone)]
pub struct DataDirArgs {
    /// Directory holding the embedded SQLite database (with uploaded room themes).
    #[arg(long, env = "ANTEROOM_DATA_DIR", default_value = "./anteroom-data")]
    pub data_dir: PathBuf,

    /// The store, as a URL; overrides --data-dir. `sqlite://<path of the database file>` is the
    /// embedded default.
    #[arg(long, env = "ANTEROOM_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
}

impl DataDirArgs {
    /// The URL of the store these settings name.
    pub fn store_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => crate::store::sqlite_url(&self.data_dir),
        }
    }
}

#[derive(Args, Debug, Clone)]
pub struct ServeConfig {
    /// Address and port to listen on (port 0 picks a free port; the log says which).
    #[arg(long, env = "ANTEROOM_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Base URL people reach this server at; room URLs are built from it. Defaults to http://<listen>.
    /// With a path (https://example.com/meet), every route is served under that path.
    #[arg(long, env = "ANTEROOM_PUBLIC_URL", value_parser = public_url)]
    pub public_url: Option<String>,

    #[command(flatten)]
    pub data: DataDirArgs,

    /// REST API budget in points per minute for the whole server (read 1, delete 2, write 3).
    #[arg(long, env = "ANTEROOM_RATE_LIMIT_POINTS", default_value_t = 1000)]
    pub rate_limit_points: u32,

    /// Secret that signs roomKey tokens. When unset, one is generated at first start and kept in the store.
    #[arg(long, env = "ANTEROOM_TOKEN_SECRET", hide_env_values = true)]
    pub token_secret: Option<String>,

    /// File whose contents are the token secret (for secret managers); ignored when the secret is set.
    #[arg(long, env = "ANTEROOM_TOKEN_SECRET_FILE")]
    pub token_secret_file: Option<PathBuf>,

    /// Seconds between housekeeping sweeps: meetings 24 hours past their end date, webhook
    /// deliveries finished a week ago, rate limits of addresses gone quiet.
    #[arg(long, env = "ANTEROOM_SWEEP_INTERVAL_SECS", default_value_t = 300)]
    pub sweep_interval_secs: u64,

    /// Days the history insights are made of is kept: room events, who was in which session under
    /// what name and external id, network samples. Older is forgotten (looked for hourly). Without
    /// it, kept for good (network samples 30 days).
    #[arg(long, env = "ANTEROOM_INSIGHTS_RETENTION_DAYS",
          value_parser = clap::value_parser!(u32).range(1..=36_500))]
    pub insights_retention_days: Option<u32>,

    /// Seconds a client has to send a request's headers (and the most a kept-alive connection may
    /// sit idle between requests).
    #[arg(long, env = "ANTEROOM_HEADER_READ_TIMEOUT_SECS", default_value_t = 20)]
    pub header_read_timeout_secs: u64,

    /// Seconds a client has to send a request's body.
    #[arg(long, env = "ANTEROOM_BODY_READ_TIMEOUT_SECS", default_value_t = 30)]
    pub body_read_timeout_secs: u64,

    /// Open connections (HTTP and WebSocket) at most; more are closed at once, with a log line.
    /// Defaults to the process's open-files limit less 256.
    #[arg(long, env = "ANTEROOM_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,

    /// Threads that run connections, rooms and requests (default: one per core). Several nodes of a
    /// cluster sharing one machine do better with fewer each: their threads then wake one another
    /// less (docs/performance.md, "Cluster mode"). Media threads are counted apart.
    #[arg(long, env = "ANTEROOM_WORKER_THREADS",
          value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub worker_threads: Option<u16>,

    /// Seconds a stopping server goes on serving with `/readyz` at 503, so that a load balancer
    /// sends nothing new before it hands its rooms over (0: stop at once).
    #[arg(long, env = "ANTEROOM_DRAIN_SECS", default_value_t = 0)]
    pub drain_secs: u64,

    /// Seconds a shutdown waits for in-flight requests before it gives up on them.
    #[arg(long, env = "ANTEROOM_SHUTDOWN_TIMEOUT_SECS", default_value_t = 10)]
    pub shutdown_timeout_secs: u64,

    #[command(flatten)]
    pub room: RoomSettings,

    #[command(flatten)]
    pub webhooks: WebhookSettings,

    #[command(flatten)]
    pub media: MediaSettings,

    #[command(flatten)]
    pub cluster: ClusterSettings,

    /// STUN servers browsers use to find their public address (e.g. stun:stun.example.com:3478);
    /// repeat the flag or separate with commas.
    #[arg(long, env = "ANTEROOM_STUN_URLS", value_delimiter = ',')]
    pub stun_url: Vec<String>,

    /// TURN servers that relay media when peers cannot reach each other (e.g. turn:turn.example.com:3478).
    #[arg(long, env = "ANTEROOM_TURN_URLS", value_delimiter = ',')]
    pub turn_url: Vec<String>,

    /// Shared secret of the TURN servers (coturn's `static-auth-secret`); browsers get time-limited
    /// credentials derived from it.
    #[arg(long, env = "ANTEROOM_TURN_SECRET", hide_env_values = true)]
    pub turn_secret: Option<String>,

    /// Reverse proxies (addresses or CIDR blocks) whose `Forwarded` / `X-Forwarded-For` headers say
    /// who a request comes from; from any other peer those headers are ignored. Repeat the flag or
    /// separate with commas.
    #[arg(long, env = "ANTEROOM_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<String>,

    /// Origins (scheme://host[:port]) whose pages may open signalling connections besides the
    /// public URL's own; repeat the flag or separate with commas.
    #[arg(long, env = "ANTEROOM_ALLOWED_ORIGINS", value_delimiter = ',', value_parser = web_origin)]
    pub allowed_origins: Vec<String>,

    /// Origins (https://host[:port]) people's pictures (Whereby's `avatarUrl`) may come from; none
    /// by default, and a picture from elsewhere is left out. Repeat the flag or separate with
    /// commas.
    #[arg(long, env = "ANTEROOM_AVATAR_ORIGINS", value_delimiter = ',')]
    pub avatar_origins: Vec<String>,

    /// Origins (https://host[:port]) the camera's background pictures (Whereby's
    /// `virtualBackgroundUrl`) may come from; none by default. Repeat the flag or separate with
    /// commas.
    #[arg(long, env = "ANTEROOM_BACKGROUND_ORIGINS", value_delimiter = ',')]
    pub background_origins: Vec<String>,

    /// Create a locked demo meeting at start and print its host and guest links.
    #[arg(long, env = "ANTEROOM_DEMO")]
    pub demo: bool,

    /// Serve the fixed-response routes that benchmarks compare against (never in production).
    #[arg(long, env = "ANTEROOM_BENCH_ROUTES", hide = true)]
    pub bench_routes: bool,
}

/// Cluster mode: several identical servers behind a load balancer, on one PostgreSQL store
/// (`--database-url postgres://...`) and one Redis.
#[derive(Args, Debug, Clone)]
pub struct ClusterSettings {
    /// Redis, which makes this server a node of a cluster: rooms are leased to one node at a
    /// time, their state is kept there, and limits hold for the cluster as a whole.
    #[arg(long, env = "ANTEROOM_REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,

    /// How the other nodes reach this one (scheme://host:port, e.g. http://10.0.0.5:8080; the
    /// public URL's path, if it has one, is added). Defaults to http://<listen address>, which other
    /// machines cannot reach when it is 0.0.0.0 or loopback.
    #[arg(long, env = "ANTEROOM_NODE_URL", value_parser = web_origin)]
    pub node_url: Option<String>,

    /// Milliseconds a room's lease lasts unless its node renews it: how long a dead node's rooms
    /// wait before another node takes them over (a room nobody comes back to: about twice that).
    #[arg(long, env = "ANTEROOM_ROOM_LEASE_MS", default_value_t = 3000,
          value_parser = clap::value_parser!(u64).range(500..=60_000))]
    pub room_lease_ms: u64,
}

impl ClusterSettings {
    pub fn lease(&self) -> Duration {
        Duration::from_millis(self.room_lease_ms)
    }
}

/// The media server of group rooms (SFU): where browsers send their media.
#[derive(Args, Debug, Clone)]
pub struct MediaSettings {
    /// The address browsers are told to send group-room media to: this machine's public address
    /// (behind NAT, the address the NAT forwards the media ports from). The default serves only
    /// browsers on this machine.
    #[arg(long, env = "ANTEROOM_MEDIA_PUBLIC_IP", default_value = "127.0.0.1", value_parser = reachable_ip)]
    pub media_public_ip: std::net::IpAddr,

    /// The address the media sockets bind.
    #[arg(long, env = "ANTEROOM_MEDIA_BIND_IP", default_value = "0.0.0.0")]
    pub media_bind_ip: std::net::IpAddr,

    /// The first media UDP port; media thread `i` uses this port + `i` (0: any free ports).
    #[arg(long, env = "ANTEROOM_MEDIA_UDP_PORT", default_value_t = 40000)]
    pub media_udp_port: u16,

    /// Networks (addresses or CIDR blocks) browsers may send media from; a STUN request from
    /// anywhere else is not answered. Repeat the flag or separate with commas (default: anywhere).
    #[arg(long, env = "ANTEROOM_MEDIA_PEER_NETWORKS", value_delimiter = ',', value_parser = network)]
    pub media_peer_networks: Vec<ipnet::IpNet>,

    /// Media threads, one core and one UDP port each; a room lives on one of them.
    #[arg(long, env = "ANTEROOM_MEDIA_THREADS", default_value_t = 1,
          value_parser = clap::value_parser!(u16).range(1..=64))]
    pub media_threads: u16,

    /// Share each subscriber's measured bandwidth (transport-wide congestion control) among the
    /// videos it shows, pacing what is sent to it. Off by default: the estimate is delay-based, and
    /// on a busy host it falls far below the real link, which then paces forwarded video (and its
    /// keyframes) at that rate; without it, each video gets the layer its shown size wants.
    #[arg(long, env = "ANTEROOM_MEDIA_BANDWIDTH_ESTIMATION")]
    pub media_bandwidth_estimation: bool,

    /// The most one published video layer (a camera's simulcast layer, or a shared screen) may
    /// send, in kbit/s, with a second's worth at once; what a member's client sends beyond it is
    /// not forwarded (a client flooding the room would otherwise have each packet copied to every
    /// subscriber). A voice may send 512 kbit/s.
    #[arg(long, env = "ANTEROOM_MEDIA_MAX_VIDEO_KBPS", default_value_t = 8_000,
          value_parser = clap::value_parser!(u32).range(100..=1_000_000))]
    pub media_max_video_kbps: u32,
}

/// A web page's origin, `scheme://host[:port]` (as a browser's `Origin` header writes it): one
/// written otherwise would never match a page, and let none in.
fn web_origin(raw: &str) -> Result<String, String> {
    let url = parse_http_url(raw.trim()).map_err(|e| e.to_string())?;
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(format!(
            "{raw:?} is not an origin: write scheme://host[:port], without a path"
        ));
    }
    Ok(url.origin().ascii_serialization())
}

/// The base URL people reach the server at, without a trailing slash: `scheme://host[:port]`,
/// optionally with a path of plain segments under which the server serves everything (a proxy
/// that gives it a path of a site). No query nor fragment: room URLs are built by appending to it.
fn public_url(raw: &str) -> Result<String, String> {
    let url = parse_http_url(raw.trim()).map_err(|e| e.to_string())?;
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err(format!(
            "{raw:?}: write scheme://host[:port][/path], without a query, fragment or user"
        ));
    }
    let plain = |segment: &str| {
        !segment.is_empty()
            && segment
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
    };
    let path = url.path().trim_end_matches('/');
    if !path.is_empty() && !path[1..].split('/').all(plain) {
        return Err(format!(
            "{raw:?}: the path may hold letters, digits and - . _ ~ between single slashes"
        ));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// A URL with its password (if any) starred out, for messages and logs: a database's or Redis's
/// URL may carry one.
pub fn without_password(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

/// The path every route is served under: the public URL's (`/meet`), or "" at its root.
pub fn base_path(public_url: &str) -> String {
    url::Url::parse(public_url)
        .map(|url| url.path().trim_end_matches('/').to_owned())
        .unwrap_or_default()
}

/// An address a browser can send to: not "any" (0.0.0.0, ::) nor a group (multicast, broadcast).
fn reachable_ip(raw: &str) -> Result<std::net::IpAddr, String> {
    let ip: std::net::IpAddr = raw
        .parse()
        .map_err(|_| format!("{raw:?} is not an IP address"))?;
    let broadcast = matches!(ip, std::net::IpAddr::V4(v4) if v4.is_broadcast());
    if ip.is_unspecified() || ip.is_multicast() || broadcast {
        return Err(format!(
            "{ip} is no address a browser can send media to; give this machine's (or its NAT's) address"
        ));
    }
    Ok(ip)
}

fn network(raw: &str) -> Result<ipnet::IpNet, String> {
    crate::proxy::parse_network(raw)
        .ok_or_else(|| format!("{raw:?} is not an address or a CIDR block (such as 127.0.0.0/8)"))
}

impl MediaSettings {
    pub fn engine(&self) -> crate::media::MediaConfig {
        crate::media::MediaConfig {
            bind_ip: self.media_bind_ip,
            public_ip: self.media_public_ip,
            first_port: self.media_udp_port,
            threads: usize::from(self.media_threads),
            peer_networks: self.media_peer_networks.clone(),
            bandwidth_estimation: self.media_bandwidth_estimation,
            max_video_kbps: self.media_max_video_kbps,
        }
    }
}

/// Webhook delivery: timeouts and retries.
#[derive(Args, Debug, Clone)]
pub struct WebhookSettings {
    /// Seconds a receiver has to answer one delivery.
    #[arg(long, env = "ANTEROOM_WEBHOOK_TIMEOUT_SECS", default_value_t = 5)]
    pub webhook_timeout_secs: u64,

    /// Attempts per event and endpoint before it is given up (the first included).
    #[arg(long, env = "ANTEROOM_WEBHOOK_MAX_ATTEMPTS", default_value_t = 6)]
    pub webhook_max_attempts: u32,

    /// Milliseconds before the first retry; each retry waits twice the one before (default: 20 s,
    /// so six attempts span about ten minutes).
    #[arg(long, env = "ANTEROOM_WEBHOOK_RETRY_BASE_MS", default_value_t = 20_000)]
    pub webhook_retry_base_ms: u64,

    /// Deliveries in flight at once, across all endpoints.
    #[arg(long, env = "ANTEROOM_WEBHOOK_CONCURRENCY", default_value_t = 32)]
    pub webhook_concurrency: usize,
}

impl WebhookSettings {
    /// How this node delivers webhooks; `claimant` names it to the other nodes of a cluster.
    pub fn settings(&self, claimant: &str) -> crate::webhooks::delivery::DeliverySettings {
        crate::webhooks::delivery::DeliverySettings {
            claimant: claimant.to_owned(),
            timeout: Duration::from_secs(self.webhook_timeout_secs.max(1)),
            max_attempts: self.webhook_max_attempts.max(1),
            retry_base: Duration::from_millis(self.webhook_retry_base_ms),
            concurrency: self.webhook_concurrency.max(1),
        }
    }
}

/// Waiting-room timing and limits, passed to every room's state machine.
#[derive(Args, Debug, Clone)]
pub struct RoomSettings {
    /// Seconds a rejected knocker must wait before knocking on the same room again.
    #[arg(
        long,
        env = "ANTEROOM_KNOCK_REJECT_COOLDOWN_SECS",
        default_value_t = 60
    )]
    pub knock_reject_cooldown_secs: u64,

    /// Seconds a member whose connection dropped keeps its place and may resume as itself (and an
    /// accepted knocker's seat is held).
    #[arg(long, env = "ANTEROOM_KNOCK_RESUME_GRACE_SECS", default_value_t = 15)]
    pub knock_resume_grace_secs: u64,

    /// Seconds a knocker whose connection dropped (a phone that locked its screen while waiting)
    /// keeps its place in line and may resume; hosts see it reconnecting, and may decide it.
    #[arg(long, env = "ANTEROOM_KNOCK_AWAY_GRACE_SECS", default_value_t = 120,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub knock_away_grace_secs: u64,

    /// Seconds a room session lasts after fewer than two members remain (then `room.session.ended`).
    #[arg(long, env = "ANTEROOM_SESSION_END_GRACE_SECS", default_value_t = 60)]
    pub session_end_grace_secs: u64,

    /// Knocks one IP address may make per minute, across all rooms.
    #[arg(long, env = "ANTEROOM_KNOCKS_PER_IP_PER_MINUTE", default_value_t = 30)]
    pub knocks_per_ip_per_minute: u32,

    /// Most knocks one room holds waiting at a time.
    #[arg(long, env = "ANTEROOM_MAX_KNOCKS_PER_ROOM", default_value_t = 100)]
    pub max_knocks_per_room: usize,

    /// Most knocks one address may have waiting at one room (a clinic behind one address may send
    /// several patients; a flood from a few addresses cannot fill the queue).
    #[arg(long, env = "ANTEROOM_MAX_KNOCKS_PER_ADDRESS", default_value_t = 10)]
    pub max_knocks_per_address: usize,

    /// Seconds a knock may wait without an answer before it ends (a hold starts the time again);
    /// 0 lets knocks wait as long as it takes.
    #[arg(long, env = "ANTEROOM_KNOCK_TIMEOUT_SECS", default_value_t = 0)]
    pub knock_timeout_secs: u64,

    /// Frames per second one WebSocket connection may send (bursts of twice that pass).
    #[arg(long, env = "ANTEROOM_WS_FRAMES_PER_SECOND", default_value_t = 50)]
    pub ws_frames_per_second: u32,

    /// Seconds between WebSocket pings; a peer silent for 2.5 intervals is dropped.
    #[arg(long, env = "ANTEROOM_WS_PING_INTERVAL_SECS", default_value_t = 20)]
    pub ws_ping_interval_secs: u64,

    /// Seconds a new WebSocket has to name a room (`join_room` or `preview_room`) before it is
    /// closed; a connection that previewed a room has ten minutes (its person is checking their
    /// camera).
    #[arg(long, env = "ANTEROOM_WS_JOIN_TIMEOUT_SECS", default_value_t = 30)]
    pub ws_join_timeout_secs: u64,

    /// Most signalling connections (WebSockets: one per open room page) one address may hold; an
    /// IPv6 client counts as its /64. More are refused (429), so that one address cannot take every
    /// place under --max-connections. 0: no limit (behind a proxy that does not say who its clients
    /// are, every client has the proxy's address).
    #[arg(
        long,
        env = "ANTEROOM_WS_CONNECTIONS_PER_ADDRESS",
        default_value_t = 1000
    )]
    pub ws_connections_per_address: usize,
}

impl RoomSettings {
    pub fn room(&self) -> crate::services::rooms::RoomSettings {
        let reject_cooldown = chrono::Duration::seconds(self.knock_reject_cooldown_secs as i64);
        let resume_grace = chrono::Duration::seconds(self.knock_resume_grace_secs as i64);
        crate::services::rooms::RoomSettings {
            reject_cooldown,
            resume_grace,
            knock_away_grace: chrono::Duration::seconds(self.knock_away_grace_secs as i64),
            // Long enough to outlast a resume after a blip; short enough not to be worth stealing.
            grant_validity: chrono::Duration::minutes(5).max(resume_grace * 2),
            session_end_grace: chrono::Duration::seconds(self.session_end_grace_secs as i64),
            max_knocks: self.max_knocks_per_room.max(1),
            max_knocks_per_address: self.max_knocks_per_address.max(1),
            knock_timeout: (self.knock_timeout_secs > 0)
                .then(|| chrono::Duration::seconds(self.knock_timeout_secs as i64)),
        }
    }

    pub fn signal(&self) -> crate::signal::SignalSettings {
        crate::signal::SignalSettings::new(
            Duration::from_secs(self.ws_ping_interval_secs.max(1)),
            self.ws_frames_per_second,
            self.knocks_per_ip_per_minute,
            Duration::from_secs(self.ws_join_timeout_secs.max(1)),
            self.ws_connections_per_address,
        )
    }
}

impl ServeConfig {
    /// The public base URL without a trailing slash (as `--public-url`'s parser leaves it);
    /// without one configured, the address actually bound (so `--listen 127.0.0.1:0` yields
    /// working room URLs).
    pub fn public_base_url(&self, bound: SocketAddr) -> String {
        match &self.public_url {
            Some(url) => url.clone(),
            None => format!("http://{bound}"),
        }
    }

    /// What in these settings would leave people elsewhere unable to use the server, each as a
    /// sentence for the log: room URLs naming an address no browser can open (no `--public-url`
    /// on an unspecified listen address), and group rooms' media advertised on this machine's
    /// loopback while the public URL is for other machines.
    pub fn deployment_warnings(&self, public_url: &str, bound: SocketAddr) -> Vec<String> {
        let mut warnings = Vec::new();
        if self.public_url.is_none() && bound.ip().is_unspecified() {
            warnings.push(format!(
                "no --public-url: room URLs name {public_url}, which no browser elsewhere can open; \
                 set --public-url to the address people reach this server at"
            ));
        }
        let served_elsewhere =
            url::Url::parse(public_url)
                .ok()
                .is_some_and(|url| match url.host() {
                    Some(url::Host::Domain(name)) => name != "localhost",
                    Some(url::Host::Ipv4(ip)) => !ip.is_loopback(),
                    Some(url::Host::Ipv6(ip)) => !ip.is_loopback(),
                    None => false,
                });
        if served_elsewhere && self.media.media_public_ip.is_loopback() {
            warnings.push(format!(
                "--media-public-ip is {}: group rooms' media works only for browsers on this \
                 machine; set it to the address other machines reach this one at",
                self.media.media_public_ip
            ));
        }
        warnings
    }

    pub fn sweep_interval(&self) -> Duration {
        Duration::from_secs(self.sweep_interval_secs.max(1))
    }

    pub fn drain(&self) -> Duration {
        Duration::from_secs(self.drain_secs)
    }

    pub fn shutdown_timeout(&self) -> Duration {
        Duration::from_secs(self.shutdown_timeout_secs)
    }

    pub fn serve_settings(&self) -> crate::serve::ServeSettings {
        crate::serve::ServeSettings {
            header_read_timeout: Duration::from_secs(self.header_read_timeout_secs.max(1)),
            max_connections: self
                .max_connections
                .unwrap_or_else(crate::serve::default_max_connections)
                .max(1),
        }
    }

    pub fn body_read_timeout(&self) -> Duration {
        Duration::from_secs(self.body_read_timeout_secs.max(1))
    }

    /// The configured token secret, if any, read from the flag or its file.
    pub fn configured_token_secret(&self) -> Result<Option<Vec<u8>>, ConfigError> {
        if let Some(secret) = &self.token_secret {
            return checked_secret(secret.as_bytes().to_vec()).map(Some);
        }
        if let Some(path) = &self.token_secret_file {
            let contents = std::fs::read(path).map_err(|source| ConfigError::SecretFile {
                path: path.clone(),
                source,
            })?;
            return checked_secret(contents.trim_ascii().to_vec()).map(Some);
        }
        Ok(None)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("url {0:?} is not a usable absolute URL: {1}")]
    Unusable(String, url::ParseError),
    #[error("url {0:?} must start with http:// or https://")]
    NotHttp(String),
    #[error("url {0:?} names no host")]
    NoHost(String),
}

/// An absolute http(s) URL with a host: the public URL, a webhook endpoint.
pub fn parse_http_url(raw: &str) -> Result<url::Url, UrlError> {
    let url = url::Url::parse(raw).map_err(|e| UrlError::Unusable(raw.to_owned(), e))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(UrlError::NotHttp(raw.to_owned()));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(UrlError::NoHost(raw.to_owned()));
    }
    Ok(url)
}

fn checked_secret(secret: Vec<u8>) -> Result<Vec<u8>, ConfigError> {
    if secret.len() < 32 {
        return Err(ConfigError::ShortSecret);
    }
    Ok(secret)
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("the token secret must be at least 32 bytes long")]
    ShortSecret,
    #[error("cannot read the token secret file {path}: {source}")]
    SecretFile {
        path: PathBuf,
        source: std::io::Error,
    },
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;

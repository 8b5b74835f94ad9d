//! Builds the shared state and the router, binds the listener, and runs until told to stop; on stop it
//! refuses new work, lets what is in flight finish (bounded by a timeout) and closes the store.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::extract::FromRef;
use chrono::{DateTime, Utc};
use rand::RngCore;
use tokio::net::TcpListener;
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;

use crate::api::auth::ApiGate;
use crate::api::forward::Forwarder;
use crate::cluster::{Cluster, RedisLimits};
use crate::config::ServeConfig;
use crate::media::MediaEngine;
use crate::meeting::avatar::AvatarOrigins;
use crate::ops::Ops;
use crate::services::api_keys::ApiKeys;
use crate::services::health::{self, StoreHealth};
use crate::services::insights::{self, Insights};
use crate::services::keeper::{self, DynKeeper};
use crate::services::limits::{DynLimits, LocalLimits};
use crate::services::meetings::Meetings;
use crate::services::recorder::{self, Recorder};
use crate::services::rooms::{Rooms, RoomsDeps};
use crate::services::store_keeper::StoreKeeper;
use crate::services::themes::Themes;
use crate::signal::wire::JsonWire;
use crate::signal::{AllowedOrigins, SignalContext, SignalDeps};
use crate::store::DynStore;
use crate::tokens::TokenSigner;
use crate::web::ClientSupport;
use crate::webhooks::delivery;

use crate::webhooks::endpoints::Endpoints;

/// Members' network samples on their way to the store (one series a member who left a group room;
/// past this many waiting, more are dropped and logged).
const NETWORK_SAMPLES_WAITING: usize = 1024;

/// The services, as request handlers take them: each handler names only the one it needs.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub meetings: Meetings,
    pub rooms: Rooms,
    pub themes: Themes,
    pub insights: Insights,
    pub endpoints: Endpoints,
    pub api_keys: ApiKeys,
    pub signal: Arc<SignalContext>,
    pub client: ClientSupport,
    pub ops: Ops,
    pub proxies: crate::proxy::TrustedProxies,
}

pub struct Application {
    /// Held for as long as the server runs: one server per embedded store.
    _serving: Option<crate::store::ServingLock>,
    listener: TcpListener,
    state: AppState,
    store: DynStore,
    shutdown: CancellationToken,
    recorder: tokio::task::JoinHandle<()>,
    recorder_stop: CancellationToken,
    media: MediaEngine,
    /// Writes members' network samples; it ends with `recorder_stop`, once what waits is written.
    samples_keeper: tokio::task::JoinHandle<()>,
    webhooks: tokio::task::JoinHandle<()>,
    /// A server alone: the writer of its rooms' kept states (it ends with `background_stop`).
    keeper_writer: Option<tokio::task::JoinHandle<()>>,
    background_stop: CancellationToken,
    router: Router,
    serve_settings: crate::serve::ServeSettings,
    sweeps: housekeeping::Sweeps,
    shutdown_timeout: Duration,
    /// In a cluster: how often this node renews its rooms' leases and looks for rooms nobody runs.
    maintenance: Option<Duration>,
    /// Cancelled when a stop begins; the stop proper waits `drain` (serving meanwhile) so that a
    /// load balancer asking `/readyz` sends nothing new first.
    draining: CancellationToken,
    drain: Duration,
}

const TOKEN_SECRET_NAME: &str = "room_key_secret";

impl Application {
    /// Opens the store, loads or creates the token secret and binds the listener.
    pub async fn build(config: &ServeConfig) -> anyhow::Result<Self> {
        let metrics = crate::ops::install_metrics();
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("binding {}", config.listen))?;
        let bound = listener.local_addr()?;
        let public_url: Arc<str> = config.public_base_url(bound).into();
        let base = crate::config::base_path(&public_url);
        for warning in config.deployment_warnings(&public_url, bound) {
            tracing::warn!("{warning}");
        }
        // Every setting is judged before anything is done with it: a bad one stops the server
        // before it opens the store, carries rooms on or takes the media server's ports.
        let avatars = AvatarOrigins::parse(&config.avatar_origins).context("--avatar-origins")?;
        let backgrounds =
            AvatarOrigins::parse(&config.background_origins).context("--background-origins")?;
        let store_url = config.data.store_url();
        let serving = crate::store::lock_for_serving(&store_url)?;
        let store = crate::store::open(&store_url).await.with_context(|| {
            let url = crate::config::without_password(&store_url);
            format!("opening the store at {url}")
        })?;
        if config.cluster.redis_url.is_none() {
            store.hold_exclusively().await?;
        } else if store_url.starts_with("sqlite://") {
            anyhow::bail!(
                "cluster mode (--redis-url) needs a store every node shares: give --database-url \
                 postgres://..."
            );
        }

        let secret = match config.configured_token_secret()? {
            Some(secret) => secret,
            None => {
                let mut fresh = vec![0u8; 32];
                rand::rng().fill_bytes(&mut fresh);
                store.secret_or_insert(TOKEN_SECRET_NAME, fresh).await?
            }
        };
        let tokens = TokenSigner::new(&secret);
        let cluster = match &config.cluster.redis_url {
            Some(redis_url) => {
                // Where the other nodes reach this one's routes: under the public URL's path,
                // as every node's (a cluster's nodes share one public URL).
                let node_url = match &config.cluster.node_url {
                    Some(url) => format!("{url}{base}"),
                    None => format!("http://{}{base}", listener.local_addr()?),
                };
                let cluster =
                    Cluster::connect(redis_url, node_url, &secret, config.cluster.lease())
                        .await
                        .with_context(|| {
                            let url = crate::config::without_password(redis_url);
                            format!("joining the cluster at {url}")
                        })?;
                tracing::info!(node = %cluster.node_id, url = %cluster.url, "a node of a cluster");
                Some(cluster)
            }
            None => None,
        };
        // This process, among the nodes sharing a store: claims and leases are in its name.
        let node_id = match &cluster {
            Some(cluster) => cluster.node_id.clone(),
            None => uuid::Uuid::new_v4().to_string(),
        };
        let shutdown = CancellationToken::new();
        let draining = CancellationToken::new();
        let (facts, fact_queue) = recorder::channel();
        let recorder_stop = CancellationToken::new();
        let deliveries_due = Arc::new(Notify::new());
        let background_stop = CancellationToken::new();
        let webhooks = tokio::spawn(delivery::run(
            store.clone(),
            config.webhooks.settings(&node_id),
            deliveries_due.clone(),
            background_stop.clone(),
        ));
        let facts_recorder = Recorder {
            store: store.clone(),
            subdomain: subdomain_of(&public_url),
            written: deliveries_due,
            gap: recorder::write_gap(cluster.is_some()),
        };
        // A server alone: no room is live yet. Rooms the last run kept (as they changed, and when
        // it stopped) go on (their people come back); whatever else it left open was a crash's and
        // is over, its ends told; webhook deliveries a crash left claimed are free to be delivered. (A node of
        // a cluster does none of this: the others are running; rooms move through Redis.)
        let carried_on = match &cluster {
            Some(_) => Vec::new(),
            None => {
                // Read once: it scans the room events for the latest.
                let last_alive = store.last_alive().await?;
                let carried_on = rooms_kept(&store, last_alive).await?;
                let names: Vec<_> = carried_on
                    .iter()
                    .map(|(m, _)| m.room_name.clone())
                    .collect();
                facts_recorder
                    .close_what_a_crash_left_open(last_alive, &names)
                    .await?;
                store.close_interrupted_sessions(Utc::now(), &names).await?;
                store.release_claims().await?;
                carried_on
            }
        };
        let (keeper, keeper_writer): (DynKeeper, _) = match &cluster {
            Some(cluster) => (Arc::new(cluster.clone()), None),
            None => {
                let (keeper, writer) = StoreKeeper::start(store.clone(), background_stop.clone());
                (keeper, Some(writer))
            }
        };
        let limits: DynLimits = match &cluster {
            Some(cluster) => Arc::new(RedisLimits::new(
                cluster.redis(),
                config.rate_limit_points,
                config.room.knocks_per_ip_per_minute,
            )),
            None => Arc::new(LocalLimits::new(
                config.rate_limit_points,
                config.room.signal().knock_quota,
            )),
        };
        let recorder = tokio::spawn(recorder::run(
            facts_recorder,
            fact_queue,
            recorder_stop.clone(),
        ));
        let themes = Themes::new(store.clone(), public_url.clone());
        let (network_samples, kept_samples) = mpsc::channel(NETWORK_SAMPLES_WAITING);
        let samples_keeper = tokio::spawn(insights::keep_network_samples(
            store.clone(),
            kept_samples,
            recorder_stop.clone(),
        ));
        let media = MediaEngine::start(&config.media.engine(), network_samples.clone())
            .map_err(|err| anyhow::anyhow!("cannot open the media server's UDP ports: {err}"))?;
        let rooms = Rooms::new(RoomsDeps {
            store: store.clone(),
            themes: themes.clone(),
            tokens: tokens.clone(),
            settings: config.room.room(),
            facts,
            encoder: Arc::new(JsonWire),
            shutdown: shutdown.clone(),
            media: media.clone(),
            keeper: keeper.clone(),
            network_samples: network_samples.clone(),
        });
        for (meeting, state) in carried_on {
            // Read is taken: kept again (before the room can keep a newer one), for a crash
            // before the room's next change.
            let _ = keeper.keep(&meeting.room_name, state.clone()).await;
            if rooms.carry_on(meeting.clone(), &state).is_err() {
                keeper.forget(&meeting.room_name).await;
            }
        }
        let ice = Arc::new(crate::services::ice::IceConfig {
            stun_urls: config.stun_url.clone(),
            turn_urls: config.turn_url.clone(),
            turn_secret: config.turn_secret.clone(),
        });
        let signal = Arc::new(SignalContext::new(SignalDeps {
            rooms: rooms.clone(),
            settings: config.room.signal(),
            ice: ice.clone(),
            origins: AllowedOrigins::new(&public_url, &config.allowed_origins),
            avatars: avatars.clone(),
            shutdown: shutdown.clone(),
            media: media.clone(),
            limits: limits.clone(),
            cluster: cluster.clone(),
        }));
        let state = AppState {
            meetings: Meetings::new(store.clone(), tokens, public_url.clone(), rooms.clone()),
            ops: Ops::new(
                StoreHealth::default(),
                rooms.clone(),
                signal.clone(),
                media.clone(),
                store.clone(),
                draining.clone(),
                metrics,
            ),
            signal,
            rooms,
            themes,
            insights: Insights::new(store.clone()),
            endpoints: Endpoints::new(store.clone()),
            api_keys: ApiKeys::new(store.clone()),
            client: ClientSupport::new(ice, &avatars, &backgrounds, &base),
            proxies: crate::proxy::TrustedProxies::parse(&config.trusted_proxies)?,
        };
        let gate = ApiGate {
            keys: state.api_keys.clone(),
            limits,
            cluster: cluster.clone(),
        };
        let forwarder = cluster.clone().map(|cluster| Forwarder {
            cluster,
            rooms: state.rooms.clone(),
            store: store.clone(),
            http: reqwest::Client::new(),
        });
        let router = router::router(state.clone(), gate, forwarder, config, &base)?;
        Ok(Application {
            _serving: serving,
            listener,
            state,
            store,
            shutdown,
            recorder,
            recorder_stop,
            media,
            samples_keeper,
            webhooks,
            keeper_writer,
            background_stop,
            router,
            serve_settings: config.serve_settings(),
            sweeps: housekeeping::Sweeps {
                every: config.sweep_interval(),
                history: config
                    .insights_retention_days
                    .map(|days| chrono::Duration::days(i64::from(days))),
            },
            shutdown_timeout: config.shutdown_timeout(),
            maintenance: cluster.as_ref().map(|c| c.lease / 3),
            draining,
            drain: config.drain(),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        // A bound TCP listener always has a local address.
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `stop` resolves, then shuts down gracefully.
    pub async fn run_until(
        self,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let addr = self.local_addr();
        tracing::info!("anteroom listening on http://{addr}");
        let state = self.state.clone();
        let sweeper = tokio::spawn(housekeeping::housekeeping(
            self.store.clone(),
            state.clone(),
            self.sweeps,
        ));
        if let Some(every) = self.maintenance {
            // Stops with the server's stop: a stopping node hands rooms over, and takes none.
            let rooms = state.rooms.clone();
            let stop = self.shutdown.clone();
            tokio::spawn(async move { rooms.maintain(every, stop).await });
        }
        tokio::spawn(state.ops.clone().keep_metrics(self.background_stop.clone()));
        let heartbeat = tokio::spawn(health::heartbeat(
            self.store.clone(),
            state.ops.health.clone(),
            self.background_stop.clone(),
        ));

        let shutdown = self.shutdown.clone();
        let signal_shutdown = shutdown.clone();
        let (draining, drain) = (self.draining.clone(), self.drain);
        tokio::spawn(async move {
            stop.await;
            draining.cancel();
            if !drain.is_zero() {
                tracing::info!(?drain, "draining: /readyz says so; still serving meanwhile");
                tokio::time::sleep(drain).await;
            }
            tracing::info!("shutting down: no new connections; finishing in-flight requests");
            signal_shutdown.cancel();
        });

        let server = tokio::spawn(crate::serve::serve(
            self.listener,
            self.router,
            self.serve_settings,
            shutdown.clone(),
        ));

        shutdown.cancelled().await;
        match tokio::time::timeout(self.shutdown_timeout, server).await {
            Ok(Ok(())) => {}
            Ok(Err(err)) => tracing::error!(error = %err, "server task failed"),
            Err(_) => tracing::warn!(
                timeout = ?self.shutdown_timeout,
                "in-flight requests did not finish in time; dropping them"
            ),
        }
        // Rooms are handed over to be carried on after the restart (or end, when they cannot
        // be): everyone is told, sessions close their sockets, then the facts they produced are
        // written before the store closes.
        state.signal.sessions.close();
        if tokio::time::timeout(self.shutdown_timeout, state.signal.sessions.wait())
            .await
            .is_err()
        {
            tracing::warn!("some WebSocket connections did not close in time");
        }
        if tokio::time::timeout(self.shutdown_timeout, state.rooms.stopped())
            .await
            .is_err()
        {
            tracing::warn!("some rooms were not handed over in time");
        }
        sweeper.abort();
        // Members' network samples, before the store closes: the rooms handed over closed their
        // media paths (each thread has carried that out once it answers, its commands being in
        // order), and a room not handed over in time still has members whose samples so far go.
        if tokio::time::timeout(self.shutdown_timeout, self.media.flush_samples())
            .await
            .is_err()
        {
            tracing::warn!("the media threads did not hand their network samples over in time");
        }
        self.recorder_stop.cancel();
        if let Err(err) = self.recorder.await {
            tracing::error!(error = %err, "the fact recorder failed");
        }
        if let Err(err) = self.samples_keeper.await {
            tracing::error!(error = %err, "the keeper of network samples failed");
        }
        // Deliveries not made yet wait in the outbox for the next start.
        self.background_stop.cancel();
        if let Err(err) = heartbeat.await {
            tracing::error!(error = %err, "the store heartbeat failed");
        }
        if let Err(err) = self.webhooks.await {
            tracing::error!(error = %err, "the webhook worker failed");
        }
        if let Some(writer) = self.keeper_writer
            && let Err(err) = writer.await
        {
            tracing::error!(error = %err, "the writer of rooms' kept states failed");
        }
        self.store.close().await;
        tracing::info!("anteroom stopped");
        Ok(())
    }
}

/// Rooms a server kept when it stopped are carried on by its next start within this long (a
/// restart, a deploy); after longer, they are closed as of when it stopped.
const CARRY_ON_WITHIN: chrono::Duration = chrono::Duration::minutes(10);

/// The rooms the last run kept (as they changed, and when it stopped), whose meetings are still
/// open, with their kept state. The others are over: their meeting has gone, or their state cannot
/// be carried on (what they left open is then closed, as a crash's is).
async fn rooms_kept(
    store: &DynStore,
    last_alive: Option<DateTime<Utc>>,
) -> anyhow::Result<Vec<(Arc<crate::meeting::Meeting>, String)>> {
    let now = Utc::now();
    let snapshots = store.take_snapshots().await?;
    // Down longer than a restart takes: its people have gone, and a room carried on would count
    // the time it was down as theirs in the room (insights, webhooks). Its rooms are closed as
    // after a crash, when the server was last alive.
    if let Some(last_alive) = last_alive
        && now - last_alive > CARRY_ON_WITHIN
        && !snapshots.is_empty()
    {
        tracing::info!(down_since = %last_alive, rooms = snapshots.len(), "the server was down too long to carry its rooms on; they are closed as of when it stopped");
        return Ok(Vec::new());
    }
    let mut carried = Vec::new();
    for (room, state) in snapshots {
        match store.get_meeting_by_room(&room).await? {
            Some(meeting) if meeting.is_open_at(now) => match keeper::decode(&state) {
                Ok(_) => carried.push((Arc::new(meeting), state)),
                Err(why) => {
                    tracing::error!(%room, error = %why, "a kept room state cannot be carried on; the room is closed as after a crash");
                }
            },
            _ => tracing::info!(%room, "a room kept at the last run has ended meanwhile"),
        }
    }
    Ok(carried)
}

/// Whereby's `subdomain` field: the first label of the public host (the whole host for an IP).
fn subdomain_of(public_url: &str) -> String {
    match url::Url::parse(public_url)
        .ok()
        .and_then(|u| u.host().map(|h| h.to_owned()))
    {
        Some(url::Host::Domain(domain)) => domain.split('.').next().unwrap_or_default().to_owned(),
        Some(url::Host::Ipv4(ip)) => ip.to_string(),
        Some(url::Host::Ipv6(ip)) => ip.to_string(),
        None => String::new(),
    }
}

mod housekeeping;
mod router;

#[cfg(test)]
mod tests {
    use super::subdomain_of;

    #[test]
    fn subdomains_of_names_and_addresses() {
        assert_eq!(subdomain_of("https://meet.example.com"), "meet");
        assert_eq!(subdomain_of("http://127.0.0.1:8080"), "127.0.0.1");
        assert_eq!(subdomain_of("http://[::1]:8080"), "::1");
        assert_eq!(subdomain_of("http://localhost:8080/base"), "localhost");
    }
}

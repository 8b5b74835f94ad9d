//! For operators: the public health, liveness and readiness probes (`/healthz`, `/livez`,
//! `/readyz`, no key: monitors, load balancers and orchestrators ask them) and the metrics a
//! Prometheus server scrapes (`/metrics`, behind the API key, as room counts are nobody else's
//! business).

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::media::{MediaCounters, MediaEngine};
use crate::services::health::StoreHealth;
use crate::services::rooms::Rooms;
use crate::signal::SignalContext;
use crate::store::DynStore;

#[derive(Clone)]
pub struct Ops {
    pub health: StoreHealth,
    rooms: Rooms,
    signal: Arc<SignalContext>,
    media: MediaEngine,
    metrics: PrometheusHandle,
    store: DynStore,
    /// Cancelled when the server starts to stop: it takes no new work (`/readyz` says so).
    draining: CancellationToken,
}

/// Buckets of the latency histograms (seconds): sub-millisecond steps up to a second.
const LATENCY_BUCKETS: [f64; 12] = [
    0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0,
];

/// Installs the process's metrics recorder (before anything records a figure: a figure recorded
/// earlier, or a handle taken earlier, goes nowhere) and returns the handle `/metrics` renders.
pub fn install_metrics() -> PrometheusHandle {
    let builder = || {
        PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &LATENCY_BUCKETS)
            .expect("the latency buckets are a non-empty list")
    };
    // One recorder per process; a second application in the same process (tests) reads its own
    // figures from a recorder of its own, not installed.
    builder()
        .install_recorder()
        .unwrap_or_else(|_| builder().build_recorder().handle())
}

/// How often the histograms' samples are folded into their buckets.
const METRICS_UPKEEP: Duration = Duration::from_secs(5);

impl Ops {
    /// Folds the histograms' samples into their buckets every few seconds until `stop`. The
    /// recorder keeps each sample until then (or until a scrape renders it): a server nobody
    /// scrapes would otherwise hold every store write's and verdict's time for good.
    pub async fn keep_metrics(self, stop: CancellationToken) {
        let mut every = tokio::time::interval(METRICS_UPKEEP);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = every.tick() => self.metrics.run_upkeep(),
                () = stop.cancelled() => return,
            }
        }
    }

    pub fn new(
        health: StoreHealth,
        rooms: Rooms,
        signal: Arc<SignalContext>,
        media: MediaEngine,
        store: DynStore,
        draining: CancellationToken,
        metrics: PrometheusHandle,
    ) -> Self {
        Ops {
            health,
            rooms,
            signal,
            media,
            metrics,
            store,
            draining,
        }
    }
}

#[derive(Serialize)]
struct Health {
    status: &'static str,
    store: String,
}

/// `GET /healthz`: 200 while the store takes writes, 503 (with the store's error) when it does not.
pub async fn healthz(State(ops): State<Ops>) -> Response {
    match ops.health.failure() {
        None => Json(Health {
            status: "ok",
            store: "ok".into(),
        })
        .into_response(),
        Some(failure) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(Health {
                status: "unavailable",
                store: failure,
            }),
        )
            .into_response(),
    }
}

/// `GET /livez`: 200 whenever the server answers at all. For an orchestrator's liveness probe,
/// which restarts what fails it: a store that takes no writes (`/healthz`) is no reason to restart
/// a server whose rooms go on in memory meanwhile, and restarting it would lose them.
pub async fn livez() -> Response {
    Json(serde_json::json!({ "status": "alive" })).into_response()
}

/// `GET /readyz`: 200 while this server takes new work; 503 once it drains (it is stopping: a load
/// balancer should send nothing new) or its store takes no writes.
pub async fn readyz(State(ops): State<Ops>) -> Response {
    let (status, code) = if ops.draining.is_cancelled() {
        ("draining", StatusCode::SERVICE_UNAVAILABLE)
    } else if ops.health.failure().is_some() {
        ("unavailable", StatusCode::SERVICE_UNAVAILABLE)
    } else {
        ("ready", StatusCode::OK)
    };
    (code, Json(serde_json::json!({ "status": status }))).into_response()
}

/// `GET /metrics`: Prometheus text.
pub async fn metrics(State(ops): State<Ops>) -> Response {
    metrics::gauge!("anteroom_ready").set(if ops.draining.is_cancelled() {
        0.0
    } else {
        1.0
    });
    match ops.store.delivery_counts().await {
        Ok(counts) => {
            for (status, n) in [
                ("pending", counts.pending),
                ("delivered", counts.delivered),
                ("failed", counts.failed),
            ] {
                metrics::gauge!("anteroom_webhook_deliveries", "status" => status).set(n as f64);
            }
        }
        Err(err) => tracing::warn!(error = %err, "cannot count webhook deliveries for /metrics"),
    }
    metrics::gauge!("anteroom_live_rooms").set(ops.rooms.live_rooms() as f64);
    metrics::gauge!("anteroom_websocket_connections").set(ops.signal.sessions.len() as f64);
    let healthy = if ops.health.failure().is_none() {
        1.0
    } else {
        0.0
    };
    metrics::gauge!("anteroom_store_healthy").set(healthy);
    let media = ops.media.counters();
    let figure = |counter| MediaCounters::get(counter) as f64;
    metrics::gauge!("anteroom_media_transports").set(figure(&media.transports));
    metrics::gauge!("anteroom_media_connections").set(figure(&media.connections));
    metrics::gauge!("anteroom_media_unknown_ufrag_total").set(figure(&media.unknown_ufrag));
    metrics::gauge!("anteroom_media_unknown_source_total").set(figure(&media.unknown_source));
    metrics::gauge!("anteroom_media_forwarded_packets_total").set(figure(&media.forwarded));
    metrics::gauge!("anteroom_media_over_cap_total").set(figure(&media.over_cap));
    metrics::gauge!("anteroom_media_stale_packets_total").set(figure(&media.stale));
    metrics::gauge!("anteroom_media_panics_total").set(figure(&media.panics));
    let mut response = ops.metrics.render().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    response
}

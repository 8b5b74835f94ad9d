//! For operators: the public health probe (`/healthz`, no key: load balancers and orchestrators ask
//! it) and the metrics a Prometheus server scrapes (`/metrics`, behind the API key, as room counts
//! are nobody else's business).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde::Serialize;

use crate::media::{MediaCounters, MediaEngine};
use crate::services::health::StoreHealth;
use crate::services::rooms::Rooms;
use crate::signal::SignalContext;

#[derive(Clone)]
pub struct Ops {
    pub health: StoreHealth,
    rooms: Rooms,
    signal: Arc<SignalContext>,
    media: MediaEngine,
    metrics: PrometheusHandle,
}

impl Ops {
    pub fn new(
        health: StoreHealth,
        rooms: Rooms,
        signal: Arc<SignalContext>,
        media: MediaEngine,
    ) -> Self {
        // One recorder per process; a second application in the same process (tests) reads its
        // own figures from a recorder of its own, not installed.
        let metrics = PrometheusBuilder::new()
            .install_recorder()
            .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder().handle());
        Ops {
            health,
            rooms,
            signal,
            media,
            metrics,
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

/// `GET /metrics`: Prometheus text.
pub async fn metrics(State(ops): State<Ops>) -> Response {
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
    let mut response = ops.metrics.render().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    response
}

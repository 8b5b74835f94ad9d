//! The HTTP router: every route, the fallbacks, and request spans with room keys left out.

use axum::Router;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

use crate::api::auth::ApiGate;
use crate::api::error::{ApiError, ErrorBody};
use crate::api::forward::Forwarder;
use crate::config::ServeConfig;
use crate::web;

use super::AppState;

pub(super) fn router(
    state: AppState,
    gate: ApiGate,
    forwarder: Option<Forwarder>,
    config: &ServeConfig,
    base: &str,
) -> anyhow::Result<Router> {
    let mut router = Router::new()
        .route("/", get(web::landing_page))
        .route("/healthz", get(crate::ops::healthz))
        .route("/livez", get(crate::ops::livez))
        .route("/readyz", get(crate::ops::readyz))
        .route("/v1/signal", get(crate::signal::endpoint))
        .route("/themes/{room}/{kind}", get(crate::api::rooms::theme_image))
        // The client's files go gzipped to browsers that take it (the background effects'
        // WebAssembly: 5.7 MB as is, 2 MB so; gzip's fastest level costs ~70 ms for it, once per
        // browser: after that its ETag answers 304).
        .route(
            "/assets/{*path}",
            get(web::assets).layer(asset_compression()),
        )
        .route(
            "/embed.js",
            get(web::embed_script).layer(asset_compression()),
        )
        .route("/client-config", get(web::client_config))
        .route(
            "/bandwidth-probe",
            get(web::probe_download).post(web::probe_upload).layer(
                axum::extract::DefaultBodyLimit::max(web::BANDWIDTH_PROBE_MAX + 1024),
            ),
        )
        .route("/{room}", get(web::room_page))
        .merge(crate::api::router(gate, forwarder));
    if config.bench_routes {
        router = router.route("/__bench/bare", post(bare_created)).route(
            "/__bench/relay",
            get(crate::signal::relay_baseline::handler()),
        );
    }
    let router = router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed);
    // Under a public URL with a path, every route is there, and the landing page at its slash too.
    let router = if base.is_empty() {
        router
    } else {
        Router::new()
            .route(&format!("{base}/"), get(web::landing_page))
            .nest(base, router)
            .fallback(outside_the_base)
    };
    Ok(router
        // A client that sends a body must send it: slow bodies do not hold the server.
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
            config.body_read_timeout(),
        ))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .with_state(state))
}

fn asset_compression() -> tower_http::compression::CompressionLayer {
    tower_http::compression::CompressionLayer::new().quality(tower_http::CompressionLevel::Fastest)
}

/// The span of one request, as tower-http's default draws it, with room keys left out: a room URL
/// with `roomKey` is a host's credential, and debug logs end up in places keys must not.
fn request_span(request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    tracing::debug_span!(
        "request",
        method = %request.method(),
        uri = %redacted(request.uri()),
        version = ?request.version(),
    )
}

/// The URI with the value of every `roomKey` parameter replaced.
fn redacted(uri: &axum::http::Uri) -> String {
    let Some(query) = uri.query() else {
        return uri.to_string();
    };
    let query: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if name.eq_ignore_ascii_case("roomkey") => format!("{name}=[redacted]"),
            _ => pair.to_owned(),
        })
        .collect();
    format!("{}?{}", uri.path(), query.join("&"))
}

/// The benchmarks' baseline: the same server, the same middleware, no store.
async fn bare_created() -> impl IntoResponse {
    (
        StatusCode::CREATED,
        axum::Json(serde_json::json!({ "meetingId": "1", "roomUrl": "http://127.0.0.1/bare" })),
    )
}

async fn not_found() -> ApiError {
    ApiError::NotFound("no such endpoint".into())
}

async fn outside_the_base(
    axum::extract::State(client): axum::extract::State<web::ClientSupport>,
) -> ApiError {
    ApiError::NotFound(format!(
        "no such endpoint: this server serves everything under {}/ (its --public-url)",
        client.base
    ))
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed("method not allowed on this endpoint".into())
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    tracing::error!("a request handler panicked");
    let error = "internal server error".to_owned();
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        axum::Json(ErrorBody { error }),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn room_keys_are_left_out_of_logged_uris() {
        let uri: axum::http::Uri = "/room-1?displayName=Ann&roomKey=eyJabc.def.ghi&x=1"
            .parse()
            .unwrap();
        assert_eq!(
            super::redacted(&uri),
            "/room-1?displayName=Ann&roomKey=[redacted]&x=1"
        );
    }
}

//! The HTTP server loop, as `axum::serve` runs it, plus what a server facing the internet needs:
//! a time limit for a request's headers (hyper's, which needs a timer axum does not give it) and a
//! cap on open connections. A WebSocket keeps its connection's place under the cap for as long as it
//! lives, so the cap counts sockets, not requests.

use std::pin::pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

#[derive(Debug, Clone, Copy)]
pub struct ServeSettings {
    /// A client has this long to send a request's headers (also the idle limit between requests
    /// of a kept-alive connection).
    pub header_read_timeout: Duration,
    /// Open connections (HTTP and WebSocket) at most; more are closed at once.
    pub max_connections: usize,
}

/// A connection's place under the cap; a WebSocket session holds one for as long as it lives.
#[derive(Clone)]
pub struct ConnectionSlot(#[allow(dead_code)] Arc<OwnedSemaphorePermit>);

/// Serves `router` on `listener` until `stop` is cancelled; then lets every connection finish its
/// request (each closes after it) and returns once all are done.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    settings: ServeSettings,
    stop: CancellationToken,
) {
    let slots = Arc::new(Semaphore::new(settings.max_connections));
    let connections = TaskTracker::new();
    let mut refusals = RefusalLog::default();
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of file descriptors, or the like: axum's own loop waits a moment too.
                    tracing::error!(error = %err, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = stop.cancelled() => break,
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            refusals.refused(settings.max_connections);
            drop(stream);
            continue;
        };
        // Small frames (knocks, verdicts) must leave at once: no Nagle delay.
        if let Err(err) = stream.set_nodelay(true) {
            tracing::debug!(error = %err, "cannot set TCP_NODELAY");
        }
        let slot = ConnectionSlot(Arc::new(slot));
        let service = router
            .clone()
            .map_request(move |mut request: hyper::Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                request.extensions_mut().insert(slot.clone());
                request.map(Body::new)
            });
        let stop = stop.clone();
        connections.spawn(serve_connection(stream, service, settings, stop));
    }
    connections.close();
    connections.wait().await;
}

async fn serve_connection<S>(
    stream: tokio::net::TcpStream,
    service: S,
    settings: ServeSettings,
    stop: CancellationToken,
) where
    S: tower::Service<
            hyper::Request<Incoming>,
            Response = axum::response::Response,
            Error = std::convert::Infallible,
        > + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(settings.header_read_timeout);
    let connection = builder
        .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service))
        .with_upgrades();
    let mut connection = pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        () = stop.cancelled() => {
            // The request in flight finishes; the connection closes after it.
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(err) = result {
        tracing::trace!(error = %err, "a connection ended with an error");
    }
}

/// The most connections this process can hold: its open-files limit, less room for the store,
/// logs and the like (a modest default where the limit cannot be read).
pub fn default_max_connections() -> usize {
    const SPARE: usize = 256;
    let limit = rlimit::getrlimit(rlimit::Resource::NOFILE)
        .ok()
        .map(|(soft, _hard)| soft)
        .filter(|soft| *soft != rlimit::INFINITY)
        .and_then(|soft| usize::try_from(soft).ok())
        .unwrap_or(10_000);
    limit
        .saturating_sub(SPARE)
        .clamp(64, Semaphore::MAX_PERMITS)
}

/// Says once a second at most that connections are being refused, and how many.
#[derive(Default)]
struct RefusalLog {
    since_last: u64,
    last: Option<Instant>,
}

impl RefusalLog {
    fn refused(&mut self, limit: usize) {
        self.since_last += 1;
        if self
            .last
            .is_none_or(|at| at.elapsed() >= Duration::from_secs(1))
        {
            tracing::warn!(
                limit,
                refused = self.since_last,
                "connection limit reached; closing new connections until some end \
                 (see --max-connections)"
            );
            self.last = Some(Instant::now());
            self.since_last = 0;
        }
    }
}

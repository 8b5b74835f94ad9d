//! Whether the server can do its work: a write to the store every few seconds proves the store
//! takes writes (a full disk shows within seconds) and records the last moment the server was known
//! alive, which start-up uses to close what a crash left open.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use tokio_util::sync::CancellationToken;

use crate::store::DynStore;

/// How often the store is written to prove it works.
pub const HEARTBEAT: Duration = Duration::from_secs(2);

/// How long a heartbeat may wait for the store before the store counts as taking no writes. A write
/// can hang rather than fail (SQLite waits 10 s for another program's lock; a PostgreSQL behind a
/// network that drops packets answers nothing), and a probe that says ok meanwhile lies.
pub const STALLED: Duration = Duration::from_secs(5);

#[derive(Clone, Default)]
pub struct StoreHealth {
    /// The last write's failure, if it failed.
    failure: Arc<Mutex<Option<String>>>,
}

impl StoreHealth {
    /// None when the store took the last write; else why it did not.
    pub fn failure(&self) -> Option<String> {
        self.failure
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn set(&self, failure: Option<String>) -> Option<String> {
        std::mem::replace(
            &mut *self.failure.lock().unwrap_or_else(|p| p.into_inner()),
            failure,
        )
    }
}

/// Writes the heartbeat until `stop`; each outcome that changes the health is logged once.
pub async fn heartbeat(store: DynStore, health: StoreHealth, stop: CancellationToken) {
    let mut ticker = tokio::time::interval(HEARTBEAT);
    // After a write that hung, the next comes a beat later, not at once for every beat missed.
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let unavailable = |why: String| {
        if health.set(Some(why.clone())).is_none() {
            tracing::error!(error = %why, "the store takes no writes; /healthz says unavailable");
        }
    };
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            () = stop.cancelled() => break,
        }
        let write = store.mark_alive(Utc::now());
        tokio::pin!(write);
        let outcome = match tokio::time::timeout(STALLED, &mut write).await {
            Ok(outcome) => outcome,
            Err(_) => {
                unavailable(format!(
                    "a write has waited {} s for the store",
                    STALLED.as_secs()
                ));
                tokio::select! {
                    outcome = &mut write => outcome,
                    () = stop.cancelled() => break,
                }
            }
        };
        match outcome {
            Ok(()) => {
                if health.set(None).is_some() {
                    tracing::info!("the store takes writes again");
                }
            }
            Err(err) => unavailable(err.to_string()),
        }
    }
}

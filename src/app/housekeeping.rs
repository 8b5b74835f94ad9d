//! Periodic housekeeping: what the store no longer needs to keep, and rate-limit cells gone quiet.

use std::time::{Duration, Instant};

use chrono::Utc;

use crate::store::DynStore;

use super::AppState;

/// Finished webhook deliveries are kept this long for an operator to look at, then forgotten.
const DELIVERY_RETENTION: chrono::Duration = chrono::Duration::days(7);
/// Members' network samples are the bulk of insights (tens of KiB an hour a member): kept this
/// long, then forgotten (the stays and events they belong to are kept).
const NETWORK_SAMPLE_RETENTION: chrono::Duration = chrono::Duration::days(30);

/// How often to sweep, and how long the history insights are made of is kept (for good: `None`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Sweeps {
    pub every: Duration,
    pub history: Option<chrono::Duration>,
}

/// How often the history is looked through (it is a scan of the largest tables: not every sweep).
const HISTORY_EVERY: Duration = Duration::from_secs(3600);

/// Periodic housekeeping: meetings 24 hours past their end date (and their themes), webhook
/// deliveries finished over a week ago, network samples and (if the operator says so) the rest of
/// insights' history past their time, and per-address rate-limit cells of addresses gone quiet
/// (without this the knock and probe limiters would remember every address ever seen).
pub(super) async fn housekeeping(store: DynStore, state: AppState, sweeps: Sweeps) {
    let mut ticker = tokio::time::interval(sweeps.every);
    let mut history_looked_at: Option<Instant> = None;
    loop {
        ticker.tick().await;
        let now = Utc::now();
        log_sweep(
            "swept meetings more than 24 hours past their end",
            "sweeping expired meetings failed",
            store
                .remove_meetings_ended_before(now - chrono::Duration::hours(24))
                .await,
        );
        log_sweep(
            "pruned webhook deliveries finished more than a week ago",
            "pruning webhook deliveries failed",
            store.prune_deliveries(now - DELIVERY_RETENTION).await,
        );
        let samples_kept = sweeps.history.map_or(NETWORK_SAMPLE_RETENTION, |history| {
            history.min(NETWORK_SAMPLE_RETENTION)
        });
        log_sweep(
            "pruned network samples past their time",
            "pruning network samples failed",
            store.prune_network_samples(now - samples_kept).await,
        );
        if let Some(history) = sweeps.history
            && history_looked_at.is_none_or(|at| at.elapsed() >= HISTORY_EVERY)
        {
            history_looked_at = Some(Instant::now());
            log_sweep(
                "forgot room history past --insights-retention-days",
                "forgetting room history failed",
                store.prune_history(now - history).await,
            );
        }
        state.signal.limits.sweep();
        state.client.probes.retain_recent();
        state.client.probes.shrink_to_fit();
    }
}

/// Logs what one sweep removed (nothing removed: nothing to say).
fn log_sweep(done: &str, failed: &str, removed: Result<u64, crate::store::StoreError>) {
    match removed {
        Ok(0) => {}
        Ok(n) => tracing::info!(removed = n, "{done}"),
        Err(err) => tracing::error!(error = %err, "{failed}"),
    }
}

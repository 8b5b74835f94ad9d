//! Writes room facts to the store from a task of its own, in batches, so that no room ever waits for
//! the database. Facts queue in memory meanwhile (the store takes 100k+ rows/s batched, far more than
//! rooms produce).

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::facts::RoomFact;
use crate::store::DynStore;

const BATCH: usize = 512;

pub fn channel() -> (
    mpsc::UnboundedSender<RoomFact>,
    mpsc::UnboundedReceiver<RoomFact>,
) {
    mpsc::unbounded_channel()
}

/// Runs until `stop` is cancelled, then writes whatever is still queued and returns.
pub async fn run(
    store: DynStore,
    mut facts: mpsc::UnboundedReceiver<RoomFact>,
    stop: CancellationToken,
) {
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        tokio::select! {
            received = facts.recv_many(&mut batch, BATCH) => {
                if received == 0 {
                    break;
                }
            }
            () = stop.cancelled() => {
                while let Ok(fact) = facts.try_recv() {
                    batch.push(fact);
                }
                write(&store, &mut batch).await;
                break;
            }
        }
        write(&store, &mut batch).await;
    }
}

async fn write(store: &DynStore, batch: &mut Vec<RoomFact>) {
    if batch.is_empty() {
        return;
    }
    // A failed write is retried a few times; the database being gone for longer is logged loudly.
    for attempt in 1..=5u32 {
        match store.record_facts(batch).await {
            Ok(()) => {
                batch.clear();
                return;
            }
            Err(err) => {
                tracing::error!(error = %err, attempt, facts = batch.len(), "recording room facts failed");
                tokio::time::sleep(std::time::Duration::from_millis(100 * u64::from(attempt)))
                    .await;
            }
        }
    }
    tracing::error!(
        facts = batch.len(),
        "dropping room facts the store would not take"
    );
    batch.clear();
}

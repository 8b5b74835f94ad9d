//! The delivery outbox's claim in SQLite (the rest is `store/shared/webhooks.rs`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::SqliteStore;
use crate::store::shared::{Done, EngineWebhooks, claimable, dues_from_rows};
use crate::store::{DueDelivery, StoreError, millis};

#[async_trait]
impl EngineWebhooks for SqliteStore {
    async fn claim_due(
        &self,
        endpoint: i64,
        now: DateTime<Utc>,
        limit: u32,
        claimant: &str,
        until: DateTime<Utc>,
    ) -> Result<Vec<DueDelivery>, StoreError> {
        // One statement: the claimed rows come back with their endpoint's address and secret.
        let rows = sqlx::query(concat!(
            "UPDATE webhook_deliveries SET claimed_by = $3, claimed_until_ms = $4 WHERE id IN (",
            claimable!(),
            ") RETURNING id, endpoint_id, \
             (SELECT url FROM webhook_endpoints e \
               WHERE e.id = webhook_deliveries.endpoint_id) AS url, \
             (SELECT secret FROM webhook_endpoints e \
               WHERE e.id = webhook_deliveries.endpoint_id) AS secret, \
             event_type, room_name, body, attempts"
        ))
        .bind(millis(now))
        .bind(i64::from(limit))
        .bind(claimant)
        .bind(millis(until))
        .bind(endpoint)
        .fetch_all(&self.writer)
        .await?;
        dues_from_rows(&rows)
    }

    async fn finish_done(&self, done: &[Done<'_>], now: DateTime<Utc>) -> Result<(), StoreError> {
        // One transaction: one commit for them all.
        let mut tx = self.writer.begin().await?;
        for d in done {
            sqlx::query(
                "UPDATE webhook_deliveries SET status = $1, attempts = $2, last_error = $3, \
                 done_ms = $4, claimed_by = NULL, claimed_until_ms = NULL \
                 WHERE id = $5 AND status = 'pending'",
            )
            .bind(d.status)
            .bind(d.attempts)
            .bind(d.error)
            .bind(millis(now))
            .bind(d.id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

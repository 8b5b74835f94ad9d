//! The delivery outbox's claim in SQLite (the rest is `store/shared/webhooks.rs`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::SqliteStore;
use crate::store::shared::{Done, EngineWebhooks, claimable, due_from_row};
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
        // One writer: the claim and the read need no lock beyond the transaction.
        let mut tx = self.writer.begin().await?;
        let claimed: Vec<i64> = sqlx::query_scalar(concat!(
            "UPDATE webhook_deliveries SET claimed_by = $3, claimed_until_ms = $4 WHERE id IN (",
            claimable!(),
            ") RETURNING id"
        ))
        .bind(millis(now))
        .bind(i64::from(limit))
        .bind(claimant)
        .bind(millis(until))
        .bind(endpoint)
        .fetch_all(&mut *tx)
        .await?;
        let mut due = Vec::with_capacity(claimed.len());
        for id in claimed {
            let row = sqlx::query(
                "SELECT d.id, d.endpoint_id, e.url, e.secret, d.event_type, d.room_name, d.body, \
                 d.attempts FROM webhook_deliveries d \
                 JOIN webhook_endpoints e ON e.id = d.endpoint_id WHERE d.id = ?",
            )
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
            due.push(due_from_row(&row)?);
        }
        tx.commit().await?;
        due.sort_by_key(|d| d.id);
        Ok(due)
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

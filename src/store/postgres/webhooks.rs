//! Webhook endpoints and the delivery outbox in PostgreSQL. Every node's delivery worker claims from
//! the same outbox: `FOR UPDATE SKIP LOCKED` keeps two nodes off one row, the claim (until a time)
//! keeps them off it while it is being delivered, and off the rows after it in the same room.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::PostgresStore;
use crate::store::shared::{Done, EngineWebhooks, claimable, dues_from_rows};
use crate::store::{DueDelivery, StoreError, millis};

impl PostgresStore {
    /// The claim: `claimable!` says which rows, earliest due first. Two nodes asking at once lock
    /// different rows or skip the locked ones; the conditions are checked again on the locked row.
    /// Binds: `$1` now, `$2` at most how many, `$3` the claimant, `$4` until when, `$5` the
    /// endpoint (times in ms). Public for the test that reads its plan.
    pub const CLAIM: &str = concat!(
        "WITH due AS (",
        claimable!(),
        " FOR UPDATE OF d SKIP LOCKED) \
         UPDATE webhook_deliveries d SET claimed_by = $3, claimed_until_ms = $4 \
         FROM due, webhook_endpoints e \
         WHERE d.id = due.id AND e.id = d.endpoint_id \
         RETURNING d.id, d.endpoint_id, e.url, e.secret, d.event_type, d.room_name, d.body, \
           d.attempts"
    );
}

#[async_trait]
impl EngineWebhooks for PostgresStore {
    async fn claim_due(
        &self,
        endpoint: i64,
        now: DateTime<Utc>,
        limit: u32,
        claimant: &str,
        until: DateTime<Utc>,
    ) -> Result<Vec<DueDelivery>, StoreError> {
        let rows = sqlx::query(PostgresStore::CLAIM)
            .bind(millis(now))
            .bind(i64::from(limit))
            .bind(claimant)
            .bind(millis(until))
            .bind(endpoint)
            .fetch_all(&self.pool)
            .await?;
        dues_from_rows(&rows)
    }

    async fn finish_done(&self, done: &[Done<'_>], now: DateTime<Utc>) -> Result<(), StoreError> {
        // One statement, the outcomes as arrays.
        let ids: Vec<i64> = done.iter().map(|d| d.id).collect();
        let attempts: Vec<i64> = done.iter().map(|d| d.attempts).collect();
        let statuses: Vec<&str> = done.iter().map(|d| d.status).collect();
        let errors: Vec<Option<&str>> = done.iter().map(|d| d.error).collect();
        sqlx::query(
            "UPDATE webhook_deliveries d SET status = f.status, attempts = f.attempts, \
             last_error = f.error, done_ms = $5, claimed_by = NULL, claimed_until_ms = NULL \
             FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[]) \
               AS f(id, attempts, status, error) \
             WHERE d.id = f.id AND d.status = 'pending'",
        )
        .bind(ids)
        .bind(attempts)
        .bind(statuses)
        .bind(errors)
        .bind(millis(now))
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

//! Webhook endpoints and the delivery outbox in PostgreSQL. Every node's delivery worker claims from
//! the same outbox: `FOR UPDATE SKIP LOCKED` keeps two nodes off one row, the claim (until a time)
//! keeps them off it while it is being delivered, and off the rows after it in the same room.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::postgres::PgRow;

use super::PostgresStore;
use crate::store::{
    DeliveryCounts, DeliveryOutcome, DueDelivery, StoreError, WebhookEndpoint, WebhookStore,
    from_millis, millis,
};

fn endpoint_from_row(row: &PgRow) -> Result<WebhookEndpoint, StoreError> {
    let mut events: Vec<String> = row
        .try_get::<Option<Vec<String>>, _>("events")?
        .unwrap_or_default();
    events.sort();
    Ok(WebhookEndpoint {
        id: row.try_get("id")?,
        url: row.try_get("url")?,
        events,
        secret: row.try_get("secret")?,
        created_at: from_millis(row.try_get("created_ms")?)?,
    })
}

macro_rules! endpoint_select {
    () => {
        "SELECT e.id, e.url, e.secret, e.created_ms, \
         ARRAY(SELECT event_type FROM webhook_endpoint_events WHERE endpoint_id = e.id) AS events \
         FROM webhook_endpoints e WHERE e.removed_ms IS NULL"
    };
}

#[async_trait]
impl WebhookStore for PostgresStore {
    async fn create_webhook(
        &self,
        url: &str,
        events: &[String],
        secret: &str,
        now: DateTime<Utc>,
    ) -> Result<WebhookEndpoint, StoreError> {
        let mut tx = self.pool.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO webhook_endpoints (url, secret, created_ms) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(url)
        .bind(secret)
        .bind(millis(now))
        .fetch_one(&mut *tx)
        .await?;
        for event in events {
            sqlx::query(
                "INSERT INTO webhook_endpoint_events (endpoint_id, event_type) VALUES ($1, $2) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(id)
            .bind(event)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        let mut events = events.to_vec();
        events.sort();
        events.dedup();
        Ok(WebhookEndpoint {
            id,
            url: url.to_owned(),
            events,
            secret: secret.to_owned(),
            created_at: now,
        })
    }

    async fn list_webhooks(&self) -> Result<Vec<WebhookEndpoint>, StoreError> {
        let rows = sqlx::query(concat!(endpoint_select!(), " ORDER BY e.id"))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(endpoint_from_row).collect()
    }

    async fn get_webhook(&self, id: i64) -> Result<Option<WebhookEndpoint>, StoreError> {
        sqlx::query(concat!(endpoint_select!(), " AND e.id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(endpoint_from_row)
            .transpose()
    }

    async fn remove_webhook(&self, id: i64, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let removed = sqlx::query(
            "UPDATE webhook_endpoints SET removed_ms = $1 WHERE id = $2 AND removed_ms IS NULL",
        )
        .bind(millis(now))
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            > 0;
        sqlx::query(
            "UPDATE webhook_deliveries SET status = 'cancelled', done_ms = $1 \
             WHERE endpoint_id = $2 AND status = 'pending'",
        )
        .bind(millis(now))
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(removed)
    }

    async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        limit: u32,
        claimant: &str,
        until: DateTime<Utc>,
    ) -> Result<Vec<DueDelivery>, StoreError> {
        // The oldest pending row of each (endpoint, room) is the only candidate of its room: while
        // it is claimed, nothing after it is (so each room's events arrive in order). Two nodes
        // asking at once lock different rows or skip the locked ones; the conditions are checked
        // again on the locked row.
        let rows = sqlx::query(
            "WITH heads AS ( \
               SELECT DISTINCT ON (endpoint_id, room_name) id, next_attempt_ms, claimed_until_ms \
               FROM webhook_deliveries WHERE status = 'pending' \
               ORDER BY endpoint_id, room_name, id), \
             due AS ( \
               SELECT id FROM heads WHERE next_attempt_ms <= $1 \
                 AND (claimed_until_ms IS NULL OR claimed_until_ms <= $1) \
               ORDER BY id LIMIT $2), \
             locked AS ( \
               SELECT d.id FROM webhook_deliveries d JOIN due ON due.id = d.id \
               WHERE d.status = 'pending' \
                 AND (d.claimed_until_ms IS NULL OR d.claimed_until_ms <= $1) \
               FOR UPDATE OF d SKIP LOCKED) \
             UPDATE webhook_deliveries d SET claimed_by = $3, claimed_until_ms = $4 \
             FROM locked, webhook_endpoints e \
             WHERE d.id = locked.id AND e.id = d.endpoint_id \
             RETURNING d.id, d.endpoint_id, e.url, e.secret, d.event_type, d.room_name, d.body, \
               d.attempts",
        )
        .bind(millis(now))
        .bind(i64::from(limit))
        .bind(claimant)
        .bind(millis(until))
        .fetch_all(&self.pool)
        .await?;
        let mut due = rows
            .iter()
            .map(|row| {
                Ok(DueDelivery {
                    id: row.try_get("id")?,
                    endpoint_id: row.try_get("endpoint_id")?,
                    url: row.try_get("url")?,
                    secret: row.try_get("secret")?,
                    event_type: row.try_get("event_type")?,
                    room_name: row.try_get("room_name")?,
                    body: row.try_get("body")?,
                    attempts: row.try_get::<i64, _>("attempts")?.try_into().unwrap_or(0),
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        due.sort_by_key(|d| d.id);
        Ok(due)
    }

    async fn release_claims(&self) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE webhook_deliveries SET claimed_by = NULL, claimed_until_ms = NULL \
             WHERE status = 'pending' AND claimed_by IS NOT NULL",
        )
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    async fn next_delivery_at(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let next: Option<i64> = sqlx::query_scalar(
            "SELECT MIN(GREATEST(next_attempt_ms, coalesce(claimed_until_ms, 0))) \
             FROM webhook_deliveries WHERE status = 'pending'",
        )
        .fetch_one(&self.pool)
        .await?;
        next.map(from_millis).transpose()
    }

    async fn finish_delivery(
        &self,
        id: i64,
        attempts: u32,
        outcome: &DeliveryOutcome,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let (status, next, error) = match outcome {
            DeliveryOutcome::Delivered => ("delivered", None, None),
            DeliveryOutcome::Retry { at, error } => ("pending", Some(millis(*at)), Some(error)),
            DeliveryOutcome::Failed { error } => ("failed", None, Some(error)),
        };
        sqlx::query(
            "UPDATE webhook_deliveries SET status = $1, attempts = $2, \
             next_attempt_ms = coalesce($3, next_attempt_ms), last_error = $4, \
             done_ms = CASE WHEN $1 = 'pending' THEN NULL ELSE $5 END, \
             claimed_by = NULL, claimed_until_ms = NULL \
             WHERE id = $6 AND status = 'pending'",
        )
        .bind(status)
        .bind(i64::from(attempts))
        .bind(next)
        .bind(error)
        .bind(millis(now))
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn delivery_counts(&self) -> Result<DeliveryCounts, StoreError> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT status, COUNT(*) FROM webhook_deliveries GROUP BY status")
                .fetch_all(&self.pool)
                .await?;
        let mut counts = DeliveryCounts::default();
        for (status, n) in rows {
            let n = u64::try_from(n).unwrap_or(0);
            match status.as_str() {
                "pending" => counts.pending = n,
                "delivered" => counts.delivered = n,
                "failed" => counts.failed = n,
                _ => {}
            }
        }
        Ok(counts)
    }

    async fn prune_deliveries(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "DELETE FROM webhook_deliveries WHERE status != 'pending' AND done_ms < $1",
        )
        .bind(millis(cutoff))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }
}

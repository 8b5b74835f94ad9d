//! Webhook endpoints and the delivery outbox in SQLite.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::{SqliteStore, from_millis, millis};
use crate::store::{
    DeliveryCounts, DeliveryOutcome, DueDelivery, StoreError, WebhookEndpoint, WebhookStore,
};

fn endpoint_from_row(row: &SqliteRow) -> Result<WebhookEndpoint, StoreError> {
    let events: Option<String> = row.try_get("events")?;
    let mut events: Vec<String> = events
        .unwrap_or_default()
        .split(',')
        .filter(|e| !e.is_empty())
        .map(str::to_owned)
        .collect();
    events.sort();
    Ok(WebhookEndpoint {
        id: row.try_get("id")?,
        url: row.try_get("url")?,
        events,
        secret: row.try_get("secret")?,
        created_at: from_millis(row.try_get("created_ms")?)?,
    })
}

/// Live endpoints with their subscriptions; a literal so queries are built with `concat!`.
macro_rules! endpoint_select {
    () => {
        "SELECT e.id, e.url, e.secret, e.created_ms, \
         (SELECT group_concat(event_type, ',') FROM webhook_endpoint_events WHERE endpoint_id = e.id) \
         AS events FROM webhook_endpoints e WHERE e.removed_ms IS NULL"
    };
}

#[async_trait]
impl WebhookStore for SqliteStore {
    async fn create_webhook(
        &self,
        url: &str,
        events: &[String],
        secret: &str,
        now: DateTime<Utc>,
    ) -> Result<WebhookEndpoint, StoreError> {
        let mut tx = self.writer.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO webhook_endpoints (url, secret, created_ms) VALUES (?, ?, ?) RETURNING id",
        )
        .bind(url)
        .bind(secret)
        .bind(millis(now))
        .fetch_one(&mut *tx)
        .await?;
        for event in events {
            sqlx::query(
                "INSERT OR IGNORE INTO webhook_endpoint_events (endpoint_id, event_type) VALUES (?, ?)",
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
            .fetch_all(&self.readers)
            .await?;
        rows.iter().map(endpoint_from_row).collect()
    }

    async fn get_webhook(&self, id: i64) -> Result<Option<WebhookEndpoint>, StoreError> {
        sqlx::query(concat!(endpoint_select!(), " AND e.id = ?"))
            .bind(id)
            .fetch_optional(&self.readers)
            .await?
            .as_ref()
            .map(endpoint_from_row)
            .transpose()
    }

    async fn remove_webhook(&self, id: i64, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let mut tx = self.writer.begin().await?;
        let removed = sqlx::query(
            "UPDATE webhook_endpoints SET removed_ms = ? WHERE id = ? AND removed_ms IS NULL",
        )
        .bind(millis(now))
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            > 0;
        sqlx::query(
            "UPDATE webhook_deliveries SET status = 'cancelled', done_ms = ? \
             WHERE endpoint_id = ? AND status = 'pending'",
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
        // One writer: the claim and the read need no lock beyond the transaction.
        let mut tx = self.writer.begin().await?;
        let claimed: Vec<i64> = sqlx::query_scalar(
            "UPDATE webhook_deliveries SET claimed_by = ?1, claimed_until_ms = ?2 \
             WHERE id IN (SELECT d.id FROM webhook_deliveries d \
                WHERE d.id IN (SELECT MIN(id) FROM webhook_deliveries WHERE status = 'pending' \
                               GROUP BY endpoint_id, room_name) \
                  AND d.next_attempt_ms <= ?3 \
                  AND (d.claimed_until_ms IS NULL OR d.claimed_until_ms <= ?3) \
                ORDER BY d.id LIMIT ?4) \
             RETURNING id",
        )
        .bind(claimant)
        .bind(millis(until))
        .bind(millis(now))
        .bind(i64::from(limit))
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
            due.push(DueDelivery {
                id: row.try_get("id")?,
                endpoint_id: row.try_get("endpoint_id")?,
                url: row.try_get("url")?,
                secret: row.try_get("secret")?,
                event_type: row.try_get("event_type")?,
                room_name: row.try_get("room_name")?,
                body: row.try_get("body")?,
                attempts: row.try_get::<i64, _>("attempts")?.try_into().unwrap_or(0),
            });
        }
        tx.commit().await?;
        due.sort_by_key(|d| d.id);
        Ok(due)
    }

    async fn release_claims(&self) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE webhook_deliveries SET claimed_by = NULL, claimed_until_ms = NULL \
             WHERE status = 'pending' AND claimed_by IS NOT NULL",
        )
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected())
    }

    async fn next_delivery_at(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let next: Option<i64> = sqlx::query_scalar(
            "SELECT MIN(max(next_attempt_ms, coalesce(claimed_until_ms, 0))) \
             FROM webhook_deliveries WHERE status = 'pending'",
        )
        .fetch_one(&self.writer)
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
            "UPDATE webhook_deliveries SET status = ?, attempts = ?, \
             next_attempt_ms = coalesce(?, next_attempt_ms), last_error = ?, \
             done_ms = CASE WHEN ? = 'pending' THEN NULL ELSE ? END, \
             claimed_by = NULL, claimed_until_ms = NULL \
             WHERE id = ? AND status = 'pending'",
        )
        .bind(status)
        .bind(i64::from(attempts))
        .bind(next)
        .bind(error)
        .bind(status)
        .bind(millis(now))
        .bind(id)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn delivery_counts(&self) -> Result<DeliveryCounts, StoreError> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT status, COUNT(*) FROM webhook_deliveries GROUP BY status")
                .fetch_all(&self.readers)
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
        let done =
            sqlx::query("DELETE FROM webhook_deliveries WHERE status != 'pending' AND done_ms < ?")
                .bind(millis(cutoff))
                .execute(&self.writer)
                .await?;
        Ok(done.rows_affected())
    }
}

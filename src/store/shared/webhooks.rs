//! Webhook endpoints and the delivery outbox, in either engine. Each engine claims due deliveries its
//! own way (`EngineWebhooks`): PostgreSQL's many nodes lock rows, SQLite's one writer needs no lock.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{Database, Encode, Executor, IntoArguments, Type};

use super::SqlEngine;
use super::columns::Columns;
use crate::store::{
    DeliveryCounts, DeliveryOutcome, DueDelivery, FinishedAttempt, LiveEndpoint, StoreError,
    WebhookEndpoint, WebhookStore, millis,
};

/// What an engine does its own way.
#[async_trait]
pub(crate) trait EngineWebhooks {
    /// `WebhookStore::claim_deliveries`.
    async fn claim_due(
        &self,
        endpoint: i64,
        now: DateTime<Utc>,
        limit: u32,
        claimant: &str,
        until: DateTime<Utc>,
    ) -> Result<Vec<DueDelivery>, StoreError>;
    /// Marks these pending deliveries done (`delivered` or `failed`, each with its attempts and
    /// error) at `now` and releases their claims, at once.
    async fn finish_done(&self, done: &[Done<'_>], now: DateTime<Utc>) -> Result<(), StoreError>;
}

/// A delivery that needs no more attempts (`EngineWebhooks::finish_done`).
pub(crate) struct Done<'a> {
    pub id: i64,
    pub attempts: i64,
    pub status: &'static str,
    pub error: Option<&'a str>,
}

/// The deliveries of endpoint `$5` a claim takes at time `$1`, at most `$2`, earliest due first:
/// each must be its room's oldest pending (so a room's events go in order, one at a time), due, and
/// held by no unexpired claim. It walks the endpoint's due rows (`webhook_deliveries_due`) and stops
/// at `$2`. A literal, for each engine's claim to build on with `concat!`.
macro_rules! claimable {
    () => {
        "SELECT d.id FROM webhook_deliveries d \
         WHERE d.endpoint_id = $5 AND d.status = 'pending' AND d.next_attempt_ms <= $1 \
           AND (d.claimed_until_ms IS NULL OR d.claimed_until_ms <= $1) \
           AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p \
             WHERE p.status = 'pending' AND p.endpoint_id = d.endpoint_id \
               AND p.room_name = d.room_name AND p.id < d.id) \
         ORDER BY d.next_attempt_ms, d.id LIMIT $2"
    };
}
pub(crate) use claimable;

/// Live endpoints with their subscriptions (`string_agg`, which both engines have); a literal so
/// queries are built with `concat!`.
macro_rules! endpoint_select {
    () => {
        "SELECT e.id, e.url, e.secret, e.created_ms, \
         (SELECT string_agg(event_type, ',') FROM webhook_endpoint_events WHERE endpoint_id = e.id) \
         AS events FROM webhook_endpoints e WHERE e.removed_ms IS NULL"
    };
}

fn endpoint_from_row(row: &impl Columns) -> Result<WebhookEndpoint, StoreError> {
    let mut events: Vec<String> = row
        .maybe_text("events")?
        .unwrap_or_default()
        .split(',')
        .filter(|e| !e.is_empty())
        .map(str::to_owned)
        .collect();
    events.sort();
    Ok(WebhookEndpoint {
        id: row.int("id")?,
        url: row.text("url")?,
        events,
        secret: row.text("secret")?,
        created_at: row.time("created_ms")?,
    })
}

/// Claimed deliveries, oldest first, from rows of `id, endpoint_id, url, secret, event_type,
/// room_name, body, attempts` (an `UPDATE ... RETURNING` gives them in no set order).
pub(crate) fn dues_from_rows(rows: &[impl Columns]) -> Result<Vec<DueDelivery>, StoreError> {
    let mut due = rows
        .iter()
        .map(due_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    due.sort_by_key(|d| d.id);
    Ok(due)
}

fn due_from_row(row: &impl Columns) -> Result<DueDelivery, StoreError> {
    Ok(DueDelivery {
        id: row.int("id")?,
        endpoint_id: row.int("endpoint_id")?,
        url: row.text("url")?,
        secret: row.text("secret")?,
        event_type: row.text("event_type")?,
        room_name: row.text("room_name")?,
        body: row.text("body")?,
        attempts: row.int("attempts")?.try_into().unwrap_or(0),
    })
}

#[async_trait]
impl<S> WebhookStore for S
where
    S: SqlEngine + EngineWebhooks,
    for<'c> &'c sqlx::Pool<S::Db>: Executor<'c, Database = S::Db>,
    for<'c> &'c mut <S::Db as Database>::Connection: Executor<'c, Database = S::Db>,
    <S::Db as Database>::Arguments: IntoArguments<S::Db>,
    for<'a> &'a str: Encode<'a, S::Db> + Type<S::Db>,
    for<'a> &'a String: Encode<'a, S::Db> + Type<S::Db>,
    for<'a> Option<&'a String>: Encode<'a, S::Db> + Type<S::Db>,
    for<'a> i64: Encode<'a, S::Db> + Type<S::Db>,
    for<'a> Option<i64>: Encode<'a, S::Db> + Type<S::Db>,
    <S::Db as Database>::Row: Columns,
{
    async fn create_webhook(
        &self,
        url: &str,
        events: &[String],
        secret: &str,
        now: DateTime<Utc>,
    ) -> Result<WebhookEndpoint, StoreError> {
        let mut tx = self.writes().begin().await?;
        let id: i64 = sqlx::query(
            "INSERT INTO webhook_endpoints (url, secret, created_ms) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(url)
        .bind(secret)
        .bind(millis(now))
        .fetch_one(&mut *tx)
        .await?
        .int("id")?;
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
            .fetch_all(self.reads())
            .await?;
        rows.iter().map(endpoint_from_row).collect()
    }

    async fn get_webhook(&self, id: i64) -> Result<Option<WebhookEndpoint>, StoreError> {
        sqlx::query(concat!(endpoint_select!(), " AND e.id = $1"))
            .bind(id)
            .fetch_optional(self.reads())
            .await?
            .as_ref()
            .map(endpoint_from_row)
            .transpose()
    }

    async fn remove_webhook(&self, id: i64, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let mut tx = self.writes().begin().await?;
        let removed = sqlx::query(
            "UPDATE webhook_endpoints SET removed_ms = $1 WHERE id = $2 AND removed_ms IS NULL",
        )
        .bind(millis(now))
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let removed = S::rows_affected(&removed) > 0;
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

    async fn live_endpoints(&self, now: DateTime<Utc>) -> Result<Vec<LiveEndpoint>, StoreError> {
        // One probe of the due index per endpoint.
        let rows = sqlx::query(
            "SELECT e.id, EXISTS (SELECT 1 FROM webhook_deliveries d \
               WHERE d.endpoint_id = e.id AND d.status = 'pending' AND d.next_attempt_ms <= $1) \
             AS has_due FROM webhook_endpoints e WHERE e.removed_ms IS NULL ORDER BY e.id",
        )
        .bind(millis(now))
        .fetch_all(self.writes())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(LiveEndpoint {
                    id: row.int("id")?,
                    has_due: row.flag("has_due")?,
                })
            })
            .collect()
    }

    async fn claim_deliveries(
        &self,
        endpoint: i64,
        now: DateTime<Utc>,
        limit: u32,
        claimant: &str,
        until: DateTime<Utc>,
    ) -> Result<Vec<DueDelivery>, StoreError> {
        self.claim_due(endpoint, now, limit, claimant, until).await
    }

    async fn release_claims(&self) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE webhook_deliveries SET claimed_by = NULL, claimed_until_ms = NULL \
             WHERE status = 'pending' AND claimed_by IS NOT NULL",
        )
        .execute(self.writes())
        .await?;
        Ok(S::rows_affected(&done))
    }

    async fn next_delivery_at(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        // Each MIN reads one end of its partial index. A claim's end can come before its attempt's
        // time; waking then finds nothing, which costs a scan and nothing else.
        let row = sqlx::query(
            "SELECT MIN(t) AS next FROM ( \
               SELECT MIN(next_attempt_ms) AS t FROM webhook_deliveries \
               WHERE status = 'pending' AND next_attempt_ms > $1 \
               UNION ALL \
               SELECT MIN(claimed_until_ms) AS t FROM webhook_deliveries \
               WHERE status = 'pending' AND claimed_until_ms IS NOT NULL AND claimed_until_ms > $1) \
             AS times",
        )
        .bind(millis(now))
        .fetch_one(self.writes())
        .await?;
        row.maybe_time("next")
    }

    async fn finish_deliveries(
        &self,
        finished: &[FinishedAttempt],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut done = Vec::with_capacity(finished.len());
        for attempt in finished {
            let (status, error) = match &attempt.outcome {
                DeliveryOutcome::Delivered => ("delivered", None),
                DeliveryOutcome::Failed { error } => ("failed", Some(error.as_str())),
                DeliveryOutcome::Retry { at, error } => {
                    // Few: one at a time, each with its room's later events.
                    let retry_at = millis(*at);
                    let mut tx = self.writes().begin().await?;
                    sqlx::query(
                        "UPDATE webhook_deliveries SET attempts = $1, next_attempt_ms = $2, \
                         last_error = $3, claimed_by = NULL, claimed_until_ms = NULL \
                         WHERE id = $4 AND status = 'pending'",
                    )
                    .bind(i64::from(attempt.attempts))
                    .bind(retry_at)
                    .bind(error)
                    .bind(attempt.id)
                    .execute(&mut *tx)
                    .await?;
                    // The room's later events cannot go before this one: they are not due before
                    // its retry either, so a claim's walk over due rows skips them (a dead
                    // receiver's backlog would otherwise be read at every claim). Only a hint: a
                    // claim still takes a row only when it is its room's oldest. New rows get it
                    // when they are queued (facts). (`+ 0` keeps SQLite's planner on the room's
                    // index, not on the endpoint's due times.)
                    sqlx::query(
                        "UPDATE webhook_deliveries SET next_attempt_ms = $1 \
                         WHERE status = 'pending' AND attempts = 0 AND next_attempt_ms + 0 < $1 \
                           AND id > $2 \
                           AND endpoint_id = \
                             (SELECT endpoint_id FROM webhook_deliveries WHERE id = $2) \
                           AND room_name = \
                             (SELECT room_name FROM webhook_deliveries WHERE id = $2)",
                    )
                    .bind(retry_at)
                    .bind(attempt.id)
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    continue;
                }
            };
            done.push(Done {
                id: attempt.id,
                attempts: i64::from(attempt.attempts),
                status,
                error,
            });
        }
        if done.is_empty() {
            return Ok(());
        }
        self.finish_done(&done, now).await
    }

    async fn delivery_counts(&self) -> Result<DeliveryCounts, StoreError> {
        let rows =
            sqlx::query("SELECT status, COUNT(*) AS n FROM webhook_deliveries GROUP BY status")
                .fetch_all(self.reads())
                .await?;
        let mut counts = DeliveryCounts::default();
        for row in rows {
            let status = row.text("status")?;
            let n = u64::try_from(row.int("n")?).unwrap_or(0);
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
        .execute(self.writes())
        .await?;
        Ok(S::rows_affected(&done))
    }
}

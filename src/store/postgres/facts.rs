//! Recording room facts in PostgreSQL: the event log, the insights tables derived from it and the
//! webhook outbox, in one transaction per batch.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::PostgresStore;
use crate::meeting::facts::FactId;
use crate::store::shared::{EngineFacts, derive_insights};
use crate::store::{RecordedFact, StoreError, millis};

#[async_trait]
impl EngineFacts for PostgresStore {
    async fn record_batch(&self, facts: &[RecordedFact]) -> Result<(), StoreError> {
        // Most batches (knocks, verdicts) touch no insights table: then the batch is one statement,
        // one round trip.
        if !facts
            .iter()
            .any(|recorded| recorded.fact.kind.changes_attendance())
        {
            record(&self.pool, facts).await?;
            self.renew_outbox_statistics(facts.len()).await;
            return Ok(());
        }
        let mut tx = self.pool.begin().await?;
        let written_now = record(&mut *tx, facts).await?;
        for recorded in facts {
            // A fact recorded before (its id not written now) changed the insights then.
            if recorded
                .id
                .as_ref()
                .is_none_or(|id| written_now.contains(id.as_str()))
            {
                derive_insights::<sqlx::Postgres>(&mut tx, &recorded.fact).await?;
            }
        }
        tx.commit().await?;
        self.renew_outbox_statistics(facts.len()).await;
        Ok(())
    }
}

/// Facts recorded since the outbox's statistics were last renewed, and when that was.
#[derive(Default)]
pub(super) struct Renewal {
    facts: usize,
    at: Option<Instant>,
}

/// Facts (each perhaps an outbox row per endpoint) after which the statistics are renewed...
const RENEW_AFTER_FACTS: usize = 1_000;
/// ...but not more often than this.
const RENEW_AT_MOST_EVERY: Duration = Duration::from_secs(10);

impl PostgresStore {
    /// Renews the outbox's statistics when many facts were recorded since this node last did.
    /// PostgreSQL plans the claim and the outbox's insert from them, and autovacuum renews them a
    /// minute apart at best: taken while nothing was pending, they say every pending row is rare,
    /// and a backlog that grows meanwhile (a burst of events, a slow receiver) was read whole for
    /// each row a claim or an insert looked at. The cluster bench's claims read 41,000 buffers
    /// (265 ms) with 15,000 pending, and deliveries fell to about 100 a second; after `ANALYZE`,
    /// 200 buffers (1 ms). `ANALYZE` samples at most 30,000 rows and blocks no read or write.
    async fn renew_outbox_statistics(&self, recorded: usize) {
        {
            let mut renewal = self
                .outbox_statistics
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            renewal.facts += recorded;
            let recent = renewal
                .at
                .is_some_and(|at| at.elapsed() < RENEW_AT_MOST_EVERY);
            if renewal.facts < RENEW_AFTER_FACTS || recent {
                return;
            }
            *renewal = Renewal {
                facts: 0,
                at: Some(Instant::now()),
            };
        }
        if let Err(err) = sqlx::query("ANALYZE webhook_deliveries")
            .execute(&self.pool)
            .await
        {
            tracing::warn!(error = %err, "renewing the webhook outbox's statistics failed");
        }
    }
}

/// The batch's events and their outbox rows (one per fact and subscribed endpoint), in one
/// statement: the facts go as arrays, one parameter per column, however many there are. Both tables
/// are numbered in the facts' order (outbox rows then by endpoint), so deliveries keep each room's
/// order. Returns the ids of the facts written now (a fact with an id recorded before is left out).
async fn record<'c>(
    db: impl sqlx::PgExecutor<'c>,
    facts: &[RecordedFact],
) -> Result<HashSet<String>, StoreError> {
    let mut c = Columns::default();
    for RecordedFact {
        fact,
        id,
        webhook_body,
    } in facts
    {
        let client = fact.client.as_ref();
        c.meeting.push(fact.meeting_id.0);
        c.room.push(fact.room_name.as_str());
        c.kind.push(fact.kind.event_type());
        c.at.push(millis(fact.at));
        c.client_id.push(client.map(|c| c.client_id.as_str()));
        c.role.push(client.and_then(|c| c.role).map(|r| r.as_str()));
        c.display_name.push(client.map(|c| c.display_name.as_str()));
        c.external_id
            .push(client.and_then(|c| c.external_id.as_deref()));
        c.metadata.push(client.and_then(|c| c.metadata.as_deref()));
        c.message.push(fact.message.as_deref());
        c.total.push(i64::from(fact.counts.total));
        c.by_role.push(fact.counts.by_role_json());
        c.body.push(webhook_body);
        c.fact_id.push(id.as_ref().map(FactId::as_str));
    }
    let written_now: Vec<String> = sqlx::query_scalar(RECORD)
        .bind(c.meeting)
        .bind(c.room)
        .bind(c.kind)
        .bind(c.at)
        .bind(c.client_id)
        .bind(c.role)
        .bind(c.display_name)
        .bind(c.external_id)
        .bind(c.metadata)
        .bind(c.message)
        .bind(c.total)
        .bind(c.by_role)
        .bind(c.body)
        .bind(c.fact_id)
        .fetch_all(db)
        .await?;
    Ok(written_now.into_iter().collect())
}

/// A batch of facts, column by column (`RECORD`'s parameters, in its order).
#[derive(Default)]
struct Columns<'a> {
    meeting: Vec<i64>,
    room: Vec<&'a str>,
    kind: Vec<&'static str>,
    at: Vec<i64>,
    client_id: Vec<Option<&'a str>>,
    role: Vec<Option<&'static str>>,
    display_name: Vec<Option<&'a str>>,
    external_id: Vec<Option<&'a str>>,
    metadata: Vec<Option<&'a str>>,
    message: Vec<Option<&'a str>>,
    total: Vec<i64>,
    by_role: Vec<String>,
    body: Vec<&'a str>,
    fact_id: Vec<Option<&'a str>>,
}

const RECORD: &str = "\
WITH f AS (
  SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[],
                       $7::text[], $8::text[], $9::text[], $10::text[], $11::bigint[], $12::text[],
                       $13::text[], $14::text[])
    WITH ORDINALITY AS f (meeting_id, room_name, kind, at_ms, client_id, role, display_name,
                          external_id, metadata, message, num_clients, clients_by_role, body,
                          fact_id, seq)
), events AS (
  INSERT INTO room_events (meeting_id, room_name, kind, at_ms, client_id, role, display_name,
                           external_id, metadata, message, num_clients, clients_by_role, fact_id)
  SELECT meeting_id, room_name, kind, at_ms, client_id, role, display_name, external_id, metadata,
         message, num_clients, clients_by_role, fact_id
  FROM f ORDER BY seq
  ON CONFLICT (fact_id) WHERE fact_id IS NOT NULL DO NOTHING
  RETURNING fact_id
), outbox AS (
  -- A row whose room's oldest is waiting for a retry is not due before it (finish_deliveries).
  INSERT INTO webhook_deliveries (endpoint_id, event_type, room_name, body, next_attempt_ms,
                                  created_ms)
  SELECT e.id, f.kind, f.room_name, f.body,
         GREATEST(f.at_ms, coalesce((
           SELECT CASE WHEN h.attempts > 0 THEN h.next_attempt_ms END FROM webhook_deliveries h
           WHERE h.status = 'pending' AND h.endpoint_id = e.id AND h.room_name = f.room_name
           ORDER BY h.id LIMIT 1), 0)),
         f.at_ms
  FROM f
  JOIN webhook_endpoint_events s ON s.event_type = f.kind
  JOIN webhook_endpoints e ON e.id = s.endpoint_id AND e.removed_ms IS NULL
  WHERE f.fact_id IS NULL OR f.fact_id IN (SELECT fact_id FROM events)
  ORDER BY f.seq, e.id
)
SELECT fact_id FROM events WHERE fact_id IS NOT NULL";

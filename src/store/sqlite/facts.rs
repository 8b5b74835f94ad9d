//! Recording room facts: the event log, the insights tables derived from it, and the webhook outbox,
//! all in one transaction per batch.

use std::collections::HashSet;

use async_trait::async_trait;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use super::SqliteStore;
use crate::meeting::facts::FactId;
use crate::store::shared::{EngineFacts, derive_insights};
use crate::store::{RecordedFact, StoreError, millis};

#[async_trait]
impl EngineFacts for SqliteStore {
    async fn record_batch(&self, facts: &[RecordedFact]) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await?;
        let written_before = written_before(&mut tx, facts).await?;
        let facts: Vec<&RecordedFact> = facts
            .iter()
            .filter(|recorded| {
                !recorded
                    .id
                    .as_ref()
                    .is_some_and(|id| written_before.contains(id.as_str()))
            })
            .collect();
        // The events and their webhook rows: two statements sent as one query, one round trip to
        // sqlx's SQLite thread (its arguments are bound to the statements in turn). 13 and 5 values
        // a row; 2,000 rows keep each statement well under SQLite's 32,766-variable limit.
        for chunk in facts.chunks(2000) {
            let mut insert = QueryBuilder::<Sqlite>::new("");
            append_events(&mut insert, chunk);
            insert.push("; ");
            queue_webhooks(&mut insert, chunk);
            insert.build().execute(&mut *tx).await?;
        }
        for recorded in facts {
            derive_insights::<sqlx::Sqlite>(&mut tx, &recorded.fact).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    fn writable(&self) -> Result<(), StoreError> {
        let checkpoint = self
            .checkpoint_failure
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        match checkpoint {
            Some(why) => Err(StoreError::Unavailable(format!(
                "the database cannot be checkpointed: {why}"
            ))),
            None => Ok(()),
        }
    }
}

/// The ids among `facts` already in the event log (the writer is this store's only one, so they
/// stay so until the transaction ends).
async fn written_before(
    tx: &mut SqliteConnection,
    facts: &[RecordedFact],
) -> Result<HashSet<String>, StoreError> {
    let mut written = HashSet::new();
    let ids: Vec<&str> = facts
        .iter()
        .filter_map(|recorded| recorded.id.as_ref().map(FactId::as_str))
        .collect();
    for chunk in ids.chunks(2000) {
        let mut query =
            QueryBuilder::<Sqlite>::new("SELECT fact_id FROM room_events WHERE fact_id IN (");
        let mut list = query.separated(", ");
        for id in chunk {
            list.push_bind(*id);
        }
        query.push(")");
        let found: Vec<String> = query.build_query_scalar().fetch_all(&mut *tx).await?;
        written.extend(found);
    }
    Ok(written)
}

fn append_events(insert: &mut QueryBuilder<Sqlite>, chunk: &[&RecordedFact]) {
    insert.push(
        "INSERT INTO room_events (meeting_id, room_name, kind, at_ms, client_id, role, \
         display_name, external_id, metadata, message, num_clients, clients_by_role, fact_id) ",
    );
    insert.push_values(chunk, |mut row, recorded| {
        let fact = &recorded.fact;
        let client = fact.client.as_ref();
        row.push_bind(fact.meeting_id.0)
            .push_bind(fact.room_name.as_str().to_owned())
            .push_bind(fact.kind.event_type())
            .push_bind(millis(fact.at))
            .push_bind(client.map(|c| c.client_id.as_str().to_owned()))
            .push_bind(client.and_then(|c| c.role).map(|r| r.as_str()))
            .push_bind(client.map(|c| c.display_name.clone()))
            .push_bind(client.and_then(|c| c.external_id.clone()))
            .push_bind(client.and_then(|c| c.metadata.clone()))
            .push_bind(fact.message.clone())
            .push_bind(i64::from(fact.counts.total))
            .push_bind(fact.counts.by_role_json())
            .push_bind(recorded.id.as_ref().map(|id| id.as_str().to_owned()));
    });
}

/// The webhook outbox rows of a chunk of facts (one per fact and endpoint subscribed to its kind),
/// in the facts' order, in one statement: a statement per fact was a round trip to SQLite's thread
/// each, the most of a batch's. A row whose room's oldest is waiting for a retry is not due before
/// it (`WebhookStore::finish_deliveries`).
fn queue_webhooks(insert: &mut QueryBuilder<Sqlite>, chunk: &[&RecordedFact]) {
    insert.push("WITH batch (n, event_type, room_name, body, at_ms) AS (");
    insert.push_values(chunk.iter().enumerate(), |mut row, (n, recorded)| {
        let fact = &recorded.fact;
        row.push_bind(n as i64)
            .push_bind(fact.kind.event_type())
            .push_bind(fact.room_name.as_str())
            .push_bind(recorded.webhook_body.as_str())
            .push_bind(millis(fact.at));
    });
    insert.push(
        ") INSERT INTO webhook_deliveries (endpoint_id, event_type, room_name, body, \
         next_attempt_ms, created_ms) \
         SELECT e.id, b.event_type, b.room_name, b.body, \
           max(b.at_ms, coalesce((SELECT CASE WHEN h.attempts > 0 THEN h.next_attempt_ms END \
             FROM webhook_deliveries h WHERE h.status = 'pending' AND h.endpoint_id = e.id \
               AND h.room_name = b.room_name ORDER BY h.id LIMIT 1), 0)), \
           b.at_ms FROM batch b \
         JOIN webhook_endpoint_events s ON s.event_type = b.event_type \
         JOIN webhook_endpoints e ON e.id = s.endpoint_id \
         WHERE e.removed_ms IS NULL ORDER BY b.n, e.id",
    );
}

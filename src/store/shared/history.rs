//! What insights' history keeps, forgotten: what ended before a cutoff (`--insights-retention-days`),
//! or everything of one person (by the external id their integrator gave them). Rows are found by
//! reads (on SQLite, a scan that takes no write lock however far it goes) and deleted by their ids,
//! so the room events being written meanwhile wait for no long delete.

use sqlx::{Database, Encode, Executor, IntoArguments, QueryBuilder, Type};

use super::SqlEngine;
use super::columns::Columns;
use crate::store::StoreError;
use crate::store::insights::Forgotten;

/// Forgets what ended before `cutoff` (milliseconds): room events that happened then, stays and
/// sessions that ended then; how many rows.
pub(super) async fn prune<S>(store: &S, cutoff: i64) -> Result<u64, StoreError>
where
    S: SqlEngine,
    for<'c> &'c sqlx::Pool<S::Db>: Executor<'c, Database = S::Db>,
    <S::Db as Database>::Arguments: IntoArguments<S::Db>,
    for<'a> i64: Encode<'a, S::Db> + Type<S::Db>,
    <S::Db as Database>::Row: Columns,
{
    let events = prune_oldest(store, &OLD_EVENTS, cutoff).await?;
    let stays = prune_oldest(store, &OLD_STAYS, cutoff).await?;
    let sessions = sqlx::query("DELETE FROM room_sessions WHERE ended_ms < $1")
        .bind(cutoff)
        .execute(store.writes())
        .await?;
    Ok(events + stays + S::rows_affected(&sessions))
}

/// Old rows of a table of many whose `id` rises with time: how to find a batch of them (`$1`: the
/// cutoff) and how to delete a batch found (`$2`, `$3`: its first and last ids).
struct OldRows {
    find: &'static str,
    delete: &'static str,
}

/// The finds' `LIMIT`: a find that gives fewer was the last.
const BATCH: usize = 1000;

const OLD_EVENTS: OldRows = OldRows {
    find: "SELECT id FROM room_events WHERE at_ms < $1 ORDER BY id LIMIT 1000",
    delete: "DELETE FROM room_events WHERE at_ms < $1 AND id >= $2 AND id <= $3",
};

const OLD_STAYS: OldRows = OldRows {
    find: "SELECT id FROM participations WHERE left_ms < $1 ORDER BY id LIMIT 1000",
    delete: "DELETE FROM participations WHERE left_ms < $1 AND id >= $2 AND id <= $3",
};

/// Deletes `old` rows a batch at a time, each found by a read and deleted by its range of ids.
async fn prune_oldest<S>(store: &S, old: &OldRows, cutoff: i64) -> Result<u64, StoreError>
where
    S: SqlEngine,
    for<'c> &'c sqlx::Pool<S::Db>: Executor<'c, Database = S::Db>,
    <S::Db as Database>::Arguments: IntoArguments<S::Db>,
    for<'a> i64: Encode<'a, S::Db> + Type<S::Db>,
    <S::Db as Database>::Row: Columns,
{
    let mut removed = 0;
    loop {
        let rows = sqlx::query(old.find)
            .bind(cutoff)
            .fetch_all(store.reads())
            .await?;
        let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
            return Ok(removed);
        };
        let done = sqlx::query(old.delete)
            .bind(cutoff)
            .bind(first.int("id")?)
            .bind(last.int("id")?)
            .execute(store.writes())
            .await?;
        removed += S::rows_affected(&done);
        if rows.len() < BATCH {
            return Ok(removed);
        }
    }
}

/// Forgets one person's history: their stays (names, browsers), the room events that name them or
/// their clients (knocks included, of a knock never let in too), and their network samples. What
/// the rooms say of them after this is recorded as before.
pub(super) async fn forget<S>(store: &S, external_id: &str) -> Result<Forgotten, StoreError>
where
    S: SqlEngine,
    for<'c> &'c sqlx::Pool<S::Db>: Executor<'c, Database = S::Db>,
    for<'c> &'c mut <S::Db as Database>::Connection: Executor<'c, Database = S::Db>,
    <S::Db as Database>::Arguments: IntoArguments<S::Db>,
    for<'a> String: Encode<'a, S::Db> + Type<S::Db>,
    for<'a> i64: Encode<'a, S::Db> + Type<S::Db>,
    <S::Db as Database>::Row: Columns,
{
    let clients =
        sqlx::query("SELECT DISTINCT client_id FROM participations WHERE external_id = $1")
            .bind(external_id.to_owned())
            .fetch_all(store.reads())
            .await?
            .iter()
            .map(|row| row.text("client_id"))
            .collect::<Result<Vec<String>, _>>()?;
    let mut find = QueryBuilder::<S::Db>::new("SELECT id FROM room_events WHERE external_id = ");
    find.push_bind(external_id.to_owned());
    in_list(&mut find, " OR client_id IN (", &clients);
    let events = find
        .build()
        .fetch_all(store.reads())
        .await?
        .iter()
        .map(|row| row.int("id"))
        .collect::<Result<Vec<i64>, _>>()?;

    let mut forgotten = Forgotten::default();
    let mut tx = store.writes().begin().await?;
    for ids in events.chunks(BATCH) {
        let mut delete = QueryBuilder::<S::Db>::new("DELETE FROM room_events");
        in_list(&mut delete, " WHERE id IN (", ids);
        forgotten.events += S::rows_affected(&delete.build().execute(&mut *tx).await?);
    }
    for clients in clients.chunks(BATCH) {
        let mut delete = QueryBuilder::<S::Db>::new("DELETE FROM network_samples");
        in_list(&mut delete, " WHERE client_id IN (", clients);
        forgotten.network_samples += S::rows_affected(&delete.build().execute(&mut *tx).await?);
    }
    let stays = sqlx::query("DELETE FROM participations WHERE external_id = $1")
        .bind(external_id.to_owned())
        .execute(&mut *tx)
        .await?;
    forgotten.stays = S::rows_affected(&stays);
    tx.commit().await?;
    Ok(forgotten)
}

/// `prefix` and the values, bound, as a list closed by `)`; nothing for no values (each batch
/// deleted has some).
fn in_list<DB: Database, T>(sql: &mut QueryBuilder<DB>, prefix: &str, values: &[T])
where
    T: Clone + for<'a> Encode<'a, DB> + Type<DB> + 'static,
{
    if values.is_empty() {
        return;
    }
    sql.push(prefix);
    let mut list = sql.separated(", ");
    for value in values {
        list.push_bind(value.clone());
    }
    sql.push(")");
}

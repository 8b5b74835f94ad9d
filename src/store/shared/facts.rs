//! Room facts, in either engine: each records a batch its own way (`EngineFacts`: PostgreSQL sends
//! arrays to many writers, SQLite's one writer builds statements), and both keep the heartbeat and
//! close what a crash left open alike (the queries and the closing logic: `store/interrupted.rs`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{
    ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, QueryBuilder, Row, Type,
};

use super::SqlEngine;
use crate::meeting::facts::{FactClient, RoomFact};
use crate::meeting::{ClientId, MeetingId, Role, RoomName};
use crate::store::interrupted::{LAST_ALIVE, OPEN_KNOCKS, OPEN_SESSIONS, OPEN_STAYS, OpenRooms};
use crate::store::{FactStore, RecordedFact, StoreError, from_millis, millis, stored_room};

/// What an engine does its own way.
#[async_trait]
pub(crate) trait EngineFacts {
    /// `FactStore::record_facts`, for a batch that is not empty.
    async fn record_batch(&self, facts: &[RecordedFact]) -> Result<(), StoreError>;

    /// Whether the engine can take writes, beyond the heartbeat's own (SQLite: its last
    /// checkpoint, which fails first on a full disk).
    fn writable(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

#[async_trait]
impl<S> FactStore for S
where
    S: SqlEngine + EngineFacts,
    for<'c> &'c sqlx::Pool<S::Db>: Executor<'c, Database = S::Db>,
    for<'c> &'c mut <S::Db as Database>::Connection: Executor<'c, Database = S::Db>,
    <S::Db as Database>::Arguments: IntoArguments<S::Db>,
    for<'a> String: Encode<'a, S::Db> + Decode<'a, S::Db> + Type<S::Db>,
    for<'a> Option<String>: Decode<'a, S::Db> + Type<S::Db>,
    for<'a> i64: Encode<'a, S::Db> + Decode<'a, S::Db> + Type<S::Db>,
    for<'a> Option<i64>: Decode<'a, S::Db> + Type<S::Db>,
    for<'c> &'c str: ColumnIndex<<S::Db as Database>::Row>,
{
    async fn record_facts(&self, facts: &[RecordedFact]) -> Result<(), StoreError> {
        if facts.is_empty() {
            return Ok(());
        }
        self.record_batch(facts).await
    }

    async fn mark_alive(&self, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.writable()?;
        sqlx::query(
            "INSERT INTO server_alive (id, at_ms) VALUES (1, $1) \
             ON CONFLICT (id) DO UPDATE SET at_ms = excluded.at_ms",
        )
        .bind(millis(now))
        .execute(self.writes())
        .await?;
        Ok(())
    }

    async fn interrupted_facts(&self) -> Result<Vec<RoomFact>, StoreError> {
        let pool = self.writes();
        let last = sqlx::query(LAST_ALIVE).fetch_one(pool).await?;
        let Some(at) = last
            .try_get::<Option<i64>, _>("at")?
            .map(from_millis)
            .transpose()?
        else {
            return Ok(Vec::new());
        };
        let mut open = OpenRooms::default();
        for row in sqlx::query(OPEN_KNOCKS).fetch_all(pool).await? {
            let meeting = MeetingId(row.try_get("meeting_id")?);
            open.knock(room_name(&row)?, meeting, client(&row, None, None)?);
        }
        for row in sqlx::query(OPEN_STAYS).fetch_all(pool).await? {
            let role: String = row.try_get("role")?;
            let role = role
                .parse::<Role>()
                .map_err(|_| StoreError::Corrupt(format!("role {role:?}")))?;
            let user_agent: Option<String> = row.try_get("user_agent")?;
            let meeting = MeetingId(row.try_get::<Option<i64>, _>("meeting_id")?.unwrap_or(0));
            open.stay(
                room_name(&row)?,
                meeting,
                client(&row, Some(role), user_agent)?,
            );
        }
        for row in sqlx::query(OPEN_SESSIONS).fetch_all(pool).await? {
            let meeting = MeetingId(row.try_get("meeting_id")?);
            open.session(room_name(&row)?, meeting, row.try_get("id")?);
        }
        Ok(open.closing_facts(at))
    }

    async fn close_interrupted_sessions(
        &self,
        now: DateTime<Utc>,
        carried_on: &[RoomName],
    ) -> Result<(), StoreError> {
        let now = millis(now);
        let mut tx = self.writes().begin().await?;
        for (table, column) in [("participations", "left_ms"), ("room_sessions", "ended_ms")] {
            let mut sql = QueryBuilder::<S::Db>::new(format!("UPDATE {table} SET {column} = "));
            sql.push_bind(now);
            sql.push(format!(" WHERE {column} IS NULL"));
            if !carried_on.is_empty() {
                sql.push(" AND room_name NOT IN (");
                let mut names = sql.separated(", ");
                for room in carried_on {
                    names.push_bind(room.as_str().to_owned());
                }
                sql.push(")");
            }
            sql.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

fn room_name<R: Row>(row: &R) -> Result<RoomName, StoreError>
where
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'c> &'c str: ColumnIndex<R>,
{
    stored_room(&row.try_get::<String, _>("room_name")?)
}

fn client<R: Row>(
    row: &R,
    role: Option<Role>,
    user_agent: Option<String>,
) -> Result<FactClient, StoreError>
where
    for<'r> Option<String>: Decode<'r, R::Database> + Type<R::Database>,
    for<'c> &'c str: ColumnIndex<R>,
{
    let id: Option<String> = row.try_get("client_id")?;
    Ok(FactClient {
        client_id: ClientId::new(id.unwrap_or_default()),
        role,
        display_name: row
            .try_get::<Option<String>, _>("display_name")?
            .unwrap_or_default(),
        external_id: row.try_get("external_id")?,
        metadata: row.try_get("metadata")?,
        user_agent,
    })
}

//! Room facts, in either engine: each records a batch its own way (`EngineFacts`: PostgreSQL sends
//! arrays to many writers, SQLite's one writer builds statements), and both keep the heartbeat and
//! close what a crash left open alike (the queries and the closing logic: `interrupted.rs`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{Database, Encode, Executor, IntoArguments, QueryBuilder, Type};

use super::SqlEngine;
use super::columns::Columns;
use super::interrupted::{LAST_ALIVE, OpenQueries, OpenRooms};
use crate::meeting::facts::{FactClient, FactKind, RoomFact};
use crate::meeting::{ClientId, MeetingId, Role, RoomName};
use crate::store::{FactStore, RecordedFact, StoreError, millis, stored_room};

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
    for<'a> String: Encode<'a, S::Db> + Type<S::Db>,
    for<'a> i64: Encode<'a, S::Db> + Type<S::Db>,
    <S::Db as Database>::Row: Columns,
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

    async fn last_alive(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let last = sqlx::query(LAST_ALIVE).fetch_one(self.writes()).await?;
        last.maybe_time("at")
    }

    async fn closing_facts(
        &self,
        room: Option<&RoomName>,
        at: DateTime<Utc>,
    ) -> Result<Vec<RoomFact>, StoreError> {
        let pool = self.writes();
        let queries = OpenQueries::new(room.is_some());
        let query = |sql: &String| {
            // Built from this crate's constants only (`OpenQueries`): nothing from outside.
            let query = sqlx::query(sqlx::AssertSqlSafe(sql.clone()));
            match room {
                Some(room) => query.bind(room.as_str().to_owned()),
                None => query,
            }
        };
        let mut open = OpenRooms::default();
        for row in query(&queries.recordings).fetch_all(pool).await? {
            let meeting = MeetingId(row.int("meeting_id")?);
            open.recording(
                room_name(&row)?,
                meeting,
                client(&row, Some(Role::Host), None)?,
            );
        }
        for row in query(&queries.knocks).fetch_all(pool).await? {
            let meeting = MeetingId(row.int("meeting_id")?);
            open.knock(room_name(&row)?, meeting, client(&row, None, None)?);
        }
        for row in query(&queries.stays).fetch_all(pool).await? {
            let role = row.text("role")?;
            let role = role
                .parse::<Role>()
                .map_err(|_| StoreError::Corrupt(format!("role {role:?}")))?;
            let user_agent = row.maybe_text("user_agent")?;
            let meeting = MeetingId(row.maybe_int("meeting_id")?.unwrap_or(0));
            open.stay(
                room_name(&row)?,
                meeting,
                client(&row, Some(role), user_agent)?,
            );
        }
        for row in query(&queries.sessions).fetch_all(pool).await? {
            let meeting = MeetingId(row.int("meeting_id")?);
            open.session(room_name(&row)?, meeting, row.text("id")?);
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

fn room_name(row: &impl Columns) -> Result<RoomName, StoreError> {
    stored_room(&row.text("room_name")?)
}

fn client(
    row: &impl Columns,
    role: Option<Role>,
    user_agent: Option<String>,
) -> Result<FactClient, StoreError> {
    Ok(FactClient {
        client_id: ClientId::new(row.maybe_text("client_id")?.unwrap_or_default()),
        role,
        display_name: row.maybe_text("display_name")?.unwrap_or_default(),
        external_id: row.maybe_text("external_id")?,
        metadata: row.maybe_text("metadata")?,
        user_agent,
    })
}

/// Sessions and stays, in either engine (each calls this in its batch's transaction, for the facts
/// `FactKind::changes_attendance`). A stay belongs to the session the room was in; members present when a session
/// starts join it at its start, and when it ends their stays close and continue outside any session.
pub(crate) async fn derive_insights<DB: Database>(
    tx: &mut DB::Connection,
    fact: &RoomFact,
) -> Result<(), StoreError>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    for<'a> &'a str: Encode<'a, DB> + Type<DB>,
    for<'a> &'a String: Encode<'a, DB> + Type<DB>,
    for<'a> Option<&'a str>: Encode<'a, DB> + Type<DB>,
    for<'a> i64: Encode<'a, DB> + Type<DB>,
{
    let room = fact.room_name.as_str();
    let at = millis(fact.at);
    match (fact.kind, &fact.client, &fact.room_session_id) {
        (FactKind::Joined, Some(client), session) => {
            sqlx::query(
                "INSERT INTO participations (room_name, session_id, client_id, role, display_name, \
                 external_id, user_agent, joined_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(room)
            .bind(session.as_deref())
            .bind(client.client_id.as_str())
            .bind(client.role.map_or("visitor", |r| r.as_str()))
            .bind(&client.display_name)
            .bind(client.external_id.as_deref())
            .bind(client.user_agent.as_deref())
            .bind(at)
            .execute(&mut *tx)
            .await?;
        }
        (FactKind::Left, Some(client), _) => {
            sqlx::query(
                "UPDATE participations SET left_ms = $1 \
                 WHERE room_name = $2 AND client_id = $3 AND left_ms IS NULL",
            )
            .bind(at)
            .bind(room)
            .bind(client.client_id.as_str())
            .execute(&mut *tx)
            .await?;
        }
        (FactKind::SessionStarted, _, Some(session)) => {
            sqlx::query(
                "INSERT INTO room_sessions (id, meeting_id, room_name, meeting_created_ms, \
                 meeting_end_ms, started_ms) \
                 SELECT $1, id, room_name, start_ms, end_ms, $2 FROM meetings WHERE id = $3 \
                 ON CONFLICT (id) DO NOTHING",
            )
            .bind(session)
            .bind(at)
            .bind(fact.meeting_id.0)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "UPDATE participations SET session_id = $1, joined_ms = $2 \
                 WHERE room_name = $3 AND session_id IS NULL AND left_ms IS NULL",
            )
            .bind(session)
            .bind(at)
            .bind(room)
            .execute(&mut *tx)
            .await?;
        }
        (FactKind::SessionEnded, _, Some(session)) => {
            sqlx::query("UPDATE room_sessions SET ended_ms = $1 WHERE id = $2")
                .bind(at)
                .bind(session)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO participations (room_name, session_id, client_id, role, display_name, \
                 external_id, user_agent, joined_ms) \
                 SELECT room_name, NULL, client_id, role, display_name, external_id, user_agent, $1 \
                 FROM participations WHERE session_id = $2 AND left_ms IS NULL",
            )
            .bind(at)
            .bind(session)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "UPDATE participations SET left_ms = $1 WHERE session_id = $2 AND left_ms IS NULL",
            )
            .bind(at)
            .bind(session)
            .execute(&mut *tx)
            .await?;
        }
        _ => {}
    }
    Ok(())
}

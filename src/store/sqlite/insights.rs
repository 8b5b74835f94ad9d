//! Insights in SQLite: aggregates over sessions and stays. Sort columns come from enums, never from
//! the request, so the dynamic ORDER BY is built from fixed strings only.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite};

use super::{SqliteStore, from_millis, millis};
use crate::store::StoreError;
use crate::store::insights::{
    InsightStore, ParticipantEvent, ParticipantInsight, ParticipantQuery, ParticipantSort,
    ParticipantsOf, RoomInsight, RoomInsightQuery, RoomSort, SessionInsight, SessionInsightQuery,
    SessionSort,
};

/// Minutes of a stay, rounded up per stay; a stay still going counts until `now`.
fn push_stay_minutes(sql: &mut QueryBuilder<Sqlite>, now: DateTime<Utc>) {
    sql.push("(coalesce(p.left_ms, ")
        .push_bind(millis(now))
        .push(") - p.joined_ms + 59999) / 60000");
}

fn room_sort_column(sort: RoomSort) -> &'static str {
    match sort {
        RoomSort::RoomName => "room_name",
        RoomSort::CreatedAt => "created_ms",
        RoomSort::EndAt => "end_ms",
        RoomSort::FirstSessionStartedAt => "first_ms",
        RoomSort::LastSessionStartedAt => "last_ms",
        RoomSort::TotalParticipantMinutes => "minutes",
        RoomSort::TotalUniqueParticipants => "uniques",
        RoomSort::TotalSessions => "sessions",
    }
}

fn session_sort_column(sort: SessionSort) -> &'static str {
    match sort {
        SessionSort::StartedAt => "started_ms",
        SessionSort::EndedAt => "ended_ms",
        SessionSort::TotalParticipantMinutes => "minutes",
        SessionSort::TotalUniqueParticipants => "uniques",
    }
}

fn stay_from_row(row: &SqliteRow) -> Result<ParticipantInsight, StoreError> {
    Ok(ParticipantInsight {
        session_id: row.try_get("session_id")?,
        participant_id: row.try_get("client_id")?,
        role: row.try_get("role")?,
        display_name: row.try_get("display_name")?,
        external_id: row.try_get("external_id")?,
        user_agent: row.try_get("user_agent")?,
        joined_at: from_millis(row.try_get("joined_ms")?)?,
        left_at: from_millis(row.try_get::<Option<i64>, _>("left_ms")?.unwrap_or(0))?,
    })
}

#[async_trait]
impl InsightStore for SqliteStore {
    async fn room_insights(
        &self,
        query: &RoomInsightQuery,
        now: DateTime<Utc>,
    ) -> Result<Vec<RoomInsight>, StoreError> {
        let mut sql: QueryBuilder<Sqlite> = QueryBuilder::new(
            "SELECT * FROM (SELECT s.room_name AS room_name, \
             MAX(s.meeting_created_ms) AS created_ms, MAX(s.meeting_end_ms) AS end_ms, \
             MIN(s.started_ms) AS first_ms, MAX(s.started_ms) AS last_ms, COUNT(*) AS sessions, \
             coalesce((SELECT SUM(",
        );
        push_stay_minutes(&mut sql, now);
        sql.push(") FROM participations p WHERE p.room_name = s.room_name AND p.session_id IS NOT NULL), 0) AS minutes, \
                  (SELECT COUNT(DISTINCT p.client_id) FROM participations p \
                   WHERE p.room_name = s.room_name AND p.session_id IS NOT NULL) AS uniques \
                  FROM room_sessions s GROUP BY s.room_name) WHERE 1 = 1");
        let filter = &query.room_name;
        if let Some(prefix) = &filter.starts_with {
            sql.push(" AND substr(room_name, 1, length(")
                .push_bind(prefix.clone());
            sql.push(")) = ").push_bind(prefix.clone());
        }
        if let Some(exact) = &filter.exact {
            sql.push(" AND room_name = ").push_bind(exact.clone());
        }
        if let Some(part) = &filter.contains {
            sql.push(" AND instr(room_name, ")
                .push_bind(part.clone())
                .push(") > 0");
        }
        if let Some(from) = query.created_from {
            sql.push(" AND created_ms >= ").push_bind(millis(from));
        }
        if let Some(to) = query.created_to {
            sql.push(" AND created_ms <= ").push_bind(millis(to));
        }
        let (column, dir) = (room_sort_column(query.sort.0), query.sort.1.sql());
        sql.push(format!(" ORDER BY {column} {dir}, room_name ASC LIMIT "));
        sql.push_bind(i64::from(query.page.limit));
        sql.push(" OFFSET ").push_bind(query.page.offset as i64);
        let rows = sql.build().fetch_all(&self.readers).await?;
        rows.iter()
            .map(|row| {
                Ok(RoomInsight {
                    room_name: row.try_get("room_name")?,
                    created_at: from_millis(row.try_get("created_ms")?)?,
                    end_at: from_millis(row.try_get("end_ms")?)?,
                    first_session_started_at: from_millis(row.try_get("first_ms")?)?,
                    last_session_started_at: from_millis(row.try_get("last_ms")?)?,
                    total_participant_minutes: row.try_get("minutes")?,
                    total_unique_participants: row.try_get("uniques")?,
                    total_sessions: row.try_get("sessions")?,
                })
            })
            .collect()
    }

    async fn session_insights(
        &self,
        query: &SessionInsightQuery,
        now: DateTime<Utc>,
    ) -> Result<Vec<SessionInsight>, StoreError> {
        let mut sql: QueryBuilder<Sqlite> = QueryBuilder::new(
            "SELECT * FROM (SELECT s.id, s.room_name, s.started_ms, s.ended_ms, s.meeting_end_ms, \
             coalesce((SELECT SUM(",
        );
        push_stay_minutes(&mut sql, now);
        sql.push(") FROM participations p WHERE p.session_id = s.id), 0) AS minutes, \
                  (SELECT COUNT(DISTINCT p.client_id) FROM participations p WHERE p.session_id = s.id) AS uniques \
                  FROM room_sessions s WHERE s.room_name = ");
        sql.push_bind(query.room_name.clone());
        if let Some(id) = &query.session_id {
            sql.push(" AND s.id = ").push_bind(id.clone());
        }
        let (column, dir) = (session_sort_column(query.sort.0), query.sort.1.sql());
        sql.push(format!(
            ") ORDER BY {column} {dir}, started_ms ASC, id ASC LIMIT "
        ));
        sql.push_bind(i64::from(query.page.limit));
        sql.push(" OFFSET ").push_bind(query.page.offset as i64);
        let rows = sql.build().fetch_all(&self.readers).await?;
        rows.iter()
            .map(|row| {
                Ok(SessionInsight {
                    session_id: row.try_get("id")?,
                    room_name: row.try_get("room_name")?,
                    started_at: from_millis(row.try_get("started_ms")?)?,
                    ended_at: row
                        .try_get::<Option<i64>, _>("ended_ms")?
                        .map(from_millis)
                        .transpose()?,
                    end_at: from_millis(row.try_get("meeting_end_ms")?)?,
                    total_participant_minutes: row.try_get("minutes")?,
                    total_unique_participants: row.try_get("uniques")?,
                })
            })
            .collect()
    }

    async fn participant_insights(
        &self,
        query: &ParticipantQuery,
    ) -> Result<Vec<ParticipantInsight>, StoreError> {
        let mut sql: QueryBuilder<Sqlite> = QueryBuilder::new(
            "SELECT session_id, client_id, role, display_name, external_id, user_agent, joined_ms, left_ms \
             FROM participations WHERE session_id IS NOT NULL AND left_ms IS NOT NULL AND ",
        );
        match &query.of {
            ParticipantsOf::Session(id) => sql.push("session_id = ").push_bind(id.clone()),
            ParticipantsOf::ExternalId(id) => sql.push("external_id = ").push_bind(id.clone()),
        };
        let column = match query.sort.0 {
            ParticipantSort::JoinedAt => "joined_ms",
            ParticipantSort::LeftAt => "left_ms",
        };
        sql.push(format!(
            " ORDER BY {column} {}, id ASC LIMIT ",
            query.sort.1.sql()
        ));
        sql.push_bind(i64::from(query.page.limit));
        sql.push(" OFFSET ").push_bind(query.page.offset as i64);
        let rows = sql.build().fetch_all(&self.readers).await?;
        rows.iter().map(stay_from_row).collect()
    }

    async fn participant_detail(
        &self,
        session_id: &str,
        participant_id: &str,
    ) -> Result<(Vec<ParticipantInsight>, Vec<ParticipantEvent>), StoreError> {
        let rows = sqlx::query(
            "SELECT session_id, client_id, role, display_name, external_id, user_agent, joined_ms, left_ms \
             FROM participations WHERE session_id = ? AND client_id = ? ORDER BY id",
        )
        .bind(session_id)
        .bind(participant_id)
        .fetch_all(&self.readers)
        .await?;
        let stays: Vec<ParticipantInsight> =
            rows.iter().map(stay_from_row).collect::<Result<_, _>>()?;
        if stays.is_empty() {
            return Ok((stays, Vec::new()));
        }
        let events = sqlx::query(
            "SELECT e.kind, e.at_ms FROM room_events e JOIN room_sessions s ON s.room_name = e.room_name \
             WHERE s.id = ? AND e.client_id = ? ORDER BY e.id",
        )
        .bind(session_id)
        .bind(participant_id)
        .fetch_all(&self.readers)
        .await?;
        let events = events
            .iter()
            .map(|row| {
                Ok(ParticipantEvent {
                    kind: row.try_get("kind")?,
                    at: from_millis(row.try_get("at_ms")?)?,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        Ok((stays, events))
    }
}

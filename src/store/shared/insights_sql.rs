//! The insights queries, written once for both engines: built with sqlx's `QueryBuilder` (which
//! writes each engine's placeholders) in SQL both read alike, and their rows read back alike. Sort
//! columns come from enums, never from the request, so the dynamic ORDER BY is built from fixed
//! strings only.

use chrono::{DateTime, Utc};
use sqlx::{Database, Encode, QueryBuilder, Type};

use super::columns::Columns;

use crate::store::insights::{
    ParticipantInsight, ParticipantQuery, ParticipantSort, ParticipantsOf, RoomInsight,
    RoomInsightQuery, RoomSort, SessionInsight, SessionInsightQuery, SessionSort,
};
use crate::store::{StoreError, from_millis, millis};

/// The columns `stay_from_row` reads.
macro_rules! stay_columns {
    () => {
        "session_id, client_id, role, display_name, external_id, user_agent, joined_ms, left_ms"
    };
}
pub(crate) use stay_columns;

/// Minutes of a stay, rounded up per stay; a stay still going counts until `now`. (Integer
/// division in both engines; the sum is cast back to a 64-bit integer, which PostgreSQL widens.)
fn push_stay_minutes<DB: Database>(sql: &mut QueryBuilder<DB>, now: DateTime<Utc>)
where
    for<'a> String: Encode<'a, DB> + Type<DB>,
    for<'a> i64: Encode<'a, DB> + Type<DB>,
{
    sql.push("coalesce((SELECT CAST(SUM((coalesce(p.left_ms, ")
        .push_bind(millis(now))
        .push(") - p.joined_ms + 59999) / 60000) AS BIGINT) FROM participations p WHERE ");
}

pub fn room_insights<DB: Database>(query: &RoomInsightQuery, now: DateTime<Utc>) -> QueryBuilder<DB>
where
    for<'a> String: Encode<'a, DB> + Type<DB>,
    for<'a> i64: Encode<'a, DB> + Type<DB>,
{
    let mut sql = QueryBuilder::new(
        "SELECT * FROM (SELECT s.room_name AS room_name, \
         MAX(s.meeting_created_ms) AS created_ms, MAX(s.meeting_end_ms) AS end_ms, \
         MIN(s.started_ms) AS first_ms, MAX(s.started_ms) AS last_ms, COUNT(*) AS sessions, ",
    );
    push_stay_minutes(&mut sql, now);
    sql.push(
        "p.room_name = s.room_name AND p.session_id IS NOT NULL), 0) AS minutes, \
         (SELECT COUNT(DISTINCT p.client_id) FROM participations p \
          WHERE p.room_name = s.room_name AND p.session_id IS NOT NULL) AS uniques \
         FROM room_sessions s GROUP BY s.room_name) AS rooms WHERE 1 = 1",
    );
    let filter = &query.room_name;
    if let Some(prefix) = &filter.starts_with {
        sql.push(" AND substr(room_name, 1, length(")
            .push_bind(prefix.clone());
        sql.push(")) = ").push_bind(prefix.clone());
    }
    if let Some(exact) = &filter.exact {
        sql.push(" AND room_name = ").push_bind(exact.clone());
    }
    // Contains: removing the part changes the name (an empty part is in every name).
    if let Some(part) = filter.contains.as_ref().filter(|p| !p.is_empty()) {
        sql.push(" AND replace(room_name, ")
            .push_bind(part.clone())
            .push(", '') <> room_name");
    }
    if let Some(from) = query.created_from {
        sql.push(" AND created_ms >= ").push_bind(millis(from));
    }
    if let Some(to) = query.created_to {
        sql.push(" AND created_ms <= ").push_bind(millis(to));
    }
    let column = match query.sort.0 {
        RoomSort::RoomName => "room_name",
        RoomSort::CreatedAt => "created_ms",
        RoomSort::EndAt => "end_ms",
        RoomSort::FirstSessionStartedAt => "first_ms",
        RoomSort::LastSessionStartedAt => "last_ms",
        RoomSort::TotalParticipantMinutes => "minutes",
        RoomSort::TotalUniqueParticipants => "uniques",
        RoomSort::TotalSessions => "sessions",
    };
    sql.push(format!(
        " ORDER BY {column} {}, room_name ASC LIMIT ",
        query.sort.1.sql()
    ));
    sql.push_bind(i64::from(query.page.limit));
    sql.push(" OFFSET ").push_bind(query.page.offset as i64);
    sql
}

pub fn session_insights<DB: Database>(
    query: &SessionInsightQuery,
    now: DateTime<Utc>,
) -> QueryBuilder<DB>
where
    for<'a> String: Encode<'a, DB> + Type<DB>,
    for<'a> i64: Encode<'a, DB> + Type<DB>,
{
    let mut sql = QueryBuilder::new(
        "SELECT * FROM (SELECT s.id, s.room_name, s.started_ms, s.ended_ms, s.meeting_end_ms, ",
    );
    push_stay_minutes(&mut sql, now);
    sql.push(
        "p.session_id = s.id), 0) AS minutes, \
         (SELECT COUNT(DISTINCT p.client_id) FROM participations p WHERE p.session_id = s.id) \
         AS uniques FROM room_sessions s WHERE s.room_name = ",
    );
    sql.push_bind(query.room_name.clone());
    if let Some(id) = &query.session_id {
        sql.push(" AND s.id = ").push_bind(id.clone());
    }
    let column = match query.sort.0 {
        SessionSort::StartedAt => "started_ms",
        SessionSort::EndedAt => "ended_ms",
        SessionSort::TotalParticipantMinutes => "minutes",
        SessionSort::TotalUniqueParticipants => "uniques",
    };
    sql.push(format!(
        ") AS sessions ORDER BY {column} {}, started_ms ASC, id ASC LIMIT ",
        query.sort.1.sql()
    ));
    sql.push_bind(i64::from(query.page.limit));
    sql.push(" OFFSET ").push_bind(query.page.offset as i64);
    sql
}

pub fn participant_insights<DB: Database>(query: &ParticipantQuery) -> QueryBuilder<DB>
where
    for<'a> String: Encode<'a, DB> + Type<DB>,
    for<'a> i64: Encode<'a, DB> + Type<DB>,
{
    let mut sql = QueryBuilder::new(concat!(
        "SELECT ",
        stay_columns!(),
        " FROM participations WHERE session_id IS NOT NULL AND left_ms IS NOT NULL AND "
    ));
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
    sql
}

pub fn room_from_row(row: &impl Columns) -> Result<RoomInsight, StoreError> {
    Ok(RoomInsight {
        room_name: row.text("room_name")?,
        created_at: row.time("created_ms")?,
        end_at: row.time("end_ms")?,
        first_session_started_at: row.time("first_ms")?,
        last_session_started_at: row.time("last_ms")?,
        total_participant_minutes: row.int("minutes")?,
        total_unique_participants: row.int("uniques")?,
        total_sessions: row.int("sessions")?,
    })
}

pub fn session_from_row(row: &impl Columns) -> Result<SessionInsight, StoreError> {
    Ok(SessionInsight {
        session_id: row.text("id")?,
        room_name: row.text("room_name")?,
        started_at: row.time("started_ms")?,
        ended_at: row.maybe_time("ended_ms")?,
        end_at: row.time("meeting_end_ms")?,
        total_participant_minutes: row.int("minutes")?,
        total_unique_participants: row.int("uniques")?,
    })
}

pub fn stay_from_row(row: &impl Columns) -> Result<ParticipantInsight, StoreError> {
    Ok(ParticipantInsight {
        session_id: row.text("session_id")?,
        participant_id: row.text("client_id")?,
        role: row.text("role")?,
        display_name: row.text("display_name")?,
        external_id: row.maybe_text("external_id")?,
        user_agent: row.maybe_text("user_agent")?,
        joined_at: row.time("joined_ms")?,
        left_at: from_millis(row.maybe_int("left_ms")?.unwrap_or(0))?,
    })
}

//! Insights, in either engine: the queries of `insights_sql.rs`, and a participant's detail.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{Database, Encode, Executor, IntoArguments, Type};

use super::SqlEngine;
use super::columns::Columns;
use super::insights_sql::{self, stay_columns};
use crate::store::StoreError;
use crate::store::insights::{
    InsightStore, ParticipantEvent, ParticipantInsight, ParticipantQuery, RoomInsight,
    RoomInsightQuery, SessionInsight, SessionInsightQuery,
};

#[async_trait]
impl<S> InsightStore for S
where
    S: SqlEngine,
    for<'c> &'c sqlx::Pool<S::Db>: Executor<'c, Database = S::Db>,
    <S::Db as Database>::Arguments: IntoArguments<S::Db>,
    for<'a> &'a str: Encode<'a, S::Db> + Type<S::Db>,
    for<'a> String: Encode<'a, S::Db> + Type<S::Db>,
    for<'a> i64: Encode<'a, S::Db> + Type<S::Db>,
    <S::Db as Database>::Row: Columns,
{
    async fn room_insights(
        &self,
        query: &RoomInsightQuery,
        now: DateTime<Utc>,
    ) -> Result<Vec<RoomInsight>, StoreError> {
        let mut sql = insights_sql::room_insights::<S::Db>(query, now);
        let rows = sql.build().fetch_all(self.reads()).await?;
        rows.iter().map(insights_sql::room_from_row).collect()
    }

    async fn session_insights(
        &self,
        query: &SessionInsightQuery,
        now: DateTime<Utc>,
    ) -> Result<Vec<SessionInsight>, StoreError> {
        let mut sql = insights_sql::session_insights::<S::Db>(query, now);
        let rows = sql.build().fetch_all(self.reads()).await?;
        rows.iter().map(insights_sql::session_from_row).collect()
    }

    async fn participant_insights(
        &self,
        query: &ParticipantQuery,
    ) -> Result<Vec<ParticipantInsight>, StoreError> {
        let mut sql = insights_sql::participant_insights::<S::Db>(query);
        let rows = sql.build().fetch_all(self.reads()).await?;
        rows.iter().map(insights_sql::stay_from_row).collect()
    }

    async fn participant_detail(
        &self,
        session_id: &str,
        participant_id: &str,
    ) -> Result<(Vec<ParticipantInsight>, Vec<ParticipantEvent>), StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            stay_columns!(),
            " FROM participations WHERE session_id = $1 AND client_id = $2 ORDER BY id"
        ))
        .bind(session_id)
        .bind(participant_id)
        .fetch_all(self.reads())
        .await?;
        let stays: Vec<ParticipantInsight> = rows
            .iter()
            .map(insights_sql::stay_from_row)
            .collect::<Result<_, _>>()?;
        if stays.is_empty() {
            return Ok((stays, Vec::new()));
        }
        let events = sqlx::query(
            "SELECT e.kind, e.at_ms FROM room_events e \
             JOIN room_sessions s ON s.room_name = e.room_name \
             WHERE s.id = $1 AND e.client_id = $2 ORDER BY e.id",
        )
        .bind(session_id)
        .bind(participant_id)
        .fetch_all(self.reads())
        .await?;
        let events = events
            .iter()
            .map(|row| {
                Ok(ParticipantEvent {
                    kind: row.text("kind")?,
                    at: row.time("at_ms")?,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        Ok((stays, events))
    }
}

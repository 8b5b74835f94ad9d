//! Room themes, in either engine.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{Database, Encode, Executor, IntoArguments, Type};

use super::SqlEngine;
use super::columns::Columns;
use crate::meeting::RoomName;
use crate::store::{StoreError, ThemeImage, ThemeKind, ThemePart, ThemeStore, ThemeValue, millis};

#[async_trait]
impl<S> ThemeStore for S
where
    S: SqlEngine,
    for<'c> &'c sqlx::Pool<S::Db>: Executor<'c, Database = S::Db>,
    <S::Db as Database>::Arguments: IntoArguments<S::Db>,
    for<'a> &'a str: Encode<'a, S::Db> + Type<S::Db>,
    for<'a> i64: Encode<'a, S::Db> + Type<S::Db>,
    for<'a> Option<String>: Encode<'a, S::Db> + Type<S::Db>,
    for<'a> Option<Vec<u8>>: Encode<'a, S::Db> + Type<S::Db>,
    <S::Db as Database>::Row: Columns,
{
    async fn put_theme(
        &self,
        room: &RoomName,
        kind: ThemeKind,
        value: ThemeValue,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let (preset, content_type, image) = match value {
            ThemeValue::Image {
                content_type,
                bytes,
            } => (None, Some(content_type), Some(bytes)),
            ThemeValue::Preset(json) => (Some(json.to_string()), None, None),
        };
        // The version is the update time in ms, bumped past the previous one if the clock repeats.
        let row = sqlx::query(
            "INSERT INTO room_themes (room_name, kind, preset, content_type, image, version, updated_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $6) \
             ON CONFLICT (room_name, kind) DO UPDATE SET preset = $3, content_type = $4, image = $5, \
               version = CASE WHEN $6 > room_themes.version THEN $6 ELSE room_themes.version + 1 END, \
               updated_ms = $6 \
             RETURNING version",
        )
        .bind(room.as_str())
        .bind(kind.as_str())
        .bind(preset)
        .bind(content_type)
        .bind(image)
        .bind(millis(now))
        .fetch_one(self.writes())
        .await?;
        row.int("version")
    }

    async fn clear_theme(&self, room: &RoomName, kind: ThemeKind) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM room_themes WHERE room_name = $1 AND kind = $2")
            .bind(room.as_str())
            .bind(kind.as_str())
            .execute(self.writes())
            .await?;
        Ok(())
    }

    async fn theme(&self, room: &RoomName) -> Result<Vec<ThemePart>, StoreError> {
        let rows = sqlx::query(
            "SELECT kind, preset, image IS NOT NULL AS has_image, version FROM room_themes \
             WHERE room_name = $1 ORDER BY kind",
        )
        .bind(room.as_str())
        .fetch_all(self.reads())
        .await?;
        let mut parts = Vec::with_capacity(rows.len());
        for row in rows {
            let kind = row.text("kind")?;
            let Some(kind) = ThemeKind::parse(&kind) else {
                return Err(StoreError::Corrupt(format!("theme part {kind:?}")));
            };
            parts.push(ThemePart {
                kind,
                preset: row
                    .maybe_text("preset")?
                    .map(|p| serde_json::from_str(&p))
                    .transpose()
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                has_image: row.flag("has_image")?,
                version: row.int("version")?,
            });
        }
        Ok(parts)
    }

    async fn theme_image(
        &self,
        room: &RoomName,
        kind: ThemeKind,
    ) -> Result<Option<ThemeImage>, StoreError> {
        let row = sqlx::query(
            "SELECT content_type, image, version FROM room_themes \
             WHERE room_name = $1 AND kind = $2 AND image IS NOT NULL",
        )
        .bind(room.as_str())
        .bind(kind.as_str())
        .fetch_optional(self.reads())
        .await?;
        row.map(|row| {
            Ok(ThemeImage {
                content_type: row.text("content_type")?,
                bytes: row.bytes("image")?,
                version: row.int("version")?,
            })
        })
        .transpose()
    }
}

//! Durable facts behind one trait, so that handlers and room actors never know which engine holds them.
//! SQLite (the embedded default) lives in `sqlite.rs`; a PostgreSQL implementation slots in beside it.

mod sqlite;
mod sqlite_batch;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::meeting::{Meeting, MeetingId, NewMeeting, RoomName};
use crate::room::facts::RoomFact;

pub use sqlite::SqliteStore;

pub type DynStore = std::sync::Arc<dyn Store>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("a meeting with room name {0} already exists")]
    RoomNameTaken(RoomName),
    #[error("cannot open the data directory {path}: {source}")]
    DataDir {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("database migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database write failed: {0}")]
    WriteFailed(String),
    #[error("the store is closed")]
    Closed,
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

/// Which meetings `list_meetings` returns: a page after a cursor, optionally filtered by room name.
#[derive(Debug, Clone, Default)]
pub struct MeetingQuery {
    pub after: Option<MeetingId>,
    pub limit: u32,
    pub room_name: RoomNameFilter,
}

/// Every set condition must hold. Values are compared against the canonical name (leading `/`).
#[derive(Debug, Clone, Default)]
pub struct RoomNameFilter {
    pub starts_with: Option<String>,
    pub exact: Option<String>,
    pub contains: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyInfo {
    pub id: i64,
    pub name: String,
    /// The first characters of the key, so a person can tell keys apart without the secret.
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Creates a meeting; `RoomNameTaken` when the generated name collides (the caller draws again).
    /// Returns only once the meeting is durable against a crash of this process.
    async fn create_meeting(&self, meeting: NewMeeting) -> Result<Meeting, StoreError>;
    /// A meeting that exists and is not deleted.
    async fn get_meeting(&self, id: MeetingId) -> Result<Option<Meeting>, StoreError>;
    async fn get_meeting_by_room(&self, room: &RoomName) -> Result<Option<Meeting>, StoreError>;
    /// Meetings in creation order, ascending id, at most `query.limit`.
    async fn list_meetings(&self, query: &MeetingQuery) -> Result<Vec<Meeting>, StoreError>;
    /// Marks a meeting deleted; returns it when it was live until now (so its room can be ended).
    async fn delete_meeting(
        &self,
        id: MeetingId,
        now: DateTime<Utc>,
    ) -> Result<Option<Meeting>, StoreError>;
    /// Removes meetings (deleted or not) whose end date is before `cutoff`; returns how many.
    async fn remove_meetings_ended_before(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError>;

    async fn create_api_key(
        &self,
        name: &str,
        key_hash: &str,
        prefix: &str,
        now: DateTime<Utc>,
    ) -> Result<ApiKeyInfo, StoreError>;
    async fn list_api_keys(&self) -> Result<Vec<ApiKeyInfo>, StoreError>;
    /// Returns false when no such key exists; revoking twice is harmless.
    async fn revoke_api_key(&self, id: i64, now: DateTime<Utc>) -> Result<bool, StoreError>;
    /// The key with this hash, if it exists and is not revoked.
    async fn find_active_api_key(&self, key_hash: &str) -> Result<Option<ApiKeyInfo>, StoreError>;

    /// Reads a named secret, creating it with `generate` the first time (atomic across processes).
    async fn secret_or_insert(&self, name: &str, generate: Vec<u8>) -> Result<Vec<u8>, StoreError>;

    /// Appends what happened in rooms, in order, in one transaction.
    async fn record_facts(&self, facts: &[RoomFact]) -> Result<(), StoreError>;

    /// Flushes and closes; later calls fail.
    async fn close(&self);
}

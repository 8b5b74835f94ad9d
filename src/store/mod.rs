//! Durable facts behind traits (the ports), so that services never know which engine holds them.
//! SQLite (the embedded default) lives in `sqlite/`, PostgreSQL (a cluster's) in `postgres/`, and
//! what both run alike (the same SQL) in `shared/`; `open` picks the engine from a URL. One trait
//! per concern; `Store` is all of them.

mod error;
pub mod insights;
mod postgres;
mod shared;
mod sqlite;

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};

use crate::meeting::facts::{FactId, RoomFact};
use crate::meeting::{Meeting, MeetingId, NewMeeting, RoomName};

pub use error::StoreError;
pub use postgres::PostgresStore;
pub use sqlite::{DATABASE_FILE, SqliteStore};

pub type DynStore = std::sync::Arc<dyn Store>;

/// The kinds of store a URL can name.
enum StoreUrl<'a> {
    /// `sqlite://<path of the database file>`: the embedded default.
    Sqlite(&'a std::path::Path),
    /// `postgres://...` (or `postgresql://...`): a cluster's.
    Postgres,
}

impl<'a> StoreUrl<'a> {
    fn of(url: &'a str) -> Result<Self, StoreError> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            return Ok(StoreUrl::Sqlite(std::path::Path::new(path)));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(StoreUrl::Postgres);
        }
        let scheme = url.split_once(':').map_or(url, |(scheme, _)| scheme);
        Err(StoreError::UnsupportedUrl(scheme.to_owned()))
    }
}

/// Opens the store a URL names, creating and migrating it when needed:
/// `sqlite://<path of the database file>` (the embedded default) or `postgres://...` (a cluster's).
pub async fn open(url: &str) -> Result<DynStore, StoreError> {
    Ok(match StoreUrl::of(url)? {
        StoreUrl::Sqlite(path) => std::sync::Arc::new(SqliteStore::open_file(path).await?),
        StoreUrl::Postgres => std::sync::Arc::new(PostgresStore::open(url).await?),
    })
}

/// Writes a consistent copy of the store at `url` to the new file `to`, also while a server uses
/// the store; the copy is a database a server starts on (as `anteroom.sqlite3` of a data directory).
pub async fn back_up(url: &str, to: &std::path::Path) -> Result<(), StoreError> {
    match StoreUrl::of(url)? {
        StoreUrl::Sqlite(path) => sqlite::back_up(path, to).await,
        StoreUrl::Postgres => Err(StoreError::BackupElsewhere),
    }
}

/// Held while a server uses a store that only one server may use at a time (the embedded SQLite
/// store); another `serve` on the same store then refuses to start.
pub struct ServingLock {
    _file: std::fs::File,
}

/// Takes the store's serving lock; None for stores that many servers share.
pub fn lock_for_serving(url: &str) -> Result<Option<ServingLock>, StoreError> {
    // (A URL no store speaks is refused as the store is opened.)
    let Ok(StoreUrl::Sqlite(path)) = StoreUrl::of(url) else {
        return Ok(None);
    };
    let lock_path = format!("{}.lock", path.display());
    if let Some(dir) = std::path::Path::new(&lock_path)
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::DataDir {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|source| StoreError::DataDir {
            path: lock_path.clone().into(),
            source,
        })?;
    match file.try_lock() {
        Ok(()) => Ok(Some(ServingLock { _file: file })),
        Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::InUse(lock_path)),
        Err(std::fs::TryLockError::Error(source)) => Err(StoreError::DataDir {
            path: lock_path.into(),
            source,
        }),
    }
}

/// The URL of the embedded store in a data directory.
pub fn sqlite_url(data_dir: &std::path::Path) -> String {
    format!("sqlite://{}", data_dir.join(DATABASE_FILE).display())
}

pub(crate) fn millis(date: DateTime<Utc>) -> i64 {
    date.timestamp_millis()
}

/// A room name read back from the store; one that does not parse means the row is corrupt.
pub(crate) fn stored_room(raw: &str) -> Result<RoomName, StoreError> {
    RoomName::parse(raw).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// A failed migration; a database a newer build has changed said as such (an operator rolling
/// back an upgrade meets it), rather than as the migrator's own words.
pub(crate) fn migration_failed(err: sqlx::migrate::MigrateError) -> StoreError {
    match err {
        sqlx::migrate::MigrateError::VersionMissing(version) => StoreError::NewerSchema(version),
        other => StoreError::Migration(other),
    }
}

pub(crate) fn from_millis(ms: i64) -> Result<DateTime<Utc>, StoreError> {
    Utc.timestamp_millis_opt(ms)
        .single()
        .ok_or_else(|| StoreError::Corrupt(format!("timestamp {ms} out of range")))
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
pub trait MeetingStore: Send + Sync {
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
    /// Removes meetings (deleted or not) whose end date is before `cutoff`, with their themes;
    /// returns how many meetings.
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
}

/// A room fact with the webhook event it becomes.
#[derive(Debug, Clone)]
pub struct RecordedFact {
    pub fact: RoomFact,
    /// Given, the fact is written once however often it is recorded (a cluster's room keeps its
    /// facts for its next owner until they are written).
    pub id: Option<FactId>,
    /// The compact JSON envelope, signed at each delivery attempt.
    pub webhook_body: String,
}

#[async_trait]
pub trait FactStore: Send + Sync {
    /// In one transaction: appends the facts, updates sessions and participations (insights) and
    /// queues each fact's webhook event for every endpoint subscribed to its type. A fact whose id
    /// was recorded before is left out, with its insights and webhook events.
    async fn record_facts(&self, facts: &[RecordedFact]) -> Result<(), StoreError>;
    /// After a crash, sessions and stays that were open when the process died are closed as of
    /// `now`, but those of the rooms `carried_on` (handed over at a clean stop: they go on). Called
    /// once at start, before rooms open.
    async fn close_interrupted_sessions(
        &self,
        now: DateTime<Utc>,
        carried_on: &[RoomName],
    ) -> Result<(), StoreError>;
    /// Records that the server is alive now; fails when the store takes no writes (a full disk).
    async fn mark_alive(&self, now: DateTime<Utc>) -> Result<(), StoreError>;
    /// The last moment this server was known alive (its heartbeat, or its last room event).
    async fn last_alive(&self) -> Result<Option<DateTime<Utc>>, StoreError>;
    /// What rooms that stopped without closing it left open, as the facts that close it (knocks
    /// cancelled, members left, sessions ended), timed `at`, oldest room first: every room's (a
    /// crash's), or one `room`'s (its kept state lost).
    async fn closing_facts(
        &self,
        room: Option<&RoomName>,
        at: DateTime<Utc>,
    ) -> Result<Vec<RoomFact>, StoreError>;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEndpoint {
    pub id: i64,
    pub url: String,
    pub events: Vec<String>,
    pub secret: String,
    pub created_at: DateTime<Utc>,
}

/// A delivery that is due: the oldest pending one of its endpoint and room.
#[derive(Debug, Clone)]
pub struct DueDelivery {
    pub id: i64,
    pub endpoint_id: i64,
    pub url: String,
    pub secret: String,
    pub event_type: String,
    pub room_name: String,
    pub body: String,
    pub attempts: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryOutcome {
    Delivered,
    Retry { at: DateTime<Utc>, error: String },
    Failed { error: String },
}

/// An attempt that ended, and what came of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinishedAttempt {
    pub id: i64,
    /// Attempts made, this one included.
    pub attempts: u32,
    pub outcome: DeliveryOutcome,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryCounts {
    pub pending: u64,
    pub delivered: u64,
    pub failed: u64,
}

/// An endpoint as the delivery worker sees it (`WebhookStore::live_endpoints`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiveEndpoint {
    pub id: i64,
    pub has_due: bool,
}

#[async_trait]
pub trait WebhookStore: Send + Sync {
    async fn create_webhook(
        &self,
        url: &str,
        events: &[String],
        secret: &str,
        now: DateTime<Utc>,
    ) -> Result<WebhookEndpoint, StoreError>;
    async fn list_webhooks(&self) -> Result<Vec<WebhookEndpoint>, StoreError>;
    async fn get_webhook(&self, id: i64) -> Result<Option<WebhookEndpoint>, StoreError>;
    /// Removes an endpoint and cancels its pending deliveries; false when there was none.
    async fn remove_webhook(&self, id: i64, now: DateTime<Utc>) -> Result<bool, StoreError>;
    /// The endpoints not removed, by id, each with whether it has a delivery due at `now` (perhaps
    /// one waiting for an older one of its room): a claim for one without is sure to find nothing.
    async fn live_endpoints(&self, now: DateTime<Utc>) -> Result<Vec<LiveEndpoint>, StoreError>;
    /// Claims due deliveries of `endpoint` for `claimant` until `until`, earliest due first, at
    /// most one per room: the room's oldest pending, if its time has come and no unexpired claim
    /// holds it. Reads that endpoint's due deliveries only, so neither another endpoint's backlog
    /// nor events waiting behind a retry slow it. Another caller (a node of a cluster) never gets
    /// a delivery while it is claimed; a claim that ran out (its claimant died mid-delivery) lets
    /// it be claimed again.
    async fn claim_deliveries(
        &self,
        endpoint: i64,
        now: DateTime<Utc>,
        limit: u32,
        claimant: &str,
        until: DateTime<Utc>,
    ) -> Result<Vec<DueDelivery>, StoreError>;
    /// Releases every claim: a server alone on its store does so at start, as any claim left is
    /// that of a process that died mid-delivery. Returns how many.
    async fn release_claims(&self) -> Result<u64, StoreError>;
    /// The earliest time after `now` at which a pending delivery's attempt is due or its claim
    /// runs out, if any: when the worker may next find something new to claim.
    async fn next_delivery_at(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, StoreError>;
    /// Records the outcomes of attempts that ended and releases their claims: those delivered or
    /// given up in one statement (a cluster's PostgreSQL otherwise spent most of its time on one
    /// `UPDATE` a delivery), each retry on its own, pending again until its time, and its room's
    /// later events not due before it.
    async fn finish_deliveries(
        &self,
        finished: &[FinishedAttempt],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    async fn delivery_counts(&self) -> Result<DeliveryCounts, StoreError>;
    /// Forgets deliveries finished (delivered, failed or cancelled) before `cutoff`; returns how many.
    async fn prune_deliveries(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError>;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ThemeKind {
    Logo,
    RoomBackground,
    KnockPageBackground,
    Tokens,
}

impl ThemeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ThemeKind::Logo => "logo",
            ThemeKind::RoomBackground => "room-background",
            ThemeKind::KnockPageBackground => "room-knock-page-background",
            ThemeKind::Tokens => "tokens",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Some(match raw {
            "logo" => ThemeKind::Logo,
            "room-background" => ThemeKind::RoomBackground,
            "room-knock-page-background" => ThemeKind::KnockPageBackground,
            "tokens" => ThemeKind::Tokens,
            _ => return None,
        })
    }
}

/// One part of a room's theme: an uploaded image, or a preset (JSON as the API took it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ThemeValue {
    Image {
        content_type: String,
        bytes: Vec<u8>,
    },
    Preset(serde_json::Value),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThemePart {
    pub kind: ThemeKind,
    /// Presets only; images are fetched with `theme_image`.
    pub preset: Option<serde_json::Value>,
    pub has_image: bool,
    /// Changes with every update; part of image URLs so caches see new images at once.
    pub version: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThemeImage {
    pub content_type: String,
    pub bytes: Vec<u8>,
    pub version: i64,
}

#[async_trait]
pub trait ThemeStore: Send + Sync {
    /// Sets one part of a room's theme; returns the new version.
    async fn put_theme(
        &self,
        room: &RoomName,
        kind: ThemeKind,
        value: ThemeValue,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError>;
    /// Resets one part to the default.
    async fn clear_theme(&self, room: &RoomName, kind: ThemeKind) -> Result<(), StoreError>;
    async fn theme(&self, room: &RoomName) -> Result<Vec<ThemePart>, StoreError>;
    async fn theme_image(
        &self,
        room: &RoomName,
        kind: ThemeKind,
    ) -> Result<Option<ThemeImage>, StoreError>;
}

/// Rooms a server alone keeps (as they change, and when it stops) for the server that starts next
/// to carry on with: their state, opaque here.
#[async_trait]
pub trait SnapshotStore: Send + Sync {
    /// Keeps these rooms' states, replacing any kept before for the same rooms.
    async fn save_snapshots(
        &self,
        rooms: &[(RoomName, String)],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Forgets these rooms' states (their rooms are over).
    async fn forget_snapshots(&self, rooms: &[RoomName]) -> Result<(), StoreError>;
    /// One room's kept state, if any (left in place).
    async fn snapshot_of(&self, room: &RoomName) -> Result<Option<String>, StoreError>;
    /// Every room state kept, forgotten as it is read (whoever reads them carries the rooms on).
    async fn take_snapshots(&self) -> Result<Vec<(RoomName, String)>, StoreError>;
}

/// A server alone on a store that others could share (PostgreSQL without a cluster) makes sure it
/// is alone: two servers on one store would split rooms and deliver webhooks twice.
#[async_trait]
pub trait ExclusiveUse: Send + Sync {
    /// Holds the store for this process until it exits; `InUse` when another holds it.
    async fn hold_exclusively(&self) -> Result<(), StoreError>;
}

#[async_trait]
pub trait Store:
    MeetingStore
    + FactStore
    + WebhookStore
    + ThemeStore
    + SnapshotStore
    + ExclusiveUse
    + insights::InsightStore
    + 'static
{
    /// Flushes and closes; later calls fail.
    async fn close(&self);
}

-- Meetings created through the REST API. Times are milliseconds since the Unix epoch, UTC.
CREATE TABLE meetings (
    -- AUTOINCREMENT: an id is never handed out twice, even after the sweep removed its meeting.
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    room_name   TEXT    NOT NULL UNIQUE,
    start_ms    INTEGER NOT NULL,
    end_ms      INTEGER NOT NULL,
    room_mode   TEXT    NOT NULL CHECK (room_mode IN ('normal', 'group')),
    is_locked   INTEGER NOT NULL,
    viewer_mode INTEGER NOT NULL,
    deleted_ms  INTEGER
);
CREATE INDEX meetings_by_end ON meetings (end_ms);

-- API keys, kept only as SHA-256 hashes.
CREATE TABLE api_keys (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT    NOT NULL,
    key_hash   TEXT    NOT NULL UNIQUE,
    prefix     TEXT    NOT NULL,
    created_ms INTEGER NOT NULL,
    revoked_ms INTEGER
);

-- Server-wide secrets generated at first start (the roomKey signing secret).
CREATE TABLE secrets (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
);

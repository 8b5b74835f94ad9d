-- Webhook endpoints and what each subscribes to.
CREATE TABLE webhook_endpoints (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    url        TEXT    NOT NULL,
    -- Kept in clear: every delivery is signed with it.
    secret     TEXT    NOT NULL,
    created_ms INTEGER NOT NULL,
    removed_ms INTEGER
);
CREATE TABLE webhook_endpoint_events (
    endpoint_id INTEGER NOT NULL REFERENCES webhook_endpoints (id),
    event_type  TEXT    NOT NULL,
    PRIMARY KEY (endpoint_id, event_type)
);

-- The outbox: one row per event and subscribed endpoint, written in the same transaction as the
-- room fact that caused it. Delivered oldest first per (endpoint, room).
CREATE TABLE webhook_deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    endpoint_id     INTEGER NOT NULL REFERENCES webhook_endpoints (id),
    event_type      TEXT    NOT NULL,
    room_name       TEXT    NOT NULL,
    body            TEXT    NOT NULL,
    status          TEXT    NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'delivered', 'failed', 'cancelled')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms INTEGER NOT NULL,
    last_error      TEXT,
    created_ms      INTEGER NOT NULL,
    done_ms         INTEGER
);
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (status, endpoint_id, room_name, id);

-- Insights: sessions, and each member's time in the room (a row per stay, per session).
CREATE TABLE room_sessions (
    id                 TEXT    PRIMARY KEY,
    meeting_id         INTEGER NOT NULL,
    room_name          TEXT    NOT NULL,
    -- The meeting's creation and end dates, kept here so insights outlive the meeting's sweep.
    meeting_created_ms INTEGER NOT NULL,
    meeting_end_ms     INTEGER NOT NULL,
    started_ms         INTEGER NOT NULL,
    ended_ms           INTEGER
);
CREATE INDEX room_sessions_by_room ON room_sessions (room_name, started_ms);

CREATE TABLE participations (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    room_name    TEXT    NOT NULL,
    session_id   TEXT,
    client_id    TEXT    NOT NULL,
    role         TEXT    NOT NULL,
    display_name TEXT    NOT NULL,
    external_id  TEXT,
    user_agent   TEXT,
    joined_ms    INTEGER NOT NULL,
    left_ms      INTEGER
);
CREATE INDEX participations_open ON participations (room_name, left_ms);
CREATE INDEX participations_by_session ON participations (session_id);
CREATE INDEX participations_by_external_id ON participations (external_id);

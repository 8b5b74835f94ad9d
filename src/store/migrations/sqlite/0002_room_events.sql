-- What happened in rooms (knocks, verdicts, joins, leaves, lock changes), in order. Webhooks and
-- insights are computed from these rows.
CREATE TABLE room_events (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    meeting_id      INTEGER NOT NULL,
    room_name       TEXT    NOT NULL,
    kind            TEXT    NOT NULL,
    at_ms           INTEGER NOT NULL,
    client_id       TEXT,
    role            TEXT,
    display_name    TEXT,
    external_id     TEXT,
    metadata        TEXT,
    message         TEXT,
    num_clients     INTEGER NOT NULL,
    -- JSON object: role name -> count, right after the event.
    clients_by_role TEXT    NOT NULL
);
CREATE INDEX room_events_by_room ON room_events (room_name, id);

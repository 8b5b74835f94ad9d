-- A delivery is claimed for a while before it is attempted (the same rule as the cluster's store,
-- where several nodes deliver from one outbox).
ALTER TABLE webhook_deliveries ADD COLUMN claimed_by TEXT;
ALTER TABLE webhook_deliveries ADD COLUMN claimed_until_ms INTEGER;

-- Rooms handed over by a server that stopped (SIGTERM): their state, for the next start to carry on.
CREATE TABLE room_snapshots (
    room_name TEXT    PRIMARY KEY,
    state     TEXT    NOT NULL,
    saved_ms  INTEGER NOT NULL
);

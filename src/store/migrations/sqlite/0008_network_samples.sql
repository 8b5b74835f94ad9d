-- What a group room's media server measured of each member's connection (insights' network
-- samples): one row per admission to its media path, the samples a JSON array of
-- [bitrateSend, bitrateRecv, packetLossSend, packetLossRecv].
CREATE TABLE network_samples (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    room_name   TEXT    NOT NULL,
    client_id   TEXT    NOT NULL,
    started_ms  INTEGER NOT NULL,
    interval_ms INTEGER NOT NULL,
    samples     TEXT    NOT NULL
);
CREATE INDEX network_samples_by_client ON network_samples (client_id);

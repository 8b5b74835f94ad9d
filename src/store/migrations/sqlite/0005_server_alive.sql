-- The last moment the server was known alive (written every few seconds): after a crash, whoever was
-- in a room or knocking then is closed with their webhook events, timed at this moment.
CREATE TABLE server_alive (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    at_ms INTEGER NOT NULL
);

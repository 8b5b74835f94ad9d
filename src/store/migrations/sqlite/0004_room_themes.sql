-- Room themes: per room and part (logo, room-background, room-knock-page-background, tokens), either
-- an uploaded image or a preset as JSON.
CREATE TABLE room_themes (
    room_name    TEXT    NOT NULL,
    kind         TEXT    NOT NULL,
    preset       TEXT,
    content_type TEXT,
    image        BLOB,
    version      INTEGER NOT NULL,
    updated_ms   INTEGER NOT NULL,
    PRIMARY KEY (room_name, kind)
);

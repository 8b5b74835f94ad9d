-- How a meeting may be recorded (Whereby's recording.type): 'none', 'local' or 'cloud'. Meetings
-- made before it records nothing.
ALTER TABLE meetings ADD COLUMN recording TEXT NOT NULL DEFAULT 'none';

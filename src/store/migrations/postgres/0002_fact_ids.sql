-- A cluster's room keeps its facts with its state until they are written, for its next owner to
-- record if its node dies first; a fact may then reach the store twice, and is written once.
ALTER TABLE room_events ADD COLUMN fact_id TEXT;
CREATE UNIQUE INDEX room_events_by_fact_id ON room_events (fact_id) WHERE fact_id IS NOT NULL;

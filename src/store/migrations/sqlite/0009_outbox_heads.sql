-- The delivery worker's claim reads one endpoint's due deliveries, earliest first, and stops at
-- what it takes; each is a room's next only if no older one of that room is pending (one probe).
-- A delivery never attempted waits, as a hint, for its room's oldest to be retried (store/shared/
-- webhooks.rs), so a dead receiver's backlog is not in the walk at all. The index this replaces
-- began with the status, which led the planner to read every pending row for each query below.
DROP INDEX webhook_deliveries_pending;
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (endpoint_id, room_name, id)
    WHERE status = 'pending';
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (endpoint_id, next_attempt_ms, id)
    WHERE status = 'pending';
-- When the worker next has something to do: the earliest future attempt or end of a claim, read
-- from one end of each of these.
CREATE INDEX webhook_deliveries_next_attempt ON webhook_deliveries (next_attempt_ms)
    WHERE status = 'pending';
CREATE INDEX webhook_deliveries_claim_end ON webhook_deliveries (claimed_until_ms)
    WHERE status = 'pending' AND claimed_until_ms IS NOT NULL;

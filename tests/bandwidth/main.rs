//! The media server and a subscriber's link (bandwidth sharing, resends), in a test binary of its
//! own so that these tests run with no other beside them (they take turns: `ALONE`). What the first
//! checks rests on a delay-based bandwidth estimate, which reads a busy machine's scheduling delays
//! as a congested network. It failed now and then (no top layer back within 45 s of the link
//! widening): str0m's loss-based estimator had held its estimate after the narrow spell, for 57 s
//! (its hold, doubled each time it finds loss again, up to a minute). The server now restarts an
//! estimator whose estimate has not moved for 10 s while the videos want more
//! (`HeldEstimate::stalled`).

#[path = "../it/helpers.rs"]
#[allow(dead_code)]
mod helpers;
#[path = "../it/ws.rs"]
#[allow(dead_code)]
mod ws;

mod media_bandwidth;

//! The waiting-room engine: `state` is the pure state machine, `actor` the task that owns one live
//! room, `registry` finds or starts a room's actor, `facts` what rooms report to webhooks and insights.

pub mod facts;
pub mod state;

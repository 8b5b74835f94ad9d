//! The waiting-room engine: `state` is the pure state machine, `actor` the task that owns one live
//! room, `registry` finds or starts a room's actor, `facts` what rooms report to webhooks and insights,
//! `recorder` the task that writes those facts to the store.

pub mod actor;
pub mod facts;
pub mod recorder;
pub mod registry;
pub mod state;
pub mod theme;

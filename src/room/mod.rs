//! The waiting-room engine. It owns the room's vocabulary (`model`, `input`, `event`) and depends on
//! nothing but the kernel (`meeting`): no wire format, no HTTP, no SQL.
//!
//! - `state`: the pure state machine, `(now, Input) -> Vec<Output>`;
//! - `actor`: the task that owns one live room and moves its outputs;
//! - `port`: what the actor is given to reach its surroundings.

pub mod actor;
pub mod event;
pub mod input;
pub mod model;
pub mod port;
pub mod state;

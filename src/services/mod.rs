//! Services: what the transports (REST API, signalling, command line) ask of the server. They reach
//! storage only through the store's traits, and the room engine only through its inputs and port.
//!
//! - `meetings`: create, read, list, delete; the links people open;
//! - `rooms`: live rooms and their actors; room keys;
//! - `themes`: how rooms look;
//! - `recorder`: room facts to the store (insights, the webhook outbox), off the signalling path;
//! - `api_keys`, `insights`: the REST API's keys, and what rooms recorded.

pub mod api_keys;
pub mod health;
pub mod ice;
pub mod insights;
pub mod keeper;
pub mod limits;
pub mod meetings;
pub mod orphans;
pub mod recorder;
pub mod rooms;
pub mod store_keeper;
pub mod themes;

//! Signalling: the WebSocket endpoint `GET /v1/signal` and its protocol.

pub mod protocol;

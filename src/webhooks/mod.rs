//! Webhooks: room facts become Whereby-shaped events (`event.rs`), wait in the store's outbox, and a
//! delivery worker (`delivery.rs`) posts them, signed (`signing.rs`), with retries.

pub mod delivery;
pub mod event;
pub mod signing;

/// Every event type an endpoint may subscribe to: Whereby's, then ours.
pub const EVENT_TYPES: &[&str] = &[
    "room.client.knocked",
    "room.client.knockCancelled",
    "room.client.joined",
    "room.client.left",
    "room.session.started",
    "room.session.ended",
    "room.client.knockAccepted",
    "room.client.knockHeld",
    "room.client.knockRejected",
    "room.locked",
    "room.unlocked",
];

/// Checks a subscription list; returns it deduplicated, or the first unknown type.
pub fn parse_event_types<'a>(
    names: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<String>, String> {
    let mut events = Vec::new();
    for name in names.into_iter().map(str::trim).filter(|n| !n.is_empty()) {
        if !EVENT_TYPES.contains(&name) {
            return Err(format!(
                "unknown event type {name:?}; known: {}",
                EVENT_TYPES.join(", ")
            ));
        }
        if !events.iter().any(|e| e == name) {
            events.push(name.to_owned());
        }
    }
    if events.is_empty() {
        return Err("subscribe to at least one event type".into());
    }
    Ok(events)
}

/// A webhook URL must be absolute http(s), with a host, and of a sane length.
pub fn check_url(url: &str) -> Result<(), String> {
    if url.len() > 2048 {
        return Err("url is longer than 2048 characters".to_owned());
    }
    crate::config::parse_http_url(url).map(|_| ())
}

/// A fresh signing secret, shown once when the endpoint is created.
pub fn new_secret() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!(
        "whsec_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

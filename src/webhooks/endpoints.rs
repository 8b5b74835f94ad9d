//! The endpoints that receive events: checked, stored, listed and removed. The signing secret is
//! made here and shown once, at creation.

use chrono::Utc;

use crate::config::{UrlError, parse_http_url};
use crate::meeting::facts::FactKind;
use crate::store::{DynStore, StoreError, WebhookEndpoint};

#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    #[error("url is longer than 2048 characters")]
    UrlTooLong,
    #[error(transparent)]
    Url(#[from] UrlError),
    #[error("unknown event type {0:?}; known: {known}", known = super::event_types().collect::<Vec<_>>().join(", "))]
    UnknownEvent(String),
    #[error("subscribe to at least one event type")]
    NoEvents,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl EndpointError {
    /// Whether the subscription list (rather than the URL or the store) was wrong.
    pub fn is_about_events(&self) -> bool {
        matches!(
            self,
            EndpointError::UnknownEvent(_) | EndpointError::NoEvents
        )
    }
}

/// A webhook URL must be absolute http(s), with a host, and of a sane length.
pub fn check_url(url: &str) -> Result<(), EndpointError> {
    if url.len() > 2048 {
        return Err(EndpointError::UrlTooLong);
    }
    parse_http_url(url)?;
    Ok(())
}

/// Checks a subscription list; returns it deduplicated, or the first unknown type.
pub fn parse_event_types<'a>(
    names: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<String>, EndpointError> {
    let mut events = Vec::new();
    for name in names.into_iter().map(str::trim).filter(|n| !n.is_empty()) {
        if name.parse::<FactKind>().is_err() {
            return Err(EndpointError::UnknownEvent(name.to_owned()));
        }
        if !events.iter().any(|e| e == name) {
            events.push(name.to_owned());
        }
    }
    if events.is_empty() {
        return Err(EndpointError::NoEvents);
    }
    Ok(events)
}

/// A fresh signing secret, shown once when the endpoint is created.
fn new_secret() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!(
        "whsec_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

#[derive(Clone)]
pub struct Endpoints {
    store: DynStore,
}

impl Endpoints {
    pub fn new(store: DynStore) -> Self {
        Endpoints { store }
    }

    /// Checks and stores an endpoint; the result carries its secret, to show once.
    pub async fn add<'a>(
        &self,
        url: &str,
        events: impl IntoIterator<Item = &'a str>,
    ) -> Result<WebhookEndpoint, EndpointError> {
        check_url(url)?;
        let events = parse_event_types(events)?;
        let endpoint = self
            .store
            .create_webhook(url, &events, &new_secret(), Utc::now())
            .await?;
        let url = crate::config::without_password(&endpoint.url);
        tracing::info!(id = endpoint.id, %url, "webhook endpoint added");
        Ok(endpoint)
    }

    pub async fn list(&self) -> Result<Vec<WebhookEndpoint>, StoreError> {
        self.store.list_webhooks().await
    }

    pub async fn get(&self, id: i64) -> Result<Option<WebhookEndpoint>, StoreError> {
        self.store.get_webhook(id).await
    }

    /// Removes an endpoint (its undelivered events are dropped); false when there was none.
    pub async fn remove(&self, id: i64) -> Result<bool, StoreError> {
        let removed = self.store.remove_webhook(id, Utc::now()).await?;
        if removed {
            tracing::info!(id, "webhook endpoint removed");
        }
        Ok(removed)
    }
}

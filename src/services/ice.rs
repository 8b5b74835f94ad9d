//! The STUN and TURN servers browsers are given. TURN credentials follow coturn's shared-secret
//! scheme ("TURN REST API"): minted here, and handed only to a connection that named an open room.

use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};

/// STUN and TURN servers handed to browsers; TURN credentials follow coturn's shared-secret scheme.
#[derive(Debug, Clone, Default)]
pub struct IceConfig {
    pub stun_urls: Vec<String>,
    pub turn_urls: Vec<String>,
    pub turn_secret: Option<String>,
}

/// TURN credentials are valid this long.
const TURN_CREDENTIAL_SECS: i64 = 12 * 3600;

impl IceConfig {
    fn stun(&self) -> Vec<Value> {
        if self.stun_urls.is_empty() {
            return Vec::new();
        }
        vec![json!({ "urls": self.stun_urls })]
    }

    /// What anyone may have: the STUN servers.
    pub fn public_servers(&self) -> Value {
        Value::Array(self.stun())
    }

    /// Everything, TURN credentials included, valid from `now` (Unix seconds).
    pub fn ice_servers(&self, now: i64) -> Value {
        let mut servers = self.stun();
        if let (false, Some(secret)) = (self.turn_urls.is_empty(), &self.turn_secret) {
            let username = format!("{}:anteroom", now + TURN_CREDENTIAL_SECS);
            // HMAC takes keys of any length.
            let mut mac =
                Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes()).expect("any key length");
            mac.update(username.as_bytes());
            let credential =
                base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
            servers.push(
                json!({ "urls": self.turn_urls, "username": username, "credential": credential }),
            );
        }
        Value::Array(servers)
    }
}

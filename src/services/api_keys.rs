//! API keys: generated with 256 bits of randomness, shown once, stored only as a SHA-256 hash (a slow
//! password hash buys nothing for a secret this long). Keys found valid are trusted for a second
//! without asking the store again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::store::{ApiKeyInfo, DynStore, StoreError};

const KEY_MARKER: &str = "ar_";

/// How long a key found valid is trusted without asking the store again; a revocation (made by the
/// CLI, maybe in another process) takes effect within this time.
pub const KEY_CACHE_TTL: Duration = Duration::from_secs(1);
const KEY_CACHE_MAX: usize = 1024;

/// Recently verified key hashes, so a busy integrator's every call does not cost a database read.
#[derive(Debug, Default)]
struct KeyCache {
    verified: Mutex<HashMap<String, Instant>>,
}

impl KeyCache {
    fn is_fresh(&self, hash: &str, now: Instant) -> bool {
        let verified = self.verified.lock().unwrap_or_else(|p| p.into_inner());
        verified
            .get(hash)
            .is_some_and(|at| now.duration_since(*at) < KEY_CACHE_TTL)
    }

    fn remember(&self, hash: String, now: Instant) {
        let mut verified = self.verified.lock().unwrap_or_else(|p| p.into_inner());
        if verified.len() >= KEY_CACHE_MAX {
            verified.retain(|_, at| now.duration_since(*at) < KEY_CACHE_TTL);
            if verified.len() >= KEY_CACHE_MAX {
                verified.clear();
            }
        }
        verified.insert(hash, now);
    }
}

fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

#[derive(Clone)]
pub struct ApiKeys {
    store: DynStore,
    cache: Arc<KeyCache>,
}

impl ApiKeys {
    pub fn new(store: DynStore) -> Self {
        ApiKeys {
            store,
            cache: Arc::default(),
        }
    }

    /// Creates and stores a new key; returns the key itself (the only time it exists in clear) and
    /// its record.
    pub async fn issue(&self, name: &str) -> Result<(String, ApiKeyInfo), StoreError> {
        let mut secret = [0u8; 32];
        rand::rng().fill_bytes(&mut secret);
        let key = format!("{KEY_MARKER}{}", URL_SAFE_NO_PAD.encode(secret));
        let prefix = key[..KEY_MARKER.len() + 6].to_owned();
        let info = self
            .store
            .create_api_key(name, &hash_key(&key), &prefix, Utc::now())
            .await?;
        Ok((key, info))
    }

    /// Whether a bearer key is one of ours and not revoked.
    pub async fn is_valid(&self, key: &str) -> Result<bool, StoreError> {
        let hash = hash_key(key);
        let now = Instant::now();
        if self.cache.is_fresh(&hash, now) {
            return Ok(true);
        }
        let found = self.store.find_active_api_key(&hash).await?.is_some();
        if found {
            self.cache.remember(hash, now);
        }
        Ok(found)
    }

    pub async fn list(&self) -> Result<Vec<ApiKeyInfo>, StoreError> {
        self.store.list_api_keys().await
    }

    /// False when no such key exists; revoking twice is harmless.
    pub async fn revoke(&self, id: i64) -> Result<bool, StoreError> {
        self.store.revoke_api_key(id, Utc::now()).await
    }
}

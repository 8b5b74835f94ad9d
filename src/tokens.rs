//! Signed tokens: the `roomKey` in host and viewer URLs, and the grant an admitted knocker enters with.
//! Both are HS256 JWTs under the server's token secret; the role inside decides what the bearer may do.

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::meeting::{Meeting, MeetingId, RoomName};

const ISSUER: &str = "anteroom";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyRole {
    Host,
    Viewer,
    /// A knocker a host let in; the grant is bound to that knock's client id.
    GrantedVisitor,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomClaims {
    pub iss: String,
    /// Meeting id as a string, as the REST API shows it.
    pub sub: String,
    pub room: String,
    pub role: KeyRole,
    pub iat: i64,
    pub exp: i64,
    /// For grants only: the client id of the admitted knock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cid: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("the key has expired")]
    Expired,
    #[error("the key is not valid")]
    Invalid,
}

#[derive(Clone)]
pub struct TokenSigner {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl std::fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenSigner(..)")
    }
}

impl TokenSigner {
    pub fn new(secret: &[u8]) -> Self {
        TokenSigner {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
        }
    }

    /// The `roomKey` for a host or viewer URL. Deterministic for a meeting and role (issued at the
    /// meeting's start), so fetching a meeting twice gives the same URLs.
    pub fn room_key(&self, meeting: &Meeting, role: KeyRole) -> String {
        let claims = RoomClaims {
            iss: ISSUER.into(),
            sub: meeting.id.to_string(),
            room: meeting.room_name.as_str().into(),
            role,
            iat: meeting.start_date.timestamp(),
            exp: meeting.host_key_expiry().timestamp(),
            cid: None,
        };
        self.sign(&claims)
    }

    /// A grant for an admitted knocker: valid for this room and this client only, for a short while.
    pub fn grant(
        &self,
        meeting_id: MeetingId,
        room: &RoomName,
        client_id: &str,
        now: DateTime<Utc>,
        valid_for: chrono::Duration,
    ) -> String {
        let claims = RoomClaims {
            iss: ISSUER.into(),
            sub: meeting_id.to_string(),
            room: room.as_str().into(),
            role: KeyRole::GrantedVisitor,
            iat: now.timestamp(),
            exp: (now + valid_for).timestamp(),
            cid: Some(client_id.into()),
        };
        self.sign(&claims)
    }

    fn sign(&self, claims: &RoomClaims) -> String {
        // Encoding HS256 with an in-memory key and plain serialisable claims has no failure path.
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .expect("HS256 signing of plain claims cannot fail")
    }

    /// Checks signature, issuer and expiry (no leeway: a key is dead the second it expires).
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<RoomClaims, TokenError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        // Expiry is checked below against the caller's clock, so tests and the state machine agree on time.
        validation.validate_exp = false;
        let data = jsonwebtoken::decode::<RoomClaims>(token, &self.decoding, &validation)
            .map_err(|_| TokenError::Invalid)?;
        if data.claims.exp <= now.timestamp() {
            return Err(TokenError::Expired);
        }
        Ok(data.claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meeting::RoomMode;

    fn meeting(end_in_hours: i64) -> Meeting {
        let now = Utc::now();
        Meeting {
            id: MeetingId(7),
            room_name: RoomName::parse("/r1").unwrap(),
            start_date: now,
            end_date: now + chrono::Duration::hours(end_in_hours),
            room_mode: RoomMode::Normal,
            is_locked: true,
            viewer_mode: false,
            recording: Default::default(),
        }
    }

    #[test]
    fn host_key_round_trips_and_is_stable() {
        let signer = TokenSigner::new(&[7; 32]);
        let m = meeting(1);
        let key = signer.room_key(&m, KeyRole::Host);
        assert_eq!(key, signer.room_key(&m, KeyRole::Host));
        let claims = signer.verify(&key, Utc::now()).unwrap();
        assert_eq!(claims.role, KeyRole::Host);
        assert_eq!(claims.sub, "7");
        assert_eq!(claims.room, "/r1");
        assert_eq!(claims.exp, m.host_key_expiry().timestamp());
    }

    #[test]
    fn keys_expire_an_hour_after_the_end() {
        let signer = TokenSigner::new(&[7; 32]);
        let m = meeting(1);
        let key = signer.room_key(&m, KeyRole::Viewer);
        let just_before = m.host_key_expiry() - chrono::Duration::seconds(1);
        assert!(signer.verify(&key, just_before).is_ok());
        assert_eq!(
            signer.verify(&key, m.host_key_expiry()),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn foreign_or_garbled_keys_are_invalid() {
        let key = TokenSigner::new(&[7; 32]).room_key(&meeting(1), KeyRole::Host);
        let other = TokenSigner::new(&[8; 32]);
        assert_eq!(other.verify(&key, Utc::now()), Err(TokenError::Invalid));
        assert_eq!(
            other.verify("not.a.jwt", Utc::now()),
            Err(TokenError::Invalid)
        );
    }
}

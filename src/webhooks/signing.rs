//! Whereby's signature scheme: `Whereby-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.

use hmac::{Hmac, Mac};
use sha2::Sha256;

pub const HEADER: &str = "Whereby-Signature";

fn mac(secret: &str, timestamp: i64, body: &str) -> Hmac<Sha256> {
    // HMAC takes keys of any length; this cannot fail.
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC accepts any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    mac
}

/// The header value for a delivery made at `timestamp`.
pub fn sign(secret: &str, timestamp: i64, body: &str) -> String {
    let digest = mac(secret, timestamp, body).finalize().into_bytes();
    format!("t={timestamp},v1={}", hex::encode(digest))
}

/// Checks a header value as a receiver would: right signature, timestamp within `tolerance_secs` of `now`.
pub fn verify(secret: &str, header: &str, body: &str, now: i64, tolerance_secs: i64) -> bool {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", v)) => signatures.push(v),
            _ => {}
        }
    }
    let Some(timestamp) = timestamp else {
        return false;
    };
    if (now - timestamp).abs() > tolerance_secs {
        return false;
    }
    signatures.iter().any(|sig| {
        hex::decode(sig)
            .is_ok_and(|bytes| mac(secret, timestamp, body).verify_slice(&bytes).is_ok())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_and_verifies_like_whereby() {
        let header = sign("secret", 1_700_000_000, r#"{"a":1}"#);
        assert!(header.starts_with("t=1700000000,v1="));
        assert!(verify("secret", &header, r#"{"a":1}"#, 1_700_000_100, 300));
        assert!(
            !verify("secret", &header, r#"{"a":2}"#, 1_700_000_100, 300),
            "tampered body"
        );
        assert!(
            !verify("other", &header, r#"{"a":1}"#, 1_700_000_100, 300),
            "wrong secret"
        );
        assert!(
            !verify("secret", &header, r#"{"a":1}"#, 1_700_001_000, 300),
            "stale"
        );
        // Known answer, computed independently: HMAC-SHA256("secret", "1700000000.{\"a\":1}").
        let expected = {
            let mut m = Hmac::<Sha256>::new_from_slice(b"secret").unwrap();
            m.update(b"1700000000.{\"a\":1}");
            hex::encode(m.finalize().into_bytes())
        };
        assert_eq!(header, format!("t=1700000000,v1={expected}"));
    }
}

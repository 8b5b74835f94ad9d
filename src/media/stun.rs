//! Just enough STUN (RFC 8489) to route a datagram before any transport reads it: is it STUN, and
//! which of our ufrags does its USERNAME name. str0m checks everything else (integrity, fingerprint).

const MAGIC_COOKIE: [u8; 4] = [0x21, 0x12, 0xA4, 0x42];
const HEADER: usize = 20;
const USERNAME: u16 = 0x0006;

/// A STUN message: two zero bits, then the magic cookie at bytes 4..8 (RFC 8489 §5; RFC 7983 §7
/// tells STUN from DTLS and RTP by the first byte being 0..=3).
pub fn is_stun(datagram: &[u8]) -> bool {
    datagram.len() >= HEADER && datagram[0] < 4 && datagram[4..8] == MAGIC_COOKIE
}

/// The ufrag of the receiving side: the part of USERNAME ("ours:theirs") before the colon.
pub fn local_ufrag(datagram: &[u8]) -> Option<&str> {
    if !is_stun(datagram) {
        return None;
    }
    let declared = u16::from_be_bytes([datagram[2], datagram[3]]) as usize;
    let body = datagram.get(HEADER..HEADER + declared)?;
    let mut at = 0;
    while at + 4 <= body.len() {
        let kind = u16::from_be_bytes([body[at], body[at + 1]]);
        let len = u16::from_be_bytes([body[at + 2], body[at + 3]]) as usize;
        let value = body.get(at + 4..at + 4 + len)?;
        if kind == USERNAME {
            let username = std::str::from_utf8(value).ok()?;
            return username.split(':').next();
        }
        // Attributes are padded to four bytes.
        at += 4 + len.div_ceil(4) * 4;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn binding_request(username: &[u8]) -> Vec<u8> {
        let padded = username.len().div_ceil(4) * 4;
        let mut message = vec![0x00, 0x01];
        message.extend_from_slice(&((4 + padded) as u16).to_be_bytes());
        message.extend_from_slice(&MAGIC_COOKIE);
        message.extend_from_slice(&[7; 12]);
        message.extend_from_slice(&USERNAME.to_be_bytes());
        message.extend_from_slice(&(username.len() as u16).to_be_bytes());
        message.extend_from_slice(username);
        message.resize(HEADER + 4 + padded, 0);
        message
    }

    #[test]
    fn reads_our_ufrag_from_a_binding_request() {
        let request = binding_request(b"serverufrag:browser");
        assert!(is_stun(&request));
        assert_eq!(local_ufrag(&request), Some("serverufrag"));
    }

    #[test]
    fn rtp_and_dtls_are_not_stun() {
        let mut rtp = vec![0x80, 96, 0, 1];
        rtp.extend_from_slice(&[0; 20]);
        assert!(!is_stun(&rtp));
        let mut dtls = vec![22, 0xfe, 0xfd];
        dtls.extend_from_slice(&[0; 30]);
        assert!(!is_stun(&dtls));
    }

    proptest! {
        #[test]
        fn never_panics_on_any_datagram(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = local_ufrag(&bytes);
        }

        #[test]
        fn never_panics_on_a_stun_header_with_any_body(body in proptest::collection::vec(any::<u8>(), 0..100), len in any::<u16>()) {
            let mut message = vec![0x00, 0x01];
            message.extend_from_slice(&len.to_be_bytes());
            message.extend_from_slice(&MAGIC_COOKIE);
            message.extend_from_slice(&[0; 12]);
            message.extend_from_slice(&body);
            let _ = local_ufrag(&message);
        }
    }
}

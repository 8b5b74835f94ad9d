//! Who a request really comes from. Behind a reverse proxy every connection comes from the proxy;
//! the proxy says who it forwards for in `Forwarded` (RFC 7239) or `X-Forwarded-For`. Those headers
//! are believed only from the proxies configured (`--trusted-proxies`), and only as far as the chain
//! of trusted proxies goes: the client is the rightmost address that is not one of them. From any
//! other peer the headers are ignored, so nobody can claim another's address.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use axum::extract::{ConnectInfo, FromRef, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use ipnet::IpNet;

use crate::api::error::ApiError;

#[derive(Debug, Clone, Default)]
pub struct TrustedProxies {
    nets: Arc<Vec<IpNet>>,
    /// Peers whose forwarding headers were ignored, each told of once in the log.
    warned: Arc<Mutex<HashSet<IpAddr>>>,
}

/// How many such peers are told of: a proxy left out of `--trusted-proxies` is one of the first;
/// clients sending the headers themselves (to pass for another) must not fill the log.
const WARNED_PEERS: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("trusted proxy {0:?} is not an address or a CIDR block (such as 10.0.0.0/8 or ::1)")]
pub struct ProxyError(String);

/// An address or a CIDR block (an address alone is a block of one).
pub fn parse_network(raw: &str) -> Option<IpNet> {
    let raw = raw.trim();
    raw.parse::<IpNet>()
        .or_else(|_| raw.parse::<IpAddr>().map(IpNet::from))
        .ok()
}

impl TrustedProxies {
    /// From addresses or CIDR blocks (an address alone is a block of one).
    pub fn parse(entries: &[String]) -> Result<Self, ProxyError> {
        let nets = entries
            .iter()
            .map(|raw| parse_network(raw).ok_or_else(|| ProxyError(raw.trim().to_owned())))
            .collect::<Result<_, _>>()?;
        Ok(TrustedProxies {
            nets: Arc::new(nets),
            warned: Arc::default(),
        })
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.nets.iter().any(|net| net.contains(&ip))
    }

    /// The client's address: the peer's, unless the peer is a trusted proxy, in which case the
    /// forwarding chain is walked back from the right past every trusted proxy.
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = canonical(peer);
        if !self.trusts(client) {
            if headers.contains_key("forwarded") || headers.contains_key("x-forwarded-for") {
                self.ignored_forwarding_from(client);
            }
            return client;
        }
        let chain = forwarded_for(headers);
        for hop in chain.into_iter().rev() {
            match hop {
                Some(ip) => {
                    client = canonical(ip);
                    if !self.trusts(client) {
                        break;
                    }
                }
                // An address we cannot read ("unknown", an obfuscated name): believe no further.
                None => break,
            }
        }
        client
    }

    /// A reverse proxy not named in `--trusted-proxies` makes every client it forwards one address
    /// (the proxy's), so the per-address limits soon refuse everyone: the log says so, once a peer.
    fn ignored_forwarding_from(&self, peer: IpAddr) {
        let mut warned = self
            .warned
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if warned.len() < WARNED_PEERS && warned.insert(peer) {
            tracing::warn!(
                %peer,
                "{peer} says whom it forwards for (Forwarded or X-Forwarded-For) but is not in --trusted-proxies: \
                 the header is ignored and every client it forwards counts as {peer} in the per-address limits \
                 (knocks, signalling connections); if it is your reverse proxy, add it to --trusted-proxies"
            );
        }
    }
}

/// Whom a per-address limit (knocks a minute, knocks waiting at a room, a rejection's cooldown,
/// bandwidth probes) counts as one: an IPv4 address, or an IPv6 address's /64. An IPv6 subscriber
/// (a home, an office, a phone) is given a /64 or more and may use any address in it, so counting
/// single IPv6 addresses would let one person knock as millions.
pub fn network_of(ip: IpAddr) -> IpAddr {
    match canonical(ip) {
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !(u128::from(u64::MAX)))),
        v4 => v4,
    }
}

/// An IPv4 address seen through an IPv6 socket is the IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The forwarding chain, left (the first hop) to right (the last proxy's peer); None for an element
/// that is not an address. `Forwarded` wins over `X-Forwarded-For` when both are sent.
fn forwarded_for(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let forwarded: Vec<&str> = headers
        .get_all("forwarded")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    if !forwarded.is_empty() {
        return forwarded
            .iter()
            .flat_map(|v| v.split(','))
            .map(|element| {
                element
                    .split(';')
                    .filter_map(|pair| pair.split_once('='))
                    .find(|(name, _)| name.trim().eq_ignore_ascii_case("for"))
                    .and_then(|(_, value)| node_address(value))
            })
            .collect();
    }
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(node_address)
        .collect()
}

/// An address as forwarding headers write it: `192.0.2.1`, `"192.0.2.1:4711"`, `"[2001:db8::1]"`,
/// `"[2001:db8::1]:4711"`.
fn node_address(raw: &str) -> Option<IpAddr> {
    let raw = raw.trim().trim_matches('"');
    if let Ok(ip) = raw.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(socket) = raw.parse::<SocketAddr>() {
        return Some(socket.ip());
    }
    let bracketed = raw.strip_prefix('[')?;
    bracketed.split(']').next()?.parse().ok()
}

/// The client's address, as an extractor: handlers that limit per address take this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

impl<S> FromRequestParts<S> for ClientIp
where
    TrustedProxies: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let ConnectInfo(peer) = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .copied()
            .ok_or_else(|| ApiError::Internal("the connection's address is unknown".into()))?;
        let proxies = TrustedProxies::from_ref(state);
        Ok(ClientIp(proxies.client_ip(peer.ip(), &parts.headers)))
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    fn ip(raw: &str) -> IpAddr {
        raw.parse().unwrap()
    }

    #[test]
    fn forwarded_addresses_are_believed_from_trusted_proxies_only() {
        let proxies = TrustedProxies::parse(&["10.0.0.0/8".into(), "127.0.0.1".into()]).unwrap();
        let xff = headers(&[("x-forwarded-for", "203.0.113.9, 10.1.1.1")]);
        assert_eq!(proxies.client_ip(ip("127.0.0.1"), &xff), ip("203.0.113.9"));
        // From an untrusted peer the header is ignored.
        assert_eq!(
            proxies.client_ip(ip("198.51.100.7"), &xff),
            ip("198.51.100.7")
        );
        // The rightmost untrusted hop wins: a client cannot push its claim past a proxy's own.
        let spoofed = headers(&[("x-forwarded-for", "1.2.3.4, 203.0.113.9")]);
        assert_eq!(
            proxies.client_ip(ip("10.0.0.2"), &spoofed),
            ip("203.0.113.9")
        );
        let forwarded = headers(&[(
            "forwarded",
            "for=\"[2001:db8:cafe::17]:4711\";proto=https, for=10.2.2.2",
        )]);
        assert_eq!(
            proxies.client_ip(ip("127.0.0.1"), &forwarded),
            ip("2001:db8:cafe::17")
        );
        let unknown = headers(&[("forwarded", "for=unknown, for=10.3.3.3")]);
        assert_eq!(proxies.client_ip(ip("127.0.0.1"), &unknown), ip("10.3.3.3"));
        assert_eq!(
            proxies.client_ip(ip("::ffff:127.0.0.1"), &xff),
            ip("203.0.113.9"),
            "an IPv4 peer on an IPv6 socket"
        );
        assert!(TrustedProxies::parse(&["nonsense".into()]).is_err());
    }

    #[test]
    fn peers_whose_forwarding_is_ignored_are_remembered_up_to_a_bound() {
        let proxies = TrustedProxies::parse(&["127.0.0.1".into()]).unwrap();
        let xff = headers(&[("x-forwarded-for", "203.0.113.9")]);
        proxies.client_ip(ip("127.0.0.1"), &xff);
        proxies.client_ip(ip("198.51.100.7"), &HeaderMap::new());
        assert!(
            proxies.warned.lock().unwrap().is_empty(),
            "trusted, or nothing forwarded"
        );
        for last in 0..=40u8 {
            proxies.client_ip(IpAddr::from([198, 51, 100, last]), &xff);
        }
        assert_eq!(proxies.warned.lock().unwrap().len(), WARNED_PEERS);
    }

    #[test]
    fn an_ipv6_subscriber_counts_as_one_and_ipv4_as_itself() {
        let of = |text: &str| network_of(text.parse().unwrap()).to_string();
        assert_eq!(of("2001:db8:1:2::a"), "2001:db8:1:2::");
        assert_eq!(of("2001:db8:1:2:ffff:ffff:ffff:ffff"), "2001:db8:1:2::");
        assert_ne!(of("2001:db8:1:3::a"), of("2001:db8:1:2::a"));
        assert_eq!(of("198.51.100.7"), "198.51.100.7");
        // An IPv4 client through an IPv6 socket is its IPv4 address, not the /64 of them all.
        assert_eq!(of("::ffff:198.51.100.7"), "198.51.100.7");
        assert_ne!(of("::ffff:198.51.100.7"), of("::ffff:198.51.100.8"));
    }
}

//! A media thread's routing: waiting for datagrams, reading them in batches, handing each to the
//! transport it belongs to, and a publisher's packets to its room's subscribers.

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use str0m::Input;
use str0m::net::{Protocol, Receive};

use super::{BATCH, MAX_WAIT, PeerKey, Worker};
use crate::media::arrival::{self, Arrival};
use crate::media::peer::Incoming;
use crate::media::published::TrackId;
use crate::media::stun;

/// Media that waited this long to be read (the thread stood still, or fell that far behind) is
/// not forwarded: its receivers' jitter buffers have given it up, and copying it to every
/// subscriber would keep fresh media waiting behind it. Its receivers mend the gap with a
/// keyframe, as they do a loss older than the resend window (`peer.rs`, `RESEND_WINDOW`).
const STALE_AFTER: Duration = Duration::from_secs(1);

/// Whether media may come from this address (`networks` empty: from anywhere).
fn allowed(networks: &[ipnet::IpNet], source: SocketAddr) -> bool {
    let ip = match source.ip() {
        std::net::IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map_or(source.ip(), std::net::IpAddr::V4),
        v4 => v4,
    };
    networks.is_empty() || networks.iter().any(|net| net.contains(&ip))
}

impl Worker {
    /// Waits (at most until a transport wants time) for datagrams, and hands a batch of them to
    /// their transports; the transports' output is collected once per batch, not once per datagram.
    pub(super) fn receive(&mut self, buf: &mut [u8]) {
        let now = Instant::now();
        let next = self.next_timer().unwrap_or(now + MAX_WAIT);
        let wait = next.saturating_duration_since(now).min(MAX_WAIT);
        if !wait.is_zero() && !self.readable(wait) {
            return;
        }
        for _ in 0..BATCH {
            match arrival::recv(&self.socket, buf) {
                Ok((len, source, arrival)) => self.route(&buf[..len], source, arrival),
                Err(err) if err.kind() == ErrorKind::WouldBlock => return,
                Err(err) => {
                    // An ICMP error from an earlier send, on some systems: nothing to do with this read.
                    tracing::debug!(error = %err, "media socket read failed");
                    return;
                }
            }
        }
    }

    /// Waits until the (non-blocking) socket has a datagram, for at most `wait`.
    fn readable(&self, wait: Duration) -> bool {
        let timeout = rustix::event::Timespec {
            tv_sec: wait.as_secs() as i64,
            tv_nsec: i64::from(wait.subsec_nanos()),
        };
        let mut fds = [rustix::event::PollFd::new(
            &self.socket,
            rustix::event::PollFlags::IN,
        )];
        rustix::event::poll(&mut fds, Some(&timeout)).is_ok_and(|ready| ready > 0)
    }

    /// One datagram to the transport it belongs to: a STUN request by the ufrag it names, anything
    /// else by the address a STUN request came from before. `arrival.at` is the kernel's time of
    /// its arrival (what the congestion feedback reports to its sender).
    fn route(&mut self, datagram: &[u8], source: SocketAddr, arrival: Arrival) {
        let arrived = arrival.at;
        let key = if stun::is_stun(datagram) {
            if !allowed(&self.peer_networks, source) {
                self.counters.unknown_source.fetch_add(1, Ordering::Relaxed);
                return;
            }
            let Some(key) = stun::local_ufrag(datagram)
                .and_then(|u| self.by_ufrag.get(u))
                .copied()
            else {
                self.counters.unknown_ufrag.fetch_add(1, Ordering::Relaxed);
                return;
            };
            self.by_source.insert(source, key);
            key
        } else {
            let Some(key) = self.by_source.get(&source).copied() else {
                self.counters.unknown_source.fetch_add(1, Ordering::Relaxed);
                return;
            };
            key
        };
        if self
            .peers
            .get_mut(&key)
            .is_some_and(|peer| peer.hearing.heard(arrived))
        {
            self.tell_room(key, false);
        }
        let advertised = self.advertised;
        if let Some(link) = self.link_mut(key) {
            // Before anything is made of it: a flood costs this much a datagram and no more.
            if !link.admit_datagram(datagram.len(), arrived) {
                self.counters.over_cap.fetch_add(1, Ordering::Relaxed);
                return;
            }
            let Ok(contents) = datagram.try_into() else {
                return;
            };
            // Still given to str0m (its sequence numbers stay whole: no resends asked for), but
            // what it carries goes nowhere.
            link.stale = arrival.waited > STALE_AFTER;
            let input = Input::Receive(
                arrived,
                Receive {
                    proto: Protocol::Udp,
                    source,
                    // str0m matches it against the candidate it announced.
                    destination: advertised,
                    contents,
                },
            );
            if let Err(err) = link.rtc.handle_input(input) {
                tracing::debug!(error = %err, "a media transport refused a datagram");
            }
            // At once: in RTP mode str0m holds one received packet until its output is polled.
            self.service(key, Instant::now());
        }
    }
}

impl Worker {
    /// One frame of a publisher's track to every subscriber in its room.
    pub(super) fn fan_out(
        &mut self,
        from: PeerKey,
        track: TrackId,
        incoming: &Incoming,
        now: Instant,
    ) {
        // What the subscribers need of the track (a few layers) is copied out, so the publisher
        // stays in `peers` while the others are written: a panic on the way (`recovery.rs`)
        // leaves nobody out of place. A packet of a track no subscriber carries still costs this
        // walk; it is the room's size.
        let Some(publisher) = self.peers.get(&from) else {
            return;
        };
        let Some(link) = publisher.link.as_deref() else {
            return;
        };
        let Some(source) = link.published.iter().find(|t| t.id == track).cloned() else {
            return;
        };
        // The codec as the publisher named it, for each subscriber to find under its own number.
        let params = link
            .rtc
            .codec_config()
            .params()
            .iter()
            .find(|p| p.pt() == incoming.packet.header.payload_type)
            .copied();
        let members = self.rooms.get(&publisher.room);
        let mut forwarded = 0;
        let mut wanted = Vec::new();
        for other in members.into_iter().flatten() {
            if *other == from {
                continue;
            }
            self.busy = Some(*other);
            let Some(subscriber) = self.peers.get_mut(other).and_then(|p| p.link.as_mut()) else {
                continue;
            };
            let before = forwarded;
            if let Some(rid) = subscriber.forward(&source, incoming, params, &mut forwarded) {
                wanted.push(rid);
            }
            // Only a subscriber that was written to has anything to send.
            if forwarded > before {
                self.dirty.insert(*other);
            }
        }
        if let Some(link) = self.link_mut(from) {
            for rid in wanted {
                link.want_keyframe(track, rid);
            }
            link.ask_keyframes(now);
        }
        self.counters
            .forwarded
            .fetch_add(forwarded, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::allowed;

    #[test]
    fn media_comes_only_from_the_allowed_networks() {
        let loopback: Vec<ipnet::IpNet> = vec!["127.0.0.0/8".parse().unwrap()];
        assert!(allowed(&loopback, "127.0.0.1:5000".parse().unwrap()));
        assert!(allowed(
            &loopback,
            "[::ffff:127.0.0.9]:5000".parse().unwrap()
        ));
        assert!(!allowed(&loopback, "192.0.2.2:5000".parse().unwrap()));
        assert!(
            allowed(&[], "192.0.2.2:5000".parse().unwrap()),
            "no list: anywhere"
        );
    }
}

//! Datagrams a media thread has to send, sent in batches with sendmmsg(2): a forwarder's cost is in
//! its sends (one packet in, a room's worth out), and one system call per batch rather than per
//! datagram is most of what can be saved there.

use std::io::IoSlice;
use std::net::{SocketAddr, UdpSocket};

use rustix::net::{MMsgHdr, SendAncillaryBuffer, SendFlags, SocketAddrAny, sendmmsg};

/// Datagrams per system call (Linux takes up to 1024; the gain flattens well before).
const BATCH: usize = 64;

#[derive(Debug, Default)]
pub(super) struct Outbox {
    queue: Vec<(SocketAddr, Vec<u8>)>,
}

impl Outbox {
    pub fn push(&mut self, to: SocketAddr, datagram: Vec<u8>) {
        self.queue.push((to, datagram));
    }

    /// Whether a whole batch waits: sending it now costs no more system calls than later.
    pub fn has_batch(&self) -> bool {
        self.queue.len() >= BATCH
    }

    /// Sends everything queued. A datagram the socket cannot take now (its buffer is full) is
    /// dropped, as the network might drop it; RTP recovers.
    pub fn flush(&mut self, socket: &UdpSocket) {
        for chunk in self.queue.chunks(BATCH) {
            let addresses: Vec<SocketAddrAny> = chunk
                .iter()
                .map(|(to, _)| SocketAddrAny::from(*to))
                .collect();
            let slices: Vec<[IoSlice<'_>; 1]> =
                chunk.iter().map(|(_, data)| [IoSlice::new(data)]).collect();
            let mut controls: Vec<SendAncillaryBuffer<'_, '_, '_>> = chunk
                .iter()
                .map(|_| SendAncillaryBuffer::default())
                .collect();
            let mut messages: Vec<MMsgHdr<'_>> = addresses
                .iter()
                .zip(&slices)
                .zip(controls.iter_mut())
                .map(|((to, slice), control)| MMsgHdr::new_with_addr(to, slice, control))
                .collect();
            let mut sent = 0;
            while sent < messages.len() {
                match sendmmsg(socket, &mut messages[sent..], SendFlags::empty()) {
                    Ok(0) => break,
                    Ok(count) => sent += count,
                    // The first datagram left could not go (a full buffer, an ICMP error from
                    // an earlier send): skip it and go on with the rest.
                    Err(_) => sent += 1,
                }
            }
        }
        self.queue.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sends_every_datagram_to_its_own_address() {
        let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
        let receivers: Vec<UdpSocket> = (0..3)
            .map(|_| UdpSocket::bind("127.0.0.1:0").unwrap())
            .collect();
        let mut outbox = Outbox::default();
        for round in 0..50u8 {
            for (index, receiver) in receivers.iter().enumerate() {
                outbox.push(receiver.local_addr().unwrap(), vec![round, index as u8]);
            }
        }
        outbox.flush(&sender);
        let mut buf = [0u8; 16];
        for (index, receiver) in receivers.iter().enumerate() {
            receiver.set_nonblocking(true).unwrap();
            let mut rounds = Vec::new();
            while let Ok(n) = receiver.recv(&mut buf) {
                assert_eq!(n, 2);
                assert_eq!(buf[1], index as u8);
                rounds.push(buf[0]);
            }
            assert_eq!(rounds, (0..50).collect::<Vec<u8>>(), "all, in order");
        }
    }
}

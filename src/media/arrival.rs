//! When a datagram reached this machine, as the kernel saw it (SO_TIMESTAMPNS), not when the media
//! thread got round to reading it.
//!
//! The arrival times go into the transport-wide congestion control feedback (TWCC) that tells each
//! publisher's browser how its packets travelled. Stamped at reading time, a busy or briefly
//! descheduled media thread shows up there as queueing delay: the browser's delay-based estimator
//! takes it for congestion and throttles the publisher to its smallest layer (seen in the browser
//! tests on a loaded 2-core machine: uplink estimates of 90–400 kbit/s on loopback). The kernel's
//! time leaves the server's own scheduling out of what the publisher measures.

use std::io;
use std::net::{SocketAddr, SocketAddrV4, SocketAddrV6, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant, SystemTime};

use nix::sys::socket::{
    ControlMessageOwned, MsgFlags, SockaddrStorage, recvmsg, setsockopt, sockopt,
};

/// An arrival time older than this is a stepped wall clock, not a datagram that waited.
const OLDEST: Duration = Duration::from_secs(1);

/// Asks the kernel to stamp each datagram `socket` receives with its arrival time.
pub fn enable(socket: &UdpSocket) -> io::Result<()> {
    setsockopt(socket, sockopt::ReceiveTimestampns, &true).map_err(io::Error::from)
}

/// When a datagram reached this machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arrival {
    /// On the monotonic clock, at most `OLDEST` before it was read (now, when the kernel gave no
    /// time): what str0m and the congestion feedback are given.
    pub at: Instant,
    /// How long it waited to be read, as the kernel's time says, however long (zero without one):
    /// how stale its media is.
    pub waited: Duration,
}

/// Reads one datagram: its length, its source and when it arrived.
pub fn recv(socket: &UdpSocket, buf: &mut [u8]) -> io::Result<(usize, SocketAddr, Arrival)> {
    let (len, source, stamped) = recv_stamped(socket, buf)?;
    Ok((
        len,
        source,
        arrival(Instant::now(), SystemTime::now(), stamped),
    ))
}

/// Reads one datagram: its length, its source and the kernel's wall-clock time of its arrival
/// (`None` when the socket has no stamps switched on). The load generator reads with it too.
pub fn recv_stamped(
    socket: &UdpSocket,
    buf: &mut [u8],
) -> io::Result<(usize, SocketAddr, Option<SystemTime>)> {
    let mut iov = [io::IoSliceMut::new(buf)];
    let mut space = nix::cmsg_space!(nix::sys::time::TimeSpec);
    let message = recvmsg::<SockaddrStorage>(
        socket.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::empty(),
    )
    .map_err(io::Error::from)?;
    let stamped = message.cmsgs().ok().and_then(|mut cmsgs| {
        cmsgs.find_map(|cmsg| match cmsg {
            ControlMessageOwned::ScmTimestampns(at) => {
                Some(SystemTime::UNIX_EPOCH + Duration::from(at))
            }
            _ => None,
        })
    });
    let source = message
        .address
        .as_ref()
        .and_then(socket_addr)
        .ok_or_else(|| io::Error::other("a datagram without an IP source address"))?;
    Ok((message.bytes, source, stamped))
}

fn socket_addr(address: &SockaddrStorage) -> Option<SocketAddr> {
    if let Some(v4) = address.as_sockaddr_in() {
        return Some(SocketAddr::V4(SocketAddrV4::new(v4.ip(), v4.port())));
    }
    let v6 = address.as_sockaddr_in6()?;
    Some(SocketAddr::V6(SocketAddrV6::new(
        v6.ip(),
        v6.port(),
        v6.flowinfo(),
        v6.scope_id(),
    )))
}

/// The kernel's wall-clock arrival time on the monotonic clock: as long before `now` as it is
/// before `wall_now`, never in the future, and never more than `OLDEST` before. (A wall clock
/// stepped forward makes the datagrams queued at that moment look older by the step: a few
/// datagrams taken for stale.)
fn arrival(now: Instant, wall_now: SystemTime, stamped: Option<SystemTime>) -> Arrival {
    let waited = stamped
        .and_then(|at| wall_now.duration_since(at).ok())
        .unwrap_or_default();
    let at = match waited > OLDEST {
        true => now,
        false => now.checked_sub(waited).unwrap_or(now),
    };
    Arrival { at, waited }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_datagram_arrived_as_long_ago_as_the_kernel_says() {
        let now = Instant::now();
        let wall = SystemTime::now();
        let stamped = wall - Duration::from_millis(40);
        assert_eq!(
            arrival(now, wall, Some(stamped)),
            Arrival {
                at: now - Duration::from_millis(40),
                waited: Duration::from_millis(40)
            }
        );
    }

    #[test]
    fn no_stamp_a_future_stamp_or_a_stepped_clock_mean_now() {
        let now = Instant::now();
        let wall = SystemTime::now();
        let fresh = Arrival {
            at: now,
            waited: Duration::ZERO,
        };
        assert_eq!(arrival(now, wall, None), fresh);
        assert_eq!(
            arrival(now, wall, Some(wall + Duration::from_secs(3))),
            fresh
        );
        // Long waited (or a stepped clock): given to str0m as now, and said to be stale.
        assert_eq!(
            arrival(now, wall, Some(wall - Duration::from_secs(90))),
            Arrival {
                at: now,
                waited: Duration::from_secs(90)
            }
        );
    }

    #[test]
    fn a_queued_datagram_keeps_the_time_it_arrived() {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        enable(&server).unwrap();
        // The kernel switches its receive timestamps on from a work queue, a moment after the first
        // socket asks (until then it stamps datagrams as they are read).
        std::thread::sleep(Duration::from_millis(50));
        let client = UdpSocket::bind("127.0.0.1:0").unwrap();
        client
            .send_to(b"early", server.local_addr().unwrap())
            .unwrap();
        let sent = Instant::now();
        std::thread::sleep(Duration::from_millis(60));
        let mut buf = [0u8; 16];
        let (
            len,
            source,
            Arrival {
                at: arrived,
                waited,
            },
        ) = recv(&server, &mut buf).unwrap();
        assert_eq!(&buf[..len], b"early");
        assert_eq!(source, client.local_addr().unwrap());
        let read = Instant::now();
        assert!(
            read.duration_since(arrived) >= Duration::from_millis(50),
            "stamped at arrival, not at reading: {:?} before the read",
            read.duration_since(arrived)
        );
        assert!(arrived <= sent + Duration::from_millis(5));
        assert!(waited >= Duration::from_millis(50), "{waited:?}");
    }
}

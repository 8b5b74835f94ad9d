//! The traffic both paths (the media server and the bare relay) are fed: who publishes what, who
//! shows whom at which size, and how a frame is stamped so its delay can be read where it arrives.

use std::net::{SocketAddr, UdpSocket};
use std::time::UNIX_EPOCH;

use anteroom::media::arrival;

use crate::common::wall_nanos;

/// Simulcast layers as browsers send them (Whereby's are about 150, 500 and 1,000 kbit/s): rid,
/// width, height, bytes per frame at 30 frames a second.
pub const LAYERS: [(&str, u16, u16, usize); 3] = [
    ("l", 320, 180, 625),
    ("m", 640, 360, 2083),
    ("h", 1280, 720, 4166),
];
pub const LOW: usize = 0;
pub const HIGH: usize = 2;
/// The width a subscriber says it shows the one large video at, and each small one.
pub const STAGE_WIDTH: u32 = 1280;
pub const TILE_WIDTH: u32 = 320;
/// Audio: 50 packets of 120 bytes a second (Opus, 20 ms).
pub const AUDIO_RATE: u32 = 50;
pub const AUDIO_BYTES: usize = 120;
pub const VIDEO_RATE: u32 = 30;
/// A video packet's payload at most (what str0m's packetizer cuts a frame into, about).
pub const MAX_PAYLOAD: usize = 1100;
/// Voices a subscriber receives at most (the media server's audio slots).
pub const MAX_VOICES: usize = 10;

/// Where a frame keeps its send time (after a VP8 keyframe header's 10 bytes), its layer, and
/// (for the relay, which does not reassemble) its publisher and whether the packet ends the frame.
const STAMP: usize = 10;
const LAYER: usize = 18;
const PUBLISHER: usize = 19;
const LAST: usize = 21;

#[derive(Clone, Copy, Debug)]
pub struct Args {
    pub publishers: usize,
    /// Receive-only members (viewers) besides the publishers.
    pub listeners: usize,
    /// Publishers also receive each other (a meeting), not only the listeners.
    pub meeting: bool,
    pub video: bool,
    /// Small videos each receiver shows besides the large one (the rest it hides).
    pub low: usize,
    /// Frame rates are multiplied by this (to run a scenario at a share of its full load).
    pub scale: f64,
    pub seconds: u64,
    pub rounds: usize,
    /// The server runs with `--media-bandwidth-estimation`.
    pub bandwidth_estimation: bool,
    /// Viewers offer a data channel (as our browser client did before it offered an inactive
    /// audio line): the server then keeps an SCTP association for each.
    pub viewer_data_channel: bool,
}

impl Args {
    /// Everyone who receives: listeners first (indices `0..listeners`), then, in a meeting, the
    /// publishers (receiver `listeners + p` is publisher `p`).
    pub fn receivers(&self) -> usize {
        self.listeners + if self.meeting { self.publishers } else { 0 }
    }

    /// The publisher a receiver is, if any.
    pub fn publisher_of(&self, receiver: usize) -> Option<usize> {
        receiver.checked_sub(self.listeners)
    }

    /// Which layer of each publisher a receiver shows (None: hidden, or its own): the publisher
    /// after it gets the stage, the next `low` are tiles. Audio: every voice, up to `MAX_VOICES`.
    pub fn view(&self, receiver: usize, publisher: usize) -> Option<usize> {
        let own = self.publisher_of(receiver);
        if own == Some(publisher) {
            return None;
        }
        // The others in this receiver's order: from the publisher after it (or, for a listener, a
        // publisher of its own index), round the ring; its own place comes last and is skipped.
        let start = own.map_or(receiver, |p| p + 1) % self.publishers;
        let place = (publisher + self.publishers - start) % self.publishers;
        if !self.video {
            return (place < MAX_VOICES).then_some(LOW);
        }
        match place {
            0 => Some(HIGH),
            p if p <= self.low => Some(LOW),
            _ => None,
        }
    }

    /// The width a receiver says it shows a publisher at (0: hidden).
    pub fn width(&self, receiver: usize, publisher: usize) -> u32 {
        match self.view(receiver, publisher) {
            Some(HIGH) => STAGE_WIDTH,
            Some(_) => TILE_WIDTH,
            None => 0,
        }
    }

    /// Frames a second of one layer of one publisher.
    pub fn frame_rate(&self) -> f64 {
        f64::from(if self.video { VIDEO_RATE } else { AUDIO_RATE }) * self.scale
    }

    /// The layers a publisher sends (audio: one).
    pub fn layers(&self) -> usize {
        if self.video { LAYERS.len() } else { 1 }
    }

    pub fn frame_bytes(&self, layer: usize) -> usize {
        if self.video {
            LAYERS[layer].3
        } else {
            AUDIO_BYTES
        }
    }

    /// The sizes of the packets a frame of `layer` goes out in.
    pub fn packets(&self, layer: usize) -> Vec<usize> {
        let bytes = self.frame_bytes(layer);
        let count = bytes.div_ceil(MAX_PAYLOAD);
        (0..count)
            .map(|i| bytes / count + usize::from(i < bytes % count))
            .collect()
    }

    /// Frames every receiver should receive a second, all together.
    pub fn frames_per_second(&self) -> f64 {
        let shown: usize = (0..self.receivers())
            .map(|r| {
                (0..self.publishers)
                    .filter(|p| self.view(r, *p).is_some())
                    .count()
            })
            .sum();
        shown as f64 * self.frame_rate()
    }
}

/// A frame's payload: a VP8 keyframe carries the tag, start code and size the media server reads a
/// layer's width from (an interframe sets the tag's lowest bit); then the time it was sent, its
/// layer and publisher.
pub fn frame(layer: usize, bytes: usize, keyframe: bool, publisher: usize) -> Vec<u8> {
    let mut data = vec![0u8; bytes.max(LAST + 1)];
    let (_, width, height, _) = LAYERS[layer];
    if keyframe {
        data[3..6].copy_from_slice(&[0x9d, 0x01, 0x2a]);
        data[6..8].copy_from_slice(&width.to_le_bytes());
        data[8..10].copy_from_slice(&height.to_le_bytes());
    } else {
        data[0] = 0x01;
    }
    data[STAMP..STAMP + 8].copy_from_slice(&wall_nanos().to_be_bytes());
    data[LAYER] = layer as u8;
    data[PUBLISHER..PUBLISHER + 2].copy_from_slice(&(publisher as u16).to_be_bytes());
    data
}

/// A relay packet: a frame's header (as above), marked when it is the frame's last.
pub fn relay_packet(layer: usize, bytes: usize, publisher: usize, last: bool) -> Vec<u8> {
    let mut data = frame(layer, bytes, false, publisher);
    data[LAST] = u8::from(last);
    data
}

pub struct Stamp {
    pub sent_nanos: u64,
    pub layer: usize,
    pub publisher: usize,
    pub last: bool,
}

pub fn read_stamp(data: &[u8]) -> Option<Stamp> {
    Some(Stamp {
        sent_nanos: u64::from_be_bytes(data.get(STAMP..STAMP + 8)?.try_into().ok()?),
        layer: usize::from(*data.get(LAYER)?),
        publisher: usize::from(u16::from_be_bytes(
            data.get(PUBLISHER..PUBLISHER + 2)?.try_into().ok()?,
        )),
        last: *data.get(LAST)? != 0,
    })
}

/// A non-blocking loopback socket whose received datagrams carry the kernel's arrival time, with a
/// receive buffer deep enough for the generator's slower passes.
pub fn timestamped_socket() -> UdpSocket {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.set_nonblocking(true).unwrap();
    arrival::enable(&socket).expect("SO_TIMESTAMPNS");
    let _ = nix::sys::socket::setsockopt(&socket, nix::sys::socket::sockopt::RcvBuf, &(4 << 20));
    socket
}

/// One datagram and the kernel's time of its arrival (nanoseconds since the epoch).
pub fn recv_stamped(socket: &UdpSocket, buf: &mut [u8]) -> Option<(usize, SocketAddr, u64)> {
    let (len, source, stamped) = arrival::recv_stamped(socket, buf).ok()?;
    let arrived = stamped
        .and_then(|at| at.duration_since(UNIX_EPOCH).ok())
        .map_or_else(wall_nanos, |since| since.as_nanos() as u64);
    Some((len, source, arrived))
}

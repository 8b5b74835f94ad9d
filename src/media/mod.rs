//! The media server of group rooms: a selective forwarding unit on dedicated OS threads. This is the
//! only module that names the WebRTC crate (str0m).
//!
//! Each media thread owns one UDP port, the rooms hashed to it and their members' transports. The
//! room actor is the only one that opens or closes the door to a transport (`admit` / `revoke`): a
//! member the room has not admitted has no entry here, so an offer from it is refused, and it has no
//! ICE ufrag, so a STUN request that names an unknown ufrag gets no answer at all.

mod allocate;
/// Public for the load generator (`benches/sfu_load`), which reads its datagrams the same way.
pub mod arrival;
mod cap;
mod description;
#[cfg(test)]
mod fuzz_tests;
mod hearing;
mod outbox;
mod peer;
mod published;
mod rewrite;
mod samples;
mod slots;
mod speakers;
mod stun;
mod worker;

use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc as std_mpsc;

use tokio::sync::{mpsc, oneshot};

use crate::meeting::network::NetworkSeries;
use crate::meeting::{ClientId, RoomName};

/// The media socket's receive and send buffers (the kernel's default, about 200 KiB, is a few
/// milliseconds of a busy thread's traffic).
const SOCKET_BUFFER: usize = 4 << 20;

/// Notices a media thread has for one member's connection, waiting at most this many.
pub const NOTICES: usize = 32;

#[derive(Debug, Clone)]
pub struct MediaConfig {
    /// The address the media threads bind (all interfaces by default).
    pub bind_ip: IpAddr,
    /// The address browsers are told to send media to.
    pub public_ip: IpAddr,
    /// The first UDP port; thread `i` binds `first_port + i` (0: any free port).
    pub first_port: u16,
    pub threads: usize,
    /// Where media may come from (empty: anywhere).
    pub peer_networks: Vec<ipnet::IpNet>,
    /// Subscribers' videos are given layers by their bandwidth estimate (`allocate.rs`), and what
    /// is sent to them is paced; otherwise by the size they are shown at only.
    pub bandwidth_estimation: bool,
    /// What one published video layer (or a screen) may send, in kbit/s (`cap.rs`).
    pub max_video_kbps: u32,
}

/// Why a media request was not carried out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MediaRefusal {
    #[error(
        "no media path: the room has not admitted this connection (or this room has no media server)"
    )]
    NotAdmitted,
    #[error("the session description could not be used: {0}")]
    BadDescription(String),
    #[error("no offer from the server is waiting for an answer")]
    NoPendingOffer,
    #[error("the media server is not running")]
    Unavailable,
}

/// What the media server tells one member's client, through its signalling connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// A new session description (SDP) for the client to answer: more slots to receive on.
    Offer(String),
    /// Who speaks loudest now.
    DominantSpeaker(ClientId),
    /// What each of the client's receiving tracks (by mid) carries now.
    Slots(Vec<SlotView>),
    /// Nothing has come from this member for a while (`true`), or something has again (`false`):
    /// their media path is interrupted, though they are still in the room.
    Interrupted(ClientId, bool),
    /// The server closed this client's transport though the client stays admitted (no ICE check
    /// came for 15 s, the connection failed, or a fault in it): the client may offer again at
    /// once, rather than wait for its own side to give the path up.
    Closed,
}

/// One receiving track of a client: its mid, whether it is video, and whose media it carries
/// (nobody's, for now, when `None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotView {
    pub mid: String,
    pub video: bool,
    /// A shared screen (video).
    pub screen: bool,
    pub client: Option<ClientId>,
}

/// Counts shared by every media thread, read when `/metrics` is scraped.
#[derive(Debug, Default)]
pub struct MediaCounters {
    /// Admitted members (with or without a connected transport): the set the gate lets through.
    pub transports: AtomicU64,
    /// Transports with an ICE/DTLS connection object.
    pub connections: AtomicU64,
    /// STUN requests naming a ufrag no admitted member has: never answered.
    pub unknown_ufrag: AtomicU64,
    /// Datagrams from addresses no transport has claimed, or from outside the allowed networks:
    /// dropped.
    pub unknown_source: AtomicU64,
    /// RTP packets written to subscribers.
    pub forwarded: AtomicU64,
    /// Packets of published layers over their cap (`cap.rs`): not forwarded.
    pub over_cap: AtomicU64,
    /// Published packets that waited over a second to be read (the thread stood still or fell
    /// behind): not forwarded.
    pub stale: AtomicU64,
    /// Passes of a media thread that panicked (each closed the transport it was working on).
    pub panics: AtomicU64,
}

impl MediaCounters {
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

enum Command {
    Admit {
        room: RoomName,
        client: ClientId,
        conn: u64,
        publishes: bool,
    },
    Revoke {
        room: RoomName,
        client: ClientId,
    },
    CloseRoom {
        room: RoomName,
    },
    Offer {
        room: RoomName,
        conn: u64,
        sdp: String,
        notices: mpsc::Sender<Notice>,
        reply: oneshot::Sender<Result<String, MediaRefusal>>,
    },
    Answer {
        room: RoomName,
        conn: u64,
        sdp: String,
        reply: oneshot::Sender<Result<(), MediaRefusal>>,
    },
    /// Which video layer a subscriber wants of a publisher's camera, from the size it shows it at.
    ViewSize {
        room: RoomName,
        conn: u64,
        publisher: ClientId,
        width: u32,
    },
    /// The server stops: every member's network samples so far go to the store now (they would
    /// be lost with the thread).
    FlushSamples {
        done: oneshot::Sender<()>,
    },
    /// A panic while the thread works on this member's transport (a stand-in for a fault in
    /// str0m: `worker/recovery.rs`).
    #[cfg(test)]
    PanicIn {
        room: RoomName,
        conn: u64,
    },
}

/// The running media threads. Cheap to clone; commands go to the thread that owns the room.
#[derive(Clone)]
pub struct MediaEngine {
    threads: Arc<Vec<std_mpsc::Sender<Command>>>,
    addrs: Arc<Vec<SocketAddr>>,
    counters: Arc<MediaCounters>,
}

impl MediaEngine {
    /// Starts the media threads; each member's network samples go to `samples` when it leaves.
    pub fn start(
        config: &MediaConfig,
        samples: mpsc::Sender<NetworkSeries>,
    ) -> std::io::Result<Self> {
        let counters = Arc::new(MediaCounters::default());
        let mut threads = Vec::new();
        let mut addrs = Vec::new();
        for index in 0..config.threads.max(1) {
            let port = match config.first_port {
                0 => 0,
                first => first.checked_add(index as u16).ok_or_else(|| {
                    std::io::Error::other("the media UDP port range runs past 65535")
                })?,
            };
            let socket = UdpSocket::bind((config.bind_ip, port))?;
            // The thread waits in poll(2) and then reads what is there in a batch.
            socket.set_nonblocking(true)?;
            // Room for bursts (keyframes from many publishers at once) while a pass runs; the
            // kernel caps these at net.core.rmem_max / wmem_max.
            for set in [
                rustix::net::sockopt::set_socket_recv_buffer_size,
                rustix::net::sockopt::set_socket_send_buffer_size,
            ] {
                if let Err(err) = set(&socket, SOCKET_BUFFER) {
                    tracing::warn!(error = %err, "cannot enlarge the media socket's buffers");
                }
            }
            if let Err(err) = arrival::enable(&socket) {
                tracing::warn!(error = %err, "no kernel arrival times for media: congestion feedback will include this thread's delays");
            }
            let local = socket.local_addr()?;
            let advertised = SocketAddr::new(config.public_ip, local.port());
            let (commands, inbox) = std_mpsc::channel();
            let counters = counters.clone();
            let config = config.clone();
            let samples = samples.clone();
            std::thread::Builder::new()
                .name(format!("media-{index}"))
                .spawn(move || {
                    worker::run(socket, advertised, &config, inbox, counters, samples)
                })?;
            tracing::info!(%local, %advertised, "media thread listening");
            threads.push(commands);
            addrs.push(local);
        }
        Ok(Self {
            threads: Arc::new(threads),
            addrs: Arc::new(addrs),
            counters,
        })
    }

    /// The UDP addresses the media threads are bound to.
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    pub fn counters(&self) -> &MediaCounters {
        &self.counters
    }

    fn thread_of(&self, room: &RoomName) -> &std_mpsc::Sender<Command> {
        let hash = BuildHasherDefault::<DefaultHasher>::default().hash_one(room.as_str());
        let index = (hash % self.threads.len() as u64) as usize;
        &self.threads[index]
    }

    fn send(&self, room: &RoomName, command: Command) -> Result<(), MediaRefusal> {
        self.thread_of(room)
            .send(command)
            .map_err(|_| MediaRefusal::Unavailable)
    }

    /// The room let this member in: it may now negotiate a transport (`publishes`: it may send media).
    pub fn admit(&self, room: &RoomName, client: &ClientId, conn: u64, publishes: bool) {
        let command = Command::Admit {
            room: room.clone(),
            client: client.clone(),
            conn,
            publishes,
        };
        if self.send(room, command).is_err() {
            tracing::error!(%room, "media thread gone; cannot admit a member");
        }
    }

    /// The member left, was removed or sent back: its transport closes and its tracks stop.
    pub fn revoke(&self, room: &RoomName, client: &ClientId) {
        let command = Command::Revoke {
            room: room.clone(),
            client: client.clone(),
        };
        if self.send(room, command).is_err() {
            tracing::error!(%room, "media thread gone; cannot revoke a member");
        }
    }

    /// The room is over: every transport in it closes.
    pub fn close_room(&self, room: &RoomName) {
        let _ = self.send(room, Command::CloseRoom { room: room.clone() });
    }

    /// The client's offer; the answer comes back. A new offer starts a new transport for the member
    /// (a reload, a reconnect). `notices` receives the server's later offers and signals.
    pub async fn offer(
        &self,
        room: &RoomName,
        conn: u64,
        sdp: String,
        notices: mpsc::Sender<Notice>,
    ) -> Result<String, MediaRefusal> {
        let (reply, answer) = oneshot::channel();
        let command = Command::Offer {
            room: room.clone(),
            conn,
            sdp,
            notices,
            reply,
        };
        self.send(room, command)?;
        answer.await.map_err(|_| MediaRefusal::Unavailable)?
    }

    /// The client's answer to the server's last offer.
    pub async fn answer(
        &self,
        room: &RoomName,
        conn: u64,
        sdp: String,
    ) -> Result<(), MediaRefusal> {
        let (reply, done) = oneshot::channel();
        let command = Command::Answer {
            room: room.clone(),
            conn,
            sdp,
            reply,
        };
        self.send(room, command)?;
        done.await.map_err(|_| MediaRefusal::Unavailable)?
    }

    /// Hands every member's network samples so far to the samples channel; returns once each
    /// media thread has.
    pub async fn flush_samples(&self) {
        let mut waiting = Vec::new();
        for thread in self.threads.iter() {
            let (done, flushed) = oneshot::channel();
            if thread.send(Command::FlushSamples { done }).is_ok() {
                waiting.push(flushed);
            }
        }
        for flushed in waiting {
            let _ = flushed.await;
        }
    }

    #[cfg(test)]
    fn panic_in(&self, room: &RoomName, conn: u64) {
        let _ = self.send(
            room,
            Command::PanicIn {
                room: room.clone(),
                conn,
            },
        );
    }

    /// How wide (in CSS pixels times the device ratio) the subscriber shows a publisher's video; 0
    /// when it does not show it at all.
    pub fn view_size(&self, room: &RoomName, conn: u64, publisher: &ClientId, width: u32) {
        let command = Command::ViewSize {
            room: room.clone(),
            conn,
            publisher: publisher.clone(),
            width,
        };
        let _ = self.send(room, command);
    }
}

//! The media server's path: str0m clients (one UDP socket each) that join a group room over the
//! signalling socket, publish their layers, say how wide they show each publisher, and receive.

use std::net::{SocketAddr, UdpSocket};
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::media::{Direction, MediaKind, MediaTime, Mid, Rid, Simulcast, SimulcastLayer};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use crate::RoundResult;
use crate::common::{self, create_key, rss_kib, start_server, wall_nanos};
use crate::pattern::{Args, LAYERS, frame, read_stamp, recv_stamped, timestamped_socket};

struct Client {
    rtc: Rtc,
    socket: UdpSocket,
    local: SocketAddr,
    /// Its publisher index, when it publishes.
    publisher: Option<usize>,
    media: Option<Mid>,
    /// Server offers to answer, and where the answers (and other frames) go.
    offers: std_mpsc::Receiver<String>,
    frames: mpsc::UnboundedSender<(String, Value)>,
    /// The server asked for a keyframe of a layer (a subscriber starts, switches, or lost one).
    keyframe_due: [bool; 3],
    next_timeout: Instant,
    /// When the kernel took in the last datagram handed to the client.
    last_arrival: u64,
    /// When it sends its next frames (publishers are spread over the frame interval, as people's
    /// cameras are not in step).
    next_frame: Instant,
}

pub fn run(args: Args) -> RoundResult {
    let dir = tempfile::tempdir().unwrap();
    let key = create_key(dir.path());
    let server = start_pinned_server(dir.path(), args.bandwidth_estimation);
    let pid = server.child.id();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (room, viewer_key) = runtime.block_on(create_room(&server.base, &key));
    let rss_before = rss_kib(pid);
    // Listeners first, then publishers, so that receiver `i` is client `i`.
    let mut clients = Vec::new();
    let mut ids = Vec::new();
    for receiver in 0..args.listeners + args.publishers {
        let publisher = receiver.checked_sub(args.listeners);
        let viewer = publisher.is_none().then_some(&viewer_key[..]);
        let (client, id) = runtime.block_on(join(&server.addr, &room, viewer, publisher, args));
        clients.push(client);
        ids.push(id);
    }
    // Each receiver says how wide it shows each publisher (hidden ones 0).
    for (receiver, client) in clients.iter().enumerate() {
        if publisher_only(&args, receiver) || !args.video {
            continue;
        }
        for publisher in 0..args.publishers {
            let id = &ids[args.listeners + publisher];
            let width = args.width(receiver, publisher);
            let _ = client
                .frames
                .send(("sfu_view".into(), json!({"clientId": id, "width": width})));
        }
    }
    // The WebSocket tasks run on a thread of their own while this one drives the media.
    std::thread::spawn(move || runtime.block_on(std::future::pending::<()>()));
    let origin = Instant::now();
    let frame_gap = Duration::from_secs_f64(1.0 / args.frame_rate());
    for client in &mut clients {
        if let Some(publisher) = client.publisher {
            client.next_frame =
                origin + frame_gap.mul_f64(publisher as f64 / args.publishers as f64);
        }
    }
    let mut trips = common::Trips::default();
    let steal = common::StealTrace::start();
    let mut buf = vec![0u8; 2000];
    // Estimates ramp up and layers settle before the window opens.
    let warm_up = Duration::from_secs(6);
    let mut window: Option<(Instant, f64, common::MachineTicks)> = None;
    let (mut packets, mut frames) = (0u64, 0u64);
    loop {
        let now = Instant::now();
        if window.is_none() && now.duration_since(origin) >= warm_up {
            window = Some((now, common::cpu_micros(pid), common::MachineTicks::now()));
            (packets, frames) = (0, 0);
            trips.clear();
        }
        if window.is_some_and(|(start, _, _)| now.duration_since(start) >= secs(args)) {
            break;
        }
        for (receiver, client) in clients.iter_mut().enumerate() {
            let counts = !publisher_only(&args, receiver);
            while let Ok(sdp) = client.offers.try_recv() {
                let offer = SdpOffer::from_sdp_string(&sdp).expect("a valid server offer");
                let answer = client
                    .rtc
                    .sdp_api()
                    .accept_offer(offer)
                    .expect("answerable");
                let _ = client
                    .frames
                    .send(("sfu_answer".into(), json!({"sdp": answer.to_sdp_string()})));
            }
            while let Some((n, source, arrived)) = recv_stamped(&client.socket, &mut buf) {
                packets += u64::from(counts);
                client.last_arrival = arrived;
                // As it arrived, not as this loop got to it: the subscriber's congestion feedback
                // is about the network (and the server), not about this generator.
                let late = Duration::from_nanos(wall_nanos().saturating_sub(arrived));
                client.receive(&buf[..n], source, now.checked_sub(late).unwrap_or(now));
            }
            if client.publisher.is_some() && now >= client.next_frame {
                client.next_frame += frame_gap;
                client.publish(&args, origin, now);
            }
            for data in client.poll(now) {
                if counts && let Some(stamp) = read_stamp(&data) {
                    frames += 1;
                    trips.record(stamp.sent_nanos, client.last_arrival);
                }
            }
        }
    }
    let (_, cpu_start, machine_start) = window.expect("the window opened");
    let cpu = common::cpu_micros(pid) - cpu_start;
    let expected = args.frames_per_second() * secs(args).as_secs_f64();
    RoundResult {
        packets,
        cpu_micros: cpu,
        loss: 1.0 - (frames as f64 / expected.max(1.0)).min(1.0),
        latency: trips.latency(&steal),
        stolen_percent: (common::MachineTicks::now() - machine_start).stolen_percent(),
        kib_per_transport: Some(
            rss_kib(pid).saturating_sub(rss_before) as f64 / clients.len() as f64,
        ),
    }
}

fn secs(args: Args) -> Duration {
    Duration::from_secs(args.seconds)
}

/// A publisher that is not among the receivers (outside a meeting).
fn publisher_only(args: &Args, receiver: usize) -> bool {
    receiver >= args.receivers()
}

impl Client {
    fn receive(&mut self, datagram: &[u8], source: SocketAddr, now: Instant) {
        let Ok(contents) = datagram.try_into() else {
            return;
        };
        let input = Input::Receive(
            now,
            Receive {
                proto: Protocol::Udp,
                source,
                destination: self.local,
                contents,
            },
        );
        let _ = self.rtc.handle_input(input);
    }

    /// One frame of each layer it sends.
    fn publish(&mut self, args: &Args, origin: Instant, now: Instant) {
        let (Some(publisher), Some(mid)) = (self.publisher, self.media) else {
            return;
        };
        let time = MediaTime::from_micros(origin.elapsed().as_micros() as u64);
        for (layer, (rid, ..)) in LAYERS.iter().enumerate().take(args.layers()) {
            let Some(writer) = self.rtc.writer(mid) else {
                return;
            };
            let Some(pt) = writer.payload_params().next().map(|p| p.pt()) else {
                return;
            };
            let writer = if args.video {
                writer.rid(Rid::from(*rid))
            } else {
                writer
            };
            let keyframe = std::mem::take(&mut self.keyframe_due[layer]);
            let data = frame(layer, args.frame_bytes(layer), keyframe, publisher);
            let _ = writer.write(pt, now, time, data);
        }
    }

    /// Sends what str0m has to send; returns the frames it received.
    fn poll(&mut self, now: Instant) -> Vec<std::sync::Arc<[u8]>> {
        if now >= self.next_timeout {
            let _ = self.rtc.handle_input(Input::Timeout(now));
        }
        let mut received = Vec::new();
        loop {
            match self.rtc.poll_output() {
                Ok(Output::Transmit(t)) => {
                    let _ = self.socket.send_to(&t.contents, t.destination);
                }
                Ok(Output::Timeout(at)) => {
                    self.next_timeout = at;
                    return received;
                }
                Ok(Output::Event(Event::MediaData(data))) => received.push(data.data),
                Ok(Output::Event(Event::KeyframeRequest(request))) => {
                    for (layer, (rid, ..)) in LAYERS.iter().enumerate() {
                        if request.rid.is_none_or(|r| r == Rid::from(*rid)) {
                            self.keyframe_due[layer] = true;
                        }
                    }
                }
                Ok(Output::Event(_)) => {}
                Err(_) => return received,
            }
        }
    }
}

fn start_pinned_server(data_dir: &std::path::Path, estimate: bool) -> common::ServerProcess {
    let mut flags = vec![
        "--media-udp-port",
        "0",
        "--media-bind-ip",
        "127.0.0.1",
        "--media-public-ip",
        "127.0.0.1",
        "--media-peer-networks",
        "127.0.0.0/8",
        "--ws-frames-per-second",
        "1000",
    ];
    if estimate {
        flags.push("--media-bandwidth-estimation");
    }
    start_server(data_dir, &flags).pinned(0)
}

/// An open group room, and the viewer key for its listeners.
async fn create_room(base: &str, key: &str) -> (String, String) {
    let meeting: Value = reqwest::Client::new()
        .post(format!("{base}/v1/meetings"))
        .bearer_auth(key)
        .json(
            &json!({"endDate": "2099-01-01T00:00:00Z", "isLocked": false,
            "roomMode": "group", "fields": ["viewerRoomUrl"]}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let viewer_key = meeting["viewerRoomUrl"]
        .as_str()
        .and_then(|url| url.split("roomKey=").nth(1))
        .expect("a viewer key")
        .to_owned();
    (meeting["roomName"].as_str().unwrap().to_owned(), viewer_key)
}

/// One member: joins over a WebSocket, offers (its layers, or to receive only an inactive audio
/// line as our browser client does, or a data channel with `--viewer-data-channel`),
/// takes the answer, and leaves a task that passes the server's later offers to the media loop and
/// the loop's frames to the server. Returns the client and its id.
async fn join(
    addr: &str,
    room: &str,
    key: Option<&str>,
    publisher: Option<usize>,
    args: Args,
) -> (Client, String) {
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/v1/signal"))
        .await
        .expect("a WebSocket");
    let mut payload = json!({"roomName": room, "displayName": "Load"});
    if let Some(key) = key {
        payload["roomKey"] = json!(key);
    }
    send(&mut ws, "join_room", payload).await;
    let joined = wait_for(&mut ws, "room_joined").await;
    let id = joined["payload"]["selfId"].as_str().unwrap().to_owned();
    let socket = timestamped_socket();
    let local = socket.local_addr().unwrap();
    let mut rtc = Rtc::builder().build(Instant::now());
    rtc.add_local_candidate(Candidate::host(local, "udp").unwrap());
    let mut change = rtc.sdp_api();
    let media = match (publisher, args.video) {
        (Some(_), true) => {
            let simulcast = Simulcast {
                send: LAYERS
                    .iter()
                    .map(|(rid, ..)| SimulcastLayer::new(rid))
                    .collect(),
                recv: Vec::new(),
            };
            let kind = MediaKind::Video;
            Some(change.add_media(kind, Direction::SendOnly, None, None, Some(simulcast)))
        }
        (Some(_), false) => {
            Some(change.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None))
        }
        (None, _) if args.viewer_data_channel => {
            change.add_channel("load".into());
            None
        }
        (None, _) => {
            change.add_media(MediaKind::Audio, Direction::Inactive, None, None, None);
            None
        }
    };
    let (offer, pending): (SdpOffer, SdpPendingOffer) = change.apply().expect("something to offer");
    send(&mut ws, "sfu_offer", json!({"sdp": offer.to_sdp_string()})).await;
    let answer = wait_for(&mut ws, "sfu_answer").await;
    let answer = SdpAnswer::from_sdp_string(answer["payload"]["sdp"].as_str().unwrap()).unwrap();
    rtc.sdp_api()
        .accept_answer(pending, answer)
        .expect("the answer fits");
    let (offers_tx, offers) = std_mpsc::channel();
    let (frames, mut frames_rx) = mpsc::unbounded_channel::<(String, Value)>();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                frame = ws.next() => match frame {
                    Some(Ok(Message::Text(text))) => {
                        let value: Value = serde_json::from_str(&text).unwrap_or_default();
                        if value["type"] == "sfu_offer" {
                            crate::note_offer(text.len());
                            let sdp = value["payload"]["sdp"].as_str().unwrap_or_default();
                            let _ = offers_tx.send(sdp.to_owned());
                        }
                    }
                    Some(Ok(_)) => {}
                    _ => return,
                },
                frame = frames_rx.recv() => match frame {
                    Some((kind, payload)) => send(&mut ws, &kind, payload).await,
                    None => return,
                },
            }
        }
    });
    let client = Client {
        rtc,
        socket,
        local,
        publisher,
        media,
        offers,
        frames,
        keyframe_due: [true; 3],
        next_timeout: Instant::now(),
        last_arrival: 0,
        next_frame: Instant::now(),
    };
    (client, id)
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn send(ws: &mut Ws, kind: &str, payload: Value) {
    let frame = json!({"type": kind, "payload": payload}).to_string();
    ws.send(Message::Text(frame.into()))
        .await
        .expect("the frame is sent");
}

async fn wait_for(ws: &mut Ws, kind: &str) -> Value {
    loop {
        let Some(Ok(Message::Text(text))) = ws.next().await else {
            panic!("the socket closed before {kind}");
        };
        let value: Value = serde_json::from_str(&text).unwrap();
        if value["type"] == kind {
            return value;
        }
        assert_ne!(value["type"], "error", "{value}");
    }
}

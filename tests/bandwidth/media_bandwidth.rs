//! The media server and a subscriber's link: a publisher sends three simulcast layers; a
//! subscriber showing it large gets the top layer while its link allows, the smallest once its link
//! narrows (its bandwidth estimate, from transport-wide congestion control, falls), and the top one
//! again when the link widens; what the link loses is sent again when the subscriber asks (NACK).
//! The subscriber's link is a queue the test drains at a set rate, as a slow network would, and
//! may drop datagrams; both clients are str0m instances.

use std::collections::VecDeque;
use std::net::{SocketAddr, UdpSocket};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use str0m::change::{SdpAnswer, SdpApi, SdpOffer};
use str0m::media::{Direction, MediaKind, MediaTime, Mid, Rid, Simulcast, SimulcastLayer};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc};
use tokio_tungstenite::tungstenite::Message;

use anteroom::media::arrival;

use crate::helpers::Server;
use crate::helpers::{host, metric, room};
use crate::ws::Ws;

/// The publisher's layers: rid, width, height, bytes per frame at 30 frames a second (about 150,
/// 500 and 1,000 kbit/s, as Whereby's are).
const LAYERS: [(&str, u16, u16, usize); 3] = [
    ("l", 320, 180, 625),
    ("m", 640, 360, 2083),
    ("h", 1280, 720, 4166),
];
const FRAME_GAP: Duration = Duration::from_millis(33);
/// Where a frame says which layer it is (after the VP8 keyframe header).
const LAYER_BYTE: usize = 10;

/// A synthetic VP8 frame: a keyframe carries the frame tag, start code and size the server reads
/// a layer's width from; every frame says its layer.
fn frame(layer: usize, keyframe: bool) -> Vec<u8> {
    let (_, width, height, size) = LAYERS[layer];
    let mut data = vec![0u8; size];
    if keyframe {
        data[3..6].copy_from_slice(&[0x9d, 0x01, 0x2a]);
        data[6..8].copy_from_slice(&width.to_le_bytes());
        data[8..10].copy_from_slice(&height.to_le_bytes());
    } else {
        // The frame tag's lowest bit set: an interframe.
        data[0] = 0x01;
    }
    data[LAYER_BYTE] = layer as u8;
    data
}

/// What the test and the media loop share.
#[derive(Default)]
struct Shared {
    /// Server offers to the subscriber, and its answers back.
    offers: VecDeque<String>,
    answers: VecDeque<String>,
    /// The subscriber's link rate (None: as fast as loopback).
    link_bps: Option<u64>,
    /// Frames the subscriber received of each layer, since the test last took them.
    frames: [u64; 3],
    /// Frames the publisher sent of each layer, since the test last took them.
    sent: [u64; 3],
    /// Bytes of media datagrams that reached the subscriber, in all.
    media_bytes: u64,
    /// Drops every this many media datagrams (over `MEDIA_DATAGRAM` bytes) to the subscriber.
    lose_every: Option<u64>,
    stop: bool,
}

/// Above this size a datagram to the subscriber carries video (its RTCP, STUN and DTLS after the
/// handshake are all smaller).
const MEDIA_DATAGRAM: usize = 500;

struct Peer {
    rtc: Rtc,
    socket: UdpSocket,
    local: SocketAddr,
}

impl Peer {
    fn new() -> Peer {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.set_nonblocking(true).unwrap();
        arrival::enable(&socket).unwrap();
        let local = socket.local_addr().unwrap();
        let mut rtc = Rtc::new(Instant::now());
        rtc.add_local_candidate(Candidate::host(local, "udp").unwrap());
        Peer { rtc, socket, local }
    }

    /// A datagram that reached this peer `at` (see `media_loop`).
    fn input(&mut self, datagram: &[u8], source: SocketAddr, at: Instant) {
        let input = Input::Receive(
            at,
            Receive {
                proto: Protocol::Udp,
                source,
                destination: self.local,
                contents: datagram.try_into().unwrap(),
            },
        );
        let _ = self.rtc.handle_input(input);
    }

    /// Sends what str0m has to send; returns its events.
    fn poll(&mut self) -> Vec<Event> {
        let mut events = Vec::new();
        let _ = self.rtc.handle_input(Input::Timeout(Instant::now()));
        loop {
            match self.rtc.poll_output() {
                Ok(Output::Transmit(t)) => {
                    let _ = self.socket.send_to(&t.contents, t.destination);
                }
                Ok(Output::Event(event)) => events.push(event),
                Ok(Output::Timeout(_)) | Err(_) => return events,
            }
        }
    }
}

/// A link of `bps` from the server to the subscriber: datagrams wait their turn in a queue that
/// holds at most half a second (a router's buffer), then reach the subscriber. Times are the
/// datagrams' own (their arrival from the server, then their turn on the link), not when this
/// test's loop got round to them: on a busy machine the loop's delays would otherwise look like a
/// congested network to the server's bandwidth estimate, and the top layer might never come back.
#[derive(Default)]
struct Link {
    queue: VecDeque<(Instant, Vec<u8>, SocketAddr)>,
    free_at: Option<Instant>,
}

impl Link {
    fn push(&mut self, datagram: Vec<u8>, source: SocketAddr, bps: Option<u64>, arrived: Instant) {
        let Some(bps) = bps else {
            self.queue.push_back((arrived, datagram, source));
            return;
        };
        let start = self.free_at.map_or(arrived, |free| free.max(arrived));
        if start.duration_since(arrived) > Duration::from_millis(500) {
            return;
        }
        let done = start + Duration::from_micros(datagram.len() as u64 * 8 * 1_000_000 / bps);
        self.free_at = Some(done);
        self.queue.push_back((done, datagram, source));
    }

    /// The next datagram through the link by `now`, and when it came through.
    fn due(&mut self, now: Instant) -> Option<(Vec<u8>, SocketAddr, Instant)> {
        if self.queue.front().is_some_and(|(at, _, _)| *at <= now) {
            return self.queue.pop_front().map(|(at, d, s)| (d, s, at));
        }
        None
    }
}

/// Drives both clients until told to stop: the publisher sends its three layers (a keyframe of a
/// layer when the server asks), the subscriber answers offers and counts the layers it receives.
fn media_loop(mut publisher: Peer, video: Mid, mut subscriber: Peer, shared: Arc<Mutex<Shared>>) {
    let mut buf = [0u8; 2000];
    let mut next_frame = Instant::now();
    let mut keyframe_due = [true; 3];
    let mut link = Link::default();
    let started = Instant::now();
    let mut media_datagrams: u64 = 0;
    loop {
        let now = Instant::now();
        let (link_bps, lose_every) = {
            let mut shared = shared.lock().unwrap();
            if shared.stop {
                return;
            }
            while let Some(sdp) = shared.offers.pop_front() {
                let offer = SdpOffer::from_sdp_string(&sdp).unwrap();
                let answer = subscriber.rtc.sdp_api().accept_offer(offer).unwrap();
                shared.answers.push_back(answer.to_sdp_string());
            }
            (shared.link_bps, shared.lose_every)
        };
        while let Ok((n, source, arrival::Arrival { at, .. })) =
            arrival::recv(&publisher.socket, &mut buf)
        {
            publisher.input(&buf[..n], source, at);
        }
        while let Ok((n, source, arrival::Arrival { at, .. })) =
            arrival::recv(&subscriber.socket, &mut buf)
        {
            if n > MEDIA_DATAGRAM {
                shared.lock().unwrap().media_bytes += n as u64;
            }
            if n > MEDIA_DATAGRAM
                && let Some(every) = lose_every
            {
                media_datagrams += 1;
                if media_datagrams.is_multiple_of(every) {
                    continue;
                }
            }
            link.push(buf[..n].to_vec(), source, link_bps, at);
        }
        while let Some((datagram, source, at)) = link.due(now) {
            subscriber.input(&datagram, source, at);
        }
        if now >= next_frame {
            next_frame += FRAME_GAP;
            let time = MediaTime::from_90khz(started.elapsed().as_micros() as u64 * 9 / 100);
            for (layer, (rid, ..)) in LAYERS.iter().enumerate() {
                let Some(writer) = publisher.rtc.writer(video) else {
                    break;
                };
                let Some(pt) = writer.payload_params().next().map(|p| p.pt()) else {
                    break;
                };
                let keyframe = std::mem::take(&mut keyframe_due[layer]);
                if writer
                    .rid(Rid::from(*rid))
                    .write(pt, now, time, frame(layer, keyframe))
                    .is_ok()
                {
                    shared.lock().unwrap().sent[layer] += 1;
                }
            }
        }
        for event in publisher.poll() {
            if let Event::KeyframeRequest(request) = event {
                for (layer, (rid, ..)) in LAYERS.iter().enumerate() {
                    if request.rid.is_none_or(|r| r == Rid::from(*rid)) {
                        keyframe_due[layer] = true;
                    }
                }
            }
        }
        for event in subscriber.poll() {
            if let Event::MediaData(data) = event
                && let Some(layer) = data.data.get(LAYER_BYTE)
                && let Some(count) = shared.lock().unwrap().frames.get_mut(*layer as usize)
            {
                *count += 1;
            }
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Offers what `build` adds to the peer over `ws` and applies the server's answer.
async fn negotiate<T>(ws: &mut Ws, peer: &mut Peer, build: impl FnOnce(&mut SdpApi<'_>) -> T) -> T {
    let mut change = peer.rtc.sdp_api();
    let made = build(&mut change);
    let (offer, pending) = change.apply().expect("something to offer");
    ws.send("sfu_offer", json!({ "sdp": offer.to_sdp_string() }))
        .await;
    let answer = ws.recv_type("sfu_answer").await["sdp"]
        .as_str()
        .unwrap()
        .to_owned();
    let answer = SdpAnswer::from_sdp_string(&answer).unwrap();
    peer.rtc.sdp_api().accept_answer(pending, answer).unwrap();
    made
}

/// Passes the server's offers to the subscriber and its answers back, for `time`; returns the
/// frames of each layer it received meanwhile.
async fn relay_signalling(ws: &mut Ws, shared: &Arc<Mutex<Shared>>, time: Duration) -> [u64; 3] {
    {
        let mut shared = shared.lock().unwrap();
        shared.frames = [0; 3];
        shared.sent = [0; 3];
    }
    let end = Instant::now() + time;
    while Instant::now() < end {
        if let Some(Message::Text(text)) = ws.next_message(Duration::from_millis(20)).await {
            let frame: serde_json::Value = serde_json::from_str(&text).unwrap();
            if frame["type"] == "sfu_offer" {
                let sdp = frame["payload"]["sdp"].as_str().unwrap().to_owned();
                shared.lock().unwrap().offers.push_back(sdp);
            }
        }
        let answers: Vec<String> = shared.lock().unwrap().answers.drain(..).collect();
        for sdp in answers {
            ws.send("sfu_answer", json!({ "sdp": sdp })).await;
        }
    }
    shared.lock().unwrap().frames
}

/// Waits (up to `within`) for a second in which the subscriber received only `layer`; the error
/// names the frames of each layer in the last second.
async fn only_layer(
    ws: &mut Ws,
    shared: &Arc<Mutex<Shared>>,
    layer: usize,
    within: Duration,
) -> Result<Duration, String> {
    let start = Instant::now();
    let mut last = [0; 3];
    while start.elapsed() < within {
        last = relay_signalling(ws, shared, Duration::from_secs(1)).await;
        let others: u64 = (0..3).filter(|l| *l != layer).map(|l| last[l]).sum();
        if last[layer] >= 10 && others == 0 {
            return Ok(start.elapsed());
        }
    }
    Err(format!(
        "no second of only layer {} within {within:?}; the last: {last:?}",
        LAYERS[layer].0
    ))
}

/// A publisher of three layers and a subscriber showing it 1,280 pixels wide, in a group room of a
/// server started with `args`, their media driven by `media_loop` on a thread of its own.
struct Call {
    server: Server,
    _publisher_ws: Ws,
    subscriber_ws: Ws,
    shared: Arc<Mutex<Shared>>,
    media: Option<std::thread::JoinHandle<()>>,
}

impl Call {
    async fn start(args: &[&str]) -> Call {
        // Its bandwidth estimates and allotments are logged at debug level (shown on a failure).
        // Nothing reads the publisher's socket once the call is set up, so it answers no pings:
        // at the default interval the server would drop it (and its media) after a minute.
        let args = [
            args,
            &[
                "--log",
                "info,anteroom::media=debug",
                "--ws-ping-interval-secs",
                "600",
            ],
        ]
        .concat();
        let server = Server::start_with(&args).await;
        let room = room(&server, json!({"isLocked": false, "roomMode": "group"})).await;
        let (mut publisher_ws, joined) = host(&server, &room, "Publisher").await;
        let publisher_id = joined["selfId"].as_str().unwrap().to_owned();
        let mut publisher = Peer::new();
        let video = negotiate(&mut publisher_ws, &mut publisher, |change| {
            let simulcast = Simulcast {
                send: LAYERS
                    .iter()
                    .map(|(rid, ..)| SimulcastLayer::new(rid))
                    .collect(),
                recv: Vec::new(),
            };
            change.add_media(
                MediaKind::Video,
                Direction::SendOnly,
                None,
                None,
                Some(simulcast),
            )
        })
        .await;

        // The subscriber receives only: it offers an inactive audio line (as our browser client
        // does), and the server offers it slots.
        let (mut subscriber_ws, _) = host(&server, &room, "Subscriber").await;
        let mut subscriber = Peer::new();
        negotiate(&mut subscriber_ws, &mut subscriber, |change| {
            change.add_media(MediaKind::Audio, Direction::Inactive, None, None, None);
        })
        .await;
        subscriber_ws
            .send(
                "sfu_view",
                json!({ "clientId": publisher_id, "width": 1280 }),
            )
            .await;

        let shared = Arc::new(Mutex::new(Shared::default()));
        let media = {
            let shared = shared.clone();
            std::thread::spawn(move || media_loop(publisher, video, subscriber, shared))
        };
        Call {
            server,
            _publisher_ws: publisher_ws,
            subscriber_ws,
            shared,
            media: Some(media),
        }
    }

    /// As `only_layer`; a failure shows what the server's bandwidth estimate and allotments were.
    async fn only_layer(&mut self, layer: usize, within: Duration) -> Duration {
        match only_layer(&mut self.subscriber_ws, &self.shared, layer, within).await {
            Ok(took) => took,
            Err(failure) => {
                let logs = self.server.logs();
                let trail: Vec<&str> = logs
                    .lines()
                    .filter(|l| l.contains("bandwidth estimate") || l.contains("allotted"))
                    .collect();
                panic!(
                    "{failure}\nthe server's estimates and allotments:\n{}",
                    trail.join("\n")
                );
            }
        }
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        self.shared.lock().unwrap().stop = true;
        if let Some(media) = self.media.take() {
            let _ = media.join();
        }
    }
}

/// The two tests take turns: each is to run with nothing beside it (`main.rs`).
static ALONE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test]
async fn a_narrow_link_gets_the_small_layer_and_a_wide_one_the_top() {
    let _alone = ALONE.lock().await;
    let mut call = Call::start(&["--media-bandwidth-estimation"]).await;
    // A wide link: the top layer, the one a 1280-pixel view wants.
    call.only_layer(2, Duration::from_secs(20)).await;
    // 400 kbit/s: only the smallest layer fits.
    call.shared.lock().unwrap().link_bps = Some(400_000);
    let narrowed = call.only_layer(0, Duration::from_secs(30)).await;
    // Wide again: the estimator probes, and the top layer comes back. (After a lossy spell the
    // estimator may hold its estimate for up to a minute; the server restarts it after 10 s.)
    call.shared.lock().unwrap().link_bps = None;
    let widened = call.only_layer(2, Duration::from_secs(45)).await;
    let restarts = call
        .server
        .logs()
        .matches("restarting the estimator")
        .count();
    eprintln!(
        "narrowed → small layer in {narrowed:?}; widened → top layer in {widened:?}; the estimator restarted {restarts} times"
    );
}

/// What a subscriber loses on the way is sent again when it asks (NACK): with one video datagram in
/// ten lost, nearly every frame of the top layer (four datagrams each) still arrives whole, where
/// without resends two in three would.
#[tokio::test]
async fn lost_packets_are_sent_again() {
    let _alone = ALONE.lock().await;
    let mut call = Call::start(&[]).await;
    call.only_layer(2, Duration::from_secs(20)).await;
    call.shared.lock().unwrap().lose_every = Some(10);
    // The first second has frames that straddle the change.
    relay_signalling(
        &mut call.subscriber_ws,
        &call.shared,
        Duration::from_secs(1),
    )
    .await;
    let received = relay_signalling(
        &mut call.subscriber_ws,
        &call.shared,
        Duration::from_secs(4),
    )
    .await;
    let sent = call.shared.lock().unwrap().sent;
    eprintln!("with one media datagram in ten lost: {received:?} frames received of {sent:?} sent");
    assert!(
        received[2] * 100 >= sent[2] * 90,
        "frames of the top layer received whole: {} of {} sent",
        received[2],
        sent[2]
    );
}

/// A publisher whose top layer sends twice what `--media-max-video-kbps` allows (1,000 against
/// 500 kbit/s): the subscriber showing it large gets it at the cap, not at the publisher's rate; the
/// server counts what it did not forward, and says so in its log once, not for every packet.
#[tokio::test]
async fn a_layer_over_its_cap_reaches_subscribers_at_the_cap() {
    let _alone = ALONE.lock().await;
    const CAP_BYTES_PER_SECOND: u64 = 500_000 / 8;
    let mut call = Call::start(&["--media-max-video-kbps", "500"]).await;
    // Negotiated, and past the second's worth a layer may send at once.
    relay_signalling(
        &mut call.subscriber_ws,
        &call.shared,
        Duration::from_secs(3),
    )
    .await;
    let before = call.shared.lock().unwrap().media_bytes;
    relay_signalling(
        &mut call.subscriber_ws,
        &call.shared,
        Duration::from_secs(4),
    )
    .await;
    let received = call.shared.lock().unwrap().media_bytes - before;
    let sent = call.shared.lock().unwrap().sent;
    eprintln!(
        "in 4 s at a 500 kbit/s cap: {received} bytes of media received; frames sent {sent:?}"
    );
    // The cap counts payloads; a datagram adds its RTP header and SRTP's tag (about 5 %).
    assert!(
        received <= 4 * CAP_BYTES_PER_SECOND * 115 / 100,
        "{received} bytes in 4 s, over the cap"
    );
    assert!(
        received >= 4 * CAP_BYTES_PER_SECOND / 2,
        "{received} bytes in 4 s: the layer should still come at its cap"
    );
    assert!(metric(&call.server, "anteroom_media_over_cap_total").await > 0.0);
    let logs = call.server.logs();
    let told: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("sends over its cap"))
        .collect();
    assert!(
        told.len() == 1
            && told[0].contains(r#"track="camera""#)
            && told[0].contains(r#"layer="h""#),
        "{told:?}"
    );
}

//! A third-party media client for the tests: a str0m instance on a loopback socket of its own,
//! which offers to publish audio and video to a group room's media server over the signalling
//! socket, and is driven by hand.

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::media::{Direction, MediaKind, MediaTime, Mid};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc};

use crate::ws::Ws;

/// A client's offer to publish audio and video, with a host candidate on a loopback socket of its
/// own.
pub fn client_offer() -> (Client, SdpPendingOffer, String) {
    sending_offer(1, 1)
}

/// A client's offer to send `audio` voices and `video` videos.
pub fn sending_offer(audio: usize, video: usize) -> (Client, SdpPendingOffer, String) {
    let mut voices = Vec::new();
    let (mut client, pending, sdp) = Client::offer(|change| {
        for _ in 0..audio {
            voices.push(change.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None));
        }
        for _ in 0..video {
            change.add_media(MediaKind::Video, Direction::SendOnly, None, None, None);
        }
    });
    client.voice = voices.first().copied();
    (client, pending, sdp)
}

/// A client that only receives (a viewer's), as our browser client offers: one inactive audio
/// line, the least such a client can negotiate; the server then offers it what it may receive.
#[allow(dead_code)] // The integration tests' (the cluster tests include this file).
pub fn receiving_offer() -> (Client, SdpPendingOffer, String) {
    Client::offer(|change| {
        change.add_media(MediaKind::Audio, Direction::Inactive, None, None, None);
    })
}

/// A viewer as our browser client was and a third-party one may be: its offer has a data channel.
#[allow(dead_code)] // The integration tests' (the cluster tests include this file).
pub fn receiving_offer_with_data_channel() -> (Client, SdpPendingOffer, String) {
    Client::offer(|change| {
        change.add_channel("anteroom".into());
    })
}

/// Sends the client's offer over the signalling socket and accepts the server's answer; returns
/// the answer's text.
pub async fn exchange(
    ws: &mut Ws,
    client: &mut Client,
    pending: SdpPendingOffer,
    sdp: &str,
) -> String {
    ws.send("sfu_offer", json!({ "sdp": sdp })).await;
    let answer = ws.recv_type("sfu_answer").await["sdp"]
        .as_str()
        .expect("an answer's sdp")
        .to_owned();
    let parsed = SdpAnswer::from_sdp_string(&answer).expect("a valid answer");
    client
        .rtc
        .sdp_api()
        .accept_answer(pending, parsed)
        .expect("the answer fits the offer");
    answer
}

/// Answers the server's `sfu_offer` (its `payload`) over the signalling socket.
#[allow(dead_code)] // The integration tests' (the cluster tests include this file).
pub async fn answer_offer(ws: &mut Ws, client: &mut Client, payload: &Value) {
    let offer = SdpOffer::from_sdp_string(payload["sdp"].as_str().expect("an offer's sdp"))
        .expect("a valid offer");
    let answer = client.rtc.sdp_api().accept_offer(offer).expect("an answer");
    ws.send("sfu_answer", json!({ "sdp": answer.to_sdp_string() }))
        .await;
}

/// A str0m client and its socket, driven by hand.
pub struct Client {
    pub rtc: Rtc,
    pub socket: UdpSocket,
    /// The mid of the voice it offered to send, if any.
    voice: Option<Mid>,
}

impl Client {
    /// A client on a loopback socket of its own, and the offer `change` makes.
    fn offer(change: impl FnOnce(&mut str0m::change::SdpApi)) -> (Client, SdpPendingOffer, String) {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut rtc = Rtc::new(Instant::now());
        let candidate = Candidate::host(socket.local_addr().unwrap(), "udp").unwrap();
        rtc.add_local_candidate(candidate);
        let mut api = rtc.sdp_api();
        change(&mut api);
        let (offer, pending) = api.apply().expect("a change to offer");
        let client = Client {
            rtc,
            socket,
            voice: None,
        };
        (client, pending, offer.to_sdp_string())
    }

    /// Runs the client's I/O for a while (blocking); true once it has connected.
    pub fn spin(&mut self, time: Duration) -> bool {
        self.run(time, |_, _| {})
    }

    /// Runs the client's I/O for a while (blocking), sending an Opus frame of `bytes` on its voice
    /// every 20 ms.
    #[allow(dead_code)] // The integration tests' (the cluster tests include this file).
    pub fn speak(&mut self, time: Duration, bytes: usize) {
        let voice = self.voice.expect("a client that offered to send a voice");
        let started = Instant::now();
        let mut next_frame = started;
        self.run(time, |rtc, now| {
            if now < next_frame {
                return;
            }
            next_frame += Duration::from_millis(20);
            let Some(writer) = rtc.writer(voice) else {
                return;
            };
            let Some(pt) = writer.payload_params().next().map(|p| p.pt()) else {
                return;
            };
            let time = MediaTime::from_micros(started.elapsed().as_micros() as u64);
            let _ = writer.write(pt, now, time, vec![0x55; bytes]);
        });
    }

    /// Runs the client's I/O for a while, giving it a turn at each step; true once it has
    /// connected.
    fn run(&mut self, time: Duration, mut turn: impl FnMut(&mut Rtc, Instant)) -> bool {
        let end = Instant::now() + time;
        let mut connected = false;
        let mut buf = [0u8; 2000];
        while Instant::now() < end {
            let wait = loop {
                match self.rtc.poll_output().expect("the client runs") {
                    Output::Transmit(t) => {
                        let _ = self.socket.send_to(&t.contents, t.destination);
                    }
                    Output::Timeout(at) => break at,
                    Output::Event(Event::Connected) => connected = true,
                    Output::Event(_) => {}
                }
            };
            let wait = wait
                .saturating_duration_since(Instant::now())
                .clamp(Duration::from_millis(1), Duration::from_millis(20));
            self.socket.set_read_timeout(Some(wait)).unwrap();
            let input = match self.socket.recv_from(&mut buf) {
                Ok((n, source)) => Input::Receive(
                    Instant::now(),
                    Receive {
                        proto: Protocol::Udp,
                        source,
                        destination: self.socket.local_addr().unwrap(),
                        contents: buf[..n].try_into().unwrap(),
                    },
                ),
                Err(_) => Input::Timeout(Instant::now()),
            };
            self.rtc
                .handle_input(input)
                .expect("the client takes input");
            turn(&mut self.rtc, Instant::now());
        }
        connected
    }
}

/// Offers, and checks the server's answer: ICE-lite, one loopback candidate.
pub async fn negotiate(ws: &mut Ws) -> (Client, String) {
    let (mut client, pending, sdp) = client_offer();
    let answer = exchange(ws, &mut client, pending, &sdp).await;
    assert!(answer.contains("a=ice-lite"), "{answer}");
    assert!(answer.contains(" 127.0.0.1 "), "{answer}");
    // Opus with DTX: a silent or muted microphone sends next to nothing.
    assert!(
        answer
            .lines()
            .any(|l| l.starts_with("a=fmtp:") && l.contains("usedtx=1")),
        "{answer}"
    );
    assert!(
        client.spin(Duration::from_secs(2)),
        "connected to the media server"
    );
    (client, answer)
}

pub fn attribute<'a>(sdp: &'a str, name: &str) -> &'a str {
    sdp.lines()
        .find_map(|line| line.strip_prefix(name))
        .unwrap_or_else(|| panic!("no {name} in {sdp}"))
        .trim()
}

//! A fuzz-style target over what a client may send the media server: its offers and answers,
//! mangled as a buggy or hostile client might (lines dropped, doubled, swapped, cut short, odd
//! values, odd attributes), the sizes it says it shows others at, and the admissions and removals
//! around them. A media thread carries every group room given to it, so nothing one client sends
//! may stop it: after every step, a member of another room still gets its transport.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::sample::{Index, select};
use str0m::change::SdpOffer;
use tokio::sync::mpsc;

use super::{MediaConfig, MediaCounters, MediaEngine, MediaRefusal, Notice};
use crate::meeting::{ClientId, RoomName};

/// What Chromium offers when it publishes (audio, three simulcast layers of camera, a screen
/// slot: as `web/js/sfu.js` asks) and when it only views (an inactive audio line; a data channel,
/// as our client did before and another client may).
const PUBLISHER_OFFER: &str = include_str!("fixtures/chrome-publisher-offer.sdp");
const VIEWER_OFFER: &str = include_str!("fixtures/chrome-viewer-offer.sdp");
const VIEWER_DATA_CHANNEL_OFFER: &str =
    include_str!("fixtures/chrome-viewer-data-channel-offer.sdp");

/// Lines a description may carry that the parser and the negotiation must take calmly.
const ODD_LINES: &[&str] = &[
    "a=simulcast:send q;h;f",
    "a=simulcast:recv ~q;h",
    "a=simulcast:send ",
    "a=rid:q send pt=999",
    "a=rid:  ",
    "a=rid:x recv max-width=0",
    "a=ssrc-group:FID",
    "a=ssrc-group:FID 1 2 3",
    "a=ssrc:abc cname:x",
    "a=ssrc:0 msid:- -",
    "a=extmap:0 urn:ietf:params:rtp-hdrext:sdes:mid",
    "a=extmap:15 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id",
    "a=extmap:256 urn:ietf:params:rtp-hdrext:ssrc-audio-level",
    "m=video 0 UDP/TLS/RTP/SAVPF 96",
    "m=video 9 UDP/TLS/RTP/SAVPF",
    "m=audio 9 RTP/AVP 0",
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
    "a=mid:0",
    "a=mid:",
    "a=rtpmap:96 VP8/0",
    "a=rtpmap:300 VP8/90000",
    "a=rtpmap:97 rtx/90000",
    "a=fmtp:97 apt=300",
    "a=fmtp:97 apt=97",
    "a=fmtp:96 max-fs=0;max-fr=-1",
    "a=sctp-port:0",
    "a=max-message-size:0",
    "a=setup:passive",
    "a=setup:holdconn",
    "a=fingerprint:sha-1 00",
    "a=fingerprint:sha-256",
    "a=group:BUNDLE 0 0 0",
    "a=group:BUNDLE",
    "a=msid:- -",
    "a=rtcp-fb:* nack",
    "a=recvonly",
    "a=inactive",
    "a=sendrecv",
    "c=IN IP6 ::",
    "a=candidate:1 1 udp 1 127.0.0.1 1 typ host",
    "a=candidate:1 1 udp 1 999.0.0.1 70000 typ relay",
    "a=ice-ufrag:",
    "a=ice-pwd:",
];

#[derive(Debug, Clone)]
enum Mangle {
    Delete(Index),
    Duplicate(Index),
    Swap(Index, Index),
    /// The line keeps its name (up to `:` or `=`); its value becomes this.
    Replace(Index, String),
    Insert(Index, &'static str),
    Truncate(Index),
    /// A character becomes this printable one.
    Char(Index, u8),
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("0".to_owned()),
        Just("-1".to_owned()),
        Just("4294967296".to_owned()),
        Just("99999999999999999999999999".to_owned()),
        Just("a b c d e f g h i j".to_owned()),
        "[ -~]{0,24}",
    ]
}

fn mangle() -> impl Strategy<Value = Mangle> {
    prop_oneof![
        1 => any::<Index>().prop_map(Mangle::Delete),
        1 => any::<Index>().prop_map(Mangle::Duplicate),
        1 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mangle::Swap(a, b)),
        1 => (any::<Index>(), value()).prop_map(|(at, v)| Mangle::Replace(at, v)),
        2 => (any::<Index>(), select(ODD_LINES)).prop_map(|(at, l)| Mangle::Insert(at, l)),
        1 => any::<Index>().prop_map(Mangle::Truncate),
        1 => (any::<Index>(), 32u8..127).prop_map(|(at, c)| Mangle::Char(at, c)),
    ]
}

/// `sdp` with `mangles` applied in turn, line by line (its lines end in CRLF, as sent).
fn mangled(sdp: &str, mangles: &[Mangle]) -> String {
    let mut lines: Vec<String> = sdp.lines().map(str::to_owned).collect();
    for mangle in mangles {
        if lines.is_empty() {
            break;
        }
        match mangle {
            Mangle::Delete(at) => {
                lines.remove(at.index(lines.len()));
            }
            Mangle::Duplicate(at) => {
                let at = at.index(lines.len());
                lines.insert(at, lines[at].clone());
            }
            Mangle::Swap(a, b) => {
                let (a, b) = (a.index(lines.len()), b.index(lines.len()));
                lines.swap(a, b);
            }
            Mangle::Replace(at, value) => {
                let at = at.index(lines.len());
                let line = &mut lines[at];
                let name_ends = line.find([':', '=']).map_or(line.len(), |i| i + 1);
                line.truncate(name_ends);
                line.push_str(value);
            }
            Mangle::Insert(at, line) => lines.insert(at.index(lines.len() + 1), (*line).to_owned()),
            Mangle::Truncate(at) => {
                let at = at.index(lines.len());
                let line = &mut lines[at];
                line.truncate(line.len() / 2);
                lines.truncate(at + 1);
            }
            Mangle::Char(at, c) => {
                // Descriptions are ASCII; a line whose character is not is left alone.
                let count = lines.len();
                let line = &mut lines[at.index(count)];
                if !line.is_empty() && line.is_ascii() {
                    let i = at.index(line.len());
                    line.replace_range(i..=i, &char::from(*c).to_string());
                }
            }
        }
    }
    lines.iter().map(|l| format!("{l}\r\n")).collect()
}

#[derive(Debug, Clone)]
enum Step {
    Admit {
        who: usize,
        publishes: bool,
    },
    Revoke {
        who: usize,
    },
    CloseRoom,
    /// A new transport from an offer: one of Chromium's (publishing or viewing), mangled.
    Offer {
        who: usize,
        base: &'static str,
        mangles: Vec<Mangle>,
    },
    /// An answer to the server's last offer to this client (made by a WebRTC stack that takes it
    /// as given), mangled; with no offer from the server, a publisher's offer passed off as one.
    Answer {
        who: usize,
        mangles: Vec<Mangle>,
    },
    /// `publisher` past the three clients names nobody in the room.
    View {
        who: usize,
        publisher: usize,
        width: u32,
    },
}

/// One of Chromium's offers, publishing or viewing, as a new transport's starting point.
fn chromium_offer() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        7 => Just(PUBLISHER_OFFER),
        2 => Just(VIEWER_OFFER),
        1 => Just(VIEWER_DATA_CHANNEL_OFFER),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    let mangles = || proptest::collection::vec(mangle(), 0..4);
    prop_oneof![
        2 => (0usize..3, any::<bool>()).prop_map(|(who, publishes)| Step::Admit { who, publishes }),
        1 => (0usize..3).prop_map(|who| Step::Revoke { who }),
        1 => Just(Step::CloseRoom),
        6 => (0usize..3, chromium_offer(), mangles())
            .prop_map(|(who, base, mangles)| Step::Offer { who, base, mangles }),
        5 => (0usize..3, mangles()).prop_map(|(who, mangles)| Step::Answer { who, mangles }),
        2 => (0usize..3, 0usize..5, prop_oneof![Just(0u32), 1u32..4000, Just(u32::MAX)])
            .prop_map(|(who, publisher, width)| Step::View { who, publisher, width }),
    ]
}

/// What another WebRTC stack answers to the server's offer, as the client whose first offer was
/// `own` would: with that offer's ICE credentials and certificate.
fn answer_to(offer: &str, own: &str) -> Option<String> {
    let offer = SdpOffer::from_sdp_string(offer).ok()?;
    let mut client = str0m::RtcConfig::new().build(Instant::now());
    let answer = client.sdp_api().accept_offer(offer).ok()?.to_sdp_string();
    const KEPT: [&str; 3] = ["a=ice-ufrag:", "a=ice-pwd:", "a=fingerprint:"];
    let kept = |line: &str| KEPT.iter().find(|name| line.starts_with(*name)).copied();
    let own_line = |name: &str| own.lines().find(|l| l.starts_with(name)).map(str::to_owned);
    let lines: Option<Vec<String>> = answer
        .lines()
        .map(|line| match kept(line) {
            Some(name) => own_line(name),
            None => Some(line.to_owned()),
        })
        .collect();
    Some(lines?.iter().map(|l| format!("{l}\r\n")).collect())
}

/// One media thread on a loopback port.
fn engine(bandwidth_estimation: bool) -> MediaEngine {
    MediaEngine::start(
        &MediaConfig {
            bind_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            public_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            first_port: 0,
            threads: 1,
            peer_networks: Vec::new(),
            bandwidth_estimation,
            max_video_kbps: 8_000,
        },
        // Nobody keeps these tests' network samples.
        tokio::sync::mpsc::channel(1).0,
    )
    .expect("a loopback UDP port and a thread are there to take")
}

fn block_on<F: std::future::Future>(test: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime for the test")
        .block_on(test)
}

async fn run(publishes: [bool; 3], steps: Vec<Step>, bandwidth_estimation: bool) {
    let engine = engine(bandwidth_estimation);
    let room = RoomName::parse("/fuzz").expect("a valid room name");
    let clients: Vec<ClientId> = (0..5)
        .map(|i| ClientId::new(format!("client-{i}")))
        .collect();
    let conn = |who: usize| who as u64 + 1;
    // The canary: a member of another room on the same thread, who offers after every step.
    let canary_room = RoomName::parse("/canary").expect("a valid room name");
    engine.admit(&canary_room, &ClientId::new("canary"), 99, false);
    // Everyone starts admitted: what they send then reaches the negotiation.
    for (who, publishes) in publishes.into_iter().enumerate() {
        engine.admit(&room, &clients[who], conn(who), publishes);
    }
    let mut notices: Vec<Option<mpsc::Receiver<Notice>>> = vec![None, None, None];
    let mut server_offers: Vec<Option<String>> = vec![None, None, None];
    // What each client last offered, unmangled: its answers keep its credentials.
    let mut own_offers: Vec<&str> = vec![PUBLISHER_OFFER; 3];
    for step in steps {
        let outcome = match &step {
            Step::Admit { who, publishes } => {
                engine.admit(&room, &clients[*who], conn(*who), *publishes);
                Ok(())
            }
            Step::Revoke { who } => {
                engine.revoke(&room, &clients[*who]);
                Ok(())
            }
            Step::CloseRoom => {
                engine.close_room(&room);
                Ok(())
            }
            Step::Offer { who, base, mangles } => {
                own_offers[*who] = base;
                let (sender, receiver) = mpsc::channel(64);
                notices[*who] = Some(receiver);
                server_offers[*who] = None;
                engine
                    .offer(&room, conn(*who), mangled(base, mangles), sender)
                    .await
                    .map(drop)
            }
            Step::Answer { who, mangles } => {
                if let Some(receiver) = notices[*who].as_mut() {
                    while let Ok(notice) = receiver.try_recv() {
                        if let Notice::Offer(sdp) = notice {
                            server_offers[*who] = Some(sdp);
                        }
                    }
                }
                let base = server_offers[*who]
                    .as_deref()
                    .and_then(|offer| answer_to(offer, own_offers[*who]))
                    .unwrap_or_else(|| PUBLISHER_OFFER.to_owned());
                engine
                    .answer(&room, conn(*who), mangled(&base, mangles))
                    .await
            }
            Step::View {
                who,
                publisher,
                width,
            } => {
                engine.view_size(&room, conn(*who), &clients[*publisher], *width);
                Ok(())
            }
        };
        assert_ne!(
            outcome,
            Err(MediaRefusal::Unavailable),
            "the media thread stopped at {step:?}"
        );
        // Time for the thread's own work between steps (offers of slots, timeouts).
        tokio::time::sleep(Duration::from_millis(2)).await;
        let (sender, _receiver) = mpsc::channel(8);
        let canary = engine
            .offer(&canary_room, 99, VIEWER_OFFER.to_owned(), sender)
            .await;
        assert!(
            canary.is_ok(),
            "after {step:?}, another room's member got {canary:?}"
        );
        let panics = MediaCounters::get(&engine.counters().panics);
        assert_eq!(panics, 0, "the media thread panicked at {step:?}");
    }
}

#[test]
fn unmangled_offers_and_answers_are_taken() {
    block_on(async {
        let engine = engine(false);
        let room = RoomName::parse("/fuzz").expect("a valid room name");
        engine.admit(&room, &ClientId::new("ann"), 1, true);
        engine.admit(&room, &ClientId::new("ben"), 2, true);
        let (sender, _ann_notices) = mpsc::channel(64);
        let answer = engine
            .offer(&room, 1, PUBLISHER_OFFER.to_owned(), sender)
            .await;
        assert!(answer.is_ok(), "{answer:?}");
        let (sender, mut ben_notices) = mpsc::channel(64);
        let answer = engine
            .offer(&room, 2, VIEWER_OFFER.to_owned(), sender)
            .await;
        assert!(answer.is_ok(), "{answer:?}");
        // Ann publishes: Ben is offered slots for her, and his answer is taken.
        let offer = loop {
            match tokio::time::timeout(Duration::from_secs(5), ben_notices.recv()).await {
                Ok(Some(Notice::Offer(sdp))) => break sdp,
                Ok(Some(_)) => {}
                other => panic!("no offer of slots for Ben: {other:?}"),
            }
        };
        let answer = answer_to(&offer, VIEWER_OFFER).expect("another stack answers the offer");
        assert_eq!(engine.answer(&room, 2, answer).await, Ok(()));
    });
}

/// A panic while the thread works on one transport (a fault in str0m, say) closes that transport
/// and no other: the rest of its room and other rooms go on, and its member may connect again.
#[test]
fn a_fault_in_one_transport_closes_it_and_spares_the_rest() {
    block_on(async {
        let engine = engine(false);
        // The thread counts after it has answered: the count is waited for.
        let connections_become = async |expected: u64| {
            for _ in 0..400 {
                if MediaCounters::get(&engine.counters().connections) == expected {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            let connections = MediaCounters::get(&engine.counters().connections);
            panic!("{connections} media connections, not {expected}");
        };
        let room = RoomName::parse("/fuzz").expect("a valid room name");
        let other_room = RoomName::parse("/other").expect("a valid room name");
        engine.admit(&room, &ClientId::new("ann"), 1, true);
        engine.admit(&room, &ClientId::new("ben"), 2, true);
        engine.admit(&other_room, &ClientId::new("cy"), 3, false);
        let mut notices = Vec::new();
        for (room, conn, sdp) in [
            (&room, 1, PUBLISHER_OFFER),
            (&room, 2, PUBLISHER_OFFER),
            (&other_room, 3, VIEWER_OFFER),
        ] {
            let (sender, receiver) = mpsc::channel(64);
            notices.push(receiver);
            let answer = engine.offer(room, conn, sdp.to_owned(), sender).await;
            assert!(answer.is_ok(), "{answer:?}");
        }
        connections_become(3).await;

        engine.panic_in(&room, 1);
        // Ann's transport is gone: the next offer (Cy's) finds the thread running, with two.
        let (sender, _cy) = mpsc::channel(64);
        let answer = engine
            .offer(&other_room, 3, VIEWER_OFFER.to_owned(), sender)
            .await;
        assert!(answer.is_ok(), "{answer:?}");
        assert_eq!(MediaCounters::get(&engine.counters().panics), 1);
        // Only Ann's transport closed, and her client is told so (her notices end with it).
        connections_become(2).await;
        let mut told = Vec::new();
        while let Ok(Some(notice)) =
            tokio::time::timeout(Duration::from_secs(5), notices[0].recv()).await
        {
            told.push(notice);
        }
        assert!(
            matches!(told.last(), Some(Notice::Closed)),
            "Ann's last notice says her transport closed: {told:?}"
        );
        while let Ok(notice) = notices[1].try_recv() {
            assert!(!matches!(notice, Notice::Closed), "Ben's transport is open");
        }
        // Ann is still admitted: her browser's new offer gets a transport.
        let (sender, _ann) = mpsc::channel(64);
        let answer = engine
            .offer(&room, 1, PUBLISHER_OFFER.to_owned(), sender)
            .await;
        assert!(answer.is_ok(), "{answer:?}");
        connections_become(3).await;
    });
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(150))]

    #[test]
    fn nothing_a_client_sends_stops_the_media_thread(
        publishes in any::<[bool; 3]>(),
        steps in proptest::collection::vec(step(), 1..16),
        bandwidth_estimation in proptest::bool::weighted(0.3),
    ) {
        block_on(run(publishes, steps, bandwidth_estimation));
    }
}

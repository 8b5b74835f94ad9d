//! The layer choice, pauses and the cap on videos of one subscriber.

use super::*;

#[test]
fn reads_the_width_of_a_vp8_keyframe() {
    let frame = [0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01];
    assert_eq!(vp8_keyframe_width(&frame), Some(640));
    let mut interframe = frame;
    interframe[0] |= 1;
    assert_eq!(vp8_keyframe_width(&interframe), None);
    assert_eq!(vp8_keyframe_width(&frame[..5]), None);
}

fn track(layers: &[(&str, u32)], now: Instant) -> Published {
    Published {
        id: 1,
        mid: Mid::from("0"),
        kind: MediaKind::Video,
        layers: layers
            .iter()
            .map(|(rid, width)| Layer {
                rid: Some(Rid::from(*rid)),
                heard: now,
                width: *width,
                asked: None,
                wanted: false,
            })
            .collect(),
    }
}

#[test]
fn picks_the_smallest_layer_wide_enough() {
    let now = Instant::now();
    let t = track(&[("h", 1280), ("l", 320), ("m", 640)], now);
    assert_eq!(t.layer_for(160), Some(Rid::from("l")));
    assert_eq!(t.layer_for(400), Some(Rid::from("l")));
    assert_eq!(t.layer_for(401), Some(Rid::from("m")));
    assert_eq!(t.layer_for(1280), Some(Rid::from("h")));
    assert_eq!(t.layer_for(1920), Some(Rid::from("h")));
    assert_eq!(t.layer_for(0), None);
}

fn subscription(source: TrackId, width: u32) -> Subscribed {
    Subscribed {
        source,
        publisher: ClientId::new(format!("p{source}")),
        kind: MediaKind::Video,
        state: OutState::Open(Mid::from("1")),
        current: None,
        target: None,
        view_width: width,
        shown: false,
        needs_keyframe: false,
    }
}

#[test]
fn a_paused_video_passes_nothing_and_resumes_at_a_keyframe() {
    let now = Instant::now();
    let source = track(&[("h", 640), ("l", 320)], now);
    let mut sub = subscription(1, 640);
    sub.shown = true;
    let h = Some(Rid::from("h"));
    // Not yet on a layer: a keyframe of the wanted one is asked for, and switched to.
    assert_eq!(sub.pass(&source, h, false), (false, Some(h)));
    assert_eq!(sub.pass(&source, h, true), (true, None));
    assert_eq!(sub.pass(&source, h, false), (true, None));
    sub.view_width = 0;
    assert_eq!(sub.pass(&source, h, true), (false, None));
    sub.view_width = 300;
    let l = Some(Rid::from("l"));
    assert_eq!(sub.pass(&source, l, false), (false, Some(l)));
    assert_eq!(
        sub.pass(&source, h, true),
        (false, None),
        "not the layer that fits"
    );
    assert_eq!(sub.pass(&source, l, true), (true, None));
    // A single-layer video also waits for a keyframe after a pause.
    let single = track(&[], now);
    let mut sub = subscription(2, 0);
    sub.shown = true;
    assert_eq!(sub.pass(&single, None, false), (false, None));
    sub.view_width = 640;
    assert_eq!(sub.pass(&single, None, false), (false, Some(None)));
    assert_eq!(sub.pass(&single, None, true), (true, None));
}

#[test]
fn a_subscriber_receives_at_most_its_cap_of_videos() {
    let mut link = Link {
        rtc: Rtc::new(Instant::now()),
        ufrag: "u".into(),
        notices: mpsc::channel(1).0,
        pending: None,
        published: Vec::new(),
        subscribed: Vec::new(),
        timeout: Instant::now(),
    };
    for id in 1..=40 {
        link.subscribe(id, ClientId::new(format!("p{id}")), MediaKind::Video, None);
        link.subscribe(
            100 + id,
            ClientId::new(format!("p{id}")),
            MediaKind::Audio,
            None,
        );
    }
    link.set_view_width(&ClientId::new("p2"), 0);
    let source = track(&[], Instant::now());
    let passed: Vec<TrackId> = link
        .subscribed
        .iter_mut()
        .filter(|t| t.kind == MediaKind::Video)
        .filter_map(|t| t.pass(&source, None, true).0.then_some(t.source))
        .collect();
    assert_eq!(passed.len(), MAX_VIDEOS);
    assert!(
        !passed.contains(&2),
        "a paused video makes room for another"
    );
    assert!(passed.contains(&26));
    // Audio is never capped.
    let audio = link
        .subscribed
        .iter_mut()
        .filter(|t| t.kind == MediaKind::Audio)
        .map(|t| t.pass(&source, None, false).0)
        .filter(|passed| *passed)
        .count();
    assert_eq!(audio, 40);
}

#[test]
fn a_silent_layer_is_not_picked() {
    let now = Instant::now();
    let mut t = track(&[("h", 1280), ("l", 320)], now);
    t.layers[0].heard = now - Duration::from_secs(2);
    t.layers[1].heard = now;
    assert_eq!(t.layer_for(1280), Some(Rid::from("l")));
}

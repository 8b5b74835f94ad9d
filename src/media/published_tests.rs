//! VP8 widths and the choice of a simulcast layer.

use super::*;
use crate::media::cap::Caps;
use str0m::rtp::Vp8Descriptor;

#[test]
fn reads_the_width_of_a_vp8_keyframe_and_its_picture_id_form() {
    // As Chromium sends it: a descriptor with a 15-bit picture id, then the frame's tag, start code
    // and size.
    let packet = [
        0x90, 0x80, 0x81, 0x23, 0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01,
    ];
    assert_eq!(vp8_keyframe_width(&packet), Some(640));
    assert!(long_picture_id(&packet));
    let descriptor = Vp8Descriptor::parse(&packet).unwrap();
    assert!(descriptor.starts_keyframe(&packet));
    assert_eq!(descriptor.picture_id(), Some(0x0123));
    // Cut short, or with no start code: no width.
    assert_eq!(vp8_keyframe_width(&packet[..11]), None);
    assert_eq!(
        vp8_keyframe_width(&[0x90, 0x80, 0x01, 0x50, 0x42, 0x00, 0, 0, 0]),
        None
    );
    assert!(!long_picture_id(&[0x90, 0x80, 0x01]));
}

pub(in crate::media) fn track(layers: &[(&str, u32)], now: Instant) -> Published {
    let cap = Caps::new(8_000).of(MediaKind::Video);
    Published {
        id: 1,
        mid: Mid::from("0"),
        kind: MediaKind::Video,
        screen: false,
        layers: layers
            .iter()
            .map(|(rid, width)| Layer::new(Some(Rid::from(*rid)), *width, cap, now))
            .collect(),
        cap,
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

#[test]
fn a_silent_layer_is_not_picked() {
    let now = Instant::now();
    let mut t = track(&[("h", 1280), ("l", 320)], now);
    t.layers[0].heard = now - Duration::from_secs(2);
    t.layers[1].heard = now;
    assert_eq!(t.layer_for(1280), Some(Rid::from("l")));
}

/// The layers asked for a keyframe by `track.ask_keyframes(at)`.
fn asked(track: &mut Published, at: Instant) -> Vec<Option<Rid>> {
    let mut asked = Vec::new();
    track.ask_keyframes(at, |_, rid| asked.push(rid));
    asked
}

#[test]
fn a_layer_is_asked_for_a_keyframe_at_most_once_a_second() {
    let start = Instant::now();
    let (high, low) = (Some(Rid::from("h")), Some(Rid::from("l")));
    let mut t = track(&[("h", 1280), ("l", 320)], start);
    // A layer first heard owes a keyframe.
    assert_eq!(asked(&mut t, start), [high, low]);
    // Many subscribers want one again soon after: the publisher hears nothing more for a second...
    t.want_keyframe(low);
    t.want_keyframe(low);
    assert_eq!(asked(&mut t, start + Duration::from_millis(500)), []);
    assert_eq!(asked(&mut t, start + Duration::from_millis(999)), []);
    // ...then one request, however many wanted it.
    assert_eq!(asked(&mut t, start + KEYFRAME_INTERVAL), [low]);
    assert_eq!(asked(&mut t, start + Duration::from_secs(3)), []);
    // Wanted of no layer in particular: of every layer.
    t.want_keyframe(None);
    assert_eq!(asked(&mut t, start + Duration::from_secs(3)), [high, low]);
}

#[test]
fn a_layer_over_its_cap_is_not_forwarded_and_said_so_once_in_a_while() {
    let start = Instant::now();
    // 800 kbit/s: 100,000 bytes a second, as much again at once.
    let mut t = Published::new(
        1,
        Mid::from("0"),
        MediaKind::Video,
        false,
        Caps::new(800).of(MediaKind::Video),
    );
    let low = Some(Rid::from("l"));
    let packet = [0u8; 1_000];
    let mut heard = |at: Duration| t.heard(low, &packet, false, start + at);
    for i in 0..100 {
        assert_eq!(heard(Duration::from_micros(i)), Heard::Within);
    }
    assert_eq!(
        heard(Duration::from_micros(100)),
        Heard::Over { tell: true }
    );
    assert_eq!(
        heard(Duration::from_micros(101)),
        Heard::Over { tell: false }
    );
    // A hundredth of a second later, a packet's worth more is allowed.
    assert_eq!(heard(Duration::from_millis(10)), Heard::Within);
    assert_eq!(heard(Duration::from_secs(5)), Heard::Within);
    for _ in 0..600 {
        if heard(Duration::from_secs(5)) != Heard::Within {
            break;
        }
    }
    assert_eq!(heard(Duration::from_secs(5)), Heard::Over { tell: false });
    // Ten seconds after it was last said, the first packet over is said again.
    let at = Duration::from_secs(11);
    let first_over = (0..300).map(|_| heard(at)).find(|h| *h != Heard::Within);
    assert_eq!(first_over, Some(Heard::Over { tell: true }));
    assert_eq!(heard(at), Heard::Over { tell: false });
}

proptest::proptest! {
    /// What a publisher puts in a video packet's payload is read without a panic, whatever it is.
    #[test]
    fn any_video_payload_is_read_calmly(
        head in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..10),
        start_code in proptest::prelude::any::<bool>(),
        tail in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..4),
    ) {
        // A descriptor of any bytes, often a keyframe's start code, and whatever follows it.
        let code: &[u8] = if start_code { &[0x9d, 0x01, 0x2a] } else { &[] };
        let payload = [head.as_slice(), code, tail.as_slice()].concat();
        let _ = vp8_keyframe_width(&payload);
        let _ = long_picture_id(&payload);
        if let Ok(descriptor) = Vp8Descriptor::parse(&payload) {
            let _ = descriptor.starts_keyframe(&payload);
            let _ = descriptor.picture_id();
            let _ = descriptor.tl0_pic_idx();
            let _ = descriptor.patch().picture_id(1).tl0_pic_idx(1).build();
        }
    }
}

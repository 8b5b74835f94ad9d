//! What the media server reads or changes in a session description's text itself: str0m parses
//! descriptions but keeps the parse to itself.

/// Our offer without transport-wide sequence numbers on what we only send (the slots). They serve
/// only the sender's congestion control, which for what we send is ours, and off: str0m would stamp
/// every packet we send, keep the last 1,000 in a register (90 KiB a transport), and parse the
/// client's feedback on them every 50 ms, for nothing. The client's answer leaves them out of
/// those m-lines in turn (an answer has no extension its offer lacked), which is what str0m goes
/// by, and repeats in its later offers. What the client publishes keeps them: its browser's
/// estimate of its own uplink rests on our feedback.
pub(super) fn without_sending_sequence_numbers(sdp: &str) -> String {
    let sections = sections(sdp);
    let mut out = String::with_capacity(sdp.len());
    for (index, section) in sections.iter().enumerate() {
        let sends_only = index > 0 && section.iter().any(|line| line.trim_end() == "a=sendonly");
        for line in section {
            if sends_only && line.starts_with("a=extmap:") && line.contains("transport-wide-cc") {
                continue;
            }
            out.push_str(line);
        }
    }
    out
}

/// The tracks an offer would send us: its audio and video m-lines that send (`sendonly`,
/// `sendrecv`, or no direction, which is `sendrecv` unless the session's lines say otherwise), but
/// not those turned down (port 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Sending {
    pub audio: usize,
    pub video: usize,
}

pub(super) fn sending_tracks(sdp: &str) -> Sending {
    let sections = sections(sdp);
    let session_sends = sends(&sections[0]).unwrap_or(true);
    let mut sending = Sending { audio: 0, video: 0 };
    for section in &sections[1..] {
        let mut words = section[0].trim_start_matches("m=").split_whitespace();
        let (kind, port) = (words.next(), words.next());
        if port == Some("0") || !sends(section).unwrap_or(session_sends) {
            continue;
        }
        match kind {
            Some("audio") => sending.audio += 1,
            Some("video") => sending.video += 1,
            _ => {}
        }
    }
    sending
}

/// Whether a section's direction sends, if it names one.
fn sends(section: &[&str]) -> Option<bool> {
    section.iter().find_map(|line| match line.trim_end() {
        "a=sendrecv" | "a=sendonly" => Some(true),
        "a=recvonly" | "a=inactive" => Some(false),
        _ => None,
    })
}

/// A description's lines by section: the session's first, then one per m-line (from it to the
/// next), each line with its line ending.
fn sections(sdp: &str) -> Vec<Vec<&str>> {
    let mut sections: Vec<Vec<&str>> = vec![Vec::new()];
    for line in sdp.split_inclusive('\n') {
        if line.starts_with("m=") {
            sections.push(Vec::new());
        }
        sections.last_mut().expect("starts with one").push(line);
    }
    sections
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use proptest::prelude::*;
    use str0m::Rtc;
    use str0m::media::{Direction, MediaKind};

    use super::*;

    const PUBLISHER: &str = include_str!("fixtures/chrome-publisher-offer.sdp");
    const VIEWER: &str = include_str!("fixtures/chrome-viewer-offer.sdp");
    const VIEWER_DATA_CHANNEL: &str = include_str!("fixtures/chrome-viewer-data-channel-offer.sdp");

    #[test]
    fn counts_the_tracks_an_offer_sends() {
        // Our client's: a voice, a camera and a screen.
        assert_eq!(sending_tracks(PUBLISHER), Sending { audio: 1, video: 2 });
        assert_eq!(sending_tracks(VIEWER), Sending { audio: 0, video: 0 });
        assert_eq!(
            sending_tracks(VIEWER_DATA_CHANNEL),
            Sending { audio: 0, video: 0 }
        );
        let one_more = |direction: &str| {
            format!("{PUBLISHER}m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:9\r\n{direction}")
        };
        assert_eq!(sending_tracks(&one_more("a=sendonly\r\n")).video, 3);
        assert_eq!(sending_tracks(&one_more("a=sendrecv\r\n")).video, 3);
        // No direction: send and receive.
        assert_eq!(sending_tracks(&one_more("")).video, 3);
        assert_eq!(sending_tracks(&one_more("a=recvonly\r\n")).video, 2);
        assert_eq!(sending_tracks(&one_more("a=inactive\r\n")).video, 2);
        let turned_down = format!("{PUBLISHER}m=audio 0 UDP/TLS/RTP/SAVPF 111\r\na=sendonly\r\n");
        assert_eq!(sending_tracks(&turned_down).audio, 1);
    }

    proptest! {
        /// Whatever audio and video m-lines a client's offer has (str0m writes it, as a
        /// third-party client would), the ones counted as sending are those it sends on.
        #[test]
        fn counts_what_any_offer_sends(
            lines in proptest::collection::vec((any::<bool>(), 0usize..4), 1..8),
        ) {
            const DIRECTIONS: [Direction; 4] = [
                Direction::SendOnly,
                Direction::SendRecv,
                Direction::RecvOnly,
                Direction::Inactive,
            ];
            let mut rtc = Rtc::new(Instant::now());
            let mut change = rtc.sdp_api();
            let mut expected = Sending { audio: 0, video: 0 };
            for (video, direction) in &lines {
                let direction = DIRECTIONS[*direction];
                let kind = if *video { MediaKind::Video } else { MediaKind::Audio };
                change.add_media(kind, direction, None, None, None);
                if direction.is_sending() {
                    if *video {
                        expected.video += 1;
                    } else {
                        expected.audio += 1;
                    }
                }
            }
            let (offer, _) = change.apply().expect("a change to offer");
            prop_assert_eq!(sending_tracks(&offer.to_sdp_string()), expected);
        }
    }
}

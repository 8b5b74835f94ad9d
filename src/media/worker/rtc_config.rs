//! How a media thread's transports are configured in str0m: one configuration for members who
//! publish, one for those who only receive.

use std::sync::Arc;

use str0m::RtcConfig;
use str0m::bwe::Bitrate;
use str0m::format::{Codec, FormatParams};
use str0m::media::Frequency;
use str0m::rtp::{Extension, ExtensionMap};

use crate::media::peer::RESEND_PACKETS;
use crate::meeting::network::SAMPLE_INTERVAL;

/// The payload type we offer Opus as (str0m's own choice, and the browsers').
const OPUS_PAYLOAD_TYPE: u8 = 111;
/// What a new subscriber is assumed to take before its estimate says: a stage and a few tiles.
const INITIAL_ESTIMATE_KBPS: u64 = 2_500;

/// The configurations of a publishing member's transport and of one that only receives (the same
/// with bandwidth estimation on); `None` without a DTLS certificate.
pub(super) fn configs(bandwidth_estimation: bool) -> Option<(RtcConfig, RtcConfig)> {
    let provider = str0m::crypto::from_feature_flags();
    let cert = provider.dtls_provider.generate_certificate()?;
    // Opus and VP8 only: every browser has them, and each m-line of a room's session description
    // stays short (a description lists every codec once per track).
    let mut config = RtcConfig::new().clear_codecs();
    // Opus with DTX (`usedtx=1` in our answer): a publisher's browser sends next to nothing while
    // its microphone hears silence, which is most of the time for most people in a group room; the
    // server forwards, and every subscriber decrypts and decodes, that much less.
    config.codec_config().add_config(
        OPUS_PAYLOAD_TYPE.into(),
        None,
        Codec::Opus,
        Frequency::FORTY_EIGHT_KHZ,
        Some(2),
        FormatParams {
            min_p_time: Some(10),
            use_inband_fec: Some(true),
            use_dtx: Some(true),
            ..FormatParams::default()
        },
    );
    let config = config
        .enable_vp8(true)
        // What a subscriber may ask to have resent (`RESEND_PACKETS`, and a second's worth at
        // most). Each slot keeps its own (str0m keeps 1,000 by default: with 25 video slots,
        // megabytes a transport).
        .set_send_buffer_video(RESEND_PACKETS)
        // Packets are forwarded as they come (sequence numbers and timestamps rewritten per slot),
        // not reassembled into frames and cut up again for each subscriber.
        .set_rtp_mode(true)
        .set_crypto_provider(Arc::new(provider))
        .set_dtls_cert(cert)
        .set_ice_lite(true)
        // Network samples for insights (`samples.rs`): a report of the transport and of each
        // stream every interval, a few microseconds a transport.
        .set_stats_interval(Some(SAMPLE_INTERVAL));
    // Each subscriber's bandwidth estimate (transport-wide congestion control) decides the layer
    // of each video it shows (`allocate.rs`). It also makes str0m pace what is sent at 1.1 times
    // the estimate, and costs about 2.5 times the CPU per forwarded packet (docs/performance.md).
    Some(if bandwidth_estimation {
        let config = config.enable_bwe(Some(Bitrate::kbps(INITIAL_ESTIMATE_KBPS)));
        (config.clone(), config)
    } else {
        (config.clone(), receiving_only(config))
    })
}

/// A transport that sends us nothing needs no transport-wide sequence numbers when nobody's
/// bandwidth is estimated: they serve only the sender's congestion control (ours for what we send
/// it, which is off; a publisher's for what it sends us, which it does not). Without them str0m
/// keeps no register of the last 1,000 packets sent (90 KiB a transport) and the browser sends no
/// feedback to parse every 50 ms. Members who publish keep them: their browser's estimate of its
/// own uplink rests on our feedback.
fn receiving_only(mut config: RtcConfig) -> RtcConfig {
    let mut exts = ExtensionMap::empty();
    for (id, ext) in config.extension_map().iter() {
        if *ext != Extension::TransportSequenceNumber {
            exts.set(id, ext.clone());
        }
    }
    config.set_extension_map(exts)
}

//! What each subscriber on a media thread receives: which publishers its slots carry (the videos
//! it shows, the loudest voices), which layer of each its bandwidth allows, and who speaks now.

use std::time::{Duration, Instant};

use rustc_hash::FxHashSet;
use str0m::media::{MediaKind, Rid};

use super::{ALLOT_EVERY, AUDIO_RESERVE, HEADROOM_PERCENT, PeerKey, Worker};
use crate::media::Notice;
use crate::media::allocate::{Want, allocate, next_raise, wanted_total};
use crate::media::peer::DEFAULT_VIEW_WIDTH;
use crate::media::published::TrackId;
use crate::media::slots::{Allotted, MAX_AUDIO, MAX_VIDEOS, Source};
use crate::meeting::{ClientId, RoomName};

/// A video a subscriber shows, as the bandwidth allocation sees it.
struct Shown {
    /// Its slot's index (`Slots::videos`).
    slot: usize,
    screen: bool,
    width: u32,
    /// The layers it may get, smallest first, with their bitrates (`Published::layers_upto`).
    layers: Vec<(Option<Rid>, u64)>,
}

impl Worker {
    /// Points every subscriber's slots in the room at what it should receive now: the videos it
    /// shows (the first `MAX_VIDEOS` publishers, in the order they came, that it has not said it
    /// hides) and the voices of the `MAX_AUDIO` loudest.
    pub(super) fn reassign(&mut self, room: &RoomName) {
        let Some(members) = self.rooms.get(room).cloned() else {
            return;
        };
        let now = Instant::now();
        let mut screens = Vec::new();
        let mut videos = Vec::new();
        let mut voices = Vec::new();
        for key in &members {
            let Some(peer) = self.peers.get(key) else {
                continue;
            };
            for track in peer.link.iter().flat_map(|l| &l.published) {
                let entry = (*key, track.id, peer.client.clone());
                match track.kind {
                    // A screen takes a slot only while it is shared, and before any camera.
                    MediaKind::Video if track.screen => {
                        if track.sending(now) {
                            screens.push(entry);
                        }
                    }
                    MediaKind::Video => videos.push(entry),
                    _ => voices.push(entry),
                }
            }
        }
        let screen_tracks: FxHashSet<TrackId> = screens.iter().map(|(_, t, _)| *t).collect();
        screens.append(&mut videos);
        let videos = screens;
        if let Some(speakers) = self.speakers.get(room) {
            // Stable: among the equally quiet (and the muted), whoever came first.
            voices.sort_by(|a, b| {
                speakers
                    .loudness(&b.2, now)
                    .total_cmp(&speakers.loudness(&a.2, now))
            });
        }
        for key in &members {
            let Some(peer) = self.peers.get_mut(key) else {
                continue;
            };
            let widths = &peer.view_widths;
            let Some(link) = &mut peer.link else {
                continue;
            };
            let others = |list: &Vec<(PeerKey, TrackId, ClientId)>, video: bool| -> Vec<Source> {
                list.iter()
                    .filter(|(publisher, _, _)| publisher != key)
                    .map(|(_, track, client)| Source {
                        track: *track,
                        publisher: client.clone(),
                        width: if video {
                            widths.get(client).copied().unwrap_or(DEFAULT_VIEW_WIDTH)
                        } else {
                            0
                        },
                        screen: screen_tracks.contains(track),
                    })
                    .filter(|source| !video || source.width > 0)
                    .collect()
            };
            let video_changed =
                link.slots
                    .assign(MediaKind::Video, &others(&videos, true), MAX_VIDEOS);
            let audio_changed =
                link.slots
                    .assign(MediaKind::Audio, &others(&voices, false), MAX_AUDIO);
            if video_changed || audio_changed {
                link.slots_told = false;
                self.to_offer.insert(*key);
            }
        }
        self.allot_due.extend(members.iter().copied());
    }

    /// Shares a subscriber's bandwidth estimate among the videos it shows: screens first, then the
    /// widest shown, each getting at most the layer its size wants (`allocate.rs`).
    pub(super) fn allot(&mut self, key: PeerKey, now: Instant) {
        let Some(estimate) = self
            .link_mut(key)
            .and_then(|link| link.estimate.budget(now))
        else {
            return;
        };
        let Some(link) = self.peers.get(&key).and_then(|p| p.link.as_ref()) else {
            return;
        };
        let mut videos: Vec<Shown> = link
            .slots
            .videos()
            .filter_map(|(slot, carried)| {
                let source = carried.source.as_ref()?;
                let (publisher, _) = self.tracks.get(&source.track)?;
                let published = self
                    .peers
                    .get(publisher)?
                    .link
                    .as_ref()?
                    .published
                    .iter()
                    .find(|t| t.id == source.track)?;
                Some(Shown {
                    slot,
                    screen: source.screen,
                    width: source.width,
                    layers: published.layers_upto(source.width),
                })
            })
            .collect();
        // Stable: among equals, the slot that came first.
        videos.sort_by_key(|v| (!v.screen, std::cmp::Reverse(v.width)));
        let wants: Vec<Want> = videos
            .iter()
            .map(|v| Want {
                bitrates: v.layers.iter().map(|(_, rate)| *rate).collect(),
            })
            .collect();
        let audio = link.slots.voices() as u64 * AUDIO_RESERVE;
        let budget = (estimate * (100 - HEADROOM_PERCENT) / 100).saturating_sub(audio);
        let given = allocate(budget, &wants);
        // Back from a budget to the estimate that gives it.
        let estimate_for = |budget: u64| ((budget + audio) * 100).div_ceil(100 - HEADROOM_PERCENT);
        let next_layer = next_raise(budget, &wants).map_or(0, estimate_for);
        let desired = estimate_for(wanted_total(&wants));
        let Some(link) = self.link_mut(key) else {
            return;
        };
        for (video, layer) in videos.iter().zip(given) {
            let allotted = match layer {
                Some(layer) => Allotted::Layer(video.layers[layer].0),
                None => Allotted::BySize,
            };
            if link.slots.allot(video.slot, allotted) {
                tracing::debug!(
                    estimate,
                    slot = video.slot,
                    ?allotted,
                    "video slot allotted"
                );
            }
        }
        link.desire(next_layer, desired);
        link.unstall_estimate(next_layer > 0, now);
    }

    /// Rooms where someone has a screen track (shared now, or lately).
    fn rooms_sharing(&self) -> Vec<RoomName> {
        let mut rooms: Vec<RoomName> = Vec::new();
        for peer in self.peers.values() {
            let sharing = peer
                .link
                .iter()
                .flat_map(|l| &l.published)
                .any(|t| t.screen);
            if sharing && !rooms.contains(&peer.room) {
                rooms.push(peer.room.clone());
            }
        }
        rooms
    }

    /// Tells rooms who speaks now, and (where more publish audio than a subscriber receives) gives
    /// the audio slots to the loudest, once a second.
    pub(super) fn speak(&mut self, now: Instant) {
        let mut changes: Vec<(RoomName, ClientId)> = Vec::new();
        let mut rerank = Vec::new();
        for (room, speakers) in &mut self.speakers {
            if let Some(who) = speakers.decide(now) {
                changes.push((room.clone(), who));
            }
            if speakers.voices() > MAX_AUDIO && speakers.due_rerank(now) {
                rerank.push(room.clone());
            }
        }
        // A screen that stopped sends nothing to say so: look again once a second.
        if self
            .screens_checked
            .is_none_or(|at| now.duration_since(at) >= Duration::from_secs(1))
        {
            self.screens_checked = Some(now);
            for room in self.rooms_sharing() {
                if !rerank.contains(&room) {
                    rerank.push(room);
                }
            }
        }
        for room in rerank {
            self.reassign_due.insert(room);
        }
        if self
            .allotted_at
            .is_none_or(|at| now.duration_since(at) >= ALLOT_EVERY)
        {
            self.allotted_at = Some(now);
            self.allot_due.extend(self.peers.keys().copied());
        }
        for (room, who) in changes {
            for key in self.rooms.get(&room).into_iter().flatten() {
                if let Some(link) = self.peers.get(key).and_then(|p| p.link.as_ref()) {
                    let _ = link.notify(Notice::DominantSpeaker(who.clone()));
                }
            }
        }
    }
}

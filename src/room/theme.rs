//! A room's theme as clients see it, built from what the store keeps: image parts become URLs of the
//! public image route (with the version, so a new image is fetched at once), presets stay JSON.

use crate::meeting::RoomName;
use crate::signal::protocol::RoomTheme;
use crate::store::{DynStore, StoreError, ThemeKind};

/// Where the image of one theme part is served (`GET /themes/{room}/{kind}`, no key needed).
pub fn image_url(public_url: &str, room: &RoomName, kind: ThemeKind, version: i64) -> String {
    format!(
        "{public_url}/themes/{}/{}?v={version}",
        room.path_segment(),
        kind.as_str()
    )
}

pub async fn load(
    store: &DynStore,
    public_url: &str,
    room: &RoomName,
) -> Result<RoomTheme, StoreError> {
    let mut theme = RoomTheme::default();
    for part in store.theme(room).await? {
        let url = part
            .has_image
            .then(|| image_url(public_url, room, part.kind, part.version));
        match part.kind {
            ThemeKind::Logo => theme.logo_url = url,
            ThemeKind::RoomBackground => {
                theme.room_background_url = url;
                theme.room_background_preset = part.preset;
            }
            ThemeKind::KnockPageBackground => {
                theme.knock_page_background_url = url;
                theme.knock_page_background_preset = part.preset;
            }
            ThemeKind::Tokens => {
                theme.colors = part.preset.and_then(|p| p.get("colors").cloned());
            }
        }
    }
    Ok(theme)
}

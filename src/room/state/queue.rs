//! The knock queue: who waits at the door, oldest first, with a host's hold message when there is
//! one. A knock's connection may drop; the knock keeps its place until its resume grace ends.

use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::connections::Conn;
use super::{Kept, RoomConfig};
use crate::room::event::{KnockView, OwnKnock};
use crate::room::model::{ClientId, ConnId, Identity, KnockState, KnockerKey};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Hold {
    pub message: Option<String>,
    /// None when the REST API held the knock.
    pub host_display_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Knock {
    pub client_id: ClientId,
    /// None while the knocker's connection is gone and its grace runs (and in a snapshot: a
    /// connection is this process's).
    #[serde(skip)]
    pub conn: Option<ConnId>,
    pub away_since: Option<DateTime<Utc>>,
    /// Its page said it was closing (`Input::PageClosing`): once away, it keeps its place only for
    /// the resume grace.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub page_closed: bool,
    pub identity: Identity,
    pub peer: IpAddr,
    /// Whom a rejection holds back.
    pub key: KnockerKey,
    pub resume_token: String,
    pub knocked_at: DateTime<Utc>,
    pub hold: Option<Hold>,
    /// The position the knocker was last told, so it hears only of changes.
    #[serde(skip)]
    pub told_position: Option<usize>,
    /// A host's message that reached the knock while its connection was gone, for its return.
    pub unread: Option<Kept>,
}

impl Knock {
    /// A new knock by the client on connection `conn` (identity, address, device as it is now).
    pub fn new(conn: ConnId, knocker: &Conn, now: DateTime<Utc>, hold: Option<Hold>) -> Self {
        Knock {
            client_id: knocker.client_id.clone(),
            conn: Some(conn),
            away_since: None,
            page_closed: false,
            identity: knocker.identity.clone(),
            peer: knocker.peer,
            key: knocker.knocker_key(),
            resume_token: knocker.resume_token.clone(),
            knocked_at: now,
            hold,
            told_position: None,
            unread: None,
        }
    }

    pub fn state(&self) -> KnockState {
        if self.hold.is_some() {
            KnockState::Held
        } else {
            KnockState::Waiting
        }
    }

    /// As hosts see it, standing at `position` (1 is next).
    pub fn view(&self, position: usize) -> KnockView {
        KnockView {
            client_id: self.client_id.clone(),
            display_name: self.identity.display_name.clone(),
            external_id: self.identity.external_id.clone(),
            metadata: self.identity.metadata.clone(),
            avatar_url: self.identity.avatar_url.clone(),
            knocked_at: self.knocked_at,
            state: self.state(),
            hold_message: self.hold.as_ref().and_then(|h| h.message.clone()),
            position,
            away: self.away_since.is_some(),
        }
    }

    /// How long it keeps its place once its connection is gone.
    pub fn away_grace(&self, config: &RoomConfig) -> Duration {
        if self.page_closed {
            config.resume_grace
        } else {
            config.knock_away_grace
        }
    }

    /// As the knocker sees it when it comes back.
    pub fn own(&self) -> OwnKnock {
        OwnKnock {
            state: self.state(),
            message: self.hold.as_ref().and_then(|h| h.message.clone()),
            host_display_name: self.hold.as_ref().and_then(|h| h.host_display_name.clone()),
        }
    }
}

#[derive(Debug, Default)]
pub(super) struct KnockQueue {
    /// Oldest first.
    knocks: Vec<Knock>,
}

impl KnockQueue {
    pub fn len(&self) -> usize {
        self.knocks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.knocks.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Knock> {
        self.knocks.iter()
    }

    /// Queues a knock at the back.
    pub fn push(&mut self, knock: Knock) {
        self.knocks.push(knock);
    }

    /// Queues a knock first in line (a guest a host sent back).
    pub fn push_front(&mut self, knock: Knock) {
        self.knocks.insert(0, knock);
    }

    pub fn get(&self, client: &ClientId) -> Option<&Knock> {
        self.knocks.iter().find(|k| &k.client_id == client)
    }

    /// Knocks waiting from this address.
    pub fn waiting_from(&self, peer: IpAddr) -> usize {
        self.knocks.iter().filter(|k| k.peer == peer).count()
    }

    /// The present knockers whose place changed since they were last told: their connection and
    /// new position (each is then counted as told).
    pub fn moved(&mut self) -> Vec<(ConnId, usize)> {
        let mut moved = Vec::new();
        for (index, knock) in self.knocks.iter_mut().enumerate() {
            let position = index + 1;
            if let Some(conn) = knock.conn
                && knock.told_position != Some(position)
            {
                knock.told_position = Some(position);
                moved.push((conn, position));
            }
        }
        moved
    }

    pub fn contains(&self, client: &ClientId) -> bool {
        self.knocks.iter().any(|k| &k.client_id == client)
    }

    pub fn get_mut(&mut self, client: &ClientId) -> Option<&mut Knock> {
        self.knocks.iter_mut().find(|k| &k.client_id == client)
    }

    /// Takes a knock out of the queue, wherever it stands.
    pub fn remove(&mut self, client: &ClientId) -> Option<Knock> {
        let index = self.knocks.iter().position(|k| &k.client_id == client)?;
        Some(self.knocks.remove(index))
    }

    /// Empties the queue, oldest first.
    pub fn drain(&mut self) -> Vec<Knock> {
        std::mem::take(&mut self.knocks)
    }

    /// The knock whose connection dropped and whose resume token this is.
    pub fn away_with_token(&mut self, token: &str) -> Option<&mut Knock> {
        self.knocks
            .iter_mut()
            .find(|k| k.conn.is_none() && k.resume_token == token)
    }

    /// The connection still attached to the knock whose resume token this is.
    pub fn attached_with_token(&self, token: &str) -> Option<ConnId> {
        self.knocks
            .iter()
            .find(|k| k.resume_token == token)
            .and_then(|k| k.conn)
    }

    pub fn client_ids(&self) -> Vec<ClientId> {
        self.knocks.iter().map(|k| k.client_id.clone()).collect()
    }

    pub fn views(&self) -> Vec<KnockView> {
        self.knocks
            .iter()
            .enumerate()
            .map(|(i, k)| k.view(i + 1))
            .collect()
    }
}

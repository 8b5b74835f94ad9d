//! The knock queue: who waits at the door, oldest first, with a host's hold message when there is
//! one. A knock's connection may drop; the knock keeps its place until its resume grace ends.

use std::net::IpAddr;

use chrono::{DateTime, Utc};

use crate::room::event::{KnockView, OwnKnock};
use crate::room::model::{ClientId, ConnId, Identity, KnockState};

#[derive(Debug, Clone)]
pub(super) struct Hold {
    pub message: Option<String>,
    pub host_display_name: String,
}

#[derive(Debug, Clone)]
pub(super) struct Knock {
    pub client_id: ClientId,
    /// None while the knocker's connection is gone and its grace runs.
    pub conn: Option<ConnId>,
    pub away_since: Option<DateTime<Utc>>,
    pub identity: Identity,
    pub peer: IpAddr,
    pub resume_token: String,
    pub knocked_at: DateTime<Utc>,
    pub hold: Option<Hold>,
}

impl Knock {
    pub fn state(&self) -> KnockState {
        if self.hold.is_some() {
            KnockState::Held
        } else {
            KnockState::Waiting
        }
    }

    /// As hosts see it.
    pub fn view(&self) -> KnockView {
        KnockView {
            client_id: self.client_id.clone(),
            display_name: self.identity.display_name.clone(),
            external_id: self.identity.external_id.clone(),
            metadata: self.identity.metadata.clone(),
            knocked_at: self.knocked_at,
            state: self.state(),
            hold_message: self.hold.as_ref().and_then(|h| h.message.clone()),
        }
    }

    /// As the knocker sees it when it comes back.
    pub fn own(&self) -> OwnKnock {
        OwnKnock {
            state: self.state(),
            message: self.hold.as_ref().and_then(|h| h.message.clone()),
            host_display_name: self.hold.as_ref().map(|h| h.host_display_name.clone()),
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

    pub fn push(&mut self, knock: Knock) {
        self.knocks.push(knock);
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

    pub fn client_ids(&self) -> Vec<ClientId> {
        self.knocks.iter().map(|k| k.client_id.clone()).collect()
    }

    pub fn views(&self) -> Vec<KnockView> {
        self.knocks.iter().map(Knock::view).collect()
    }
}

//! The connections a room knows, and where each stands: outside (at the door), knocking, or a member
//! with a role. Every "who hears this" question is answered here.

use std::collections::BTreeMap;
use std::net::IpAddr;

use chrono::{DateTime, Utc};

use crate::meeting::facts::ClientCounts;
use crate::room::event::ClientView;
use crate::room::model::{ClientId, ConnId, Identity, KnockerKey, MediaState, Role};

/// Where a connection stands with respect to the room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Place {
    /// Saw the door (or was admitted and has yet to enter); may knock.
    Outside,
    Knocking,
    Member(Role),
}

#[derive(Debug, Clone)]
pub(super) struct Conn {
    pub client_id: ClientId,
    pub peer: IpAddr,
    /// The device the client says it is, if it says.
    pub device: Option<String>,
    pub identity: Identity,
    pub media: MediaState,
    pub resume_token: String,
    pub place: Place,
    /// When this connection last sent a reaction (reactions.rs spaces them out).
    pub last_reaction: Option<DateTime<Utc>>,
}

impl Conn {
    /// This member as hosts see it.
    pub fn view(&self, role: Role) -> ClientView {
        ClientView::new(
            self.client_id.clone(),
            &self.identity,
            role,
            self.media,
            false,
        )
    }

    /// Whom a rejection of this connection's knock holds back.
    pub fn knocker_key(&self) -> KnockerKey {
        match &self.device {
            Some(device) => KnockerKey::Device(device.clone()),
            None => KnockerKey::Address(self.peer),
        }
    }
}

#[derive(Debug, Default)]
pub(super) struct Connections {
    by_conn: BTreeMap<ConnId, Conn>,
}

impl Connections {
    pub fn get(&self, conn: ConnId) -> Option<&Conn> {
        self.by_conn.get(&conn)
    }

    pub fn get_mut(&mut self, conn: ConnId) -> Option<&mut Conn> {
        self.by_conn.get_mut(&conn)
    }

    pub fn contains(&self, conn: ConnId) -> bool {
        self.by_conn.contains_key(&conn)
    }

    pub fn place(&self, conn: ConnId) -> Option<Place> {
        self.by_conn.get(&conn).map(|c| c.place)
    }

    pub fn insert(&mut self, conn: ConnId, value: Conn) {
        self.by_conn.insert(conn, value);
    }

    pub fn remove(&mut self, conn: ConnId) -> Option<Conn> {
        self.by_conn.remove(&conn)
    }

    pub fn is_empty(&self) -> bool {
        self.by_conn.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (ConnId, &Conn)> {
        self.by_conn.iter().map(|(id, c)| (*id, c))
    }

    /// Every connection, members and outsiders.
    pub fn all(&self) -> Vec<ConnId> {
        self.by_conn.keys().copied().collect()
    }

    /// Empties the room of connections; returns them.
    pub fn drain(&mut self) -> BTreeMap<ConnId, Conn> {
        std::mem::take(&mut self.by_conn)
    }

    /// The connection (other than `except`) that is this client, wherever it stands.
    pub fn of_client(&self, client: &ClientId, except: ConnId) -> Option<(ConnId, Place)> {
        self.iter()
            .find(|(id, c)| *id != except && &c.client_id == client)
            .map(|(id, c)| (id, c.place))
    }

    /// The member connection that holds `token`, other than `except`.
    pub fn member_with_token(&self, token: &str, except: ConnId) -> Option<ConnId> {
        self.members()
            .find(|(conn, c, _)| *conn != except && c.resume_token == token)
            .map(|(conn, _, _)| conn)
    }

    pub fn members(&self) -> impl Iterator<Item = (ConnId, &Conn, Role)> {
        self.by_conn.iter().filter_map(|(id, c)| match c.place {
            Place::Member(role) => Some((*id, c, role)),
            _ => None,
        })
    }

    pub fn member_conns(&self) -> Vec<ConnId> {
        self.members().map(|(c, _, _)| c).collect()
    }

    /// The members' connections: hosts', then everyone else's.
    pub fn member_conns_hosts_apart(&self) -> (Vec<ConnId>, Vec<ConnId>) {
        let (mut hosts, mut others) = (Vec::new(), Vec::new());
        for (conn, _, role) in self.members() {
            if role == Role::Host {
                hosts.push(conn);
            } else {
                others.push(conn);
            }
        }
        (hosts, others)
    }

    /// Connections that are not members: knockers and those at the door.
    pub fn outsiders(&self) -> Vec<ConnId> {
        self.iter()
            .filter(|(_, c)| !matches!(c.place, Place::Member(_)))
            .map(|(id, _)| id)
            .collect()
    }

    /// Whether a host of the room goes by this name (compared as people would read it).
    pub fn is_host_name(&self, name: &str) -> bool {
        let wanted = comparable(name);
        self.members().any(|(_, c, role)| {
            role == Role::Host && comparable(&c.identity.display_name) == wanted
        })
    }

    pub fn hosts(&self) -> Vec<ConnId> {
        self.members()
            .filter(|(_, _, role)| *role == Role::Host)
            .map(|(c, _, _)| c)
            .collect()
    }

    pub fn member(&self, conn: ConnId) -> Option<&Conn> {
        self.get(conn)
            .filter(|c| matches!(c.place, Place::Member(_)))
    }

    /// The connection of the member with this client id.
    pub fn member_conn(&self, client: &ClientId) -> Option<ConnId> {
        self.members()
            .find(|(_, c, _)| &c.client_id == client)
            .map(|(conn, _, _)| conn)
    }

    pub fn role_of(&self, conn: ConnId) -> Option<Role> {
        match self.get(conn)?.place {
            Place::Member(role) => Some(role),
            _ => None,
        }
    }

    pub fn member_count(&self) -> usize {
        self.members().count()
    }

    pub fn participant_count(&self) -> usize {
        self.members()
            .filter(|(_, _, role)| *role != Role::Viewer)
            .count()
    }

    /// A member as hosts see it (`ClientView::for_guests` for anyone else).
    pub fn client_view(&self, conn: ConnId) -> Option<ClientView> {
        Some(self.get(conn)?.view(self.role_of(conn)?))
    }

    pub fn views(&self) -> Vec<ClientView> {
        self.members().map(|(_, c, role)| c.view(role)).collect()
    }

    pub fn counts(&self) -> ClientCounts {
        let mut counts = ClientCounts::default();
        for (_, _, role) in self.members() {
            counts.total += 1;
            *counts.by_role.entry(role).or_default() += 1;
        }
        counts
    }
}

/// A name as people read it: case and runs of spaces do not tell two names apart.
fn comparable(name: &str) -> String {
    name.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

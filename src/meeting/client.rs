//! Who takes part in a room: a client's public id and its role. Every layer names them (the room
//! engine decides them, the store records them, webhooks and the wire show them).

use std::sync::Arc;

/// A public client id: random, stable across a knocker's resume and an admitted knocker's entry.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct ClientId(Arc<str>);

impl ClientId {
    pub fn new(id: impl Into<Arc<str>>) -> Self {
        ClientId(id.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ClientId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a member of a room may do; its name is what webhooks, insights and the wire show.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::EnumIter,
    serde::Serialize,
    serde::Deserialize,
)]
#[strum(serialize_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Host,
    Viewer,
    Visitor,
    /// A knocker a host let in.
    GrantedVisitor,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_round_trip() {
        use strum::IntoEnumIterator;
        let names: Vec<&str> = Role::iter().map(Role::as_str).collect();
        assert_eq!(names, ["host", "viewer", "visitor", "granted_visitor"]);
        for role in Role::iter() {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
    }
}

//! Whose pictures a room shows (`avatarUrl`): the origins the operator allows
//! (`--avatar-origins`), as Whereby's dashboard lists the domains its pictures may come from. Every
//! browser in a room loads a person's picture, so the picture's server learns who is there and
//! when: none is shown unless its origin is listed, and the room page's image policy (web.rs)
//! names the same origins. The same type lists where the camera's background pictures may come
//! from (`--background-origins`, Whereby's `virtualBackgroundUrl`), which only the person's own
//! browser loads.

use std::sync::Arc;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "picture origin {0:?} is not an https:// origin (such as https://cdn.example.com), \
     nor http:// on localhost or 127.0.0.1, with no path, query or user name"
)]
pub struct AvatarOriginError(String);

/// The origins pictures may come from, as browsers write them (`https://cdn.example.com:8443`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AvatarOrigins(Arc<[String]>);

impl AvatarOrigins {
    /// From the setting's entries; blank ones (a trailing comma) are passed over.
    pub fn parse(entries: &[String]) -> Result<Self, AvatarOriginError> {
        let origins = entries
            .iter()
            .map(|raw| raw.trim())
            .filter(|raw| !raw.is_empty())
            .map(origin_of)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(AvatarOrigins(origins.into()))
    }

    /// Whether a picture at `address` (already an absolute URL, `text::avatar_url`) may be shown.
    pub fn allows(&self, address: &str) -> bool {
        url::Url::parse(address)
            .map(|url| url.origin().ascii_serialization())
            .is_ok_and(|origin| self.0.contains(&origin))
    }

    /// The origins as an image policy lists them, each after a space (empty when none).
    pub fn as_sources(&self) -> String {
        self.0.iter().map(|origin| format!(" {origin}")).collect()
    }
}

/// Whether a picture's address is one a room page may be sent to: https://, or http:// on this
/// machine (a secure context, as browsers count it).
pub fn fetchable(url: &url::Url) -> bool {
    let local = matches!(url.host_str(), Some("localhost" | "127.0.0.1"));
    url.scheme() == "https" || (url.scheme() == "http" && local)
}

fn origin_of(raw: &str) -> Result<String, AvatarOriginError> {
    let refused = || AvatarOriginError(raw.to_owned());
    let url = url::Url::parse(raw).map_err(|_| refused())?;
    // Exact origins only: a `*` in a host would be a wildcard to the image policy, not to us.
    let bare = !url.host_str().is_some_and(|host| host.contains('*'))
        && url.path() == "/"
        && url.query().is_none()
        && url.fragment().is_none()
        && url.username().is_empty()
        && url.password().is_none();
    if !fetchable(&url) || !bare {
        return Err(refused());
    }
    Ok(url.origin().ascii_serialization())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origins(entries: &[&str]) -> Result<AvatarOrigins, AvatarOriginError> {
        AvatarOrigins::parse(&entries.iter().map(|e| (*e).to_owned()).collect::<Vec<_>>())
    }

    #[test]
    fn pictures_come_only_from_listed_origins() {
        let listed = origins(&["https://CDN.example.com/", " http://127.0.0.1:9000", ""]).unwrap();
        assert_eq!(
            listed.as_sources(),
            " https://cdn.example.com http://127.0.0.1:9000"
        );
        assert!(listed.allows("https://cdn.example.com/people/pat.png?size=64"));
        assert!(listed.allows("http://127.0.0.1:9000/pat.png"));
        assert!(
            !listed.allows("https://cdn.example.com:8443/pat.png"),
            "another port"
        );
        assert!(!listed.allows("https://cdn.example.com.evil.net/pat.png"));
        assert!(
            !listed.allows("http://cdn.example.com/pat.png"),
            "another scheme"
        );
        assert!(!AvatarOrigins::default().allows("https://cdn.example.com/pat.png"));
        assert_eq!(AvatarOrigins::default().as_sources(), "");
    }

    #[test]
    fn an_origin_is_an_origin() {
        for bad in [
            "cdn.example.com",
            "http://cdn.example.com",
            "https://cdn.example.com/people/",
            "https://cdn.example.com/?a=1",
            "https://me@cdn.example.com",
            "*",
            "https://*.example.com",
        ] {
            let error = origins(&[bad]).unwrap_err();
            assert!(error.to_string().contains(bad), "{bad}: {error}");
        }
    }
}

//! The serve settings as clap parses them: values that could never work refused, and warnings of
//! those that leave other machines out.

use clap::Parser;

use super::ServeConfig;

#[derive(Parser)]
struct Serve {
    #[command(flatten)]
    config: ServeConfig,
}

/// The warnings a server started with these flags logs, bound where it says.
fn warnings(flags: &[&str], bound: &str) -> Vec<String> {
    let config = Serve::try_parse_from(std::iter::once("serve").chain(flags.iter().copied()))
        .expect("the flags parse")
        .config;
    let bound = bound.parse().expect("an address");
    let public_url = config.public_base_url(bound);
    config.deployment_warnings(&public_url, bound)
}

#[test]
fn settings_that_leave_other_machines_out_are_warned_of() {
    assert_eq!(
        warnings(&[], "127.0.0.1:8080"),
        Vec::<String>::new(),
        "the demo on this machine"
    );
    let open = warnings(&["--listen", "0.0.0.0:8080"], "0.0.0.0:8080");
    assert_eq!(open.len(), 2, "{open:?}");
    assert!(
        open[0].starts_with("no --public-url: room URLs name http://0.0.0.0:8080"),
        "{open:?}"
    );
    assert!(
        open[1].starts_with("--media-public-ip is 127.0.0.1"),
        "{open:?}"
    );
    let proxied = ["--public-url", "https://meet.example.com"];
    assert_eq!(
        warnings(&proxied, "127.0.0.1:8080").len(),
        1,
        "media still on loopback"
    );
    let deployed = [&proxied[..], &["--media-public-ip", "203.0.113.7"]].concat();
    assert_eq!(warnings(&deployed, "127.0.0.1:8080"), Vec::<String>::new());
    let local = ["--public-url", "http://localhost:8080"];
    assert_eq!(warnings(&local, "127.0.0.1:8080"), Vec::<String>::new());
}

#[test]
fn allowed_origins_are_origins() {
    let origins = |raw: &str| {
        Serve::try_parse_from(["serve", "--allowed-origins", raw]).map(|s| s.config.allowed_origins)
    };
    assert_eq!(
        origins("https://Clinic.example/, http://localhost:3000").unwrap(),
        ["https://clinic.example", "http://localhost:3000"]
    );
    for bad in [
        "clinic.example",
        "https://clinic.example/app",
        "ftp://clinic.example",
    ] {
        assert!(origins(bad).is_err(), "{bad} taken");
    }
}

#[test]
fn the_media_address_is_one_a_browser_can_send_to() {
    for bad in ["0.0.0.0", "::", "224.0.0.1", "255.255.255.255", "ff02::1"] {
        let refused = Serve::try_parse_from(["serve", "--media-public-ip", bad])
            .err()
            .unwrap_or_else(|| panic!("{bad} taken"));
        assert!(
            refused
                .to_string()
                .contains("no address a browser can send media to"),
            "{refused}"
        );
    }
    assert!(Serve::try_parse_from(["serve", "--media-public-ip", "203.0.113.7"]).is_ok());
    assert!(Serve::try_parse_from(["serve", "--media-public-ip", "2001:db8::7"]).is_ok());
}

#[test]
fn a_public_url_may_have_a_path_but_nothing_that_room_urls_cannot_be_built_on() {
    let parsed = |url: &str| {
        Serve::try_parse_from(["serve", "--public-url", url]).map(|serve| serve.config.public_url)
    };
    for (given, kept) in [
        ("https://Meet.Example.com/", "https://meet.example.com"),
        (
            "https://example.com/apps/meet/",
            "https://example.com/apps/meet",
        ),
        (
            "http://127.0.0.1:8080/m_1.v~2",
            "http://127.0.0.1:8080/m_1.v~2",
        ),
    ] {
        assert_eq!(parsed(given).expect(given), Some(kept.to_owned()));
        assert_eq!(
            super::base_path(kept),
            kept.split_once(".com").map_or("/m_1.v~2", |(_, path)| path)
        );
    }
    for refused in [
        "meet.example.com",
        "ftp://example.com",
        "https://example.com/?tenant=1",
        "https://example.com/#x",
        "https://me@example.com",
        "https://example.com/a%20b",
        "https://example.com/a//b",
    ] {
        assert!(parsed(refused).is_err(), "{refused} is refused");
    }
    let node = Serve::try_parse_from(["serve", "--node-url", "http://10.0.0.5:8080/meet"]);
    assert!(
        node.is_err(),
        "a node's URL is an origin: the public URL's path is added to it"
    );
}

#[test]
fn a_url_in_a_message_shows_no_password() {
    for (url, shown) in [
        (
            "postgres://anteroom:s3cret@db:5432/anteroom",
            "postgres://anteroom:***@db:5432/anteroom",
        ),
        ("redis://:s3cret@cache:6379/0", "redis://:***@cache:6379/0"),
        ("rediss://user:s3cret@cache", "rediss://user:***@cache"),
        (
            "postgres://anteroom@db/anteroom",
            "postgres://anteroom@db/anteroom",
        ),
        (
            "sqlite:///var/lib/anteroom/anteroom.sqlite3",
            "sqlite:///var/lib/anteroom/anteroom.sqlite3",
        ),
    ] {
        assert_eq!(super::without_password(url), shown);
    }
}

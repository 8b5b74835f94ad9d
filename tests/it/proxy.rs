//! Behind Debian's nginx, configured with the `location` block docs/deployment.md gives: each
//! person's own address reaches the per-address limits; a forwarded address is believed only from
//! the trusted proxy, and only its rightmost untrusted hop. An IPv6 client counts as its /64.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use serde_json::json;
use tokio::process::{Child, Command};

use crate::helpers::Server;
use crate::signal_join::locked_room;
use crate::ws::Ws;

/// The one ```nginx block of docs/deployment.md.
fn documented_location() -> String {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/deployment.md"))
        .unwrap();
    let start = doc
        .find("```nginx\n")
        .expect("docs/deployment.md has an nginx block")
        + 9;
    let end = start + doc[start..].find("```").unwrap();
    doc[start..end].to_owned()
}

struct Nginx {
    _child: Child,
    addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Nginx {
    async fn start(upstream: SocketAddr) -> Nginx {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let location = documented_location().replace("127.0.0.1:8080", &upstream.to_string());
        let path = |name: &str| dir.path().join(name).display().to_string();
        let config = format!(
            "master_process off;\nworker_processes 1;\nerror_log stderr;\npid {pid};\nevents {{}}\nhttp {{\n\
             access_log off;\nclient_body_temp_path {body};\nproxy_temp_path {proxy};\n\
             fastcgi_temp_path {fcgi};\nuwsgi_temp_path {uwsgi};\nscgi_temp_path {scgi};\n\
             map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}\n\
             server {{\nlisten 127.0.0.1:{port};\n{location}\n}}\n}}\n",
            pid = path("nginx.pid"),
            body = path("body"),
            proxy = path("proxy"),
            fcgi = path("fcgi"),
            uwsgi = path("uwsgi"),
            scgi = path("scgi"),
        );
        let config_path: PathBuf = dir.path().join("nginx.conf");
        std::fs::write(&config_path, config).unwrap();
        let child = Command::new("nginx")
            .args(["-g", "daemon off;", "-p"])
            .arg(dir.path())
            .arg("-c")
            .arg(&config_path)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("nginx runs (the test command installs Debian's nginx)");
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                return Nginx {
                    _child: child,
                    addr,
                    _dir: dir,
                };
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("nginx did not start listening");
    }
}

fn loopback(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, last))
}

/// A knock from `source` through `target`; whether it was queued.
async fn knocks(
    target: SocketAddr,
    source: IpAddr,
    headers: &[(&str, &str)],
    room: &str,
) -> (Ws, bool) {
    let mut ws = Ws::connect_to(target, source, headers).await.unwrap();
    ws.join(room, None, "Pat").await;
    ws.send("knock_room", json!({})).await;
    let answer = ws.recv().await;
    let queued = answer["type"] == "knock_sent";
    if !queued {
        assert_eq!(answer["payload"]["code"], "rate_limited", "{answer}");
    }
    (ws, queued)
}

#[tokio::test]
async fn behind_nginx_each_person_is_their_own_address() {
    let server = Server::start_with(&[
        "--trusted-proxies",
        "127.0.0.1",
        "--max-knocks-per-address",
        "1",
    ])
    .await;
    let nginx = Nginx::start(server.addr).await;
    let room = locked_room(&server).await;
    let via = nginx.addr;
    let mut held = Vec::new();
    // Two people behind the proxy: each has a place of their own.
    let (ws, first) = knocks(via, loopback(2), &[], &room.name).await;
    held.push(ws);
    let (ws, other) = knocks(via, loopback(3), &[], &room.name).await;
    held.push(ws);
    assert!(first && other, "the proxy's address is not everyone's");
    // The same person again: their own address's limit, not the proxy's.
    let (ws, again) = knocks(via, loopback(2), &[], &room.name).await;
    held.push(ws);
    assert!(!again);
    // Claiming another address in a header of one's own does not get past the proxy's hop.
    let spoofed = [("x-forwarded-for", "127.0.0.9")];
    let (ws, spoof) = knocks(via, loopback(2), &spoofed, &room.name).await;
    held.push(ws);
    assert!(
        !spoof,
        "the rightmost untrusted hop counts, not the client's claim"
    );
    // Straight to the server, the header is not believed at all.
    let direct = [("x-forwarded-for", "127.0.0.3")];
    let (ws, straight) = knocks(server.addr, loopback(4), &direct, &room.name).await;
    held.push(ws);
    assert!(straight, "127.0.0.4 is itself, whatever its header says");
    // The log says why, once for that peer (perhaps a proxy left out of --trusted-proxies), and
    // never of the proxy that is trusted.
    let (ws, _) = knocks(server.addr, loopback(4), &direct, &room.name).await;
    held.push(ws);
    let warning = "127.0.0.4 says whom it forwards for";
    server.wait_for_log(warning).await;
    let logs = server.logs();
    assert_eq!(logs.matches(warning).count(), 1, "{logs}");
    assert!(!logs.contains("127.0.0.1 says whom"), "{logs}");
}

/// What the server answers a knock at `room` from `client`, as a trusted proxy forwards it.
async fn knock_from(server: &Server, client: &str, room: &str) -> (Ws, serde_json::Value) {
    let forwarded = [("x-forwarded-for", client)];
    let mut ws = Ws::connect_to(server.addr, loopback(1), &forwarded)
        .await
        .unwrap();
    ws.join(room, None, "Pat").await;
    ws.send("knock_room", json!({})).await;
    let answer = ws.recv().await;
    (ws, answer)
}

/// An IPv6 subscriber may use any address of its /64: the per-address limits count the /64 as
/// one address (its knocks waiting at a room, its knocks a minute, its bandwidth probes), and
/// another /64 as another.
#[tokio::test]
async fn an_ipv6_network_knocks_as_one_address() {
    let server = Server::start_with(&[
        "--trusted-proxies",
        "127.0.0.1",
        "--max-knocks-per-address",
        "1",
        "--knocks-per-ip-per-minute",
        "3",
    ])
    .await;
    let rooms = [
        locked_room(&server).await,
        locked_room(&server).await,
        locked_room(&server).await,
    ];
    let mut held = Vec::new();
    let mut knock = async |client: &str, room: usize| {
        let (ws, answer) = knock_from(&server, client, &rooms[room].name).await;
        held.push(ws);
        match answer["type"].as_str() {
            Some("knock_sent") => "queued".to_owned(),
            _ => answer["payload"]["message"]
                .as_str()
                .unwrap_or("")
                .to_owned(),
        }
    };
    assert_eq!(knock("2001:db8:1:2::a", 0).await, "queued");
    assert_eq!(
        knock("2001:db8:1:2::b", 0).await,
        "too many people are waiting from your address; try again later",
        "another address of the same /64 waits at the room already"
    );
    assert_eq!(knock("2001:db8:1:3::a", 0).await, "queued", "another /64");
    assert_eq!(knock("2001:db8:1:2::c", 1).await, "queued");
    assert_eq!(
        knock("2001:db8:1:2::d", 2).await,
        "too many knocks from this address; wait a minute",
        "the /64's fourth knock within a minute"
    );
    // The bandwidth probe's 30 a minute hold for the /64 too.
    let probe = async |client: &str| {
        let response = server
            .http
            .get(server.url("/bandwidth-probe?bytes=16"))
            .header("x-forwarded-for", client)
            .send()
            .await
            .unwrap();
        response.status().as_u16()
    };
    for i in 1..=30 {
        assert_eq!(
            probe(&format!("2001:db8:9:9::{i:x}")).await,
            200,
            "probe {i}"
        );
    }
    assert_eq!(probe("2001:db8:9:9::ff").await, 429, "the /64's 31st probe");
    assert_eq!(probe("2001:db8:9:a::1").await, 200, "another /64");
}

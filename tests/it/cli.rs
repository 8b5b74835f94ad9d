//! The command line: `serve` flags and environment, `api-key`, the first-start key, health, SIGTERM.

use std::sync::Arc;

use serde_json::json;

use crate::helpers::{LATER, Server, cli, create_key, status_and_json};

#[tokio::test]
async fn api_key_commands() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_str().unwrap();
    let (ok, stdout, _) =
        cli(&["api-key", "create", "--data-dir", path, "--name", "backend"]).await;
    assert!(ok);
    let key = stdout.trim();
    assert_eq!(
        stdout.lines().count(),
        1,
        "the key alone on stdout: {stdout:?}"
    );
    assert!(key.starts_with("ar_") && key.len() > 40, "{key}");

    let (ok, listing, _) = cli(&["api-key", "list", "--data-dir", path]).await;
    assert!(ok);
    assert!(listing.contains("backend"));
    assert!(
        listing.contains(&key[..9]),
        "list shows the key's first characters"
    );
    assert!(!listing.contains(key), "list never shows the key itself");

    // Only the hash is stored: the secret part is nowhere in the SQLite file and its log, nor in
    // any column of PostgreSQL's table.
    let needle = &key.as_bytes()[3..];
    let stored: Vec<Vec<u8>> = if crate::helpers::on_postgres() {
        let rows: Vec<(String, String, String)> =
            crate::helpers::store_rows(dir.path(), "SELECT name, key_hash, prefix FROM api_keys")
                .await;
        assert_eq!(rows.len(), 1);
        rows.into_iter()
            .flat_map(|(a, b, c)| [a.into_bytes(), b.into_bytes(), c.into_bytes()])
            .collect()
    } else {
        vec![
            std::fs::read(dir.path().join("anteroom.sqlite3")).unwrap(),
            std::fs::read(dir.path().join("anteroom.sqlite3-wal")).unwrap_or_default(),
        ]
    };
    for bytes in &stored {
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle),
            "the key is stored in clear"
        );
    }

    let (ok, _, stderr) = cli(&["api-key", "revoke", "--data-dir", path, "999"]).await;
    assert!(!ok);
    assert!(stderr.contains("no API key with id 999"), "{stderr}");
    let (ok, _, _) = cli(&["api-key", "revoke", "--data-dir", path, "1"]).await;
    assert!(ok);
    let (_, listing, _) = cli(&["api-key", "list", "--data-dir", path]).await;
    let line = listing.lines().find(|l| l.contains("backend")).unwrap();
    assert!(
        !line.contains(" - "),
        "a revoked key shows its revocation time: {line}"
    );
}

#[tokio::test]
async fn first_start_creates_and_prints_one_key() {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let mut server = Server::spawn(dir.clone(), String::new(), &[], &[]).await;
    let key = wait_for_stdout_key(&server).await;
    server.key = key;
    let response = server.get("/v1/meetings").send().await.unwrap();
    assert_eq!(response.status(), 200, "the printed key works");
    assert!(server.terminate().await);

    let server = server.restart().await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        !server.stdout().contains("ar_"),
        "a key is printed only on the very first start"
    );
}

async fn wait_for_stdout_key(server: &Server) -> String {
    for _ in 0..100 {
        if let Some(line) = server.stdout().lines().find(|l| l.starts_with("ar_")) {
            return line.trim().to_owned();
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no key printed; stdout: {}", server.stdout());
}

#[tokio::test]
async fn settings_come_from_the_environment_too() {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let key = create_key(&dir).await;
    let env = [
        ("ANTEROOM_LISTEN", "127.0.0.1:0"),
        ("ANTEROOM_DATA_DIR", dir.path().to_str().unwrap()),
        ("ANTEROOM_PUBLIC_URL", "https://meet.example.test/"),
    ];
    let server = Server::spawn(dir.clone(), key, &[], &env).await;
    let meeting = server.create_meeting(json!({"endDate": LATER})).await;
    let url = meeting["roomUrl"].as_str().unwrap();
    assert!(url.starts_with("https://meet.example.test/"), "{url}");
    assert!(!url.contains(".test//"));
}

/// The threads named as tokio names its workers, in a running server.
fn worker_threads(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .expect("the server's threads are listed in /proc")
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .filter(|name| name.trim() == "tokio-rt-worker")
        .count()
}

#[tokio::test]
async fn worker_threads_are_as_many_as_asked() {
    let server = Server::start_with(&["--worker-threads", "3"]).await;
    assert_eq!(worker_threads(server.pid()), 3);
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let key = create_key(&dir).await;
    let env = [("ANTEROOM_WORKER_THREADS", "1")];
    let server = Server::spawn(dir, key, &[], &env).await;
    assert_eq!(worker_threads(server.pid()), 1);
    let (ok, _, stderr) = cli(&["serve", "--worker-threads", "0"]).await;
    assert!(!ok);
    assert!(stderr.contains("--worker-threads"), "{stderr}");
}

#[tokio::test]
async fn health_and_graceful_stop() {
    let mut server = Server::start().await;
    assert!(
        server
            .logs()
            .contains(&format!("listening on http://{}", server.addr))
    );
    let (status, body) = status_and_json(
        server
            .http
            .get(server.url("/healthz"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "ok");
    assert!(server.terminate().await, "exit code 0 on SIGTERM");
    server.wait_for_log("anteroom stopped").await;
    let mut again = server.restart().await;
    assert!(again.signal("-INT").await, "exit code 0 on SIGINT");
}

#[tokio::test]
async fn bad_settings_are_reported_not_panicked() {
    let dir = tempfile::tempdir().unwrap();
    // `serve` with one bad setting: it stops, saying which, and does not panic.
    for (setting, value, said) in [
        ("--public-url", "ftp://x", "for '--public-url"),
        (
            "--listen",
            "nonsense",
            "invalid value 'nonsense' for '--listen",
        ),
        (
            "--avatar-origins",
            "https://cdn.example.com/pictures/",
            "picture origin \"https://cdn.example.com/pictures/\"",
        ),
        (
            "--background-origins",
            "http://pictures.example.org",
            "picture origin \"http://pictures.example.org\"",
        ),
    ] {
        // A data directory of its own, not there yet: a bad setting stops the server before it
        // makes or opens anything (its store, the media server's ports).
        let data = dir.path().join(setting.trim_start_matches('-'));
        let data = data.to_str().unwrap();
        let mut args = vec!["serve", "--data-dir", data, setting, value];
        if setting != "--listen" {
            args.extend(["--listen", "127.0.0.1:0"]);
        }
        let (ok, _, stderr) = cli(&args).await;
        assert!(!ok, "{setting} {value}");
        assert!(stderr.contains(said), "{setting} {value}: {stderr}");
        if setting.ends_with("-origins") {
            assert!(stderr.contains(setting), "the setting is named: {stderr}");
        }
        assert!(
            !std::path::Path::new(data).exists(),
            "{setting} {value}: the store was opened before the setting was judged"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

/// The demo meeting's host and guest links, as the server printed them.
async fn demo_links(server: &Server) -> (String, String) {
    let mut out = String::new();
    for _ in 0..100 {
        out = server.stdout();
        if out.contains("guest:") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let link = |label: &str| -> String {
        out.lines()
            .find_map(|l| l.trim().strip_prefix(label))
            .unwrap_or_else(|| panic!("no {label} line in {out}"))
            .trim()
            .to_owned()
    };
    (link("host:"), link("guest:"))
}

/// What follows the server's address in a link.
fn path_of(link: &str) -> &str {
    let after_scheme = link.split_once("//").map_or(link, |(_, rest)| rest);
    after_scheme.split_once('/').map_or("", |(_, path)| path)
}

#[tokio::test]
async fn demo_flag_prints_host_and_guest_links() {
    let mut server = Server::start_with(&["--demo"]).await;
    let (host, guest) = demo_links(&server).await;
    assert!(
        host.starts_with(&format!("{}/demo-", server.base)) && host.contains("?roomKey="),
        "{host}"
    );
    assert_eq!(host.split('?').next().unwrap(), guest);
    let name = guest.rsplit('/').next().unwrap();
    let (_, page) = server
        .get_json(&format!("/v1/meetings?roomName[exact]={name}"))
        .await;
    assert_eq!(
        page["results"].as_array().unwrap().len(),
        1,
        "the demo meeting exists"
    );
    // The demo shows what a host can do, local recording included.
    let key = host
        .split("?roomKey=")
        .nth(1)
        .expect("the host's link has its key");
    let mut ws = crate::ws::Ws::connect(&server).await;
    let joined = ws.join(&format!("/{name}"), Some(key), "Demo host").await;
    assert_eq!(joined["role"], "host");
    assert_eq!(joined["room"]["recordingType"], "local");

    // After a restart (on another port), the same meeting and links: those open still work.
    assert!(server.terminate().await);
    let server = server.restart().await;
    let (host_again, guest_again) = demo_links(&server).await;
    // (A room key is derived from its meeting: the host's link is the very same.)
    assert_eq!(path_of(&host_again), path_of(&host));
    assert_eq!(path_of(&guest_again), path_of(&guest));
    let (_, page) = server
        .get_json("/v1/meetings?roomName[startsWith]=/demo-")
        .await;
    assert_eq!(page["results"].as_array().unwrap().len(), 1, "{page}");
}

#[tokio::test]
async fn the_bandwidth_probe_is_limited_per_address() {
    let server = Server::start().await;
    let url = server.url("/bandwidth-probe?bytes=1024");
    for _ in 0..30 {
        let response = server.http.get(&url).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.bytes().await.unwrap().len(), 1024);
    }
    let (status, body) = status_and_json(server.http.get(&url).send().await.unwrap()).await;
    assert_eq!(status, 429);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("too many bandwidth probes")
    );
}

/// A data directory that cannot be made is named, with why, once (the cause was said twice).
#[tokio::test]
async fn a_data_directory_that_cannot_be_made_is_said_once() {
    let dir = tempfile::tempdir().unwrap();
    // A file where a directory's parent should be: no directory can be made under it.
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"").unwrap();
    // The embedded store (on PostgreSQL the data directory holds no database to open).
    let output = tokio::process::Command::new(crate::helpers::bin())
        .args(["api-key", "list", "--data-dir"])
        .arg(file.join("data"))
        .env_remove("ANTEROOM_DATABASE_URL")
        .env("ANTEROOM_LOG", "warn")
        .output()
        .await
        .expect("the anteroom binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("cannot open the data directory"),
        "{stderr}"
    );
    assert_eq!(stderr.matches("Not a directory").count(), 1, "{stderr}");
}

/// A database the server cannot reach is named without the password its URL carries (the message
/// ends in a service manager's log), with why: the connection was refused, not that "the pool timed
/// out" after ten silent seconds.
#[tokio::test]
async fn an_unreachable_database_is_named_without_its_password_and_why() {
    // A port nothing listens on.
    let port = crate::receiver::free_port();
    let url = format!("postgres://anteroom:s3cret@127.0.0.1:{port}/anteroom");
    let serve = [
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--media-udp-port",
        "0",
        "--database-url",
        &url,
    ];
    let admin = ["api-key", "list", "--database-url", &url];
    let unknown = [
        "api-key",
        "list",
        "--database-url",
        "mysql://root:s3cret@db/anteroom",
    ];
    let (serve, admin, unknown) = tokio::join!(cli(&serve), cli(&admin), cli(&unknown));
    for (ok, _, stderr) in [serve, admin] {
        assert!(!ok);
        assert!(
            stderr.contains(&format!(
                "postgres://anteroom:***@127.0.0.1:{port}/anteroom"
            )),
            "{stderr}"
        );
        assert!(stderr.contains("Connection refused"), "{stderr}");
        assert!(!stderr.contains("s3cret"), "{stderr}");
    }
    let (ok, _, stderr) = unknown;
    assert!(
        !ok && stderr.contains("no store speaks \"mysql\""),
        "{stderr}"
    );
    assert!(!stderr.contains("s3cret"), "{stderr}");
}

/// An operator rolling back an upgrade: the older build refuses a database a newer one changed,
/// saying so and what to do, rather than in the migrator's words.
#[tokio::test]
async fn a_database_a_newer_build_changed_is_refused_saying_so() {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    create_key(&dir).await;
    let future = if crate::helpers::on_postgres() {
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (9999, 'from a newer build', TRUE, '\\x00', 1)"
    } else {
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (9999, 'from a newer build', TRUE, X'00', 1)"
    };
    assert_eq!(crate::helpers::store_execute(dir.path(), future).await, 1);
    let data = dir.path().to_str().unwrap();
    let (ok, _, stderr) = cli(&["serve", "--listen", "127.0.0.1:0", "--data-dir", data]).await;
    assert!(!ok);
    assert!(
        stderr.contains("last used by a newer anteroom: it has schema change 9999"),
        "{stderr}"
    );
    assert!(stderr.contains("restore the backup"), "{stderr}");
}

/// Two servers on one data directory would split rooms and deliver webhooks twice: the second
/// refuses to start and says why; the admin commands still work beside the running one.
#[tokio::test]
async fn a_second_server_on_the_same_data_directory_refuses_to_start() {
    let server = Server::start().await;
    let output = tokio::process::Command::new(crate::helpers::bin())
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--media-udp-port",
            "0",
            "--data-dir",
        ])
        .arg(server.data_dir.path())
        .envs(crate::helpers::store_env(server.data_dir.path()).await)
        .env("ANTEROOM_LOG", "warn")
        .output();
    let output = tokio::time::timeout(std::time::Duration::from_secs(20), output)
        .await
        .expect("the second server gives up at once")
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("another anteroom server is already using this store"),
        "{stderr}"
    );
    let dir = server.data_dir.path().to_str().unwrap();
    let (ok, listing, _) = cli(&["api-key", "list", "--data-dir", dir]).await;
    assert!(ok && listing.contains("ar_"), "{listing}");
    // The first server is unharmed.
    let (status, _) = server.get_json("/v1/meetings").await;
    assert_eq!(status, 200);
}

/// On PostgreSQL a server alone holds an advisory lock on a session of its own; a server that
/// crashed holds it until PostgreSQL has ended that session, a moment after its connection
/// closed. One restarted at once waits for it instead of refusing to start (which a crash test
/// on a busy machine met). (SQLite's lock is a file's, let go by the kernel as the process dies.)
#[tokio::test]
async fn a_server_waits_a_moment_for_a_store_its_stopped_predecessor_still_holds() {
    use sqlx::Connection;
    if !crate::helpers::on_postgres() {
        return;
    }
    let data_dir = Arc::new(tempfile::tempdir().expect("temp dir"));
    let key = create_key(&data_dir).await;
    let url = crate::helpers::postgres_database(data_dir.path()).await;
    // A session holding the lock, as a crashed server's still does.
    let mut session = sqlx::PgConnection::connect(&url).await.unwrap();
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(0x616e_7465_726f_6f6d_i64)
        .execute(&mut session)
        .await
        .unwrap();
    let starting = tokio::spawn(Server::spawn(data_dir.clone(), key, &[], &[]));
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert!(
        !starting.is_finished(),
        "the server waits while the lock is held"
    );
    session.close().await.unwrap();
    let server = starting
        .await
        .expect("the server starts once the session ended");
    assert!(
        server
            .logs()
            .contains("another server holds the store; waiting for it"),
        "{}",
        server.logs()
    );
    let (status, _) = server.get_json("/v1/meetings").await;
    assert_eq!(status, 200);
}

/// `anteroom backup` copies the embedded store while its server runs; a server started on the copy
/// has everything (meetings, keys). A PostgreSQL store is not this command's to copy.
#[tokio::test]
async fn a_backup_taken_while_serving_starts_a_server_with_everything() {
    let server = Server::start().await;
    let meeting = server.create_locked_meeting().await;
    let id = meeting["meetingId"].as_str().unwrap().to_owned();
    let dir = server.data_dir.path().to_str().unwrap().to_owned();
    let copies = tempfile::tempdir().unwrap();
    let copy = copies.path().join("anteroom.sqlite3");
    let copy_arg = copy.to_str().unwrap();
    let (ok, stdout, stderr) = cli(&["backup", "--data-dir", &dir, copy_arg]).await;
    if crate::helpers::on_postgres() {
        assert!(!ok && stderr.contains("pg_dump"), "{stderr}");
        return;
    }
    assert!(ok, "{stderr}");
    assert!(stdout.contains("backed up to"), "{stdout}");
    // Never over a file that is there.
    let (ok, _, stderr) = cli(&["backup", "--data-dir", &dir, copy_arg]).await;
    assert!(!ok && stderr.contains("exists already"), "{stderr}");
    let empty = tempfile::tempdir().unwrap();
    let (ok, _, stderr) = cli(&[
        "backup",
        "--data-dir",
        empty.path().to_str().unwrap(),
        empty.path().join("b").to_str().unwrap(),
    ])
    .await;
    assert!(!ok && stderr.contains("no database at"), "{stderr}");

    // Another server, on the copy: the meeting and the key are there.
    let restored = Server::spawn(Arc::new(copies), server.key.clone(), &[], &[]).await;
    let (status, read) = restored.get_json(&format!("/v1/meetings/{id}")).await;
    assert_eq!(status, 200, "{read}");
    assert!(read["roomName"].is_string(), "{read}");
    assert_eq!(read["roomName"], meeting["roomName"]);
    assert_eq!(read["endDate"], meeting["endDate"]);
}

//! Graceful shutdown of the real binary: on SIGTERM or SIGINT the server
//! stops accepting, lets in-flight requests finish, and exits cleanly.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_guestpass");
const SECRET: &str = "oVaQDSUq1U9fOItGKwxhg7VvnI956GcZ8wrt1AFl";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

fn admin(db: &str, args: &[&str]) {
    let status = Command::new(BIN)
        .args(["admin", "--database-url", db])
        .args(args)
        .stdout(Stdio::null())
        .status()
        .expect("run admin");
    assert!(status.success());
}

fn start(db: &str, port: u16) -> Child {
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--database-url",
            db,
            "--bind",
            &format!("127.0.0.1:{port}"),
        ])
        .args(["--shutdown-timeout-secs", "20", "--rate-limit", "0"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start server");
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return child;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("server did not start");
}

fn in_flight_request_finishes_after(signal: &str) {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir
        .path()
        .join("shutdown.db")
        .to_string_lossy()
        .into_owned();
    admin(&db, &["add-chain", "--id", "sd-chain", "--secret", SECRET]);
    admin(
        &db,
        &["add-location", "--chain", "sd-chain", "--id", "sd-gym"],
    );
    let port = free_port();
    let mut server = start(&db, port);

    let now = chrono::Utc::now() + chrono::Duration::hours(1);
    let fmt = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let body = format!(
        r#"{{"locationId":"sd-gym","firstName":"Sig","lastName":"Term","email":"sig@example.com","validFrom":"{}","validUntil":"{}"}}"#,
        fmt(now),
        fmt(now + chrono::Duration::days(2))
    );
    let (first, rest) = body.split_at(body.len() / 2);
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(30))).ok();
    write!(
        stream,
        "POST /members/v1.0/guest-passes HTTP/1.1\r\nHost: x\r\nX-Chain-ID: sd-chain\r\n\
         X-Chain-Secret: {SECRET}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{first}",
        body.len()
    )
    .expect("send head");
    std::thread::sleep(Duration::from_millis(300));

    let killed = Command::new("kill")
        .args([signal, &server.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    std::thread::sleep(Duration::from_millis(500));
    // No new connections are accepted once shutdown has begun.
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "still accepting after {signal}"
    );
    // The request that was in flight completes.
    stream.write_all(rest.as_bytes()).expect("send rest");
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");

    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = server.try_wait().expect("wait") {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "server did not exit after {signal}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "exit status {status:?}");
}

#[test]
fn sigterm_lets_in_flight_requests_finish_then_exits_cleanly() {
    in_flight_request_finishes_after("-TERM");
}

#[test]
fn sigint_lets_in_flight_requests_finish_then_exits_cleanly() {
    in_flight_request_finishes_after("-INT");
}

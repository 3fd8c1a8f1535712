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
    // The server has read the head and half the body: its worker holds the
    // connection, mid-request, before the signal.
    let client = stream.local_addr().expect("client address");
    wait_until(
        || server_has_read_everything_sent(port, client.port()),
        "the server to read the request's first half",
    );

    // ...and the server catches the signal (before it does, the signal's
    // default action would end the process on the spot).
    wait_until(
        || catches(server.id(), signal),
        &format!("the server to install its {signal} handler"),
    );
    let killed = Command::new("kill")
        .args([signal, &server.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    // No new connections are accepted once shutdown has begun, while the
    // request in flight keeps the server running.
    wait_until(
        || TcpStream::connect(("127.0.0.1", port)).is_err(),
        &format!("the listener to close after {signal}"),
    );
    assert!(
        server.try_wait().expect("wait").is_none(),
        "the server exited with a request in flight"
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

/// Polls `done` until it holds, or fails the test after 20 s.
fn wait_until(mut done: impl FnMut() -> bool, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Whether process `pid` has a handler for `signal` (`-TERM` or `-INT`):
/// its `SigCgt` mask in `/proc/PID/status`.
fn catches(pid: u32, signal: &str) -> bool {
    let number = match signal {
        "-TERM" => 15,
        "-INT" => 2,
        other => panic!("unknown signal {other}"),
    };
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("SigCgt:"))
        .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
        .is_some_and(|mask| mask & (1 << (number - 1)) != 0)
}

/// The kernel's view of one loopback TCP connection end: (bytes sent and
/// not yet acknowledged, bytes received and not yet read by its process).
fn socket_queues(local_port: u16, remote_port: u16) -> Option<(u64, u64)> {
    let table = std::fs::read_to_string("/proc/net/tcp").expect("read /proc/net/tcp");
    let (local, remote) = (
        format!("0100007F:{local_port:04X}"),
        format!("0100007F:{remote_port:04X}"),
    );
    table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.get(1) != Some(&local.as_str()) || fields.get(2) != Some(&remote.as_str()) {
            return None;
        }
        let (tx, rx) = fields.get(4)?.split_once(':')?;
        Some((
            u64::from_str_radix(tx, 16).ok()?,
            u64::from_str_radix(rx, 16).ok()?,
        ))
    })
}

/// Everything the client wrote has reached the server's socket (nothing
/// unacknowledged on the client's side) and the server process has read it
/// from there (nothing unread on the server's side). An accepted-but-idle
/// or not-yet-accepted connection keeps the bytes queued in the kernel.
fn server_has_read_everything_sent(server_port: u16, client_port: u16) -> bool {
    matches!(socket_queues(client_port, server_port), Some((0, _)))
        && matches!(socket_queues(server_port, client_port), Some((_, 0)))
}

#[test]
fn sigterm_lets_in_flight_requests_finish_then_exits_cleanly() {
    in_flight_request_finishes_after("-TERM");
}

#[test]
fn sigint_lets_in_flight_requests_finish_then_exits_cleanly() {
    in_flight_request_finishes_after("-INT");
}

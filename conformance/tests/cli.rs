//! The standalone binary's contract with its caller: exit status 2 and one
//! line on stderr for usage and connection errors, decided before any check
//! (a certificate that does not verify stops the run within seconds).

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn kit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_guestpass-conformance"))
        .args(args)
        .env_remove("GUESTPASS_CONFORMANCE_BASE_URL")
        .output()
        .expect("run guestpass-conformance")
}

fn stderr_line(out: &Output) -> String {
    let text = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(text.trim_end().lines().count(), 1, "one line: {text:?}");
    text.trim_end().to_owned()
}

#[test]
fn usage_errors_exit_with_2() {
    let out = kit(&["--base-url", "ftp://example.invalid/x"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_line(&out).contains("--base-url"));
    // clap's own usage errors use 2 as well.
    let out = kit(&["--no-such-option"]);
    assert_eq!(out.status.code(), Some(2));
    let out = kit(&[
        "--base-url",
        "http://127.0.0.1:9/x",
        "--ca-cert",
        "/nonexistent/ca.pem",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_line(&out).contains("--ca-cert"));
}

#[test]
fn an_unreachable_server_exits_with_2_before_any_check() {
    // A port that was free a moment ago: nothing listens there.
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let out = kit(&[
        "--base-url",
        &format!("http://127.0.0.1:{port}/members/v1.0"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_line(&out).contains("cannot connect"));
    assert!(out.stdout.is_empty(), "no report without a server");
}

/// A TLS server with a self-signed certificate no one trusts: it completes
/// (or fails) one handshake per connection and answers nothing else.
fn untrusted_tls_server() -> (u16, String) {
    let key = rcgen::KeyPair::generate().expect("key");
    let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .expect("params")
        .self_signed(&key)
        .expect("certificate");
    let cert_pem = cert.pem();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_no_client_auth()
    .with_single_cert(
        vec![cert.der().clone()],
        rustls::pki_types::PrivateKeyDer::try_from(key.serialize_der()).expect("key der"),
    )
    .expect("server config");
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let config = config.clone();
            std::thread::spawn(move || {
                let mut stream = stream;
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                if let Ok(mut conn) = rustls::ServerConnection::new(config) {
                    let mut tls = rustls::Stream::new(&mut conn, &mut stream);
                    let mut buf = [0u8; 1024];
                    let _ = tls.read(&mut buf);
                    let _ = tls.write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n");
                }
            });
        }
    });
    (port, cert_pem)
}

#[test]
fn a_certificate_that_does_not_verify_exits_with_2_naming_the_problem() {
    let (port, cert_pem) = untrusted_tls_server();
    let url = format!("https://127.0.0.1:{port}/members/v1.0");
    let started = Instant::now();
    let out = kit(&["--base-url", &url, "--demo"]);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(out.status.code(), Some(2));
    let line = stderr_line(&out);
    assert!(line.contains("UnknownIssuer"), "{line}");
    assert!(
        line.contains("--ca-cert"),
        "the line says what to do: {line}"
    );
    assert!(out.stdout.is_empty());

    // Trusted through --ca-cert, the handshake succeeds and the run goes on
    // (and fails its checks: this server answers nothing useful).
    let dir = tempfile::tempdir().expect("temp dir");
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, cert_pem).expect("write the certificate");
    let out = kit(&[
        "--base-url",
        &url,
        "--demo",
        "--ca-cert",
        ca.to_str().expect("path"),
        "--only",
        "get.unknown-id-is-404",
        "--timeout-ms",
        "2000",
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        report.ends_with("0 passed, 1 failed, 0 skipped\n"),
        "{report}"
    );
}

//! HTTPS: the trust store (Mozilla's roots, bundled, plus `--ca-cert`), the
//! rustls configuration awc uses, and the check before the run that the
//! server can be reached and its certificate verifies: a run against a
//! server the kit cannot trust stops at once with one line that says why.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{CertificateError, ClientConfig, RootCertStore};

use crate::Error;

/// The parts of a URL the kit needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub https: bool,
    pub host: String,
    pub port: u16,
}

impl Target {
    /// `http://host[:port]/…` or `https://…`; user information is refused
    /// (credentials belong in the access headers, never in a URL).
    pub fn parse(url: &str) -> Result<Self, String> {
        let (https, rest) = if let Some(rest) = url.strip_prefix("https://") {
            (true, rest)
        } else if let Some(rest) = url.strip_prefix("http://") {
            (false, rest)
        } else {
            return Err(format!("'{url}' is not an http:// or https:// URL"));
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        if authority.contains('@') {
            return Err("a URL with user information; give credentials as options instead".into());
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (host, after) = v6
                .split_once(']')
                .ok_or_else(|| format!("'{url}' has an unterminated IPv6 address"))?;
            (host.to_owned(), after.strip_prefix(':'))
        } else {
            match authority.rsplit_once(':') {
                Some((host, port)) => (host.to_owned(), Some(port)),
                None => (authority.to_owned(), None),
            }
        };
        if host.is_empty() {
            return Err(format!("'{url}' names no host"));
        }
        let port = match port {
            Some(p) => p
                .parse::<u16>()
                .map_err(|_| format!("'{url}' has an invalid port '{p}'"))?,
            None if https => 443,
            None => 80,
        };
        Ok(Self { https, host, port })
    }

    fn display(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// The client configuration: TLS 1.2 and 1.3 with the ring provider, the
/// bundled Mozilla roots plus every certificate in `ca_cert`, HTTP/1.1 only
/// (the checks send Camel-Case header names, which HTTP/2 cannot carry).
pub fn client_config(ca_cert: Option<&Path>) -> Result<Arc<ClientConfig>, Error> {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = ca_cert {
        let certs = read_certs(path)?;
        for cert in certs {
            roots.add(cert).map_err(|e| {
                Error::Usage(format!(
                    "--ca-cert {}: not a usable CA certificate: {e}",
                    path.display()
                ))
            })?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Usage(format!("TLS setup: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, Error> {
    let bytes = std::fs::read(path)
        .map_err(|e| Error::Usage(format!("--ca-cert {}: {e}", path.display())))?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<_, _>>()
        .map_err(|e| Error::Usage(format!("--ca-cert {}: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(Error::Usage(format!(
            "--ca-cert {}: no PEM certificate in the file",
            path.display()
        )));
    }
    Ok(certs)
}

/// Connects to `target` and, for https, completes a TLS handshake, so that
/// an unreachable server or a certificate that does not verify ends the
/// run before any check, with one line naming the problem.
pub fn preflight(
    target: &Target,
    config: &Arc<ClientConfig>,
    timeout: Duration,
    ca_given: bool,
) -> Result<(), Error> {
    let shown = target.display();
    let addrs: Vec<_> = (target.host.as_str(), target.port)
        .to_socket_addrs()
        .map_err(|e| Error::Connection(format!("cannot resolve {}: {e}", target.host)))?
        .collect();
    let mut last = None;
    let mut stream = None;
    for addr in &addrs {
        match TcpStream::connect_timeout(addr, timeout) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last = Some(e),
        }
    }
    let Some(mut sock) = stream else {
        return Err(Error::Connection(format!(
            "cannot connect to {shown}: {}",
            last.map_or_else(|| "no address".to_owned(), |e| e.to_string())
        )));
    };
    if !target.https {
        return Ok(());
    }
    let io = |e: std::io::Error| Error::Connection(format!("TLS handshake with {shown}: {e}"));
    sock.set_read_timeout(Some(timeout)).map_err(io)?;
    sock.set_write_timeout(Some(timeout)).map_err(io)?;
    let name = ServerName::try_from(target.host.clone()).map_err(|e| {
        Error::Usage(format!(
            "'{}' is not a valid TLS server name: {e}",
            target.host
        ))
    })?;
    let mut conn = rustls::ClientConnection::new(config.clone(), name)
        .map_err(|e| Error::Connection(format!("TLS setup for {shown}: {e}")))?;
    while conn.is_handshaking() {
        if let Err(e) = conn.complete_io(&mut sock) {
            return Err(Error::Connection(handshake_error(&shown, &e, ca_given)));
        }
    }
    // Say goodbye properly; whether the server listens does not matter.
    conn.send_close_notify();
    let _ = conn.complete_io(&mut sock);
    let _ = sock.flush();
    let _ = sock.read(&mut [0u8; 0]);
    Ok(())
}

/// One line: what is wrong with the certificate and what to do about it.
fn handshake_error(shown: &str, e: &std::io::Error, ca_given: bool) -> String {
    let rustls_error = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>());
    let Some(rustls::Error::InvalidCertificate(problem)) = rustls_error else {
        return format!("TLS handshake with {shown} failed: {e}");
    };
    let hint = match problem {
        CertificateError::UnknownIssuer if ca_given => {
            "it is signed by an authority that is neither among Mozilla's roots nor in --ca-cert"
        }
        CertificateError::UnknownIssuer => {
            "it is signed by an unknown authority (for a private CA, pass its certificate with --ca-cert FILE)"
        }
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => "it has expired",
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            "it is not valid yet"
        }
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            "it is not issued for this host name"
        }
        CertificateError::Revoked => "it has been revoked",
        CertificateError::BadSignature => "its signature does not verify",
        _ => "it does not verify",
    };
    format!("the TLS certificate of {shown} was refused: {problem:?}: {hint}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_give_scheme_host_and_port() {
        let t = Target::parse("https://gp.example.org/members/v1.0").unwrap();
        assert_eq!(
            (t.https, t.host.as_str(), t.port),
            (true, "gp.example.org", 443)
        );
        let t = Target::parse("http://127.0.0.1:8080/members").unwrap();
        assert_eq!(
            (t.https, t.host.as_str(), t.port),
            (false, "127.0.0.1", 8080)
        );
        let t = Target::parse("https://[::1]:8443").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("::1", 8443));
        assert!(Target::parse("ftp://x").is_err());
        assert!(Target::parse("https://user:pw@host/").is_err());
        assert!(Target::parse("http://host:99999/").is_err());
        assert!(Target::parse("http:///path").is_err());
    }

    #[test]
    fn a_missing_or_empty_ca_file_is_a_usage_error() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "").unwrap();
        assert!(matches!(client_config(Some(&empty)), Err(Error::Usage(_))));
        let missing = dir.path().join("missing.pem");
        assert!(matches!(
            client_config(Some(&missing)),
            Err(Error::Usage(_))
        ));
        assert!(client_config(None).is_ok());
    }
}

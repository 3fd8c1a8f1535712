//! The PostgreSQL server the suite runs against, as the tests reach it.

/// `GUESTPASS_TEST_POSTGRES_URL`, with libpq's TLS and GSSAPI negotiation
/// off unless the URL sets them. The suite talks to a server on loopback,
/// and a test process must not have OpenSSL or Kerberos in use: when the
/// harness exits, their exit handlers tear down library state while a pool
/// thread of a test that just ended may still be connecting or closing a
/// connection, and the process dies of SIGSEGV after every test passed
/// (diesel-rs/diesel#3441). Scripts that run the released server keep
/// libpq's defaults.
pub fn postgres_url() -> Option<String> {
    std::env::var("GUESTPASS_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .map(|url| {
            let mut url = url;
            for setting in ["sslmode", "gssencmode"] {
                if !url.contains(&format!("{setting}=")) {
                    url.push(if url.contains('?') { '&' } else { '?' });
                    url.push_str(setting);
                    url.push_str("=disable");
                }
            }
            url
        })
}

/// The URL of database `name` on the server of `admin_url`, with the same
/// settings (the query string).
pub fn database_url(admin_url: &str, name: &str) -> String {
    let (before_query, query) = admin_url.split_once('?').unwrap_or((admin_url, ""));
    let Some((server, _)) = before_query.rsplit_once('/') else {
        panic!("GUESTPASS_TEST_POSTGRES_URL needs a database name");
    };
    if query.is_empty() {
        format!("{server}/{name}")
    } else {
        format!("{server}/{name}?{query}")
    }
}

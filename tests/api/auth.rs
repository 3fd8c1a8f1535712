//! Contract section 1, the authentication headers: missing headers (400),
//! invalid ones (401, the first failing level named), the client level's
//! optional ID, header-name case, exact values, ignored levels, the order
//! "authentication before anything else", `X-User-ID`, secrets never echoed,
//! and scope isolation.

use awc::http::Method;
use guestpass::domain::PrincipalKind;
use serde_json::{json, Map, Value};

use crate::common::*;
use crate::on_both_backends;

on_both_backends!(
    every_missing_header_of_every_configured_level_is_400_named_at_once,
    a_blank_header_value_counts_as_missing,
    every_operation_requires_the_configured_headers,
    unknown_id_is_401_naming_the_id_header_with_its_level,
    wrong_secret_is_401_naming_the_secret_header_with_its_level,
    a_value_over_1024_characters_is_401_naming_that_header,
    client_id_is_optional_and_must_name_the_client_owning_the_secret,
    levels_are_checked_client_then_chain_then_location_first_failure_reported,
    a_location_outside_the_authenticated_chain_is_401_location_id_invalid,
    header_names_are_case_insensitive,
    header_values_are_compared_exactly,
    headers_of_levels_that_are_not_configured_are_ignored,
    authentication_is_checked_before_body_query_and_path,
    missing_headers_are_reported_alone_even_when_the_request_is_otherwise_bad,
    x_user_id_over_256_characters_is_400_too_long,
    secrets_and_their_hashes_never_appear_in_any_response,
    a_pass_of_another_chain_is_answered_exactly_like_a_missing_pass,
    a_location_level_caller_sees_only_its_own_location,
    a_client_level_caller_sees_the_passes_of_every_chain,
    a_rotated_secret_takes_effect_at_once,
);

/// The level configurations of the contract, each with full valid headers
/// (location `a-1` of chain A where a location is involved) and the
/// headers that are required, in blueprint spelling.
fn configurations() -> Vec<(&'static str, Creds, Vec<&'static str>)> {
    let loc = || Creds::location(LOC_A1, LOC_A1_SECRET);
    vec![
        ("client", Creds::client(), vec!["X-Client-Secret"]),
        (
            "chain",
            Creds::chain_a(),
            vec!["X-Chain-ID", "X-Chain-Secret"],
        ),
        (
            "location",
            loc(),
            vec!["X-Location-ID", "X-Location-Secret"],
        ),
        (
            "chain,location",
            Creds::chain_a().and(loc()),
            vec![
                "X-Chain-ID",
                "X-Chain-Secret",
                "X-Location-ID",
                "X-Location-Secret",
            ],
        ),
        (
            "client,chain,location",
            Creds::client().and(Creds::chain_a()).and(loc()),
            vec![
                "X-Client-Secret",
                "X-Chain-ID",
                "X-Chain-Secret",
                "X-Location-ID",
                "X-Location-Secret",
            ],
        ),
    ]
}

/// Every header of every level, all valid: client, chain A, location a-1.
fn all_levels() -> Creds {
    Creds::client()
        .and(Creds::chain_a())
        .and(Creds::location(LOC_A1, LOC_A1_SECRET))
}

fn missing(headers: &[&str]) -> Value {
    let map: Map<String, Value> = headers
        .iter()
        .map(|h| ((*h).to_owned(), json!("missing")))
        .collect();
    Value::Object(map)
}

/// A request that only authentication can fail: the search with no filters.
async fn probe(app: &TestApp, creds: &Creds) -> Resp {
    app.get("/guest-passes", creds).await
}

#[track_caller]
fn assert_ok(res: &Resp, what: &str) {
    assert_eq!(res.status, 200, "{what}: {}", res.text);
}

/// One request per operation of section 5, each otherwise well-formed.
async fn every_operation(app: &TestApp, creds: &Creds) -> Vec<(&'static str, Resp)> {
    let id = uuid::Uuid::new_v4().to_string();
    vec![
        (
            "createGuestPass",
            app.create(creds, &pass_body(LOC_A1, &unique_email())).await,
        ),
        ("searchGuestPasses", app.get("/guest-passes", creds).await),
        (
            "getGuestPass",
            app.get(&format!("/guest-passes/{id}"), creds).await,
        ),
        (
            "cancelGuestPass",
            app.delete(&format!("/guest-passes/{id}"), creds).await,
        ),
        (
            "listCheckins",
            app.get(&format!("/guest-passes/{id}/checkins"), creds)
                .await,
        ),
        (
            "checkinGuest",
            app.checkin(creds, "K7QX9MPT2A", LOC_A1).await,
        ),
    ]
}

async fn every_missing_header_of_every_configured_level_is_400_named_at_once(backend: Backend) {
    for (levels, full, required) in configurations() {
        let app = spawn_with_levels(backend, levels).await;
        assert_ok(&probe(&app, &full).await, levels);

        // None at all: every required header, in one 400.
        probe(&app, &Creds::none())
            .await
            .assert_bad_request(missing(&required));

        // Each one left out on its own is named on its own.
        for header in &required {
            let res = probe(&app, &full.clone().without(header)).await;
            res.assert_bad_request(missing(&[header]));
        }

        // Only the first kept: all the others are named together.
        if required.len() > 1 {
            let only_first = required
                .iter()
                .skip(1)
                .fold(full.clone(), |creds, h| creds.without(h));
            let res = probe(&app, &only_first).await;
            res.assert_bad_request(missing(&required[1..]));
        }
    }
}

async fn a_blank_header_value_counts_as_missing(backend: Backend) {
    for (levels, full, required) in configurations() {
        let app = spawn_with_levels(backend, levels).await;
        for header in &required {
            for blank in ["", " ", "   "] {
                let creds = full.clone().without(header).with(header, blank);
                let res = probe(&app, &creds).await;
                res.assert_bad_request(missing(&[header]));
            }
        }
        // All blank at once: all named at once.
        let creds = required
            .iter()
            .fold(full.clone(), |c, h| c.without(h).with(h, ""));
        probe(&app, &creds)
            .await
            .assert_bad_request(missing(&required));
    }
}

async fn every_operation_requires_the_configured_headers(backend: Backend) {
    for (levels, full, required) in configurations() {
        let app = spawn_with_levels(backend, levels).await;
        for (operation, res) in every_operation(&app, &Creds::none()).await {
            assert_eq!(res.status, 400, "{levels} {operation}: {}", res.text);
            res.assert_bad_request(missing(&required));
        }
        // With them, no operation answers 400 or 401.
        for (operation, res) in every_operation(&app, &full).await {
            assert!(
                ![400, 401].contains(&res.status),
                "{levels} {operation}: {} {}",
                res.status,
                res.text
            );
        }
    }
}

async fn unknown_id_is_401_naming_the_id_header_with_its_level(backend: Backend) {
    let app = spawn_with_levels(backend, "chain").await;
    for id in ["no-such-chain", LOC_A1, CLIENT, "chain-ä"] {
        let creds = Creds::chain_a()
            .without("X-Chain-ID")
            .with("X-Chain-ID", id);
        probe(&app, &creds)
            .await
            .assert_unauthorized("chain", "X-Chain-ID");
    }
    // A principal of another kind, with its own right secret, is not a chain.
    let creds = Creds::none()
        .with("X-Chain-ID", LOC_A1)
        .with("X-Chain-Secret", LOC_A1_SECRET);
    probe(&app, &creds)
        .await
        .assert_unauthorized("chain", "X-Chain-ID");

    let app = spawn_with_levels(backend, "location").await;
    for (id, secret) in [
        ("no-such-location", LOC_A1_SECRET),
        (CHAIN_A, CHAIN_A_SECRET),
    ] {
        probe(&app, &Creds::location(id, secret))
            .await
            .assert_unauthorized("location", "X-Location-ID");
    }

    let app = spawn_with_levels(backend, "client").await;
    for (id, secret) in [("no-such-client", CLIENT_SECRET), (CHAIN_A, CLIENT_SECRET)] {
        let creds = Creds::none()
            .with("X-Client-ID", id)
            .with("X-Client-Secret", secret);
        probe(&app, &creds)
            .await
            .assert_unauthorized("client", "X-Client-ID");
    }
}

async fn wrong_secret_is_401_naming_the_secret_header_with_its_level(backend: Backend) {
    let wrong_forms = |right: &str| {
        vec![
            "wrong-secret-0123456789".to_owned(),
            right[..right.len() - 1].to_owned(),
            format!("{right}x"),
            format!("x{right}"),
        ]
    };

    let app = spawn_with_levels(backend, "chain").await;
    let mut secrets = wrong_forms(CHAIN_A_SECRET);
    secrets.push(CHAIN_B_SECRET.to_owned());
    secrets.push(format!("{CHAIN_A_SECRET}ä"));
    for secret in secrets {
        let creds = Creds::none()
            .with("X-Chain-ID", CHAIN_A)
            .with("X-Chain-Secret", &secret);
        probe(&app, &creds)
            .await
            .assert_unauthorized("chain", "X-Chain-Secret");
    }

    let app = spawn_with_levels(backend, "location").await;
    let mut secrets = wrong_forms(LOC_A1_SECRET);
    secrets.push(LOC_A2_SECRET.to_owned());
    secrets.push(CHAIN_A_SECRET.to_owned());
    for secret in secrets {
        probe(&app, &Creds::location(LOC_A1, &secret))
            .await
            .assert_unauthorized("location", "X-Location-Secret");
    }

    let app = spawn_with_levels(backend, "client").await;
    let mut secrets = wrong_forms(CLIENT_SECRET);
    secrets.push(CHAIN_A_SECRET.to_owned());
    for secret in secrets {
        // Without the optional ID, and with the right ID.
        let creds = Creds::none().with("X-Client-Secret", &secret);
        probe(&app, &creds)
            .await
            .assert_unauthorized("client", "X-Client-Secret");
        let creds = creds.with("X-Client-ID", CLIENT);
        probe(&app, &creds)
            .await
            .assert_unauthorized("client", "X-Client-Secret");
    }
}

async fn a_value_over_1024_characters_is_401_naming_that_header(backend: Backend) {
    let long = |prefix: &str, len: usize| format!("{prefix}{}", "x".repeat(len - prefix.len()));
    let app = spawn_with_levels(backend, "client,chain,location").await;
    for len in [1025, 4000] {
        let cases = [
            ("X-Client-ID", long(CLIENT, len), "client"),
            ("X-Client-Secret", long(CLIENT_SECRET, len), "client"),
            ("X-Chain-ID", long(CHAIN_A, len), "chain"),
            ("X-Chain-Secret", long(CHAIN_A_SECRET, len), "chain"),
            ("X-Location-ID", long(LOC_A1, len), "location"),
            ("X-Location-Secret", long(LOC_A1_SECRET, len), "location"),
        ];
        for (header, value, level) in cases {
            assert!(value.len() > 1024);
            let creds = all_levels().without(header).with(header, &value);
            let res = probe(&app, &creds).await;
            res.assert_unauthorized(level, header);
        }
    }
    assert_ok(&probe(&app, &all_levels()).await, "all valid");
}

async fn client_id_is_optional_and_must_name_the_client_owning_the_secret(backend: Backend) {
    let app = spawn_with_levels(backend, "client").await;
    let with = |id: Option<&str>, secret: &str| {
        let creds = Creds::none().with("X-Client-Secret", secret);
        match id {
            Some(id) => creds.with("X-Client-ID", id),
            None => creds,
        }
    };
    // Fine: no ID, a blank ID (counts as absent), or the owner's ID.
    for (id, secret) in [
        (None, CLIENT_SECRET),
        (None, CLIENT_2_SECRET),
        (Some(""), CLIENT_SECRET),
        (Some(CLIENT), CLIENT_SECRET),
        (Some(CLIENT_2), CLIENT_2_SECRET),
    ] {
        assert_ok(&probe(&app, &with(id, secret)).await, &format!("{id:?}"));
    }
    // Another client's ID with this secret: the secret is at fault.
    probe(&app, &with(Some(CLIENT), CLIENT_2_SECRET))
        .await
        .assert_unauthorized("client", "X-Client-Secret");
    probe(&app, &with(Some(CLIENT_2), CLIENT_SECRET))
        .await
        .assert_unauthorized("client", "X-Client-Secret");
    // An ID naming no client: the ID is at fault.
    probe(&app, &with(Some("no-such-client"), CLIENT_SECRET))
        .await
        .assert_unauthorized("client", "X-Client-ID");
    // The ID alone is not enough.
    probe(&app, &Creds::none().with("X-Client-ID", CLIENT))
        .await
        .assert_bad_request(json!({"X-Client-Secret": "missing"}));
}

async fn levels_are_checked_client_then_chain_then_location_first_failure_reported(
    backend: Backend,
) {
    let app = spawn_with_levels(backend, "client,chain,location").await;
    let set = |creds: Creds, header: &str, value: &str| creds.without(header).with(header, value);
    let bad_client = |c: Creds| set(c, "X-Client-Secret", "wrong-secret-0123456789");
    let bad_chain_secret = |c: Creds| set(c, "X-Chain-Secret", "wrong-secret-0123456789");
    let bad_chain_id = |c: Creds| set(c, "X-Chain-ID", "no-such-chain");
    let bad_location_secret = |c: Creds| set(c, "X-Location-Secret", "wrong-secret-0123456789");
    let bad_location_id = |c: Creds| set(c, "X-Location-ID", "no-such-location");

    let cases = [
        (
            bad_location_id(bad_chain_secret(bad_client(all_levels()))),
            "client",
            "X-Client-Secret",
        ),
        (
            bad_location_secret(bad_chain_id(bad_client(all_levels()))),
            "client",
            "X-Client-Secret",
        ),
        (
            bad_location_id(bad_chain_secret(all_levels())),
            "chain",
            "X-Chain-Secret",
        ),
        (
            bad_location_secret(bad_chain_id(all_levels())),
            "chain",
            "X-Chain-ID",
        ),
        (
            bad_location_secret(all_levels()),
            "location",
            "X-Location-Secret",
        ),
        (bad_location_id(all_levels()), "location", "X-Location-ID"),
    ];
    for (creds, level, header) in cases {
        probe(&app, &creds).await.assert_unauthorized(level, header);
    }
    assert_ok(&probe(&app, &all_levels()).await, "all valid");
}

async fn a_location_outside_the_authenticated_chain_is_401_location_id_invalid(backend: Backend) {
    for levels in ["chain,location", "client,chain,location"] {
        let app = spawn_with_levels(backend, levels).await;
        let base = if levels.starts_with("client") {
            Creds::client()
        } else {
            Creds::none()
        };
        // The location's own, right secret does not help.
        let outside = [
            Creds::chain_a().and(Creds::location(LOC_B1, LOC_B1_SECRET)),
            Creds::chain_b().and(Creds::location(LOC_A1, LOC_A1_SECRET)),
            Creds::chain_b().and(Creds::location(LOC_A2, LOC_A2_SECRET)),
        ];
        for creds in outside {
            probe(&app, &base.clone().and(creds))
                .await
                .assert_unauthorized("location", "X-Location-ID");
        }
        for creds in [
            Creds::chain_a().and(Creds::location(LOC_A2, LOC_A2_SECRET)),
            Creds::chain_b().and(Creds::location(LOC_B1, LOC_B1_SECRET)),
        ] {
            assert_ok(&probe(&app, &base.clone().and(creds)).await, levels);
        }
    }
}

async fn header_names_are_case_insensitive(backend: Backend) {
    let app = spawn_with_levels(backend, "client,chain,location").await;
    let lower = Creds::none()
        .with("x-client-id", CLIENT)
        .with("x-client-secret", CLIENT_SECRET)
        .with("x-chain-id", CHAIN_A)
        .with("x-chain-secret", CHAIN_A_SECRET)
        .with("x-location-id", LOC_A1)
        .with("x-location-secret", LOC_A1_SECRET);
    assert_ok(&probe(&app, &lower).await, "lower case names");
    let res = app
        .create(&lower, &pass_body(LOC_A1, &unique_email()))
        .await;
    assert_eq!(res.status, 201, "{}", res.text);

    let upper = Creds(
        all_levels()
            .0
            .into_iter()
            .map(|(n, v)| (n.to_uppercase(), v))
            .collect(),
    );
    assert_ok(&probe(&app, &upper).await, "upper case names");

    // Missing ones are still named in blueprint spelling.
    let res = probe(&app, &lower.clone().without("x-chain-secret")).await;
    res.assert_bad_request(json!({"X-Chain-Secret": "missing"}));
    // And invalid ones too.
    let res = probe(
        &app,
        &lower
            .without("x-location-secret")
            .with("x-location-secret", "wrong-secret-0123456789"),
    )
    .await;
    res.assert_unauthorized("location", "X-Location-Secret");
}

async fn header_values_are_compared_exactly(backend: Backend) {
    let app = spawn_with_levels(backend, "client,chain,location").await;
    let cases = [
        ("X-Client-Secret", CLIENT_SECRET.to_uppercase(), "client"),
        ("X-Client-ID", CLIENT.to_uppercase(), "client"),
        ("X-Chain-Secret", CHAIN_A_SECRET.to_uppercase(), "chain"),
        ("X-Chain-ID", CHAIN_A.to_uppercase(), "chain"),
        (
            "X-Location-Secret",
            LOC_A1_SECRET.to_uppercase(),
            "location",
        ),
        ("X-Location-ID", LOC_A1.to_uppercase(), "location"),
    ];
    for (header, value, level) in cases {
        let creds = all_levels().without(header).with(header, &value);
        probe(&app, &creds).await.assert_unauthorized(level, header);
    }
    assert_ok(&probe(&app, &all_levels()).await, "exact values");
}

async fn headers_of_levels_that_are_not_configured_are_ignored(backend: Backend) {
    let junk_client = Creds::none()
        .with("X-Client-ID", "no-such-client")
        .with("X-Client-Secret", "wrong");
    let junk_chain = Creds::none()
        .with("X-Chain-ID", "no-such-chain")
        .with("X-Chain-Secret", "wrong");
    let junk_location = Creds::none()
        .with("X-Location-ID", "no-such-location")
        .with("X-Location-Secret", &"x".repeat(2000));
    let blank_location = Creds::none()
        .with("X-Location-ID", "")
        .with("X-Location-Secret", "");

    let app = spawn_with_levels(backend, "chain").await;
    for extra in [
        junk_client.clone().and(junk_location.clone()),
        blank_location.clone(),
        // Another chain's location: not even its chain is checked.
        Creds::location(LOC_B1, LOC_B1_SECRET),
    ] {
        let creds = Creds::chain_a().and(extra);
        assert_ok(&probe(&app, &creds).await, "chain");
        // The scope is still chain A's, not narrowed to the location sent.
        let res = app
            .create(&creds, &pass_body(LOC_A2, &unique_email()))
            .await;
        assert_eq!(res.status, 201, "{}", res.text);
    }

    let app = spawn_with_levels(backend, "location").await;
    for extra in [
        junk_client.clone().and(junk_chain.clone()),
        Creds::chain_b(),
    ] {
        let creds = Creds::location(LOC_A1, LOC_A1_SECRET).and(extra);
        assert_ok(&probe(&app, &creds).await, "location");
    }

    let app = spawn_with_levels(backend, "client").await;
    let creds = Creds::client()
        .and(junk_chain.clone())
        .and(junk_location.clone());
    assert_ok(&probe(&app, &creds).await, "client");

    let app = spawn_with_levels(backend, "chain,location").await;
    let creds = Creds::chain_a()
        .and(Creds::location(LOC_A1, LOC_A1_SECRET))
        .and(junk_client);
    assert_ok(&probe(&app, &creds).await, "chain,location");
}

async fn authentication_is_checked_before_body_query_and_path(backend: Backend) {
    let app = spawn_app(backend).await;
    let pass = app.create_ok(LOC_A1, &unique_email()).await;
    let id = pass["guestPassId"].as_str().unwrap_or_default().to_owned();
    let wrong = Creds::none()
        .with("X-Chain-ID", CHAIN_A)
        .with("X-Chain-Secret", "wrong-secret-0123456789");
    let other_chain_wrong = Creds::none()
        .with("X-Chain-ID", CHAIN_B)
        .with("X-Chain-Secret", "wrong-secret-0123456789");
    let post = |body: Vec<u8>, content_type: &'static str, creds: Creds| {
        let app = &app;
        async move {
            app.raw(
                Method::POST,
                &app.url("/guest-passes"),
                &creds,
                Some((content_type, body)),
            )
            .await
        }
    };

    // Bodies that are wrong as a whole.
    let mut oversized = br#"{"pad":""#.to_vec();
    oversized.resize(70_000, b'x');
    oversized.extend_from_slice(br#""}"#);
    for (body, content_type) in [
        (b"{not json".to_vec(), "application/json"),
        (b"[]".to_vec(), "application/json"),
        (Vec::new(), "application/json"),
        (b"{}".to_vec(), "text/plain"),
        (b"{}".to_vec(), ""),
        (oversized, "application/json"),
    ] {
        post(body, content_type, wrong.clone())
            .await
            .assert_unauthorized("chain", "X-Chain-Secret");
    }
    // A body with bad fields, or a location outside the scope.
    app.create(&wrong, &json!({"phone": "x"}))
        .await
        .assert_unauthorized("chain", "X-Chain-Secret");
    app.create(&wrong, &pass_body(LOC_B1, &unique_email()))
        .await
        .assert_unauthorized("chain", "X-Chain-Secret");
    app.checkin(&wrong, "", "")
        .await
        .assert_unauthorized("chain", "X-Chain-Secret");
    // A bad query.
    app.get("/guest-passes?limit=abc&status=nope&validAt=x", &wrong)
        .await
        .assert_unauthorized("chain", "X-Chain-Secret");
    // Path entities: malformed, unknown, existing in another scope.
    let unknown = uuid::Uuid::new_v4().to_string();
    for path_id in ["not-a-uuid", unknown.as_str(), id.as_str()] {
        for creds in [&wrong, &other_chain_wrong] {
            app.get(&format!("/guest-passes/{path_id}"), creds)
                .await
                .assert_unauthorized("chain", "X-Chain-Secret");
            app.delete(&format!("/guest-passes/{path_id}"), creds)
                .await
                .assert_unauthorized("chain", "X-Chain-Secret");
            app.get(&format!("/guest-passes/{path_id}/checkins"), creds)
                .await
                .assert_unauthorized("chain", "X-Chain-Secret");
        }
    }
    // Nothing was changed by any of that.
    assert_eq!(app.count_passes(), 1);
    let read = app
        .get(&format!("/guest-passes/{id}"), &Creds::chain_a())
        .await;
    assert_eq!(read.body["status"], "UPCOMING", "{}", read.text);
}

async fn missing_headers_are_reported_alone_even_when_the_request_is_otherwise_bad(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let only_id = Creds::none().with("X-Chain-ID", CHAIN_A);
    let post = |body: &'static [u8], content_type: &'static str| {
        let app = &app;
        let creds = only_id.clone();
        async move {
            app.raw(
                Method::POST,
                &app.url("/guest-passes"),
                &creds,
                Some((content_type, body.to_vec())),
            )
            .await
        }
    };
    for (body, content_type) in [
        (&b"{not json"[..], "application/json"),
        (&b"{\"phone\": \"x\"}"[..], "application/json"),
        (&b"{}"[..], "text/plain"),
        (&b"{}"[..], ""),
    ] {
        post(body, content_type)
            .await
            .assert_bad_request(json!({"X-Chain-Secret": "missing"}));
    }
    app.get("/guest-passes?limit=0&status=nope", &only_id)
        .await
        .assert_bad_request(json!({"X-Chain-Secret": "missing"}));
    app.get("/guest-passes/not-a-uuid", &only_id)
        .await
        .assert_bad_request(json!({"X-Chain-Secret": "missing"}));
    app.checkin(&Creds::none(), "", "")
        .await
        .assert_bad_request(json!({"X-Chain-ID": "missing", "X-Chain-Secret": "missing"}));
    assert_eq!(app.count_passes(), 0);
}

async fn x_user_id_over_256_characters_is_400_too_long(backend: Backend) {
    let app = spawn_app(backend).await;
    let pass = app.create_ok(LOC_A1, &unique_email()).await;
    let path = format!(
        "/guest-passes/{}",
        pass["guestPassId"].as_str().unwrap_or_default()
    );
    let too_long = Creds::chain_a().with("X-User-ID", &"u".repeat(257));
    let longest = Creds::chain_a().with("X-User-ID", &"u".repeat(256));

    app.get(&path, &too_long)
        .await
        .assert_bad_request(json!({"X-User-ID": "tooLong"}));
    app.get("/guest-passes", &too_long)
        .await
        .assert_bad_request(json!({"X-User-ID": "tooLong"}));
    app.delete(&path, &too_long)
        .await
        .assert_bad_request(json!({"X-User-ID": "tooLong"}));
    // The refused cancel changed nothing.
    let read = app.get(&path, &longest).await;
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(read.body["status"], "UPCOMING");

    // 256 is fine, and is recorded as who cancelled.
    let res = app.delete(&path, &longest).await;
    assert_eq!(res.status, 204, "{}", res.text);
    let who = app.sql_text(&format!(
        "SELECT cancelled_by AS value FROM guest_passes WHERE id = '{}'",
        pass["guestPassId"].as_str().unwrap_or_default()
    ));
    assert_eq!(who, Some("u".repeat(256)));
}

async fn secrets_and_their_hashes_never_appear_in_any_response(backend: Backend) {
    let app = spawn_with_levels(backend, "client,chain,location").await;
    let wrong = "wrong-secret-never-echoed-42";
    let mut forbidden: Vec<String> = [
        CLIENT_SECRET,
        CLIENT_2_SECRET,
        CHAIN_A_SECRET,
        CHAIN_B_SECRET,
        LOC_A1_SECRET,
        LOC_A2_SECRET,
        wrong,
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    for (table, id) in [
        ("clients", CLIENT),
        ("chains", CHAIN_A),
        ("locations", LOC_A1),
    ] {
        for column in ["secret_hash", "secret_salt"] {
            let value = app.sql_text(&format!(
                "SELECT {column} AS value FROM {table} WHERE id = '{id}'"
            ));
            let value = value.unwrap_or_default();
            assert!(value.len() >= 8, "{table}.{column} = {value:?}");
            forbidden.push(value);
        }
    }

    let good = all_levels();
    let mut responses = Vec::new();
    let created = app.create(&good, &pass_body(LOC_A1, &unique_email())).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let path = format!("/guest-passes/{}", created.id());
    responses.push(created);
    responses.push(app.get(&path, &good).await);
    responses.push(app.get("/guest-passes", &good).await);
    responses.push(app.get(&format!("{path}/checkins"), &good).await);
    responses.push(app.checkin(&good, "K7QX9MPT2A", LOC_A1).await);
    responses.push(app.delete(&path, &good).await);
    responses.push(app.create(&good, &json!({})).await);
    responses.push(
        app.get(&format!("/guest-passes/{}", uuid::Uuid::new_v4()), &good)
            .await,
    );
    for header in [
        "X-Client-Secret",
        "X-Chain-Secret",
        "X-Location-Secret",
        "X-Client-ID",
        "X-Chain-ID",
        "X-Location-ID",
    ] {
        let creds = good.clone().without(header).with(header, wrong);
        let res = probe(&app, &creds).await;
        assert_eq!(res.status, 401, "{}", res.text);
        responses.push(res);
        let res = probe(&app, &good.clone().without(header)).await;
        responses.push(res);
    }
    let long = format!("{CHAIN_A_SECRET}{}", "s".repeat(2000));
    responses.push(
        probe(
            &app,
            &good
                .clone()
                .without("X-Chain-Secret")
                .with("X-Chain-Secret", &long),
        )
        .await,
    );
    responses.push(
        app.raw(
            Method::PUT,
            &app.url("/guest-passes"),
            &good,
            Some(("application/json", b"{}".to_vec())),
        )
        .await,
    );
    responses.push(app.get("/no-such-endpoint", &good).await);

    for res in &responses {
        for secret in &forbidden {
            assert!(
                !res.text.contains(secret.as_str()),
                "{secret} in body {}",
                res.text
            );
            for (name, value) in &res.headers {
                let value = String::from_utf8_lossy(value.as_bytes());
                assert!(!value.contains(secret.as_str()), "{secret} in {name}");
            }
        }
    }
}

async fn a_pass_of_another_chain_is_answered_exactly_like_a_missing_pass(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.create_ok(LOC_A1, &unique_email()).await["guestPassId"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let unknown = uuid::Uuid::new_v4().to_string();
    for suffix in ["", "/checkins"] {
        let theirs = app
            .get(&format!("/guest-passes/{id}{suffix}"), &Creds::chain_b())
            .await;
        theirs.assert_entity_not_found("guestPassId");
        let none = app
            .get(
                &format!("/guest-passes/{unknown}{suffix}"),
                &Creds::chain_b(),
            )
            .await;
        none.assert_entity_not_found("guestPassId");
        assert_eq!(
            theirs.text.replace(&id, "<id>"),
            none.text.replace(&unknown, "<id>")
        );
    }
    let res = app
        .delete(&format!("/guest-passes/{id}"), &Creds::chain_b())
        .await;
    res.assert_entity_not_found("guestPassId");
    // The owner still sees it, unchanged.
    let read = app
        .get(&format!("/guest-passes/{id}"), &Creds::chain_a())
        .await;
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(read.body["status"], "UPCOMING");
    assert!(read.body.get("cancelledAt").is_none());
}

async fn a_location_level_caller_sees_only_its_own_location(backend: Backend) {
    for levels in ["location", "chain,location"] {
        let app = spawn_with_levels(backend, levels).await;
        let chain = if levels == "location" {
            Creds::none()
        } else {
            Creds::chain_a()
        };
        let a1 = chain.clone().and(Creds::location(LOC_A1, LOC_A1_SECRET));
        let a2 = chain.clone().and(Creds::location(LOC_A2, LOC_A2_SECRET));
        let created = app.create(&a1, &pass_body(LOC_A1, &unique_email())).await;
        assert_eq!(created.status, 201, "{}", created.text);
        let path = format!("/guest-passes/{}", created.id());

        let own = app.get(&path, &a1).await;
        assert_eq!(own.status, 200, "{}", own.text);
        assert_eq!(own.body, created.body);

        app.get(&path, &a2)
            .await
            .assert_entity_not_found("guestPassId");
        app.get(&format!("{path}/checkins"), &a2)
            .await
            .assert_entity_not_found("guestPassId");
        app.delete(&path, &a2)
            .await
            .assert_entity_not_found("guestPassId");
        let own = app.get(&path, &a1).await;
        assert_eq!(own.body["status"], "UPCOMING", "{levels}: {}", own.text);
    }
}

async fn a_client_level_caller_sees_the_passes_of_every_chain(backend: Backend) {
    let app = spawn_with_levels(backend, "client").await;
    let mut paths = Vec::new();
    for location in [LOC_A1, LOC_A2, LOC_B1] {
        let res = app
            .create(&Creds::client(), &pass_body(location, &unique_email()))
            .await;
        assert_eq!(res.status, 201, "{location}: {}", res.text);
        paths.push((format!("/guest-passes/{}", res.id()), res.body));
    }
    // Either client of the deployment, with or without its ID.
    let other = Creds::none().with("X-Client-Secret", CLIENT_2_SECRET);
    for creds in [Creds::client(), other] {
        for (path, body) in &paths {
            let res = app.get(path, &creds).await;
            assert_eq!(res.status, 200, "{path}: {}", res.text);
            assert_eq!(&res.body, body);
        }
    }
}

async fn a_rotated_secret_takes_effect_at_once(backend: Backend) {
    let app = spawn_app(backend).await;
    assert_ok(&probe(&app, &Creds::chain_a()).await, "before rotation");
    let new_secret = guestpass::admin::rotate_secret(
        app.store(),
        PrincipalKind::Chain,
        CHAIN_A,
        Some("1qsBX7Qm5S5vwD2F3bezGIiFUzW1Yi7NwoOhNzBo".into()),
    )
    .await
    .expect("rotate");
    assert_eq!(new_secret, "1qsBX7Qm5S5vwD2F3bezGIiFUzW1Yi7NwoOhNzBo");

    probe(&app, &Creds::chain_a())
        .await
        .assert_unauthorized("chain", "X-Chain-Secret");
    let rotated = Creds::none()
        .with("X-Chain-ID", CHAIN_A)
        .with("X-Chain-Secret", "1qsBX7Qm5S5vwD2F3bezGIiFUzW1Yi7NwoOhNzBo");
    assert_ok(&probe(&app, &rotated).await, "after rotation");
    // Other chains are not affected.
    assert_ok(&probe(&app, &Creds::chain_b()).await, "chain B");
}

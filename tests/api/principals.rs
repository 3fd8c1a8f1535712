//! Contract section 1, the principals themselves: demo principals
//! authenticate only in demo mode, a disabled principal (or a location of a
//! disabled chain) is answered like an unknown one, and removing a chain or
//! location takes its passes along only when asked to.

use std::sync::Arc;

use guestpass::admin::{self, AdminError, ListFormat};
use guestpass::domain::PrincipalKind;
use serde_json::{json, Value};

use crate::common::*;
use crate::on_both_backends;

on_both_backends!(
    demo_principals_are_401_like_unknown_ids_unless_the_server_is_in_demo_mode,
    a_demo_location_is_404_location_id_unless_the_server_is_in_demo_mode,
    a_disabled_principal_is_401_like_an_unknown_id_until_enabled_again,
    the_locations_of_a_disabled_chain_are_disabled_too,
    a_disabled_location_is_404_location_id_for_create_and_checkin,
    removing_a_location_with_passes_needs_with_passes_and_then_takes_them_along,
    removing_a_chain_takes_its_locations_and_with_passes_its_passes,
    removing_a_client_or_an_unknown_principal,
    the_list_shows_every_principal_and_its_flags_but_never_a_secret,
);

fn demo_creds(level: &str) -> Creds {
    match level {
        "client" => Creds::none()
            .with("X-Client-ID", admin::DEMO_CLIENT_ID)
            .with("X-Client-Secret", admin::DEMO_CLIENT_SECRET),
        "chain" => Creds::none()
            .with("X-Chain-ID", admin::DEMO_CHAIN_ID)
            .with("X-Chain-Secret", admin::DEMO_CHAIN_SECRET),
        _ => Creds::location(admin::DEMO_LOCATION_ID, admin::DEMO_LOCATION_SECRET),
    }
}

/// A server on `db` with these levels, in demo mode or not.
async fn serve_levels(db: &Arc<TestDatabase>, levels: &str, demo: bool) -> TestApp {
    let levels: guestpass::auth::AuthLevels = levels.parse().expect("levels");
    serve(db.clone(), move |c| {
        c.auth_levels = levels;
        c.demo = demo;
    })
    .await
}

async fn demo_principals_are_401_like_unknown_ids_unless_the_server_is_in_demo_mode(
    backend: Backend,
) {
    let db = Arc::new(TestDatabase::new(backend));
    let first = serve_levels(&db, "chain", false).await;
    admin::ensure_demo(first.store()).await.expect("demo");
    for (level, id_header) in [
        ("client", "X-Client-ID"),
        ("chain", "X-Chain-ID"),
        ("location", "X-Location-ID"),
    ] {
        let plain = serve_levels(&db, level, false).await;
        let res = plain.get("/guest-passes", &demo_creds(level)).await;
        res.assert_unauthorized(level, id_header);
        let unknown = plain
            .get(
                "/guest-passes",
                &demo_creds(level)
                    .without(id_header)
                    .with(id_header, "no-such-id"),
            )
            .await;
        assert_eq!(
            (res.status, &res.body),
            (unknown.status, &unknown.body),
            "{level}: like an unknown id"
        );

        let demo = serve_levels(&db, level, true).await;
        let res = demo.get("/guest-passes", &demo_creds(level)).await;
        assert_eq!(res.status, 200, "{level} in demo mode: {}", res.text);
    }
    // The client secret alone, without its id, is not recognised either.
    let alone = Creds::none().with("X-Client-Secret", admin::DEMO_CLIENT_SECRET);
    serve_levels(&db, "client", false)
        .await
        .get("/guest-passes", &alone)
        .await
        .assert_unauthorized("client", "X-Client-Secret");
    let res = serve_levels(&db, "client", true)
        .await
        .get("/guest-passes", &alone)
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
}

async fn a_demo_location_is_404_location_id_unless_the_server_is_in_demo_mode(backend: Backend) {
    let db = Arc::new(TestDatabase::new(backend));
    let first = serve_levels(&db, "client", false).await;
    provision(first.store()).await;
    admin::ensure_demo(first.store()).await.expect("demo");
    // A real client sees the whole deployment, but not the demo's location.
    let body = pass_body(admin::DEMO_LOCATION_ID, &unique_email());
    first
        .create(&Creds::client(), &body)
        .await
        .assert_entity_not_found("locationId");
    let demo = serve_levels(&db, "client", true).await;
    let res = demo.create(&Creds::client(), &body).await;
    assert_eq!(res.status, 201, "{}", res.text);
}

/// Each level alone, the fixture principal that authenticates it, and the
/// header an unknown one is named by.
fn levels_and_principals() -> Vec<(
    &'static str,
    PrincipalKind,
    &'static str,
    Creds,
    &'static str,
)> {
    vec![
        (
            "client",
            PrincipalKind::Client,
            CLIENT,
            Creds::client(),
            "X-Client-ID",
        ),
        (
            "client",
            PrincipalKind::Client,
            CLIENT,
            Creds::client().without("X-Client-ID"),
            "X-Client-Secret",
        ),
        (
            "chain",
            PrincipalKind::Chain,
            CHAIN_A,
            Creds::chain_a(),
            "X-Chain-ID",
        ),
        (
            "location",
            PrincipalKind::Location,
            LOC_A1,
            Creds::location(LOC_A1, LOC_A1_SECRET),
            "X-Location-ID",
        ),
    ]
}

async fn a_disabled_principal_is_401_like_an_unknown_id_until_enabled_again(backend: Backend) {
    let db = Arc::new(TestDatabase::new(backend));
    let app = serve_levels(&db, "chain", false).await;
    provision(app.store()).await;
    for (level, kind, id, creds, header) in levels_and_principals() {
        let server = serve_levels(&db, level, false).await;
        assert_eq!(server.get("/guest-passes", &creds).await.status, 200);
        let said = admin::set_disabled(server.store(), kind, id, true)
            .await
            .expect("disable");
        assert!(said.contains("disabled"), "{said}");
        server
            .get("/guest-passes", &creds)
            .await
            .assert_unauthorized(level, header);
        let said = admin::set_disabled(server.store(), kind, id, false)
            .await
            .expect("enable");
        assert!(said.contains("enabled"), "{said}");
        let res = server.get("/guest-passes", &creds).await;
        assert_eq!(res.status, 200, "{level} enabled again: {}", res.text);
    }
    // Disabling twice keeps the first time; an unknown id is an error.
    admin::set_disabled(app.store(), PrincipalKind::Chain, CHAIN_B, true)
        .await
        .expect("disable");
    let first =
        app.sql_text("SELECT CAST(disabled_at AS TEXT) AS value FROM chains WHERE id = 'chain-b'");
    let again = admin::set_disabled(app.store(), PrincipalKind::Chain, CHAIN_B, true)
        .await
        .expect("disable again");
    assert!(again.contains("already"), "{again}");
    let second =
        app.sql_text("SELECT CAST(disabled_at AS TEXT) AS value FROM chains WHERE id = 'chain-b'");
    assert!(first.is_some());
    assert_eq!(first, second);
    let unknown = admin::set_disabled(app.store(), PrincipalKind::Location, "nowhere", true).await;
    assert!(
        matches!(unknown, Err(AdminError::Missing { .. })),
        "{unknown:?}"
    );
}

async fn the_locations_of_a_disabled_chain_are_disabled_too(backend: Backend) {
    let app = spawn_with_levels(backend, "location").await;
    let a1 = Creds::location(LOC_A1, LOC_A1_SECRET);
    let b1 = Creds::location(LOC_B1, LOC_B1_SECRET);
    admin::set_disabled(app.store(), PrincipalKind::Chain, CHAIN_A, true)
        .await
        .expect("disable");
    app.get("/guest-passes", &a1)
        .await
        .assert_unauthorized("location", "X-Location-ID");
    assert_eq!(app.get("/guest-passes", &b1).await.status, 200);
    admin::set_disabled(app.store(), PrincipalKind::Chain, CHAIN_A, false)
        .await
        .expect("enable");
    assert_eq!(app.get("/guest-passes", &a1).await.status, 200);
}

/// A pass valid from an hour ago for a week at `location`, by chain A.
async fn create_active(app: &TestApp, location: &str) -> Value {
    let mut body = pass_body_at(location, &unique_email(), 0, 7);
    body["validFrom"] = json!(now_plus(-3600));
    let res = app.create(&Creds::chain_a(), &body).await;
    assert_eq!(res.status, 201, "{}", res.text);
    res.body
}

async fn a_disabled_location_is_404_location_id_for_create_and_checkin(backend: Backend) {
    let app = spawn_app(backend).await;
    let pass = create_active(&app, LOC_A2).await;
    let code = pass["checkinCode"].as_str().unwrap_or_default();
    admin::set_disabled(app.store(), PrincipalKind::Location, LOC_A2, true)
        .await
        .expect("disable");
    app.create(&Creds::chain_a(), &pass_body(LOC_A2, &unique_email()))
        .await
        .assert_entity_not_found("locationId");
    app.checkin(&Creds::chain_a(), code, LOC_A2)
        .await
        .assert_entity_not_found("locationId");
    // Its passes are still there to read.
    let id = pass["guestPassId"].as_str().unwrap_or_default();
    let res = app
        .get(&format!("/guest-passes/{id}"), &Creds::chain_a())
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    admin::set_disabled(app.store(), PrincipalKind::Location, LOC_A2, false)
        .await
        .expect("enable");
    let res = app.checkin(&Creds::chain_a(), code, LOC_A2).await;
    assert_eq!(res.status, 201, "{}", res.text);
}

fn count(app: &TestApp, query: &str) -> i64 {
    app.db
        .sql_count(&format!("SELECT CAST(({query}) AS TEXT) AS value"))
}

async fn removing_a_location_with_passes_needs_with_passes_and_then_takes_them_along(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let pass = create_active(&app, LOC_A2).await;
    let code = pass["checkinCode"].as_str().unwrap_or_default();
    let res = app.checkin(&Creds::chain_a(), code, LOC_A2).await;
    assert_eq!(res.status, 201, "{}", res.text);
    let kept = create_active(&app, LOC_A1).await;

    let refused = admin::remove(app.store(), PrincipalKind::Location, LOC_A2, false).await;
    match refused {
        Err(e @ AdminError::HasPasses { passes: 1, .. }) => {
            assert!(e.to_string().contains("--with-passes"), "{e}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM locations WHERE id = 'a-2'"),
        1
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM guest_passes"), 2);

    let said = admin::remove(app.store(), PrincipalKind::Location, LOC_A2, true)
        .await
        .expect("remove");
    assert_eq!(said, "removed location 'a-2' with 1 guest pass, 1 check-in");
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM locations WHERE id = 'a-2'"),
        0
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM checkins"), 0);
    let id = pass["guestPassId"].as_str().unwrap_or_default();
    assert_eq!(
        app.get(&format!("/guest-passes/{id}"), &Creds::chain_a())
            .await
            .status,
        404
    );
    let kept = kept["guestPassId"].as_str().unwrap_or_default();
    assert_eq!(
        app.get(&format!("/guest-passes/{kept}"), &Creds::chain_a())
            .await
            .status,
        200
    );
    app.create(&Creds::chain_a(), &pass_body(LOC_A2, &unique_email()))
        .await
        .assert_entity_not_found("locationId");
    // A location without passes goes without asking.
    let said = admin::remove(app.store(), PrincipalKind::Location, LOC_B1, false)
        .await
        .expect("remove");
    assert_eq!(
        said,
        "removed location 'b-1' with 0 guest passes, 0 check-ins"
    );
}

async fn removing_a_chain_takes_its_locations_and_with_passes_its_passes(backend: Backend) {
    let app = spawn_app(backend).await;
    let res = app
        .create(&Creds::chain_b(), &pass_body(LOC_B1, &unique_email()))
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
    let of_a = app.create_ok(LOC_A1, &unique_email()).await;

    let refused = admin::remove(app.store(), PrincipalKind::Chain, CHAIN_B, false).await;
    assert!(
        matches!(refused, Err(AdminError::HasPasses { passes: 1, .. })),
        "{refused:?}"
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM chains"), 2);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM locations"), 3);

    let said = admin::remove(app.store(), PrincipalKind::Chain, CHAIN_B, true)
        .await
        .expect("remove");
    assert_eq!(
        said,
        "removed chain 'chain-b' with 1 location, 1 guest pass, 0 check-ins"
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM chains"), 1);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM locations WHERE chain_id = 'chain-b'"
        ),
        0
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM guest_passes"), 1);
    app.get("/guest-passes", &Creds::chain_b())
        .await
        .assert_unauthorized("chain", "X-Chain-ID");
    let id = of_a["guestPassId"].as_str().unwrap_or_default();
    assert_eq!(
        app.get(&format!("/guest-passes/{id}"), &Creds::chain_a())
            .await
            .status,
        200
    );
}

async fn removing_a_client_or_an_unknown_principal(backend: Backend) {
    let app = spawn_with_levels(backend, "client").await;
    let said = admin::remove(app.store(), PrincipalKind::Client, CLIENT_2, false)
        .await
        .expect("remove");
    assert_eq!(said, "removed client 'partner-2'");
    let creds = Creds::none()
        .with("X-Client-ID", CLIENT_2)
        .with("X-Client-Secret", CLIENT_2_SECRET);
    app.get("/guest-passes", &creds)
        .await
        .assert_unauthorized("client", "X-Client-ID");
    assert_eq!(app.get("/guest-passes", &Creds::client()).await.status, 200);
    for kind in [
        PrincipalKind::Chain,
        PrincipalKind::Location,
        PrincipalKind::Client,
    ] {
        let gone = admin::remove(app.store(), kind, "nobody", true).await;
        assert!(matches!(gone, Err(AdminError::Missing { .. })), "{gone:?}");
    }
}

async fn the_list_shows_every_principal_and_its_flags_but_never_a_secret(backend: Backend) {
    let app = spawn_app(backend).await;
    admin::ensure_demo(app.store()).await.expect("demo");
    admin::set_disabled(app.store(), PrincipalKind::Location, LOC_A2, true)
        .await
        .expect("disable");
    let json = admin::list(app.store(), ListFormat::Json)
        .await
        .expect("list");
    let table = admin::list(app.store(), ListFormat::Table)
        .await
        .expect("list");
    let list: Value = serde_json::from_str(&json).expect("json");
    let ids = |kind: &str| -> Vec<String> {
        list[kind]
            .as_array()
            .map(|rows| {
                rows.iter()
                    .map(|r| r["id"].as_str().unwrap_or_default().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(
        ids("chains"),
        ["chain-a", "chain-b", "demo-chain", "demo-chain-2"]
    );
    assert_eq!(
        ids("locations"),
        [
            "a-1",
            "a-2",
            "b-1",
            "demo-chain-2-gym",
            "demo-gym",
            "demo-gym-2"
        ]
    );
    assert_eq!(ids("clients"), ["demo-client", "partner", "partner-2"]);
    let a2 = &list["locations"][1];
    assert_eq!(a2["chainId"], "chain-a");
    assert_eq!(a2["disabled"], true);
    assert!(is_strict_date(&a2["disabledAt"]), "{a2}");
    assert!(is_strict_date(&a2["createdAt"]), "{a2}");
    assert_eq!(a2["demo"], false);
    assert_eq!(list["locations"][3]["demo"], true);
    assert_eq!(list["locations"][0]["disabled"], false);
    assert_eq!(list["chains"][2]["name"], "Demo chain");

    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 1 + 4 + 6 + 3, "{table}");
    assert!(lines[0].starts_with("KIND"), "{table}");
    let row = |id: &str| {
        lines
            .iter()
            .find(|l| l.split_whitespace().nth(1) == Some(id))
            .copied()
            .unwrap_or_default()
    };
    assert!(row("a-2").contains("disabled since"), "{table}");
    assert!(row("demo-gym").ends_with("demo"), "{table}");
    assert!(row("a-1").ends_with("active"), "{table}");

    for secret in [
        CHAIN_A_SECRET,
        CHAIN_B_SECRET,
        LOC_A1_SECRET,
        LOC_A2_SECRET,
        LOC_B1_SECRET,
        CLIENT_SECRET,
        CLIENT_2_SECRET,
        admin::DEMO_CHAIN_SECRET,
    ] {
        assert!(!json.contains(secret) && !table.contains(secret));
    }
    for column in ["secret_salt", "secret_hash"] {
        for table_name in ["chains", "locations", "clients"] {
            let stored = app
                .sql_text(&format!(
                    "SELECT {column} AS value FROM {table_name} ORDER BY id LIMIT 1"
                ))
                .unwrap_or_default();
            assert!(!stored.is_empty());
            assert!(!json.contains(&stored) && !table.contains(&stored));
        }
    }
}

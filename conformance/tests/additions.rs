//! The checks of the contract's 2026-11-29 additions, against a small fake
//! server written from the contract (`fake/`): they pass where the fake
//! keeps the rules, and each one fails where the fake breaks its rule.

mod fake;

use fake::Faults;
use guestpass_conformance::{execute, ConformanceArgs, Report};

/// The checks this file is about (ids containing any of these).
const ADDITIONS: &str = "search.offset-capped,service.livez,service.readyz,limits.,headers.,idempotency.,auth.demo-principals,envelopes.rate-limited-429,envelopes.only-listed-422s";

async fn run(base_url: &str, only: &str) -> Report {
    let args = ConformanceArgs::parse_from([
        "--base-url",
        base_url,
        "--chain-id",
        fake::CHAIN_A,
        "--chain-secret",
        fake::CHAIN_A_SECRET,
        "--location-id",
        fake::LOC_A1,
        "--second-location-id",
        fake::LOC_A2,
        "--other-chain-id",
        fake::CHAIN_B,
        "--other-chain-secret",
        fake::CHAIN_B_SECRET,
        "--other-chain-location-id",
        fake::LOC_B1,
        "--idempotency",
        "on",
        "--max-rps",
        "0",
        "--only",
        only,
    ])
    .expect("kit options");
    execute(args).await.expect("the kit runs")
}

fn outcome(report: &Report, id: &str) -> String {
    match report.get(id) {
        None => "absent".into(),
        Some(r) => format!("{:?}", r.outcome)
            .split('(')
            .next()
            .unwrap_or_default()
            .to_owned(),
    }
}

#[actix_web::test]
async fn the_additions_pass_against_a_server_that_keeps_them() {
    let base = fake::spawn(Faults::default());
    let report = run(&base, ADDITIONS).await;
    assert_eq!(report.failed(), 0, "{}", report.text());
    for id in [
        "search.offset-capped-at-10000",
        "service.livez",
        "service.readyz",
        "limits.failed-auth-throttled-429",
        "limits.burst-queued-not-refused",
        "limits.unknown-id-costs-no-more",
        "headers.request-id-echoed-when-well-formed",
        "headers.request-id-replaced-otherwise",
        "headers.cache-control-no-store",
        "headers.no-store-on-every-response",
        "idempotency.create-replayed",
        "idempotency.checkin-replayed",
        "idempotency.422-stored-and-replayed",
        "idempotency.key-reused-with-another-body-is-422",
        "idempotency.malformed-key-is-400",
        "idempotency.errors-not-stored",
        "idempotency.scoped-to-principal-and-operation",
        "idempotency.concurrent-repeat-replays",
        "auth.demo-principals-refused-outside-demo",
        // The failed-login throttle's 429 is one the run met: its envelope is checked.
        "envelopes.rate-limited-429",
        // idempotencyKeyReused is a listed 422 of both operations.
        "envelopes.only-listed-422s",
    ] {
        assert_eq!(outcome(&report, id), "Passed", "{id}: {}", report.text());
    }
}

#[actix_web::test]
async fn each_broken_rule_fails_its_check() {
    let cases: [(Faults, &str, &[&str]); 5] = [
        (
            Faults {
                no_replay_header: true,
                ..Faults::default()
            },
            "idempotency.",
            &[
                "idempotency.create-replayed",
                "idempotency.checkin-replayed",
                "idempotency.422-stored-and-replayed",
                "idempotency.concurrent-repeat-replays",
            ],
        ),
        (
            Faults {
                echo_any_request_id: true,
                ..Faults::default()
            },
            "headers.request-id",
            &["headers.request-id-replaced-otherwise"],
        ),
        (
            Faults {
                no_throttle: true,
                ..Faults::default()
            },
            "limits.failed-auth",
            &["limits.failed-auth-throttled-429"],
        ),
        (
            Faults {
                no_store_only_on_success: true,
                ..Faults::default()
            },
            "headers.cache-control,headers.no-store,auth.unknown-id",
            &[
                "headers.cache-control-no-store",
                "headers.no-store-on-every-response",
            ],
        ),
        (
            Faults {
                no_offset_cap: true,
                ..Faults::default()
            },
            "search.offset-capped",
            &["search.offset-capped-at-10000"],
        ),
    ];
    for (faults, only, failing) in cases {
        let base = fake::spawn(faults);
        let report = run(&base, only).await;
        for id in failing {
            assert_eq!(
                outcome(&report, id),
                "Failed",
                "{id} with {faults:?}: {}",
                report.text()
            );
        }
        assert_eq!(
            report.failed(),
            failing.len(),
            "{faults:?}: {}",
            report.text()
        );
    }
}

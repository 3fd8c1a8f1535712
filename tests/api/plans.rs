//! The searches a front desk runs all day use indexes on both backends: by
//! location + email, and by check-in code, never a scan of the whole table.

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl, SqliteConnection};

use crate::common::*;
use crate::on_both_backends;

on_both_backends!(searches_by_location_and_email_or_by_code_use_an_index);

#[derive(QueryableByName)]
struct SqlitePlan {
    #[diesel(sql_type = diesel::sql_types::Text)]
    detail: String,
}

#[derive(QueryableByName)]
struct PgPlan {
    #[diesel(sql_type = diesel::sql_types::Text)]
    #[diesel(column_name = "QUERY PLAN")]
    line: String,
}

/// The statements `search`, the 422 check and check-in run, with a chain scope.
const QUERIES: [(&str, &str); 4] = [
    (
        "count by location + email",
        "SELECT COUNT(*) FROM guest_passes WHERE chain_id = 'chain-a' AND location_id = 'a-1' \
         AND email_key = 'seed-42@example.invalid'",
    ),
    (
        "page by location + email",
        "SELECT * FROM guest_passes WHERE chain_id = 'chain-a' AND location_id = 'a-1' \
         AND email_key = 'seed-42@example.invalid' ORDER BY created_at DESC, id ASC LIMIT 20",
    ),
    (
        "overlap check",
        "SELECT EXISTS (SELECT 1 FROM guest_passes WHERE location_id = 'a-1' \
         AND email_key = 'seed-42@example.invalid' AND cancelled_at IS NULL \
         AND valid_from < 200 AND valid_until > 100)",
    ),
    (
        "by check-in code",
        "SELECT * FROM guest_passes WHERE chain_id = 'chain-a' AND checkin_code = 'K7QX9MPT2A' LIMIT 1",
    ),
];

async fn searches_by_location_and_email_or_by_code_use_an_index(backend: Backend) {
    let app = spawn_app(backend).await;
    // Realistic statistics: a few thousand passes, then ANALYZE (seed does both).
    guestpass::admin::seed(app.store(), LOC_A1, 3000)
        .await
        .expect("seed");
    for (what, query) in QUERIES {
        let plan = match backend {
            Backend::Sqlite => {
                let mut conn = SqliteConnection::establish(&app.database_url).expect("connect");
                let rows: Vec<SqlitePlan> =
                    diesel::sql_query(format!("EXPLAIN QUERY PLAN {query}"))
                        .load(&mut conn)
                        .expect("explain");
                rows.into_iter()
                    .map(|r| r.detail)
                    .collect::<Vec<_>>()
                    .join("\n")
            }
            Backend::Postgres => {
                let mut conn = PgConnection::establish(&app.database_url).expect("connect");
                // A near-empty table is cheapest to scan; forbid that to see
                // whether an index can serve the predicate at all.
                conn.batch_execute("SET enable_seqscan = off").expect("set");
                let rows: Vec<PgPlan> = diesel::sql_query(format!("EXPLAIN {query}"))
                    .load(&mut conn)
                    .expect("explain");
                rows.into_iter()
                    .map(|r| r.line)
                    .collect::<Vec<_>>()
                    .join("\n")
            }
        };
        // PostgreSQL may serve the overlap check from the exclusion
        // constraint's GiST index, also keyed by location + email.
        let indexes: &[&str] = match what {
            "by check-in code" => &["guest_passes_checkin_code"],
            "overlap check" => &["guest_passes_location_email", "guest_passes_no_overlap"],
            _ => &["guest_passes_location_email"],
        };
        assert!(
            indexes.iter().any(|index| plan.contains(index)),
            "{what} uses none of {indexes:?}:\n{plan}"
        );
        assert!(
            !plan.contains("SCAN guest_passes\n") && !plan.ends_with("SCAN guest_passes"),
            "{what}:\n{plan}"
        );
        assert!(!plan.contains("Seq Scan"), "{what}:\n{plan}");
    }
}

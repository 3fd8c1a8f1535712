//! `/metrics` in the Prometheus text format: requests by operation and
//! status, a latency histogram by operation, pool and rate-limit gauges.
//! Operations are the contract's operationIds (from the route table), never
//! raw paths, so ids in URLs cannot explode the label set.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// One name on both stores: the writes waiting to go to the database.
const WRITER_QUEUE: &str =
    "Writes waiting for the database writer (SQLite's single writer, or PostgreSQL's batching writer).";

/// Upper bounds in seconds.
const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

#[derive(Default)]
struct Counters {
    requests: BTreeMap<(&'static str, u16), u64>,
    latency: BTreeMap<&'static str, Histogram>,
}

impl Counters {
    fn add(&mut self, other: &Counters) {
        for (key, n) in &other.requests {
            *self.requests.entry(*key).or_default() += n;
        }
        for (op, h) in &other.latency {
            let mine = self.latency.entry(op).or_default();
            for (a, b) in mine.counts.iter_mut().zip(h.counts) {
                *a += b;
            }
            mine.sum += h.sum;
            mine.count += h.count;
        }
    }
}

/// Counters are sharded so that workers recording at once do not queue on
/// one lock: each thread records into its own shard (threads are dealt
/// shards in turn), and a scrape adds the shards up.
const SHARDS: usize = 16;

static NEXT_SHARD: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static SHARD: usize = NEXT_SHARD.fetch_add(1, Ordering::Relaxed) % SHARDS;
}

/// One shard per cache line pair, so two workers' shards never share one.
#[derive(Default)]
#[repr(align(128))]
struct Shard(Mutex<Counters>);

#[derive(Default)]
pub struct Metrics {
    shards: [Shard; SHARDS],
    /// Answers sent again for a known `Idempotency-Key`.
    pub idempotent_replays: std::sync::atomic::AtomicU64,
    /// Idempotency keys stored, as last counted by the housekeeping task.
    pub idempotency_keys: std::sync::atomic::AtomicI64,
}

/// Gauges read at scrape time.
#[derive(Default)]
pub struct Gauges {
    pub pool_in_use: u32,
    pub pool_idle: u32,
    pub rate_limit_buckets: usize,
    pub rate_limit_rejections: usize,
    /// Requests refused with 429 because their principal's share of the
    /// database stayed taken for the whole pool timeout.
    pub share_refusals: u64,
    pub db_retries: u64,
    pub db_stalls: u64,
    /// SQLite's writer: (panics, connection restarts, queued writes).
    pub writer: Option<(u64, u64, usize)>,
    /// PostgreSQL's batching writer: (batches that panicked, batches run
    /// again one write at a time, queued writes).
    pub batcher: Option<(u64, u64, usize)>,
    /// The batching reader: batches of reads by id that panicked.
    pub read_panics: u64,
    /// (client address, presented ID) pairs the failure throttle holds.
    pub auth_throttle_pairs: usize,
    /// Requests refused 429 for too many failed authentications.
    pub auth_throttle_refusals: u64,
    /// IDs remembered as unknown.
    pub negative_cache_entries: usize,
    /// Log lines dropped because the log queue was full.
    pub log_lines_dropped: u64,
}

impl Metrics {
    pub fn record(&self, operation: &'static str, status: u16, seconds: f64) {
        let shard = SHARD.with(|i| *i);
        let Ok(mut c) = self.shards[shard].0.lock() else {
            return;
        };
        *c.requests.entry((operation, status)).or_default() += 1;
        let h = c.latency.entry(operation).or_default();
        if let Some(i) = BUCKETS.iter().position(|le| seconds <= *le) {
            h.counts[i] += 1;
        }
        h.sum += seconds;
        h.count += 1;
    }

    pub fn render(&self, gauges: &Gauges) -> String {
        let mut total = Counters::default();
        for shard in &self.shards {
            if let Ok(c) = shard.0.lock() {
                total.add(&c);
            }
        }
        let Counters { requests, latency } = total;
        let mut out = String::with_capacity(4096);
        out.push_str("# HELP guestpass_requests_total HTTP requests by operation and status.\n");
        out.push_str("# TYPE guestpass_requests_total counter\n");
        for ((op, status), n) in &requests {
            let _ = writeln!(
                out,
                "guestpass_requests_total{{operation=\"{op}\",status=\"{status}\"}} {n}"
            );
        }
        out.push_str("# HELP guestpass_request_duration_seconds Request latency by operation.\n");
        out.push_str("# TYPE guestpass_request_duration_seconds histogram\n");
        for (op, h) in &latency {
            let mut cumulative = 0;
            for (le, n) in BUCKETS.iter().zip(h.counts) {
                cumulative += n;
                let _ = writeln!(
                    out,
                    "guestpass_request_duration_seconds_bucket{{operation=\"{op}\",le=\"{le}\"}} {cumulative}"
                );
            }
            let _ = writeln!(
                out,
                "guestpass_request_duration_seconds_bucket{{operation=\"{op}\",le=\"+Inf\"}} {}\n\
                 guestpass_request_duration_seconds_sum{{operation=\"{op}\"}} {}\n\
                 guestpass_request_duration_seconds_count{{operation=\"{op}\"}} {}",
                h.count, h.sum, h.count
            );
        }
        let gauge = |out: &mut String, name: &str, help: &str, kind: &str, value: String| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        };
        gauge(
            &mut out,
            "guestpass_db_pool_connections_in_use",
            "Database connections checked out.",
            "gauge",
            gauges.pool_in_use.to_string(),
        );
        gauge(
            &mut out,
            "guestpass_db_pool_connections_idle",
            "Database connections idle in the pool.",
            "gauge",
            gauges.pool_idle.to_string(),
        );
        gauge(
            &mut out,
            "guestpass_rate_limit_buckets",
            "Token buckets held by the rate limiter.",
            "gauge",
            gauges.rate_limit_buckets.to_string(),
        );
        gauge(
            &mut out,
            "guestpass_rate_limit_rejections_total",
            "Requests refused with 429.",
            "counter",
            gauges.rate_limit_rejections.to_string(),
        );
        gauge(
            &mut out,
            "guestpass_share_refusals_total",
            "Requests refused with 429 after waiting the pool timeout for their principal's share of the database.",
            "counter",
            gauges.share_refusals.to_string(),
        );
        gauge(
            &mut out,
            "guestpass_db_retries_total",
            "Transactions run again after a deadlock or serialization failure.",
            "counter",
            gauges.db_retries.to_string(),
        );
        gauge(
            &mut out,
            "guestpass_db_stalls_total",
            "Operations answered 503 because the database did not answer in time.",
            "counter",
            gauges.db_stalls.to_string(),
        );
        gauge(
            &mut out,
            "guestpass_idempotent_replays_total",
            "Answers sent again for a known Idempotency-Key.",
            "counter",
            self.idempotent_replays.load(Ordering::Relaxed).to_string(),
        );
        gauge(
            &mut out,
            "guestpass_idempotency_keys",
            "Idempotency keys stored (counted by the expiry sweep, about once a minute).",
            "gauge",
            self.idempotency_keys.load(Ordering::Relaxed).to_string(),
        );
        gauge(
            &mut out,
            "guestpass_auth_throttle_pairs",
            "(client address, presented ID) pairs with recent failed authentications.",
            "gauge",
            gauges.auth_throttle_pairs.to_string(),
        );
        gauge(
            &mut out,
            "guestpass_auth_throttle_rejections_total",
            "Requests refused with 429 for too many failed authentications of their pair.",
            "counter",
            gauges.auth_throttle_refusals.to_string(),
        );
        gauge(
            &mut out,
            "guestpass_auth_negative_cache_entries",
            "IDs remembered as unknown (no database read while remembered).",
            "gauge",
            gauges.negative_cache_entries.to_string(),
        );
        gauge(
            &mut out,
            "guestpass_log_lines_dropped_total",
            "Log lines dropped because the log queue was full (standard error not keeping up).",
            "counter",
            gauges.log_lines_dropped.to_string(),
        );
        if let Some((panics, restarts, queued)) = gauges.writer {
            gauge(
                &mut out,
                "guestpass_writer_panics_total",
                "SQLite writes that panicked (answered 500; the writer went on).",
                "counter",
                panics.to_string(),
            );
            gauge(
                &mut out,
                "guestpass_writer_restarts_total",
                "Times the SQLite writer reopened its connection.",
                "counter",
                restarts.to_string(),
            );
            gauge(
                &mut out,
                "guestpass_writer_queue",
                WRITER_QUEUE,
                "gauge",
                queued.to_string(),
            );
        }
        gauge(
            &mut out,
            "guestpass_read_panics_total",
            "Batches of reads by id that panicked (their reads answered 500; the reading thread went on).",
            "counter",
            gauges.read_panics.to_string(),
        );
        if let Some((panics, splits, queued)) = gauges.batcher {
            gauge(
                &mut out,
                "guestpass_batch_panics_total",
                "PostgreSQL batches that panicked (their writes answered 503, nothing committed; the batching writer went on).",
                "counter",
                panics.to_string(),
            );
            gauge(
                &mut out,
                "guestpass_batch_splits_total",
                "PostgreSQL batches that failed as a whole and were run again one write at a time (a check-in code clash, a write past its deadline).",
                "counter",
                splits.to_string(),
            );
            gauge(
                &mut out,
                "guestpass_writer_queue",
                WRITER_QUEUE,
                "gauge",
                queued.to_string(),
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_a_cumulative_histogram() {
        let m = Metrics::default();
        m.record("getGuestPass", 200, 0.002);
        m.record("getGuestPass", 200, 0.2);
        m.record("getGuestPass", 404, 0.0001);
        let text = m.render(&Gauges {
            pool_in_use: 1,
            pool_idle: 3,
            rate_limit_buckets: 0,
            rate_limit_rejections: 0,
            share_refusals: 0,
            db_retries: 0,
            db_stalls: 0,
            writer: None,
            batcher: None,
            read_panics: 0,
            auth_throttle_pairs: 0,
            auth_throttle_refusals: 0,
            negative_cache_entries: 0,
            log_lines_dropped: 7,
        });
        assert!(text
            .contains("guestpass_requests_total{operation=\"getGuestPass\",status=\"200\"} 2\n"));
        assert!(text
            .contains("guestpass_requests_total{operation=\"getGuestPass\",status=\"404\"} 1\n"));
        assert!(text.contains("guestpass_request_duration_seconds_bucket{operation=\"getGuestPass\",le=\"0.0025\"} 2\n"));
        assert!(text.contains(
            "guestpass_request_duration_seconds_bucket{operation=\"getGuestPass\",le=\"+Inf\"} 3\n"
        ));
        assert!(text.contains("guestpass_db_pool_connections_idle 3\n"));
        assert!(text.contains("guestpass_log_lines_dropped_total 7\n"));
    }

    #[test]
    fn adds_up_what_every_thread_recorded() {
        let m = Metrics::default();
        std::thread::scope(|s| {
            for _ in 0..SHARDS + 3 {
                s.spawn(|| {
                    for _ in 0..100 {
                        m.record("createGuestPass", 201, 0.003);
                    }
                });
            }
        });
        let text = m.render(&Gauges::default());
        let n = (SHARDS + 3) * 100;
        assert!(text.contains(&format!(
            "guestpass_requests_total{{operation=\"createGuestPass\",status=\"201\"}} {n}\n"
        )));
        assert!(text.contains(&format!(
            "guestpass_request_duration_seconds_count{{operation=\"createGuestPass\"}} {n}\n"
        )));
    }
}

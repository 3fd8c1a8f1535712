//! Politeness towards the server under test: a request rate it never
//! exceeds (`--max-rps`), and a budget of failed authentications per
//! presented ID per minute (`--auth-failure-budget`) for the IDs the kit was
//! given, so that its deliberate bad-credential probes cannot lock the kit
//! (or anyone else) out of a real chain.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

/// A token bucket: up to one second's worth of requests at once, then
/// `rate` per second. Single-threaded, like the kit's client.
pub struct Pacer {
    interval: Option<Duration>,
    burst: u32,
    /// When the bucket would be full again, in "theoretical arrival time" form.
    next_free: Cell<Option<Instant>>,
    waited: Cell<Duration>,
}

impl Pacer {
    /// `rate` requests per second; 0 turns pacing off.
    pub fn new(rate: u32) -> Self {
        Self {
            interval: (rate > 0).then(|| Duration::from_secs(1) / rate),
            burst: rate.max(1),
            next_free: Cell::new(None),
            waited: Cell::new(Duration::ZERO),
        }
    }

    /// How long the caller must wait before sending one request; reserves its slot.
    pub fn reserve(&self) -> Duration {
        let Some(interval) = self.interval else {
            return Duration::ZERO;
        };
        let now = Instant::now();
        // The bucket holds `burst` tokens: the schedule may run that far ahead of now.
        let ahead = interval * (self.burst - 1);
        let tat = self.next_free.get().unwrap_or(now).max(now);
        let allowed_at = tat.checked_sub(ahead).unwrap_or(now).max(now);
        self.next_free.set(Some(tat + interval));
        let wait = allowed_at.saturating_duration_since(now);
        self.waited.set(self.waited.get() + wait);
        wait
    }

    pub fn waited(&self) -> Duration {
        self.waited.get()
    }
}

/// The headers that carry an ID, lower case.
const ID_HEADERS: [&str; 3] = ["x-client-id", "x-chain-id", "x-location-id"];
const WINDOW: Duration = Duration::from_secs(60);
/// Servers count on their own clock; a little slack keeps the windows apart.
const SLACK: Duration = Duration::from_millis(1500);

/// Failed authentications per presented ID in the last minute.
pub struct AuthBudget {
    budget: usize,
    tracked: HashSet<String>,
    failures: RefCell<HashMap<String, VecDeque<Instant>>>,
    paused: Cell<u32>,
    waited: Cell<Duration>,
}

impl AuthBudget {
    /// `tracked`: the IDs given to the kit (any level). Random throwaway IDs
    /// belong to no one and are not counted.
    pub fn new(budget: u32, tracked: impl IntoIterator<Item = String>) -> Self {
        Self {
            budget: budget.max(1) as usize,
            tracked: tracked.into_iter().collect(),
            failures: RefCell::new(HashMap::new()),
            paused: Cell::new(0),
            waited: Cell::new(Duration::ZERO),
        }
    }

    /// The tracked IDs a request presents (in any of the ID headers; the
    /// client's secret alone presents the empty client ID).
    pub fn presented(&self, headers: &[(String, String)]) -> Vec<String> {
        let mut ids = Vec::new();
        let mut client_id = false;
        let mut client_secret = false;
        for (name, value) in headers {
            let name = name.to_ascii_lowercase();
            if ID_HEADERS.contains(&name.as_str()) {
                client_id |= name == "x-client-id";
                if self.tracked.contains(value) {
                    ids.push(format!("{name}={value}"));
                }
            }
            client_secret |= name == "x-client-secret";
        }
        if client_secret && !client_id {
            ids.push("x-client-id=".to_owned());
        }
        ids
    }

    /// How long to wait before a request presenting `ids` may be sent
    /// without risking more than the budget of failures in a minute.
    pub fn wait_for(&self, ids: &[String]) -> Duration {
        let now = Instant::now();
        let mut failures = self.failures.borrow_mut();
        let mut wait = Duration::ZERO;
        for id in ids {
            let Some(times) = failures.get_mut(id) else {
                continue;
            };
            while times
                .front()
                .is_some_and(|t| now.duration_since(*t) > WINDOW + SLACK)
            {
                times.pop_front();
            }
            if times.len() >= self.budget {
                // The oldest failure that must leave the window first.
                let index = times.len() - self.budget;
                if let Some(t) = times.get(index) {
                    wait = wait.max((*t + WINDOW + SLACK).saturating_duration_since(now));
                }
            }
        }
        if !wait.is_zero() {
            self.paused.set(self.paused.get() + 1);
            self.waited.set(self.waited.get() + wait);
        }
        wait
    }

    /// Counts a 401 against the ID of the level it names (`accessLevel`),
    /// which is the ID whose authentication failed; against every presented
    /// ID when the answer does not say.
    pub fn record_failure(&self, ids: &[String], access_level: Option<&str>) {
        let header = match access_level {
            Some("client") => Some("x-client-id="),
            Some("chain") => Some("x-chain-id="),
            Some("location") => Some("x-location-id="),
            _ => None,
        };
        let now = Instant::now();
        let mut failures = self.failures.borrow_mut();
        for id in ids {
            if header.is_none_or(|h| id.starts_with(h)) {
                failures.entry(id.clone()).or_default().push_back(now);
            }
        }
    }

    /// How often the kit paused for the budget, and for how long in all.
    pub fn pauses(&self) -> (u32, Duration) {
        (self.paused.get(), self.waited.get())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pacer_allows_a_burst_then_the_rate() {
        let pacer = Pacer::new(10);
        for _ in 0..10 {
            assert_eq!(pacer.reserve(), Duration::ZERO);
        }
        let wait = pacer.reserve();
        assert!(
            wait > Duration::from_millis(50) && wait <= Duration::from_millis(100),
            "{wait:?}"
        );
        assert_eq!(Pacer::new(0).reserve(), Duration::ZERO);
    }

    #[test]
    fn the_budget_counts_only_tracked_ids_and_waits_at_the_limit() {
        let budget = AuthBudget::new(2, ["chain-a".to_owned()]);
        let headers = |id: &str| vec![("X-Chain-ID".to_owned(), id.to_owned())];
        assert!(budget.presented(&headers("random-x")).is_empty());
        let ids = budget.presented(&headers("chain-a"));
        assert_eq!(ids, vec!["x-chain-id=chain-a".to_owned()]);
        assert_eq!(budget.wait_for(&ids), Duration::ZERO);
        budget.record_failure(&ids, Some("chain"));
        // A failure at another level is not this ID's.
        budget.record_failure(&ids, Some("location"));
        assert_eq!(budget.wait_for(&ids), Duration::ZERO);
        budget.record_failure(&ids, None);
        let wait = budget.wait_for(&ids);
        assert!(wait > Duration::from_secs(59), "{wait:?}");
        assert_eq!(budget.pauses().0, 1);
    }

    #[test]
    fn a_client_secret_without_an_id_presents_the_empty_client_id() {
        let budget = AuthBudget::new(20, Vec::<String>::new());
        let headers = vec![("X-Client-Secret".to_owned(), "s".to_owned())];
        assert_eq!(budget.presented(&headers), vec!["x-client-id=".to_owned()]);
    }
}

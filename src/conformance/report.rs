//! The results of a run, rendered as text (failures grouped by contract
//! section, `N passed, M failed, K skipped` last), JSON or JUnit XML.

use std::fmt::Write as _;
use std::time::Duration;

use serde_json::{json, Value};

use super::client::RequestRecord;

/// The contract section a check belongs to, from the prefix of its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Section {
    Auth,
    Dates,
    Envelopes,
    GuestPass,
    Create,
    Get,
    Search,
    Cancel,
    Checkin,
    ListCheckins,
    Service,
}

impl Section {
    pub const ALL: [Section; 11] = [
        Section::Auth,
        Section::Dates,
        Section::Envelopes,
        Section::GuestPass,
        Section::Create,
        Section::Get,
        Section::Search,
        Section::Cancel,
        Section::Checkin,
        Section::ListCheckins,
        Section::Service,
    ];

    pub fn of(id: &str) -> Section {
        match id.split('.').next().unwrap_or_default() {
            "auth" => Section::Auth,
            "dates" => Section::Dates,
            "envelopes" => Section::Envelopes,
            "pass" => Section::GuestPass,
            "create" => Section::Create,
            "get" => Section::Get,
            "search" => Section::Search,
            "cancel" => Section::Cancel,
            "checkin" => Section::Checkin,
            "list-checkins" => Section::ListCheckins,
            "service" => Section::Service,
            other => unreachable!("check id with an unknown section prefix: {other}"),
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Section::Auth => "1. Authentication headers",
            Section::Dates => "2. Dates",
            Section::Envelopes => "3. Error envelopes",
            Section::GuestPass => "4. The guest pass",
            Section::Create => "5. POST /guest-passes (createGuestPass)",
            Section::Get => "5. GET /guest-passes/{guestPassId} (getGuestPass)",
            Section::Search => "5. GET /guest-passes (searchGuestPasses)",
            Section::Cancel => "5. DELETE /guest-passes/{guestPassId} (cancelGuestPass)",
            Section::Checkin => "5. POST /checkins (checkinGuest)",
            Section::ListCheckins => "5. GET /guest-passes/{guestPassId}/checkins (listCheckins)",
            Section::Service => "6. Outside the base path",
        }
    }
}

/// Why a check failed: what the contract requires of this probe, what came
/// back, and the request that showed it (secrets already redacted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub expected: String,
    pub got: String,
    pub request: Option<RequestRecord>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Passed,
    Failed(Failure),
    Skipped(String),
}

#[derive(Debug, Clone)]
pub struct CheckResult {
    pub id: &'static str,
    pub section: Section,
    pub requirement: &'static str,
    pub outcome: Outcome,
    pub duration: Duration,
}

#[derive(Debug, Clone)]
pub struct Report {
    pub results: Vec<CheckResult>,
    pub elapsed: Duration,
}

impl Report {
    pub fn new(results: Vec<CheckResult>, elapsed: Duration) -> Self {
        Self { results, elapsed }
    }

    pub fn passed(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Passed))
    }

    pub fn failed(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Failed(_)))
    }

    pub fn skipped(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Skipped(_)))
    }

    fn count(&self, f: impl Fn(&Outcome) -> bool) -> usize {
        self.results.iter().filter(|r| f(&r.outcome)).count()
    }

    pub fn get(&self, id: &str) -> Option<&CheckResult> {
        self.results.iter().find(|r| r.id == id)
    }

    pub fn summary_line(&self) -> String {
        format!(
            "{} passed, {} failed, {} skipped",
            self.passed(),
            self.failed(),
            self.skipped()
        )
    }

    fn sections(&self) -> Vec<(Section, Vec<&CheckResult>)> {
        Section::ALL
            .iter()
            .map(|s| {
                (
                    *s,
                    self.results.iter().filter(|r| r.section == *s).collect(),
                )
            })
            .filter(|(_, rs): &(Section, Vec<&CheckResult>)| !rs.is_empty())
            .collect()
    }

    /// Failed and skipped checks, grouped by section; the summary line last.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for (section, results) in self.sections() {
            let count = |f: fn(&Outcome) -> bool| results.iter().filter(|r| f(&r.outcome)).count();
            let _ = writeln!(
                out,
                "{}: {} passed, {} failed, {} skipped",
                section.title(),
                count(|o| matches!(o, Outcome::Passed)),
                count(|o| matches!(o, Outcome::Failed(_))),
                count(|o| matches!(o, Outcome::Skipped(_)))
            );
            for r in &results {
                match &r.outcome {
                    Outcome::Passed => {}
                    Outcome::Failed(f) => {
                        let _ = writeln!(out, "  FAIL {}: {}", r.id, r.requirement);
                        let _ = writeln!(out, "       expected: {}", f.expected);
                        let _ = writeln!(out, "       got:      {}", f.got);
                        if let Some(req) = &f.request {
                            let _ = writeln!(out, "       request:  {} {}", req.method, req.path);
                            for (name, value) in &req.headers {
                                let _ = writeln!(out, "                 {name}: {value}");
                            }
                            if let Some(body) = &req.body {
                                let _ = writeln!(out, "                 {body}");
                            }
                        }
                    }
                    Outcome::Skipped(reason) => {
                        let _ = writeln!(out, "  SKIP {}: {reason}", r.id);
                    }
                }
            }
        }
        let _ = writeln!(out, "{}", self.summary_line());
        out
    }

    pub fn json(&self) -> String {
        let results: Vec<Value> = self
            .results
            .iter()
            .map(|r| {
                let mut v = json!({
                    "id": r.id,
                    "section": r.section.title(),
                    "requirement": r.requirement,
                    "durationMs": r.duration.as_millis() as u64,
                });
                match &r.outcome {
                    Outcome::Passed => v["status"] = json!("passed"),
                    Outcome::Skipped(reason) => {
                        v["status"] = json!("skipped");
                        v["reason"] = json!(reason);
                    }
                    Outcome::Failed(f) => {
                        v["status"] = json!("failed");
                        v["expected"] = json!(f.expected);
                        v["got"] = json!(f.got);
                        if let Some(req) = &f.request {
                            v["request"] = json!({
                                "method": req.method,
                                "path": req.path,
                                "headers": req.headers.iter()
                                    .map(|(n, val)| json!([n, val]))
                                    .collect::<Vec<_>>(),
                                "body": req.body,
                            });
                        }
                    }
                }
                v
            })
            .collect();
        let doc = json!({
            "summary": {
                "passed": self.passed(),
                "failed": self.failed(),
                "skipped": self.skipped(),
                "durationMs": self.elapsed.as_millis() as u64,
            },
            "results": results,
        });
        format!("{doc:#}\n")
    }

    /// One `<testsuite>` per contract section.
    pub fn junit(&self) -> String {
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let _ = writeln!(
            out,
            "<testsuites name=\"guestpass conformance\" tests=\"{}\" failures=\"{}\" skipped=\"{}\" time=\"{:.3}\">",
            self.results.len(),
            self.failed(),
            self.skipped(),
            self.elapsed.as_secs_f64()
        );
        for (section, results) in self.sections() {
            let failures = results
                .iter()
                .filter(|r| matches!(r.outcome, Outcome::Failed(_)))
                .count();
            let skipped = results
                .iter()
                .filter(|r| matches!(r.outcome, Outcome::Skipped(_)))
                .count();
            let time: f64 = results.iter().map(|r| r.duration.as_secs_f64()).sum();
            let _ = writeln!(
                out,
                "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\" time=\"{time:.3}\">",
                xml(section.title()),
                results.len()
            );
            for r in results {
                let _ = write!(
                    out,
                    "    <testcase classname=\"conformance.{}\" name=\"{}\" time=\"{:.3}\"",
                    xml(r.id.split('.').next().unwrap_or_default()),
                    xml(r.id),
                    r.duration.as_secs_f64()
                );
                match &r.outcome {
                    Outcome::Passed => out.push_str("/>\n"),
                    Outcome::Skipped(reason) => {
                        let _ = writeln!(
                            out,
                            ">\n      <skipped message=\"{}\"/>\n    </testcase>",
                            xml(reason)
                        );
                    }
                    Outcome::Failed(f) => {
                        let mut detail = format!(
                            "requirement: {}\nexpected: {}\ngot: {}\n",
                            r.requirement, f.expected, f.got
                        );
                        if let Some(req) = &f.request {
                            let _ = writeln!(detail, "request: {} {}", req.method, req.path);
                            for (name, value) in &req.headers {
                                let _ = writeln!(detail, "  {name}: {value}");
                            }
                            if let Some(body) = &req.body {
                                let _ = writeln!(detail, "  {body}");
                            }
                        }
                        let _ = writeln!(
                            out,
                            ">\n      <failure message=\"{}\" type=\"conformance\">{}</failure>\n    </testcase>",
                            xml(r.requirement),
                            xml(&detail)
                        );
                    }
                }
            }
            out.push_str("  </testsuite>\n");
        }
        out.push_str("</testsuites>\n");
        out
    }
}

/// Escapes text for XML attributes and content, dropping characters XML 1.0 forbids.
fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' | '\t' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Report {
        let failure = Failure {
            expected: "400 <badRequest>".into(),
            got: "HTTP 201 & \u{1}".into(),
            request: Some(RequestRecord {
                method: "POST".into(),
                path: "/members/v1.0/guest-passes".into(),
                headers: vec![("X-Chain-Secret".into(), "<redacted, 5 characters>".into())],
                body: Some("{\"a\":1}".into()),
            }),
        };
        Report::new(
            vec![
                CheckResult {
                    id: "auth.a",
                    section: Section::Auth,
                    requirement: "r1",
                    outcome: Outcome::Passed,
                    duration: Duration::from_millis(3),
                },
                CheckResult {
                    id: "dates.b",
                    section: Section::Dates,
                    requirement: "r2",
                    outcome: Outcome::Failed(failure),
                    duration: Duration::from_millis(4),
                },
                CheckResult {
                    id: "create.c",
                    section: Section::Create,
                    requirement: "r3",
                    outcome: Outcome::Skipped("needs --location-id".into()),
                    duration: Duration::ZERO,
                },
            ],
            Duration::from_millis(10),
        )
    }

    #[test]
    fn text_groups_by_section_and_ends_with_the_counts() {
        let text = sample().text();
        assert!(text.ends_with("1 passed, 1 failed, 1 skipped\n"), "{text}");
        assert!(text.contains("2. Dates: 0 passed, 1 failed, 0 skipped"));
        assert!(text.contains("  FAIL dates.b: r2"));
        assert!(text.contains("request:  POST /members/v1.0/guest-passes"));
        assert!(text.contains("  SKIP create.c: needs --location-id"));
    }

    #[test]
    fn json_has_a_summary_and_every_result() {
        let doc: Value = serde_json::from_str(&sample().json()).unwrap();
        assert_eq!(doc["summary"]["failed"], 1);
        assert_eq!(doc["results"][1]["status"], "failed");
        assert_eq!(doc["results"][1]["request"]["method"], "POST");
        assert_eq!(doc["results"][2]["reason"], "needs --location-id");
    }

    #[test]
    fn junit_escapes_and_has_one_suite_per_section() {
        let xml = sample().junit();
        assert_eq!(xml.matches("<testsuite ").count(), 3);
        assert!(xml.contains("HTTP 201 &amp; \u{FFFD}"));
        assert!(xml.contains("<skipped message=\"needs --location-id\"/>"));
    }
}

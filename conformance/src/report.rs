//! The results of a run, rendered as text (failures grouped by contract
//! section, `N passed, M failed, K skipped` last), JSON, JUnit XML or a
//! Markdown certification record.

use std::fmt::Write as _;
use std::time::Duration;

use serde_json::{json, Value};

use crate::client::{Politeness, RequestRecord};

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
    Limits,
    Idempotency,
    OperationalHeaders,
}

impl Section {
    pub const ALL: [Section; 14] = [
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
        Section::Limits,
        Section::Idempotency,
        Section::OperationalHeaders,
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
            "limits" => Section::Limits,
            "idempotency" => Section::Idempotency,
            "headers" => Section::OperationalHeaders,
            // Every id the kit declares has one of the prefixes above (a unit test holds it to that).
            _ => Section::Service,
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
            Section::Limits => "7. Limits and availability",
            Section::Idempotency => "8. Retries: Idempotency-Key",
            Section::OperationalHeaders => "9. Operational headers",
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
    /// The rule does not apply to the levels the server requires.
    NotApplicable(String),
}

#[derive(Debug, Clone)]
pub struct CheckResult {
    pub id: &'static str,
    pub section: Section,
    pub requirement: &'static str,
    pub outcome: Outcome,
    pub duration: Duration,
}

/// What a certification record says about the run besides the results.
#[derive(Debug, Clone, Default)]
pub struct RunInfo {
    pub base_url: String,
    pub levels: String,
    /// When the run started, in the blueprint's date form.
    pub started_at: String,
    pub kit_version: String,
    pub demo: bool,
    pub max_rps: u32,
    pub auth_failure_budget: u32,
    pub politeness: Politeness,
}

#[derive(Debug, Clone)]
pub struct Report {
    pub results: Vec<CheckResult>,
    pub elapsed: Duration,
    pub info: RunInfo,
    /// Every secret given to the kit: scrubbed from whatever is rendered,
    /// even from a response body a careless server echoed one in.
    secrets: Vec<String>,
}

impl Report {
    pub fn new(results: Vec<CheckResult>, elapsed: Duration) -> Self {
        Self {
            results,
            elapsed,
            info: RunInfo::default(),
            secrets: Vec::new(),
        }
    }

    pub fn with_info(mut self, info: RunInfo) -> Self {
        self.info = info;
        self
    }

    pub fn with_secrets(mut self, secrets: Vec<String>) -> Self {
        // Longest first, so a secret that contains another is replaced whole.
        self.secrets = secrets.into_iter().filter(|s| !s.is_empty()).collect();
        self.secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        self
    }

    fn scrub(&self, mut text: String) -> String {
        for secret in &self.secrets {
            let json_form = serde_json::to_string(secret).unwrap_or_default();
            let json_inner = json_form.trim_matches('"').to_owned();
            for form in [secret.clone(), json_inner, xml(secret), md(secret)] {
                if !form.is_empty() && text.contains(&form) {
                    text = text.replace(&form, "<redacted>");
                }
            }
        }
        text
    }

    pub fn not_applicable(&self) -> usize {
        self.count(|o| matches!(o, Outcome::NotApplicable(_)))
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

    /// `N passed, M failed, K skipped`; checks that do not apply to the
    /// configured levels are counted apart, never as passed.
    pub fn summary_line(&self) -> String {
        let mut line = format!(
            "{} passed, {} failed, {} skipped",
            self.passed(),
            self.failed(),
            self.skipped()
        );
        if self.not_applicable() > 0 {
            let _ = write!(
                line,
                " ({} not applicable to levels {})",
                self.not_applicable(),
                if self.info.levels.is_empty() {
                    "as configured"
                } else {
                    &self.info.levels
                }
            );
        }
        line
    }

    /// 429s waited out and pauses for the authentication budget, when there were any.
    fn politeness_line(&self) -> Option<String> {
        let p = &self.info.politeness;
        (p.retried_429 > 0 || p.budget_pauses > 0).then(|| {
            format!(
                "politeness: {} × 429 waited out ({:.1}s), {} pauses for the failed-authentication budget ({:.1}s)",
                p.retried_429,
                p.waited_429.as_secs_f64(),
                p.budget_pauses,
                p.waited_budget.as_secs_f64()
            )
        })
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
        self.scrub(self.text_unscrubbed())
    }

    fn text_unscrubbed(&self) -> String {
        let mut out = String::new();
        for (section, results) in self.sections() {
            let count = |f: fn(&Outcome) -> bool| results.iter().filter(|r| f(&r.outcome)).count();
            let _ = write!(
                out,
                "{}: {} passed, {} failed, {} skipped",
                section.title(),
                count(|o| matches!(o, Outcome::Passed)),
                count(|o| matches!(o, Outcome::Failed(_))),
                count(|o| matches!(o, Outcome::Skipped(_)))
            );
            let na = count(|o| matches!(o, Outcome::NotApplicable(_)));
            if na > 0 {
                let _ = write!(out, ", {na} not applicable");
            }
            out.push('\n');
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
                    Outcome::NotApplicable(reason) => {
                        let _ = writeln!(out, "  N/A  {}: {reason}", r.id);
                    }
                }
            }
        }
        if let Some(line) = self.politeness_line() {
            let _ = writeln!(out, "{line}");
        }
        let _ = writeln!(out, "{}", self.summary_line());
        out
    }

    pub fn json(&self) -> String {
        self.scrub(self.json_unscrubbed())
    }

    fn json_unscrubbed(&self) -> String {
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
                    Outcome::NotApplicable(reason) => {
                        v["status"] = json!("notApplicable");
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
        let p = &self.info.politeness;
        let doc = json!({
            "run": {
                "baseUrl": self.info.base_url,
                "levels": self.info.levels,
                "startedAt": self.info.started_at,
                "kitVersion": self.info.kit_version,
                "demo": self.info.demo,
                "maxRps": self.info.max_rps,
                "authFailureBudget": self.info.auth_failure_budget,
                "requests": p.requests,
                "retried429": p.retried_429,
                "waited429Ms": p.waited_429.as_millis() as u64,
                "budgetPauses": p.budget_pauses,
                "waitedBudgetMs": p.waited_budget.as_millis() as u64,
                "waitedRateMs": p.waited_rate.as_millis() as u64,
            },
            "summary": {
                "passed": self.passed(),
                "failed": self.failed(),
                "skipped": self.skipped(),
                "notApplicable": self.not_applicable(),
                "durationMs": self.elapsed.as_millis() as u64,
            },
            "results": results,
        });
        format!("{doc:#}\n")
    }

    /// One `<testsuite>` per contract section.
    pub fn junit(&self) -> String {
        self.scrub(self.junit_unscrubbed())
    }

    fn junit_unscrubbed(&self) -> String {
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let _ = writeln!(
            out,
            "<testsuites name=\"guestpass conformance\" tests=\"{}\" failures=\"{}\" skipped=\"{}\" time=\"{:.3}\">",
            self.results.len(),
            self.failed(),
            self.skipped() + self.not_applicable(),
            self.elapsed.as_secs_f64()
        );
        for (section, results) in self.sections() {
            let failures = results
                .iter()
                .filter(|r| matches!(r.outcome, Outcome::Failed(_)))
                .count();
            let skipped = results
                .iter()
                .filter(|r| matches!(r.outcome, Outcome::Skipped(_) | Outcome::NotApplicable(_)))
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
                    Outcome::NotApplicable(reason) => {
                        let _ = writeln!(
                            out,
                            ">\n      <skipped message=\"not applicable: {}\"/>\n    </testcase>",
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

impl Report {
    /// A certification record: what was checked (URL, date, levels, kit
    /// version), the outcome per contract section, and every check with its
    /// outcome and, for failures and skips, the reason. Secrets never appear.
    pub fn markdown(&self) -> String {
        self.scrub(self.markdown_unscrubbed())
    }

    fn markdown_unscrubbed(&self) -> String {
        let info = &self.info;
        let p = &info.politeness;
        let verdict = if self.failed() == 0 {
            "PASSED"
        } else {
            "FAILED"
        };
        let mut out = String::from("# Guest Pass API conformance record\n\n");
        out.push_str("| | |\n|---|---|\n");
        let rate = if info.max_rps == 0 {
            "any number".to_owned()
        } else {
            info.max_rps.to_string()
        };
        let rows = [
            ("API base URL", format!("`{}`", md(&info.base_url))),
            ("Date (UTC)", md(&info.started_at)),
            ("Access levels", md(&info.levels)),
            ("Kit", format!("guestpass-conformance {}", md(&info.kit_version))),
            (
                "Credentials",
                if info.demo {
                    "the documented demo principals (secrets redacted)".to_owned()
                } else {
                    "given by the operator (secrets redacted)".to_owned()
                },
            ),
            ("Result", format!("**{verdict}**: {}", md(&self.summary_line()))),
            (
                "Requests",
                format!(
                    "{} in {:.0} s, at most {rate} per second; {} × 429 waited out; {} pauses for the failed-authentication budget of {} per ID per minute",
                    p.requests,
                    self.elapsed.as_secs_f64(),
                    p.retried_429,
                    p.budget_pauses,
                    info.auth_failure_budget
                ),
            ),
        ];
        for (name, value) in rows {
            let _ = writeln!(out, "| {name} | {value} |");
        }
        out.push_str("\n## By contract section\n\n");
        out.push_str("| Section | Passed | Failed | Skipped | Not applicable |\n");
        out.push_str("|---|---:|---:|---:|---:|\n");
        for (section, results) in self.sections() {
            let count = |f: fn(&Outcome) -> bool| results.iter().filter(|r| f(&r.outcome)).count();
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                md(section.title()),
                count(|o| matches!(o, Outcome::Passed)),
                count(|o| matches!(o, Outcome::Failed(_))),
                count(|o| matches!(o, Outcome::Skipped(_))),
                count(|o| matches!(o, Outcome::NotApplicable(_)))
            );
        }
        let fence = "```";
        let failures: Vec<(&CheckResult, &Failure)> = self
            .results
            .iter()
            .filter_map(|r| match &r.outcome {
                Outcome::Failed(f) => Some((r, f)),
                _ => None,
            })
            .collect();
        if !failures.is_empty() {
            out.push_str("\n## Failures\n");
            for (r, f) in failures {
                let _ = writeln!(out, "\n### `{}`\n\n{}\n", r.id, md(r.requirement));
                let _ = writeln!(out, "- expected: {}", md(&f.expected));
                let _ = writeln!(out, "- got: {}", md(&f.got));
                if let Some(req) = &f.request {
                    let _ = writeln!(out, "\n{fence}http\n{} {}", req.method, req.path);
                    for (name, value) in &req.headers {
                        let _ = writeln!(out, "{name}: {value}");
                    }
                    if let Some(body) = &req.body {
                        let _ = writeln!(out, "\n{}", body.replace(fence, "'''"));
                    }
                    let _ = writeln!(out, "{fence}");
                }
            }
        }
        out.push_str("\n## Every check\n");
        for (section, results) in self.sections() {
            let _ = writeln!(out, "\n### {}\n", md(section.title()));
            out.push_str("| Check | Outcome | Requirement, or why it did not pass |\n");
            out.push_str("|---|---|---|\n");
            for r in results {
                let (outcome, detail) = match &r.outcome {
                    Outcome::Passed => ("passed", md(r.requirement)),
                    Outcome::Failed(f) => (
                        "**FAILED**",
                        format!("{} (expected: {})", md(r.requirement), md(&f.expected)),
                    ),
                    Outcome::Skipped(reason) => ("skipped", md(reason)),
                    Outcome::NotApplicable(reason) => ("not applicable", md(reason)),
                };
                let _ = writeln!(out, "| `{}` | {outcome} | {detail} |", r.id);
            }
        }
        out
    }
}

/// Text for one Markdown table cell or line: no pipes, no line breaks, no HTML.
fn md(text: &str) -> String {
    text.replace('|', "\\|")
        .replace(['\n', '\r'], " ")
        .replace('<', "&lt;")
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
    fn markdown_is_a_certification_record_without_secrets() {
        let mut report = sample().with_secrets(vec!["s3cr3t|x".into()]);
        report.info = RunInfo {
            base_url: "https://gp.example.org/members/v1.0".into(),
            levels: "chain".into(),
            started_at: "2026-11-29T10:00:00Z".into(),
            kit_version: "9.9.9".into(),
            ..RunInfo::default()
        };
        if let Outcome::Failed(f) = &mut report.results[1].outcome {
            f.got = "HTTP 400; body: {\"echo\": \"s3cr3t|x\"}".into();
        }
        let md = report.markdown();
        assert!(
            md.starts_with("# Guest Pass API conformance record\n"),
            "{md}"
        );
        for needle in [
            "| API base URL | `https://gp.example.org/members/v1.0` |",
            "| Date (UTC) | 2026-11-29T10:00:00Z |",
            "| Access levels | chain |",
            "| Kit | guestpass-conformance 9.9.9 |",
            "**FAILED**: 1 passed, 1 failed, 1 skipped",
            "| 2. Dates | 0 | 1 | 0 | 0 |",
            "| `create.c` | skipped | needs --location-id |",
            "### `dates.b`",
        ] {
            assert!(md.contains(needle), "{needle} in {md}");
        }
        assert!(!md.contains("s3cr3t"), "{md}");
        assert!(!report.json().contains("s3cr3t"));
        assert!(!report.text().contains("s3cr3t"));
        assert!(!report.junit().contains("s3cr3t"));
    }

    #[test]
    fn every_section_prefix_is_known() {
        for (prefix, section) in [
            ("auth.x", Section::Auth),
            ("dates.x", Section::Dates),
            ("envelopes.x", Section::Envelopes),
            ("pass.x", Section::GuestPass),
            ("create.x", Section::Create),
            ("get.x", Section::Get),
            ("search.x", Section::Search),
            ("cancel.x", Section::Cancel),
            ("checkin.x", Section::Checkin),
            ("list-checkins.x", Section::ListCheckins),
            ("service.x", Section::Service),
            ("limits.x", Section::Limits),
            ("idempotency.x", Section::Idempotency),
            ("headers.x", Section::OperationalHeaders),
        ] {
            assert_eq!(Section::of(prefix), section);
        }
    }

    #[test]
    fn junit_escapes_and_has_one_suite_per_section() {
        let xml = sample().junit();
        assert_eq!(xml.matches("<testsuite ").count(), 3);
        assert!(xml.contains("HTTP 201 &amp; \u{FFFD}"));
        assert!(xml.contains("<skipped message=\"needs --location-id\"/>"));
    }
}

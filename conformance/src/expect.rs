//! What a check concludes (`Verdict`), and the contract's envelopes as
//! expectations on an exchange: each says what was required and, when it
//! fails, carries what came back and the request that showed it.

use std::fmt::Display;

use serde_json::{json, Map, Value};

use crate::client::{Exchange, Response};
use crate::report::Failure;

#[derive(Debug, Clone)]
pub enum Verdict {
    Fail(Box<Failure>),
    /// Could not be arranged (credentials not given, a state HTTP cannot cause).
    Skip(String),
    /// The rule does not apply to the configured levels (e.g. a location-level
    /// rule on a chain-level deployment).
    NotApplicable(String),
}

pub type Checked = Result<(), Verdict>;

impl Verdict {
    pub fn skip(reason: impl Into<String>) -> Self {
        Self::Skip(reason.into())
    }

    pub fn not_applicable(reason: impl Into<String>) -> Self {
        Self::NotApplicable(reason.into())
    }

    /// A failure not tied to one exchange (e.g. a sweep over many).
    pub fn fail(expected: impl Into<String>, got: impl Into<String>) -> Self {
        Self::Fail(Box::new(Failure {
            expected: expected.into(),
            got: got.into(),
            request: None,
        }))
    }

    /// Names the probe the failure belongs to, e.g. the date form that was sent.
    pub fn context(self, label: impl Display) -> Self {
        match self {
            Self::Fail(mut f) => {
                f.expected = format!("{label}: {}", f.expected);
                Self::Fail(f)
            }
            other => other,
        }
    }
}

pub trait Context<T> {
    fn ctx(self, label: impl Display) -> Result<T, Verdict>;
}

impl<T> Context<T> for Result<T, Verdict> {
    fn ctx(self, label: impl Display) -> Result<T, Verdict> {
        self.map_err(|v| v.context(label))
    }
}

/// Fails unless `condition` holds.
pub fn ensure(condition: bool, fail: impl FnOnce() -> Verdict) -> Checked {
    if condition {
        Ok(())
    } else {
        Err(fail())
    }
}

impl Exchange {
    /// This exchange as the evidence that `expected` did not happen.
    pub fn fail(&self, expected: impl Into<String>) -> Verdict {
        Verdict::Fail(Box::new(Failure {
            expected: expected.into(),
            got: self.got(),
            request: Some(self.request.clone()),
        }))
    }

    pub fn expect_status(&self, status: u16) -> Result<&Response, Verdict> {
        match &self.response {
            Ok(r) if r.status == status => Ok(r),
            _ => Err(self.fail(format!("HTTP {status}"))),
        }
    }

    /// The status, `application/json`, and a body that parses.
    pub fn expect_json(&self, status: u16, what: &str) -> Result<&Value, Verdict> {
        let expected = || {
            if what.starts_with("HTTP ") {
                format!("{what} (application/json)")
            } else {
                format!("HTTP {status}, application/json: {what}")
            }
        };
        let response = self
            .expect_status(status)
            .map_err(|_| self.fail(expected()))?;
        match (&response.json, response.is_json()) {
            (Some(v), true) => Ok(v),
            _ => Err(self.fail(expected())),
        }
    }

    /// A JSON object body with the status.
    pub fn expect_object(&self, status: u16, what: &str) -> Result<&Map<String, Value>, Verdict> {
        self.expect_json(status, what)?
            .as_object()
            .ok_or_else(|| self.fail(format!("HTTP {status}, a JSON object: {what}")))
    }

    /// An error envelope: the status, `application/json`, a non-empty
    /// `message` and this `cause`.
    fn expect_envelope(
        &self,
        status: u16,
        cause: &str,
        expected: &str,
    ) -> Result<&Map<String, Value>, Verdict> {
        let body = self
            .expect_object(status, expected)
            .map_err(|_| self.fail(expected.to_owned()))?;
        let message_ok = body
            .get("message")
            .and_then(Value::as_str)
            .is_some_and(|m| !m.trim().is_empty());
        if body.get("cause").and_then(Value::as_str) != Some(cause) || !message_ok {
            return Err(self.fail(expected.to_owned()));
        }
        Ok(body)
    }

    /// 400 `badRequest`, message `Bad Request`, and exactly these `errors`.
    pub fn expect_bad_request(&self, errors: Value) -> Result<(), Verdict> {
        let expected = format!(
            "HTTP 400 {}",
            json!({"message": "Bad Request", "cause": "badRequest", "errors": errors})
        );
        let body = self.expect_envelope(400, "badRequest", &expected)?;
        if body.get("message").and_then(Value::as_str) != Some("Bad Request")
            || body.get("errors") != Some(&errors)
        {
            return Err(self.fail(expected));
        }
        Ok(())
    }

    /// 400 naming `parameter` with any of `reasons` (where the contract leaves the reason open).
    pub fn expect_bad_request_any(&self, parameter: &str, reasons: &[&str]) -> Result<(), Verdict> {
        let expected = format!(
            "HTTP 400 badRequest, errors exactly {{\"{parameter}\": {}}}",
            reasons.join(" or ")
        );
        let body = self.expect_envelope(400, "badRequest", &expected)?;
        let ok = body
            .get("errors")
            .and_then(Value::as_object)
            .is_some_and(|errors| {
                errors.len() == 1
                    && errors
                        .get(parameter)
                        .and_then(Value::as_str)
                        .is_some_and(|r| reasons.contains(&r))
            });
        ensure(ok, || self.fail(expected))
    }

    /// 401 `unauthorizedAccess` at `level`, with a message naming `header`.
    pub fn expect_unauthorized(&self, level: &str, header: &str) -> Result<(), Verdict> {
        let expected = format!(
            "HTTP 401 {{\"cause\": \"unauthorizedAccess\", \"accessLevel\": \"{level}\"}} with a message naming {header}"
        );
        let body = self.expect_envelope(401, "unauthorizedAccess", &expected)?;
        let names_header = body
            .get("message")
            .and_then(Value::as_str)
            .is_some_and(|m| {
                m.to_ascii_lowercase()
                    .contains(&header.to_ascii_lowercase())
            });
        ensure(
            body.get("accessLevel").and_then(Value::as_str) == Some(level) && names_header,
            || self.fail(expected),
        )
    }

    /// 404 `entityNotFound` naming `parameter`.
    pub fn expect_not_found(&self, parameter: &str) -> Result<(), Verdict> {
        let expected =
            format!("HTTP 404 {{\"cause\": \"entityNotFound\", \"parameter\": \"{parameter}\"}}");
        let body = self.expect_envelope(404, "entityNotFound", &expected)?;
        ensure(
            body.get("parameter").and_then(Value::as_str) == Some(parameter),
            || self.fail(expected),
        )
    }

    pub fn expect_resource_not_found(&self) -> Result<(), Verdict> {
        let expected = "HTTP 404 {\"message\": \"Requested endpoint is not supported\", \"cause\": \"resourceNotFound\"}";
        let body = self.expect_envelope(404, "resourceNotFound", expected)?;
        ensure(
            body.get("message").and_then(Value::as_str)
                == Some("Requested endpoint is not supported"),
            || self.fail(expected),
        )
    }

    /// 405 `methodNotAllowed` with an `Allow` header listing exactly `allow`
    /// (HEAD and OPTIONS may be listed besides).
    pub fn expect_method_not_allowed(&self, allow: &[&str]) -> Result<(), Verdict> {
        let expected = format!(
            "HTTP 405 {{\"cause\": \"methodNotAllowed\"}} with Allow: {}",
            allow.join(", ")
        );
        self.expect_envelope(405, "methodNotAllowed", &expected)?;
        let listed: Vec<String> = self
            .response
            .as_ref()
            .ok()
            .and_then(|r| r.header("allow"))
            .unwrap_or_default()
            .split(',')
            .map(|m| m.trim().to_ascii_uppercase())
            .filter(|m| !m.is_empty())
            .collect();
        let all_there = allow.iter().all(|m| listed.iter().any(|l| l == m));
        let nothing_else = listed
            .iter()
            .all(|l| allow.contains(&l.as_str()) || l == "HEAD" || l == "OPTIONS");
        ensure(all_there && nothing_else, || self.fail(expected))
    }

    /// 422 with this cause and reason.
    pub fn expect_unprocessable(&self, cause: &str, reason: &str) -> Result<(), Verdict> {
        let expected = format!("HTTP 422 {{\"cause\": \"{cause}\", \"reason\": \"{reason}\"}}");
        let body = self.expect_envelope(422, cause, &expected)?;
        ensure(
            body.get("reason").and_then(Value::as_str) == Some(reason),
            || self.fail(expected),
        )
    }
}

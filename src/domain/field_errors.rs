//! `FieldErrors`: parameter name → reason, every failing parameter of a
//! request reported together in one 400.

use std::collections::BTreeMap;

use super::Reason;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FieldErrors(BTreeMap<String, Reason>);

impl FieldErrors {
    /// Keeps the first reason given for a parameter.
    pub fn add(&mut self, parameter: &str, reason: Reason) {
        self.0.entry(parameter.to_owned()).or_insert(reason);
    }

    /// Records the reason of a failed parse and keeps the value of a good one,
    /// so every field of a request is checked before anything is reported.
    pub fn check<T>(&mut self, parameter: &str, parsed: Result<T, Reason>) -> Option<T> {
        parsed.map_err(|reason| self.add(parameter, reason)).ok()
    }

    /// Keeps the value of `parsed`, or takes in every error it reports.
    pub fn absorb<T>(&mut self, parsed: Result<T, FieldErrors>) -> Option<T> {
        match parsed {
            Ok(value) => Some(value),
            Err(errors) => {
                for (parameter, reason) in errors.0 {
                    self.0.entry(parameter).or_insert(reason);
                }
                None
            }
        }
    }

    pub fn single(parameter: &str, reason: Reason) -> Self {
        let mut errors = Self::default();
        errors.add(parameter, reason);
        errors
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok` when nothing failed.
    pub fn into_result(self) -> Result<(), Self> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(self)
        }
    }

    pub fn as_map(&self) -> &BTreeMap<String, Reason> {
        &self.0
    }
}

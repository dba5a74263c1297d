//! The result of `teamline doctor`: checks of a real Microsoft tenant and PBX, each with what
//! was found, the service's own error text and what to do. The Microsoft and PBX clients
//! produce them; the command line and the operator page show them.

use serde::{Deserialize, Serialize};

/// How a check came out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// It works.
    Pass,
    /// It works, but differently than documented, or something needs attention.
    Warn,
    /// Teamline will not work until this is fixed.
    Fail,
    /// Not checked (read-only run, or an earlier check failed).
    Skip,
}

impl Outcome {
    /// The outcome as the table prints it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Warn => "warn",
            Self::Fail => "FAIL",
            Self::Skip => "skip",
        }
    }
}

/// One check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    /// Stable identifier, e.g. `graph.permission.User.Read.All`.
    pub id: String,
    /// What was checked, for people.
    pub title: String,
    pub outcome: Outcome,
    /// What was found, including which way the service behaves.
    pub found: String,
    /// The service's own error text, when it answered with one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What to do about it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Check {
    /// A check with no error and no fix.
    pub fn new(
        id: impl Into<String>,
        title: impl Into<String>,
        outcome: Outcome,
        found: impl Into<String>,
    ) -> Self {
        Self {
            id: id.into(),
            title: title.into(),
            outcome,
            found: found.into(),
            error: None,
            fix: None,
        }
    }

    /// The service's own error text.
    pub fn with_error(mut self, error: impl Into<String>) -> Self {
        self.error = Some(error.into());
        self
    }

    /// What to do.
    pub fn with_fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }
}

/// Whether every check passed or only warns (skipped ones do not count against it).
pub fn all_pass(checks: &[Check]) -> bool {
    checks.iter().all(|c| c.outcome != Outcome::Fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_check_fails_the_run_and_serialises_with_its_fix() {
        let ok = Check::new("a", "A", Outcome::Pass, "fine");
        let bad = Check::new("b", "B", Outcome::Fail, "refused")
            .with_error("Authorization_RequestDenied: Insufficient privileges")
            .with_fix("grant admin consent again");
        assert!(all_pass(std::slice::from_ref(&ok)));
        assert!(!all_pass(&[ok.clone(), bad.clone()]));
        let json = serde_json::to_value(&bad).unwrap();
        assert_eq!(json["outcome"], "fail");
        assert_eq!(json["fix"], "grant admin consent again");
        assert!(serde_json::to_value(&ok).unwrap().get("error").is_none());
    }
}

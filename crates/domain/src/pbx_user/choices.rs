//! The form's two choices that become more than a flag: the caller name and the caller ID of
//! forwarded calls.

use super::fields;
use crate::error::FieldError;
use crate::text::optional_text;
use serde::{Deserialize, Serialize};

/// The caller name Teams shows for this user's outgoing calls.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "policy", content = "name", rename_all = "snake_case")]
pub enum CallerNamePolicy {
    /// Pass the PBX's caller name through unchanged (the seed article's choice).
    Transparent,
    /// Show this name instead (e.g. the company name).
    Other(String),
}

impl CallerNamePolicy {
    pub const MAX_NAME_LEN: usize = 50;

    /// `policy` is `transparent` or `other`; `name` is only read for `other`.
    pub fn parse(policy: &str, name: &str) -> Result<Self, FieldError> {
        match policy.trim().to_ascii_lowercase().as_str() {
            "" | "transparent" => Ok(Self::Transparent),
            "other" => match optional_text(fields::CALLER_NAME, name, Self::MAX_NAME_LEN)? {
                Some(name) => Ok(Self::Other(name)),
                None => Err(FieldError::new(
                    fields::CALLER_NAME,
                    "is required when Caller Name Policy is Other: type the name to show (e.g. Contoso)",
                )),
            },
            other => Err(FieldError::new(
                fields::CALLER_NAME_POLICY,
                format!("'{other}' is not a caller name policy: choose Transparent or Other"),
            )),
        }
    }

    pub fn label(&self) -> String {
        match self {
            Self::Transparent => "Transparent".to_owned(),
            Self::Other(name) => format!("Other: {name}"),
        }
    }
}

/// Which caller ID a forwarded call shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ForwardedCallerId {
    /// The forwarding user's own number (the seed article's choice).
    UserCallerId,
    /// The number of the original caller.
    OriginalCaller,
}

impl ForwardedCallerId {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UserCallerId => "user_caller_id",
            Self::OriginalCaller => "original_caller",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::UserCallerId => "User's Caller ID",
            Self::OriginalCaller => "Original Caller",
        }
    }

    pub fn parse(s: &str) -> Result<Self, FieldError> {
        match s.trim() {
            "" | "user_caller_id" => Ok(Self::UserCallerId),
            "original_caller" => Ok(Self::OriginalCaller),
            other => Err(FieldError::new(
                fields::FORWARDED_CALLER_ID,
                format!("'{other}' is not a choice: choose User's Caller ID or Original Caller"),
            )),
        }
    }
}

//! Resellers (service providers) and the local accounts that sign in to the Reseller portal.

use crate::error::{FieldError, FieldErrors};
use crate::ids::ResellerId;
use crate::text::{Email, Name, optional_text};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reseller {
    pub id: ResellerId,
    pub name: Name,
    pub contact_email: Email,
    pub services: Option<String>,
    pub billing_reference: Option<String>,
    /// Why the platform operator suspended it (its admins cannot sign in and are shown this),
    /// or `None` while it is active.
    pub suspended: Option<String>,
}

impl Reseller {
    pub fn is_suspended(&self) -> bool {
        self.suspended.is_some()
    }
}

/// The reason given when suspending a reseller, checked: its admins read it at sign-in.
pub fn suspension_reason(text: &str) -> Result<String, FieldError> {
    let reason = text.trim();
    if reason.is_empty() {
        return Err(FieldError::new(
            "Reason",
            "Say why the reseller is suspended: its admins are shown the reason when they sign in.",
        ));
    }
    if reason.chars().count() > 300 {
        return Err(FieldError::new(
            "Reason",
            "Keep the reason under 300 characters.",
        ));
    }
    Ok(reason.to_owned())
}

/// The Reseller form, as typed (a field left out of a posted form is empty).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ResellerForm {
    pub name: String,
    pub contact_email: String,
    pub services: String,
    pub billing_reference: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReseller {
    pub name: Name,
    pub contact_email: Email,
    pub services: Option<String>,
    pub billing_reference: Option<String>,
}

impl ResellerForm {
    pub fn validate(&self) -> Result<NewReseller, FieldErrors> {
        let mut errors = FieldErrors::new();
        let name = errors.check(Name::parse("Reseller Name", &self.name));
        let contact_email = errors.check(Email::parse("Contact E-mail", &self.contact_email));
        let services = errors.check(optional_text("Services Offered", &self.services, 500));
        let billing_reference = errors.check(optional_text(
            "Billing Reference",
            &self.billing_reference,
            100,
        ));
        match (name, contact_email, services, billing_reference) {
            (Some(name), Some(contact_email), Some(services), Some(billing_reference)) => {
                Ok(NewReseller {
                    name,
                    contact_email,
                    services,
                    billing_reference,
                })
            }
            _ => Err(errors),
        }
    }
}

/// Who a local account is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountRole {
    /// Runs Teamline: SBC regions, the Direct Routing base domain, resellers.
    PlatformOperator,
    /// Manages its own reseller's enterprises.
    ResellerAdmin,
}

impl AccountRole {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PlatformOperator => "platform_operator",
            Self::ResellerAdmin => "reseller_admin",
        }
    }

    pub fn parse(s: &str) -> Result<Self, FieldError> {
        match s {
            "platform_operator" => Ok(Self::PlatformOperator),
            "reseller_admin" => Ok(Self::ResellerAdmin),
            other => Err(FieldError::new(
                "Role",
                format!("'{other}' is not a role: use platform_operator or reseller_admin"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_errors_at_once() {
        let form = ResellerForm {
            name: " ".into(),
            contact_email: "nope".into(),
            ..Default::default()
        };
        let errors = form.validate().unwrap_err();
        assert_eq!(errors.len(), 2);
        assert!(errors.for_field("Reseller Name").is_some());
        assert!(errors.for_field("Contact E-mail").is_some());
    }

    #[test]
    fn valid_form() {
        let form = ResellerForm {
            name: "Northwind Voice".into(),
            contact_email: "reseller@northwind.example".into(),
            ..Default::default()
        };
        let r = form.validate().unwrap();
        assert_eq!(r.name.as_str(), "Northwind Voice");
        assert_eq!(r.services, None);
    }
}

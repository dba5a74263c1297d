//! Sync groups: the Microsoft groups whose transitive members Teamline syncs.

use crate::enterprise::is_guid;
use crate::error::FieldError;
use crate::text::Name;

const FIELD: &str = "Sync Groups";

/// Names of Microsoft's built-in organisation-wide groups. Their membership is maintained by
/// Microsoft on its own schedule and is not reliable for syncing.
const ORG_WIDE: [&str; 4] = ["all company", "allcompany", "all users", "everyone"];

/// Whether a group is one of the built-in organisation-wide groups.
pub fn is_org_wide(display_name: &str) -> bool {
    ORG_WIDE.contains(&display_name.trim().to_lowercase().as_str())
}

/// A group chosen for syncing: a Microsoft group object id and its display name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncGroupChoice {
    object_id: String,
    display_name: Name,
}

impl SyncGroupChoice {
    pub fn parse(object_id: &str, display_name: &str) -> Result<Self, FieldError> {
        let object_id = object_id.trim().to_ascii_lowercase();
        if !is_guid(&object_id) {
            return Err(FieldError::new(
                FIELD,
                format!("'{object_id}' is not a Microsoft group id: choose a group from the list"),
            ));
        }
        let display_name = Name::parse(FIELD, display_name)?;
        if is_org_wide(display_name.as_str()) {
            return Err(FieldError::new(
                FIELD,
                format!(
                    "\"{display_name}\" is Microsoft's built-in organisation-wide group, whose membership is not reliable for syncing: create a dedicated group such as \"Teammate Sync\", add the users to it, and choose that group"
                ),
            ));
        }
        Ok(Self {
            object_id,
            display_name,
        })
    }

    pub fn object_id(&self) -> &str {
        &self.object_id
    }

    pub fn display_name(&self) -> &str {
        self.display_name.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_company_is_refused_with_the_fix() {
        let e = SyncGroupChoice::parse("7a4c2f8e-1b3d-4e5f-8a9b-0c1d2e3f4a5b", "All Company")
            .unwrap_err();
        assert!(e.message.contains("Teammate Sync"), "{e}");
        let ok = SyncGroupChoice::parse("7A4C2F8E-1b3d-4e5f-8a9b-0c1d2e3f4a5b", "Teammate Sync")
            .unwrap();
        assert_eq!(ok.object_id(), "7a4c2f8e-1b3d-4e5f-8a9b-0c1d2e3f4a5b");
        assert!(SyncGroupChoice::parse("sales", "Sales").is_err());
    }
}

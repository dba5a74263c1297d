//! `teamline doctor` for one Microsoft tenant: the checks that decide on day one whether
//! Teamline will work there, each with what Microsoft answered in its own words and the fix.
//!
//! Read-only by default (`read`): app tokens for each audience, each Graph permission with a
//! harmless read, `getPolicyId` for each voice policy type and which surface grants it, the
//! `userConfigurations` read-back and the Teams admin REST surface. With a [`WriteTest`]
//! (`write`) it also assigns and removes a number and grants each policy on a test user, and
//! creates and removes a test object on the Teams admin REST surface, then puts the user back
//! as they were. [`sign_in_check`] reports how a sign-in decided the admin's roles.

mod probe;
mod read;
mod write;

use teamline_domain::diagnosis::{Check, Outcome};

pub(crate) use self::read::run_read_checks;
pub(crate) use self::write::run_write_test;
use crate::signin::{RoleSource, SignedInAdmin};
use crate::voice::PolicyType;

/// What the doctor checks beyond what it always does.
#[derive(Clone, Debug, Default)]
pub struct DoctorOptions {
    /// The policies Teamline grants in this tenant, per type; a type not named is checked
    /// with its `Global` instance.
    pub policies: Vec<(PolicyType, String)>,
    /// The write round trip on a test user, if asked for.
    pub write_test: Option<WriteTest>,
}

/// The write round trip: done on one user, who is put back as they were.
#[derive(Clone, Debug)]
pub struct WriteTest {
    /// The test user's UPN or object id.
    pub user: String,
    /// A Direct Routing number to assign when the user holds none (a user who holds one gets
    /// theirs removed and assigned again).
    pub number: String,
}

impl DoctorOptions {
    /// The policy to look up for each type: the named one, else Global.
    pub(crate) fn policy_names(&self) -> Vec<(PolicyType, String)> {
        PolicyType::ALL
            .into_iter()
            .map(|t| {
                let name = self
                    .policies
                    .iter()
                    .find(|(pt, _)| *pt == t)
                    .map_or_else(|| "Global".to_owned(), |(_, n)| n.clone());
                (t, name)
            })
            .collect()
    }
}

/// How a sign-in decided the admin's roles, as a doctor check (the web layer has the signed-in
/// admin; the command line cannot sign in for you).
pub fn sign_in_check(admin: &SignedInAdmin) -> Check {
    let who = admin.username.as_deref().unwrap_or(&admin.object_id);
    let source = match admin.role_source {
        RoleSource::IdToken => "from the ID token's wids claim".to_owned(),
        RoleSource::Graph => {
            "the ID token has no wids claim; roles read from Microsoft Graph (/me/transitiveMemberOf)"
                .to_owned()
        }
    };
    let title = "Admin sign-in: directory roles";
    if admin.is_global_admin {
        return Check::new(
            "signin.roles",
            title,
            Outcome::Pass,
            format!("{who} is a Global Administrator ({source})"),
        );
    }
    let check = Check::new(
        "signin.roles",
        title,
        Outcome::Fail,
        format!("{who} holds no active Global Administrator role ({source})"),
    );
    if admin.global_admin_needs_activation() {
        check.with_fix("Global Administrator is only eligible through Privileged Identity Management: activate it in the Entra admin center (My roles), then sign in again")
    } else {
        check.with_fix("sign in with a Global Administrator of the tenant")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signin::roles;

    fn admin(active: &[&str], eligible: Option<&[&str]>, source: RoleSource) -> SignedInAdmin {
        SignedInAdmin {
            tenant_id: "t".into(),
            object_id: "o".into(),
            username: Some("admin@contoso.example".into()),
            name: None,
            email: None,
            role_template_ids: active.iter().map(|r| r.to_string()).collect(),
            is_global_admin: active.contains(&roles::GLOBAL_ADMINISTRATOR),
            is_teams_admin: false,
            role_source: source,
            eligible_role_template_ids: eligible.map(|e| e.iter().map(|r| r.to_string()).collect()),
        }
    }

    #[test]
    fn the_sign_in_check_names_the_role_source_and_the_pim_fix() {
        let ok = sign_in_check(&admin(
            &[roles::GLOBAL_ADMINISTRATOR],
            None,
            RoleSource::Graph,
        ));
        assert_eq!(ok.outcome, Outcome::Pass);
        assert!(ok.found.contains("no wids claim"), "{}", ok.found);
        let eligible = sign_in_check(&admin(
            &[],
            Some(&[roles::GLOBAL_ADMINISTRATOR]),
            RoleSource::IdToken,
        ));
        assert_eq!(eligible.outcome, Outcome::Fail);
        assert!(eligible.fix.unwrap().contains("activate it"));
        let plain = sign_in_check(&admin(&[], Some(&[]), RoleSource::IdToken));
        assert!(
            plain
                .fix
                .unwrap()
                .contains("sign in with a Global Administrator")
        );
    }

    #[test]
    fn unnamed_policy_types_are_checked_with_global() {
        let options = DoctorOptions {
            policies: vec![(PolicyType::OnlineVoiceRoutingPolicy, "US-East-2".into())],
            write_test: None,
        };
        let names = options.policy_names();
        assert_eq!(names.len(), 4);
        assert_eq!(
            names[0],
            (PolicyType::OnlineVoiceRoutingPolicy, "US-East-2".into())
        );
        assert!(names[1..].iter().all(|(_, n)| n == "Global"));
    }
}

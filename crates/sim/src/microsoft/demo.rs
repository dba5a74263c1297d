//! The demo tenants' facts (`docs/demo-data.md` describes them): names, UPNs, passwords,
//! ids and policy names.
//!
//! The CLI `demo` command, Teamline's demo seeding and the tests all read these values, so the
//! simulator and Teamline's own database agree. Object ids are derived from a hash of the
//! tenant and the object's name: they are the same on every run and on every machine.

/// Contoso's tenant id (fixed).
pub const CONTOSO_TENANT_ID: &str = "8750e5a4-2c6e-4949-9e43-8043af3f92f2";
/// Contoso's display name.
pub const CONTOSO_NAME: &str = "Contoso";
/// Contoso's default verified domain.
pub const CONTOSO_DOMAIN: &str = "contoso.example";
/// Contoso's initial (`onmicrosoft`) domain.
pub const CONTOSO_INITIAL_DOMAIN: &str = "contoso.onmicrosoft.com";

/// Contoso's Global Administrator.
pub const CONTOSO_ADMIN_UPN: &str = "admin@contoso.example";
/// The Global Administrator's display name.
pub const CONTOSO_ADMIN_NAME: &str = "Contoso Admin";
/// The simulated sign-in password of every demo tenant's Global Administrator.
pub const ADMIN_PASSWORD: &str = "Teamline-Admin-2024!";
/// The simulated sign-in password of every other demo user (e.g. the non-admin Adele Vance).
pub const USER_PASSWORD: &str = "Teamline-User-2024!";
/// A member user who is not an administrator (for "non-admin refused" tests).
pub const CONTOSO_NON_ADMIN_UPN: &str = "AdeleV@contoso.example";
/// A user holding the Teams Administrator role (not Global Administrator).
pub const CONTOSO_TEAMS_ADMIN_UPN: &str = "PattiF@contoso.example";

/// The 16 licensed users (Teams + Teams Phone) in the sync group, in the demo's list order
/// (PBX extension 1000 + index up to Patti Fernandez; see `docs/demo-data.md`).
pub const CONTOSO_LICENSED_USERS: [&str; 16] = [
    "Adele Vance",
    "Alex Wilber",
    "Diego Siciliani",
    "Grady Archie",
    "Henrietta Mueller",
    "Isaiah Langer",
    "Johanna Lorenz",
    "Joni Sherman",
    "Lee Gu",
    "Lidia Holloway",
    "Lynne Robbins",
    "Megan Bowen",
    "Miriam Graham",
    "Nestor Wilke",
    "Patti Fernandez",
    "Pradeep Gupta",
];
/// Members of the nested group "Sales" (reach "Teammate Sync" only through it).
pub const CONTOSO_SALES_MEMBERS: [&str; 4] = [
    "Alex Wilber",
    "Megan Bowen",
    "Nestor Wilke",
    "Pradeep Gupta",
];
/// Licensed, but in no sync group.
pub const IRVIN_SAYERS: &str = "Irvin Sayers";
/// In the sync group, but without Teams Phone.
pub const CHRISTIE_CLINE: &str = "Christie Cline";
/// In the sync group, account disabled.
pub const ENRICO_CATTANEO: &str = "Enrico Cattaneo";
/// Licensed and in the sync group (previously configured on extension 1015 in Teamline).
pub const DEBRA_BERGER: &str = "Debra Berger";
/// A guest account (not eligible), in no group but "All Company" excluded.
pub const GUEST_NAME: &str = "Bianca Pisani";
/// The guest's UPN, in Entra's `#EXT#` form.
pub const GUEST_UPN: &str = "bianca.pisani_fabrikam.example#EXT#@contoso.example";
/// The resource account (auto attendant / call queue), with a number already assigned.
pub const MAIN_LINE_NAME: &str = "Main Line";
/// The resource account's UPN.
pub const MAIN_LINE_UPN: &str = "mainline@contoso.example";
/// The number assigned to the resource account "Main Line".
pub const MAIN_LINE_NUMBER: &str = "+14255550100";

/// The sync group.
pub const SYNC_GROUP: &str = "Teammate Sync";
/// The nested group inside the sync group.
pub const SALES_GROUP: &str = "Sales";
/// The organisation-wide group (everyone enabled, not guests nor resource accounts).
pub const ALL_COMPANY_GROUP: &str = "All Company";

/// Voice routes (SBC regions) provisioned in Contoso; each has a PSTN usage, a voice route and
/// an online voice routing policy of this name.
pub const CONTOSO_VOICE_ROUTES: [&str; 2] = ["US East 2", "US West"];
/// The per-tenant derived trunk FQDN used by each voice route, in the same order.
pub const CONTOSO_GATEWAYS: [&str; 2] = [
    "contoso-use2.sbc.example.net",
    "contoso-usw.sbc.example.net",
];
/// The tenant dial plan Teamline grants when "Assign Default Dial Plan Policy" is on.
pub const CONTOSO_DIAL_PLAN: &str = "Teamline";
/// The Teams calling policy that turns Teams voicemail off.
pub const NO_VOICEMAIL_CALLING_POLICY: &str = "Teamline No Voicemail";

/// Fabrikam's tenant id (fixed): its admin has not consented yet.
pub const FABRIKAM_TENANT_ID: &str = "3f53ac83-f2b0-4427-8456-631ac512eed8";
/// Fabrikam's display name.
pub const FABRIKAM_NAME: &str = "Fabrikam";
/// Fabrikam's country (the organization's `countryLetterCode`); Contoso's is `US`.
pub const FABRIKAM_COUNTRY: &str = "GB";
/// Fabrikam's default verified domain.
pub const FABRIKAM_DOMAIN: &str = "fabrikam.example";
/// Fabrikam's Global Administrator (password [`ADMIN_PASSWORD`]).
pub const FABRIKAM_ADMIN_UPN: &str = "admin@fabrikam.example";
/// A Fabrikam user who is not an administrator (password [`USER_PASSWORD`]).
pub const FABRIKAM_NON_ADMIN_UPN: &str = "KatieJ@fabrikam.example";

/// Teamline's multi-tenant app registration: application (client) id.
pub const TEAMLINE_APP_CLIENT_ID: &str = "3b89a544-50fb-41b3-8bda-0585f10dbb7e";
/// Teamline's app registration: client secret (simulated).
pub const TEAMLINE_APP_CLIENT_SECRET: &str = "tlsim~Q8x.demo-secret-7f3a2c";
/// Teamline's app registration: display name shown on consent screens.
pub const TEAMLINE_APP_NAME: &str = "Teamline";
/// Redirect URIs registered for Teamline. As in Entra ID, the port of a loopback redirect URI
/// (`http://localhost`, `http://127.0.0.1`) is ignored when matching.
pub const TEAMLINE_APP_REDIRECT_URIS: [&str; 6] = [
    "http://localhost/auth/microsoft/callback",
    "http://127.0.0.1/auth/microsoft/callback",
    "http://localhost/auth/microsoft/consent",
    "http://127.0.0.1/auth/microsoft/consent",
    "https://teamline.example/auth/microsoft/callback",
    "https://teamline.example/auth/microsoft/consent",
];
/// Application permissions (app roles on Microsoft Graph) Teamline's registration requests.
pub const TEAMLINE_GRAPH_APP_ROLES: [&str; 9] = [
    "User.Read.All",
    "User.ReadWrite.All",
    "LicenseAssignment.ReadWrite.All",
    "GroupMember.Read.All",
    "Organization.Read.All",
    "Domain.ReadWrite.All",
    "TeamsTelephoneNumber.ReadWrite.All",
    "TeamsPolicyUserAssign.ReadWrite.All",
    "TeamsUserConfiguration.Read.All",
];
/// Delegated permissions for the admin sign-in: identity, the signed-in user's own directory
/// roles (`User.Read`) and their Privileged Identity Management eligibilities.
pub const TEAMLINE_DELEGATED_SCOPES: [&str; 6] = [
    "openid",
    "profile",
    "email",
    "offline_access",
    "User.Read",
    "RoleEligibilitySchedule.Read.Directory",
];

pub use super::model::ids::{group_id, stable_guid, user_id};
pub use super::model::well_known::{
    GRAPH_APP_ID, GRAPH_RESOURCE, PLAN_MCOEV, PLAN_MCOEV_VIRTUALUSER, PLAN_MCOPSTN1, PLAN_TEAMS1,
    ROLE_DEFAULT_USER, ROLE_GLOBAL_ADMIN, ROLE_PRIVILEGED_ROLE_ADMIN, ROLE_TEAMS_ADMIN,
    ROLE_TEAMS_COMMS_ADMIN, TEAMS_ADMIN_APP_ID, TEAMS_ADMIN_APP_ROLE,
};

/// UPN of a Contoso user from its display name: first name + initial of the last name.
///
/// `upn_for("Adele Vance", "contoso.example") == "AdeleV@contoso.example"`.
pub fn upn_for(display_name: &str, domain: &str) -> String {
    let mut parts = display_name.split_whitespace();
    let first = parts.next().unwrap_or_default();
    let initial: String = parts
        .last()
        .and_then(|last| last.chars().next())
        .map(String::from)
        .unwrap_or_default();
    format!("{first}{initial}@{domain}")
}

/// Object id of a Contoso user from its display name (e.g. `"Adele Vance"`).
pub fn contoso_user_id(display_name: &str) -> String {
    user_id(CONTOSO_TENANT_ID, &upn_for(display_name, CONTOSO_DOMAIN))
}

/// Object id of a Contoso group from its display name (e.g. [`SYNC_GROUP`]).
pub fn contoso_group_id(display_name: &str) -> String {
    group_id(CONTOSO_TENANT_ID, display_name)
}

/// Object id of Teamline's service principal in a tenant (exists once consent was granted).
pub fn service_principal_id(tenant_id: &str) -> String {
    super::model::ids::service_principal_id(tenant_id, TEAMLINE_APP_CLIENT_ID)
}

/// Tenant id of a generated tenant named `name` (see `MicrosoftSim::seed_generated`).
pub fn generated_tenant_id(name: &str) -> String {
    stable_guid("generated-tenant", name)
}

/// Domain of a generated tenant named `name`.
pub fn generated_domain(name: &str) -> String {
    format!("{}.example", name.to_lowercase())
}

/// UPN of the `index`-th (0-based) user of a generated tenant.
pub fn generated_user_upn(name: &str, index: usize) -> String {
    format!("user{index:06}@{}", generated_domain(name))
}

/// Display name of the `k`-th (0-based) sync group of a generated tenant: [`SYNC_GROUP`], then
/// "Teammate Sync 2", "Teammate Sync 3", ...
pub fn generated_sync_group_name(k: usize) -> String {
    if k == 0 {
        SYNC_GROUP.to_owned()
    } else {
        format!("{SYNC_GROUP} {}", k + 1)
    }
}

/// Object id of a group of a generated tenant named `name`, from its display name.
pub fn generated_group_id(name: &str, display_name: &str) -> String {
    group_id(&generated_tenant_id(name), display_name)
}

/// The users (0-based indexes) of the `k`-th of `groups` sync groups of `members` each in a
/// generated tenant of `users`: consecutive runs, each starting a stride after the last (at
/// most half a group, so neighbouring groups overlap by at least half), together covering at
/// most every user.
pub fn generated_sync_group_range(
    users: usize,
    members: usize,
    groups: usize,
    k: usize,
) -> std::ops::Range<usize> {
    let members = members.min(users);
    let stride = if groups > 1 {
        ((users - members) / (groups - 1)).min(members / 2)
    } else {
        0
    };
    let start = k * stride;
    start..start + members
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_sync_groups_overlap_and_stay_within_the_tenant() {
        // Ten groups of 20 000 in 100 000 users: each starts 8 888 after the last.
        assert_eq!(
            generated_sync_group_range(100_000, 20_000, 10, 0),
            0..20_000
        );
        assert_eq!(
            generated_sync_group_range(100_000, 20_000, 10, 1),
            8_888..28_888
        );
        assert_eq!(
            generated_sync_group_range(100_000, 20_000, 10, 9),
            79_992..99_992
        );
        // Few groups in a large tenant: neighbours still overlap by half.
        assert_eq!(generated_sync_group_range(2_000, 400, 3, 2), 400..800);
        assert_eq!(generated_sync_group_range(2_000, 400, 1, 0), 0..400);
        assert_eq!(generated_sync_group_name(0), SYNC_GROUP);
        assert_eq!(generated_sync_group_name(2), "Teammate Sync 3");
    }

    #[test]
    fn upns_follow_first_name_and_last_initial() {
        assert_eq!(
            upn_for("Adele Vance", CONTOSO_DOMAIN),
            CONTOSO_NON_ADMIN_UPN
        );
        assert_eq!(
            upn_for("Megan Bowen", CONTOSO_DOMAIN),
            "MeganB@contoso.example"
        );
    }

    #[test]
    fn ids_are_stable_and_distinct() {
        assert_eq!(
            contoso_user_id("Adele Vance"),
            contoso_user_id("Adele Vance")
        );
        assert_ne!(
            contoso_user_id("Adele Vance"),
            contoso_user_id("Alex Wilber")
        );
        assert_eq!(contoso_user_id("Adele Vance").len(), 36);
        assert!(uuid::Uuid::parse_str(&contoso_group_id(SYNC_GROUP)).is_ok());
    }
}

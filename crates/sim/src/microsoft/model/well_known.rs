//! Microsoft's well-known identifiers the simulated services act on: service plans (which
//! decide a user's Teams features), directory role templates (who may consent or administer
//! Teams) and the first-party applications whose tokens the simulator issues. They are the same
//! in every tenant of the real cloud.

/// Service plan id of Microsoft Teams (`TEAMS1`).
pub const PLAN_TEAMS1: &str = "57ff2da0-773e-42df-b2af-ffb7a2317929";
/// Service plan id of Teams Phone (`MCOEV`).
pub const PLAN_MCOEV: &str = "4828c8ec-dc2e-4779-b502-87ac9ce28ab7";
/// Service plan id of Teams Phone Resource Account (`MCOEV_VIRTUALUSER`).
pub const PLAN_MCOEV_VIRTUALUSER: &str = "f47330e9-c134-43b3-9993-e7f004506889";
/// Service plan id of the Microsoft 365 Domestic Calling Plan (`MCOPSTN1`), which conflicts
/// with Direct Routing.
pub const PLAN_MCOPSTN1: &str = "4ed3ff63-69d7-4fb7-b984-5aec7f605ca8";
/// Office 365 E5 (`ENTERPRISEPREMIUM`): Teams and Teams Phone.
pub const SKU_E5: &str = "c7df2760-2c81-4ef7-b578-5b5392b571df";
/// Teams Phone Standard (`MCOEV`).
pub const SKU_MCOEV: &str = "e43b5b99-8dfb-405f-9987-dc307f34bcbd";

/// Directory role template id: Global Administrator.
pub const ROLE_GLOBAL_ADMIN: &str = "62e90394-69f5-4237-9190-012177145e10";
/// Directory role template id: Teams Administrator.
pub const ROLE_TEAMS_ADMIN: &str = "69091246-20e8-4a56-aa4d-066075b2a7a8";
/// Directory role template id: Teams Communications Administrator.
pub const ROLE_TEAMS_COMMS_ADMIN: &str = "baf37b3a-610e-45da-9e62-d9d1e5e8914b";
/// Directory role template id: Privileged Role Administrator.
pub const ROLE_PRIVILEGED_ROLE_ADMIN: &str = "e8611ab8-c189-46e8-94e1-60213ab1f814";
/// The "default user" placeholder that appears in every member's `wids`.
pub const ROLE_DEFAULT_USER: &str = "b79fbf4d-3ef9-4689-8143-76b194e85509";

/// Microsoft Graph's application id (also accepted as a scope resource).
pub const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";
/// Microsoft Graph's resource URI.
pub const GRAPH_RESOURCE: &str = "https://graph.microsoft.com";
/// "Skype and Teams Tenant Admin API" application id: the Teams admin REST surface audience.
pub const TEAMS_ADMIN_APP_ID: &str = "48ac35b8-9aa8-4d74-927d-1f4a14a0b239";
/// The app role of the Teams admin REST surface granted by admin consent.
pub const TEAMS_ADMIN_APP_ROLE: &str = "application_access";

/// The `service` value Graph shows for a known service plan id.
pub(crate) fn service_of_plan(plan_id: &str) -> &'static str {
    match plan_id {
        PLAN_TEAMS1 => "TeamspaceAPI",
        PLAN_MCOEV | PLAN_MCOEV_VIRTUALUSER | PLAN_MCOPSTN1 => "MicrosoftCommunicationsOnline",
        _ => "Unknown",
    }
}

//! The read-only checks: nothing in the tenant changes.

use reqwest::Method;
use serde_json::Value;
use teamline_domain::diagnosis::{Check, Outcome};

use super::DoctorOptions;
use super::probe::{self, Answer};
use crate::client::TenantClient;
use crate::directory::group_delta::{GROUPS_PER_ROUND, filter_limit, round_query};
use crate::error::MicrosoftError;
use crate::learned::PolicyPath;
use crate::odata::{function_call, segment};
use crate::tenant::TenantCore;
use crate::tokens::Audience;
use crate::voice::{PolicyType, TeamsVoice, UserRef};

const CONSENT_FIX: &str = "a Global Administrator of the tenant grants admin consent to Teamline again (Enterprise portal, Dashboard, Grant consent), so the app gets every permission it asks for";
const ROLE_FIX: &str = "give Teamline's app the Teams Administrator role in the tenant (Microsoft Entra admin center, Roles and administrators) and make sure admin consent includes the Skype and Teams Tenant Admin API (application_access)";

/// A check failed because Microsoft could not be reached or answered nonsense.
fn unreachable(id: &str, title: &str, e: &MicrosoftError) -> Check {
    Check::new(id, title, Outcome::Fail, "no answer Teamline could read")
        .with_error(e.to_string())
        .with_fix("check this server's network access to Microsoft and run the doctor again")
}

async fn token_checks(core: &TenantCore) -> Vec<Check> {
    let mut out = Vec::new();
    for (audience, id, title, scope) in [
        (
            Audience::Graph,
            "token.graph",
            "App token for Microsoft Graph",
            "Microsoft Graph",
        ),
        (
            Audience::TeamsAdmin,
            "token.teams_admin",
            "App token for the Teams admin API",
            "Skype and Teams Tenant Admin API",
        ),
    ] {
        out.push(match core.tokens.probe(&core.tenant_id, audience).await {
            Ok(()) => Check::new(
                id,
                title,
                Outcome::Pass,
                format!("Entra ID issues Teamline an app-only token for the {scope}"),
            ),
            Err(refusal) => Check::new(
                id,
                title,
                Outcome::Fail,
                format!("Entra ID refused an app-only token for the {scope}"),
            )
            .with_error(
                refusal
                    .microsoft_says
                    .unwrap_or_else(|| refusal.error.to_string()),
            )
            .with_fix(refusal.error.to_string()),
        });
    }
    out
}

/// The fix for one missing Graph application permission.
fn permission_fix(permission: &str) -> String {
    format!(
        "Teamline's app needs the Microsoft Graph application permission {permission}: make sure its app registration requests it \
         (Microsoft Entra admin center, App registrations, API permissions), then a Global Administrator of the tenant grants admin consent \
         to Teamline again (Enterprise portal, Dashboard, Grant consent)"
    )
}

/// One Graph application permission, proven with a harmless read.
async fn permission_check(core: &TenantCore, permission: &str, path: &str, reads: &str) -> Check {
    let id = format!("graph.permission.{permission}");
    let title = format!("Graph permission {permission}");
    match probe::graph_get(core, path, reads).await {
        Ok(a) if a.ok() => Check::new(id, title, Outcome::Pass, format!("Teamline can {reads}")),
        Ok(a) if a.status == 403 || a.status == 401 => Check::new(
            id,
            title,
            Outcome::Fail,
            format!(
                "Microsoft refused to let Teamline {reads} (HTTP {})",
                a.status
            ),
        )
        .with_error(a.error.unwrap_or_default())
        .with_fix(permission_fix(permission)),
        Ok(a) => Check::new(
            id,
            title,
            Outcome::Fail,
            format!(
                "Microsoft answered HTTP {} when Teamline tried to {reads}",
                a.status
            ),
        )
        .with_error(a.error.unwrap_or_default()),
        Err(e) => unreachable(&id, &title, &e),
    }
}

async fn permission_checks(core: &TenantCore) -> Vec<Check> {
    let numbers = "/admin/teams/telephoneNumberManagement/numberAssignments?$top=1";
    let policy = format!(
        "/admin/teams/policy/{}",
        function_call(
            "getPolicyId",
            &[("type", "TeamsMeetingPolicy"), ("name", "Global")]
        )
    );
    let list: [(&str, &str, &str); 6] = [
        (
            "User.Read.All",
            "/users?$top=1&$select=id",
            "read the tenant's users",
        ),
        (
            "GroupMember.Read.All",
            "/groups?$top=1&$select=id",
            "read the tenant's groups",
        ),
        (
            "Organization.Read.All",
            "/organization?$select=id,verifiedDomains,countryLetterCode,defaultUsageLocation",
            "read the organization and its country (the activation user's usage location)",
        ),
        (
            "TeamsTelephoneNumber.ReadWrite.All",
            numbers,
            "read the Teams number inventory",
        ),
        (
            "TeamsUserConfiguration.Read.All",
            "/admin/teams/userConfigurations?$top=1&$select=id",
            "read users' Teams configurations",
        ),
        (
            "TeamsPolicyUserAssign.ReadWrite.All",
            &policy,
            "look up a Teams policy id",
        ),
    ];
    let mut out = Vec::new();
    for (permission, path, reads) in list {
        out.push(permission_check(core, permission, path, reads).await);
    }
    out.push(licences_check(core).await);
    for probe in SETUP_WRITES {
        out.push(write_permission_check(core, &probe).await);
    }
    out
}

/// The licence check of the Direct Routing set-up reads `subscribedSkus`.
async fn licences_check(core: &TenantCore) -> Check {
    let id = "graph.subscribed_skus";
    let title = "Graph: the tenant's licences (subscribedSkus)";
    let reads = "read the tenant's licences (the Direct Routing set-up's licence check)";
    match probe::graph_get(core, "/subscribedSkus?$select=skuId,skuPartNumber", reads).await {
        Ok(a) if a.ok() => Check::new(id, title, Outcome::Pass, format!("Teamline can {reads}")),
        Ok(a) if a.status == 403 || a.status == 401 => Check::new(
            id,
            title,
            Outcome::Fail,
            format!(
                "Microsoft refused to let Teamline {reads} (HTTP {})",
                a.status
            ),
        )
        .with_error(a.error.unwrap_or_default())
        .with_fix(permission_fix("Organization.Read.All")),
        Ok(a) => Check::new(
            id,
            title,
            Outcome::Fail,
            format!(
                "Microsoft answered HTTP {} when Teamline tried to {reads}",
                a.status
            ),
        )
        .with_error(a.error.unwrap_or_default()),
        Err(e) => unreachable(id, title, &e),
    }
}

/// A permission the Direct Routing set-up writes with, proven by a request Microsoft refuses
/// for its content (nothing to create, a user that does not exist): Graph checks the
/// permission first, so 401/403 means it is missing and 400/404 that it is there, and the
/// tenant does not change either way.
struct WriteProbe {
    permission: &'static str,
    path: &'static str,
    body: fn() -> Value,
    does: &'static str,
}

const SETUP_WRITES: [WriteProbe; 3] = [
    WriteProbe {
        permission: "User.ReadWrite.All",
        path: "/users",
        body: || serde_json::json!({}),
        does: "create users (the Direct Routing activation user of each SBC subdomain)",
    },
    WriteProbe {
        permission: "LicenseAssignment.ReadWrite.All",
        // No user has the nil id: an `assignLicense` on it can change nothing.
        path: "/users/00000000-0000-0000-0000-000000000000/assignLicense",
        body: || serde_json::json!({"addLicenses": [], "removeLicenses": []}),
        does: "assign licences (the activation user's Teams Phone licence)",
    },
    WriteProbe {
        permission: "Domain.ReadWrite.All",
        path: "/domains",
        body: || serde_json::json!({}),
        does: "add and verify domains (each SBC region's subdomain)",
    },
];

async fn write_permission_check(core: &TenantCore, probe: &WriteProbe) -> Check {
    let permission = probe.permission;
    let id = format!("graph.permission.{permission}");
    let title = format!("Graph permission {permission}");
    let does = probe.does;
    match probe::graph_post(core, probe.path, &(probe.body)(), does).await {
        Ok(a) if a.status == 403 || a.status == 401 => Check::new(
            id,
            title,
            Outcome::Fail,
            format!(
                "Microsoft refused to let Teamline {does} (HTTP {})",
                a.status
            ),
        )
        .with_error(a.error.unwrap_or_default())
        .with_fix(permission_fix(permission)),
        Ok(a) if a.ok() || a.status == 400 || a.status == 404 => Check::new(
            id,
            title,
            Outcome::Pass,
            format!(
                "Teamline may {does} (tried with a request that changes nothing, which Microsoft refused for its content: HTTP {})",
                a.status
            ),
        ),
        Ok(a) => Check::new(
            id,
            title,
            Outcome::Fail,
            format!(
                "Microsoft answered HTTP {} when Teamline checked that it may {does}",
                a.status
            ),
        )
        .with_error(a.error.unwrap_or_default()),
        Err(e) => unreachable(&id, &title, &e),
    }
}

/// Whether the Teams admin REST surface has the policy, with the identity it reports.
async fn admin_has_policy(
    core: &TenantCore,
    policy_type: PolicyType,
    name: &str,
) -> Result<Option<String>, Answer> {
    for identity in [name.to_owned(), format!("Tag:{name}")] {
        let path = format!(
            "/Skype.Policy/configurations/{}/configuration/{}",
            policy_type.as_str(),
            segment(&identity)
        );
        let a = probe::admin_call(core, Method::GET, &path, None, "read a policy")
            .await
            .map_err(|e| Answer {
                status: 0,
                body: Vec::new(),
                error: Some(e.to_string()),
            })?;
        if a.ok() {
            let reported = a
                .json()
                .get("Identity")
                .and_then(Value::as_str)
                .map_or(identity, str::to_owned);
            return Ok(Some(reported));
        }
        if a.status != 404 {
            return Err(a);
        }
    }
    Ok(None)
}

/// `getPolicyId` for one policy, and which surface grants its type in this tenant.
async fn policy_check(core: &TenantCore, policy_type: PolicyType, name: &str) -> Check {
    let id = format!("policy.{}", policy_type.as_str());
    let title = format!("{policy_type} \"{name}\": lookup and grant path");
    let function = function_call(
        "getPolicyId",
        &[("type", policy_type.as_str()), ("name", name)],
    );
    let graph = match probe::graph_get(
        core,
        &format!("/admin/teams/policy/{function}"),
        "look up a policy id",
    )
    .await
    {
        Ok(a) => a,
        Err(e) => return unreachable(&id, &title, &e),
    };
    let entries: Vec<Value> = match graph.json().get("value") {
        Some(Value::Array(items)) => items.clone(),
        Some(obj @ Value::Object(_)) => vec![obj.clone()],
        _ => Vec::new(),
    };
    let tagged = format!("Tag:{name}");
    let named = entries.iter().any(|e| {
        e.get("name")
            .and_then(Value::as_str)
            .is_some_and(|n| n.eq_ignore_ascii_case(name) || n.eq_ignore_ascii_case(&tagged))
    });
    let others = entries.len() - usize::from(named);
    if graph.ok() && named {
        core.learned.set_policy_path(policy_type, PolicyPath::Graph);
        let found = if others == 0 {
            "Graph's getPolicyId finds it; Teamline grants this type through Graph".to_owned()
        } else {
            format!(
                "Graph's getPolicyId finds it among {} entries (it returns a collection; Teamline takes only the one with this name); grants go through Graph",
                entries.len()
            )
        };
        return Check::new(&id, &title, Outcome::Pass, found);
    }
    if graph.status == 401 || graph.status == 403 {
        return Check::new(
            &id,
            &title,
            Outcome::Fail,
            "Microsoft refused the policy lookup",
        )
        .with_error(graph.error.unwrap_or_default())
        .with_fix(CONSENT_FIX);
    }
    let refused = graph.status == 400;
    let on_admin = match admin_has_policy(core, policy_type, name).await {
        Ok(found) => found,
        Err(a) if a.status == 401 || a.status == 403 => {
            return Check::new(
                &id,
                &title,
                Outcome::Fail,
                "the Teams admin REST surface refused to read the policy",
            )
            .with_error(a.error.unwrap_or_default())
            .with_fix(ROLE_FIX);
        }
        Err(a) => {
            return Check::new(
                &id,
                &title,
                Outcome::Fail,
                format!(
                    "the Teams admin REST surface answered HTTP {} reading the policy",
                    a.status
                ),
            )
            .with_error(a.error.unwrap_or_default());
        }
    };
    match (refused, on_admin) {
        (true, Some(identity)) => {
            core.learned
                .set_policy_path(policy_type, PolicyPath::TeamsAdmin);
            Check::new(
                &id,
                &title,
                Outcome::Warn,
                format!(
                    "Graph refuses the policy type {policy_type} (HTTP 400); the policy exists as {identity} on the Teams admin REST surface, so Teamline grants this type there"
                ),
            )
            .with_error(graph.error.unwrap_or_default())
        }
        (false, Some(identity)) => Check::new(
            &id,
            &title,
            Outcome::Warn,
            if entries.is_empty() {
                format!(
                    "the policy exists as {identity} but Graph's getPolicyId does not find it yet (HTTP {}); a policy created a moment ago replicates to Graph, Teamline waits for it",
                    graph.status
                )
            } else {
                format!(
                    "Graph's getPolicyId answered {} entries, none named \"{name}\" (the policy exists as {identity}); Teamline never takes another entry, it waits for this one",
                    entries.len()
                )
            },
        )
        .with_error(graph.error.unwrap_or_default()),
        (_, None) => Check::new(
            &id,
            &title,
            Outcome::Fail,
            format!("the tenant has no {policy_type} named \"{name}\""),
        )
        .with_error(graph.error.unwrap_or_default())
        .with_fix("run Sync Voice Routes in the Enterprise portal so Teamline creates it"),
    }
}

/// Reads one user's Teams configuration, the way Teamline reads every user back.
async fn read_back_check(client: &TenantClient, user: Option<&UserRef>) -> Check {
    let id = "voice.user_configuration";
    let title = "userConfigurations read-back";
    let core = &client.core;
    let user = match user {
        Some(u) => u.clone(),
        None => {
            let first = match probe::graph_get(
                core,
                "/admin/teams/userConfigurations?$top=1",
                "list users' Teams configurations",
            )
            .await
            {
                Ok(a) if a.ok() => a,
                Ok(a) => {
                    return Check::new(id, title, Outcome::Fail, "listing failed")
                        .with_error(a.error.unwrap_or_default())
                        .with_fix(CONSENT_FIX);
                }
                Err(e) => return unreachable(id, title, &e),
            };
            let first_user = first
                .json()
                .get("value")
                .and_then(Value::as_array)
                .and_then(|v| v.first().cloned());
            let Some(u) = first_user else {
                return Check::new(
                    id,
                    title,
                    Outcome::Skip,
                    "the tenant has no Teams users to read",
                );
            };
            let uid = u.get("id").and_then(Value::as_str).unwrap_or_default();
            let upn = u
                .get("userPrincipalName")
                .and_then(Value::as_str)
                .unwrap_or(uid);
            UserRef::new(uid, upn)
        }
    };
    let raw = match probe::graph_get(
        core,
        &format!("/admin/teams/userConfigurations/{}", segment(&user.id)),
        "read a user's Teams configuration",
    )
    .await
    {
        Ok(a) => a,
        Err(e) => return unreachable(id, title, &e),
    };
    if !raw.ok() {
        return Check::new(
            id,
            title,
            Outcome::Fail,
            format!("reading {} answered HTTP {}", user.upn, raw.status),
        )
        .with_error(raw.error.unwrap_or_default());
    }
    let shape = if raw.json().get("value").is_some_and(Value::is_object) {
        "wrapped in \"value\" as Microsoft's documentation shows"
    } else {
        "as a plain entity"
    };
    match client.voice.user_voice_config(&user).await {
        Ok(c) => Check::new(
            id,
            title,
            Outcome::Pass,
            format!(
                "{} reads back ({shape}): enterprise voice {}, number {}, voice routing policy {}",
                user.upn,
                if c.enterprise_voice_enabled {
                    "on"
                } else {
                    "off"
                },
                c.primary_number().unwrap_or("none"),
                c.policy_name(PolicyType::OnlineVoiceRoutingPolicy)
            ),
        ),
        Err(e) => Check::new(
            id,
            title,
            Outcome::Fail,
            format!(
                "{} answered {shape} but Teamline could not read it",
                user.upn
            ),
        )
        .with_error(e.to_string()),
    }
}

/// How many group ids one groups delta `$filter` may hold: Teamline tracks the sync groups
/// and the groups nested in them in rounds of 15 ids, and fewer when the tenant says so.
async fn groups_delta_check(core: &TenantCore) -> Check {
    let id = "graph.groups_delta_filter";
    let title = "Groups delta: group ids per filter";
    let per_round = GROUPS_PER_ROUND + 1;
    let listed = match probe::graph_get(
        core,
        &format!("/groups?$top={per_round}&$select=id"),
        "list a few groups",
    )
    .await
    {
        Ok(a) if a.ok() => a,
        Ok(a) => {
            return Check::new(
                id,
                title,
                Outcome::Skip,
                "not checked: the groups could not be listed",
            )
            .with_error(a.error.unwrap_or_default());
        }
        Err(e) => return unreachable(id, title, &e),
    };
    let ids: Vec<String> = listed
        .json()
        .get("value")
        .and_then(Value::as_array)
        .map(|groups| {
            groups
                .iter()
                .filter_map(|g| g.get("id").and_then(Value::as_str).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    if ids.len() < 2 {
        return Check::new(
            id,
            title,
            Outcome::Skip,
            "not checked: the tenant has fewer than two groups",
        );
    }
    let ask = &ids[..ids.len().min(GROUPS_PER_ROUND)];
    let path = format!("/groups/delta?{}", round_query(ask));
    match probe::graph_get(core, &path, "track changes to a few groups").await {
        Ok(a) if a.ok() => Check::new(
            id,
            title,
            Outcome::Pass,
            format!(
                "Graph takes {} group ids in one groups delta filter (Teamline sends at most {GROUPS_PER_ROUND})",
                ask.len()
            ),
        ),
        Ok(a) => {
            let error = a.error.unwrap_or_default();
            let (code, message) = error.split_once(": ").unwrap_or(("", error.as_str()));
            match filter_limit(code, message).filter(|_| a.status == 400) {
                Some(limit) => Check::new(
                    id,
                    title,
                    Outcome::Warn,
                    format!(
                        "Graph takes only {limit} group ids per groups delta filter (public reports say {GROUPS_PER_ROUND}): Teamline tracks the groups in rounds of {limit}"
                    ),
                )
                .with_error(error),
                None => Check::new(
                    id,
                    title,
                    Outcome::Fail,
                    format!("Graph answered HTTP {} to a groups delta over {} groups", a.status, ask.len()),
                )
                .with_error(error)
                .with_fix("directory sync of nested sync groups will fail the same way: send this text to Teamline's maintainers"),
            }
        }
        Err(e) => unreachable(id, title, &e),
    }
}

async fn teams_admin_check(core: &TenantCore) -> Check {
    let id = "teams_admin.reachable";
    let title = "Teams admin REST surface";
    match probe::admin_call(
        core,
        Method::GET,
        "/Skype.Policy/configurations/OnlinePstnUsages/configuration/Global",
        None,
        "read the PSTN usages",
    )
    .await
    {
        Ok(a) if a.ok() => Check::new(
            id,
            title,
            Outcome::Pass,
            "reachable with Teamline's app token; the app's service principal holds a Teams admin role",
        ),
        Ok(a) if a.status == 401 || a.status == 403 => Check::new(
            id,
            title,
            Outcome::Fail,
            format!("the surface refused Teamline's app (HTTP {})", a.status),
        )
        .with_error(a.error.unwrap_or_default())
        .with_fix(ROLE_FIX),
        Ok(a) => Check::new(
            id,
            title,
            Outcome::Fail,
            format!("the surface answered HTTP {}", a.status),
        )
        .with_error(a.error.unwrap_or_default()),
        Err(e) => unreachable(id, title, &e),
    }
}

/// Every read-only check, in the order an admin fixes them.
pub(crate) async fn run_read_checks(
    client: &TenantClient,
    options: &DoctorOptions,
    test_user: Option<&UserRef>,
) -> Vec<Check> {
    let core = &client.core;
    let mut checks = token_checks(core).await;
    if checks
        .iter()
        .any(|c| c.id == "token.graph" && c.outcome == Outcome::Fail)
    {
        checks.push(Check::new(
            "graph",
            "Microsoft Graph",
            Outcome::Skip,
            "not checked: Teamline has no Graph token for the tenant",
        ));
        return checks;
    }
    checks.extend(permission_checks(core).await);
    checks.push(groups_delta_check(core).await);
    for (policy_type, name) in options.policy_names() {
        checks.push(policy_check(core, policy_type, &name).await);
    }
    checks.push(read_back_check(client, test_user).await);
    checks.push(teams_admin_check(core).await);
    checks
}

//! Deterministic tenants: Contoso and Fabrikam of the demo data (`docs/demo-data.md`), and
//! generated tenants of any size.

use std::collections::HashSet;
use std::sync::Arc;

use serde_json::{Value, json};

use super::demo::{self, *};
use super::model::ids;
use super::model::{
    AssignedPlan, CapabilityStatus, Consent, Domain, Group, Member, NumberRecord, TeamsUser,
    Tenant, User, UserNumber, service_of_plan,
};

/// When the demo licences were assigned (2024-01-07T09:08:50Z).
const LICENSED_AT: i64 = 1_704_618_530;

pub(crate) fn plan(plan_id: &str, status: CapabilityStatus) -> AssignedPlan {
    AssignedPlan {
        plan_id: Arc::from(plan_id),
        service: Arc::from(service_of_plan(plan_id)),
        status,
        assigned: LICENSED_AT,
    }
}

fn teams_and_phone() -> Vec<AssignedPlan> {
    vec![
        plan(PLAN_MCOEV, CapabilityStatus::Enabled),
        plan(PLAN_TEAMS1, CapabilityStatus::Enabled),
    ]
}

/// A new user object with the given basics (enabled member, no roles).
pub(crate) fn new_user(tenant_id: &str, upn: &str, display_name: &str, password: Arc<str>) -> User {
    let mut names = display_name.split_whitespace();
    let given = names.next().map(str::to_string);
    let surname = names.last().map(str::to_string);
    User {
        id: demo::user_id(tenant_id, upn),
        upn: upn.to_string(),
        display_name: display_name.to_string(),
        given_name: given,
        surname,
        mail: Some(upn.to_string()),
        account_enabled: true,
        guest: false,
        usage_location: Some("US".into()),
        created: LICENSED_AT,
        plans: Vec::new(),
        password,
        wids: vec![ROLE_DEFAULT_USER.to_string()],
        eligible_roles: Vec::new(),
        resource_account: false,
        deleted: None,
        teams: TeamsUser::default(),
    }
}

/// A new group object.
pub(crate) fn new_group(
    tenant_id: &str,
    name: &str,
    unified: bool,
    description: &str,
    domain: &str,
) -> Group {
    let nickname: String = name.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    Group {
        id: demo::group_id(tenant_id, name),
        display_name: name.to_string(),
        description: Some(description.to_string()),
        mail: unified.then(|| format!("{nickname}@{domain}")),
        mail_nickname: nickname,
        mail_enabled: unified,
        security_enabled: !unified,
        group_types: if unified {
            vec!["Unified".into()]
        } else {
            Vec::new()
        },
        members: Vec::new(),
        member_set: HashSet::new(),
        created: LICENSED_AT,
        deleted: None,
    }
}

fn domain(name: &str, default: bool, initial: bool) -> Domain {
    Domain {
        id: name.to_string(),
        is_default: default,
        is_initial: initial,
        is_verified: true,
        supported_services: if initial {
            vec!["Email".into(), "OfficeCommunicationsOnline".into()]
        } else {
            vec![
                "Email".into(),
                "OfficeCommunicationsOnline".into(),
                "Intune".into(),
            ]
        },
        verification_code: ids::verification_code(name),
        dns_published: true,
        dns_seen_at: None,
    }
}

/// Full consent as granted by a Global Administrator through `/adminconsent`.
pub(crate) fn full_consent() -> Consent {
    Consent {
        graph_roles: TEAMLINE_GRAPH_APP_ROLES
            .iter()
            .map(|r| r.to_string())
            .collect(),
        teams_admin: true,
        delegated_org: true,
    }
}

/// Contoso's voice routes, dial plan and calling policy (already provisioned by Teamline).
fn contoso_voice(t: &mut Tenant) {
    let usages: Vec<Value> = CONTOSO_VOICE_ROUTES
        .iter()
        .map(|r| Value::from(*r))
        .collect();
    t.put_config("OnlinePstnUsages", "Global", json!({ "Usage": usages }));
    for (route, gateway) in CONTOSO_VOICE_ROUTES.iter().zip(CONTOSO_GATEWAYS) {
        t.put_config(
            "OnlinePSTNGateway",
            gateway,
            json!({
                "Fqdn": gateway, "SipSignalingPort": 5061, "Enabled": true,
                "ForwardCallHistory": true, "ForwardPai": true, "MediaBypass": false,
                "SendSipOptions": true, "MaxConcurrentSessions": null,
                "FailoverTimeSeconds": 10, "FailoverResponseCodes": "408,503,504",
                "Description": format!("Teamline {route}"),
            }),
        );
        t.put_config(
            "OnlineVoiceRoute",
            route,
            json!({
                "Name": route, "Priority": 1, "NumberPattern": ".*",
                "OnlinePstnGatewayList": [gateway], "OnlinePstnUsages": [route],
                "BridgeSourcePhoneNumber": null, "Description": format!("Teamline {route}"),
            }),
        );
        t.put_config("OnlineVoiceRoutingPolicy",
            &format!("Tag:{route}"),
            json!({ "OnlinePstnUsages": [route], "Description": format!("Teamline {route}"), "RouteType": "BYOT" }),
        );
    }
    t.put_config(
        "TenantDialPlan",
        &format!("Tag:{CONTOSO_DIAL_PLAN}"),
        json!({
            "Description": "Teamline: pass short strings (extensions, feature codes) unchanged",
            "SimpleName": CONTOSO_DIAL_PLAN,
            "OptimizeDeviceDialing": false,
            "ExternalAccessPrefix": null,
            "NormalizationRules": [{
                "Name": "Teamline short strings",
                "Description": "Up to 7 characters of digits, *, # and + are passed unchanged",
                "Pattern": "^([\\d\\*\\#\\+]{1,7})$",
                "Translation": "$1",
                "IsInternalExtension": false,
            }],
        }),
    );
    t.put_config(
        "TeamsCallingPolicy",
        &format!("Tag:{NO_VOICEMAIL_CALLING_POLICY}"),
        json!({
            "AllowVoicemail": "AlwaysDisabled", "AllowPrivateCalling": true,
            "AllowCallForwardingToUser": true, "AllowCallForwardingToPhone": true,
            "AllowCallGroups": true, "AllowDelegation": true, "AllowTransferForCalls": true,
            "BusyOnBusyEnabledType": "Disabled",
            "Description": "Teamline: voicemail stays on the PBX",
        }),
    );
    for (name, allow) in [("AllowCalling", true), ("DisallowCalling", false)] {
        t.put_config("TeamsCallingPolicy",
            &format!("Tag:{name}"),
            json!({ "AllowPrivateCalling": allow, "AllowVoicemail": "UserOverride", "Description": null }),
        );
    }
}

/// Builds Contoso, as `docs/demo-data.md` describes it.
pub(crate) fn contoso() -> Tenant {
    let tid = CONTOSO_TENANT_ID;
    let mut t = Tenant::new(tid, CONTOSO_NAME);
    t.domains = vec![
        domain(CONTOSO_DOMAIN, true, false),
        domain(CONTOSO_INITIAL_DOMAIN, false, true),
    ];
    for gw in CONTOSO_GATEWAYS {
        let mut d = domain(gw, false, false);
        d.supported_services = Vec::new();
        t.domains.push(d);
    }
    t.consent = Some(full_consent());
    t.sp_roles = vec![ROLE_TEAMS_ADMIN.to_string()];
    let admin_pw: Arc<str> = Arc::from(ADMIN_PASSWORD);
    let user_pw: Arc<str> = Arc::from(USER_PASSWORD);

    let mut admin = new_user(tid, CONTOSO_ADMIN_UPN, CONTOSO_ADMIN_NAME, admin_pw);
    admin.given_name = Some("Contoso".into());
    admin.surname = Some("Admin".into());
    admin.plans = vec![plan(PLAN_TEAMS1, CapabilityStatus::Enabled)];
    admin.wids = vec![ROLE_GLOBAL_ADMIN.to_string(), ROLE_DEFAULT_USER.to_string()];
    let admin_idx = t.add_user(admin);

    let mut licensed = Vec::new();
    for name in CONTOSO_LICENSED_USERS.iter().chain([
        &IRVIN_SAYERS,
        &CHRISTIE_CLINE,
        &ENRICO_CATTANEO,
        &DEBRA_BERGER,
    ]) {
        let mut u = new_user(tid, &upn_for(name, CONTOSO_DOMAIN), name, user_pw.clone());
        u.plans = teams_and_phone();
        if *name == CHRISTIE_CLINE {
            u.plans = vec![plan(PLAN_TEAMS1, CapabilityStatus::Enabled)];
        }
        if *name == ENRICO_CATTANEO {
            u.account_enabled = false;
        }
        if upn_for(name, CONTOSO_DOMAIN) == CONTOSO_TEAMS_ADMIN_UPN {
            u.wids.insert(0, ROLE_TEAMS_ADMIN.to_string());
        }
        licensed.push((*name, t.add_user(u)));
    }

    let mut guest = new_user(tid, GUEST_UPN, GUEST_NAME, user_pw.clone());
    guest.guest = true;
    guest.mail = Some("bianca.pisani@fabrikam.example".into());
    guest.wids = Vec::new();
    let _guest = t.add_user(guest);

    let mut main_line = new_user(tid, MAIN_LINE_UPN, MAIN_LINE_NAME, user_pw);
    main_line.given_name = None;
    main_line.surname = None;
    main_line.account_enabled = false;
    main_line.resource_account = true;
    main_line.plans = vec![plan(PLAN_MCOEV_VIRTUALUSER, CapabilityStatus::Enabled)];
    main_line.teams.ev = true;
    main_line.teams.numbers = vec![UserNumber {
        number: MAIN_LINE_NUMBER.into(),
        category: "primary".into(),
    }];
    let main_line_id = main_line.id.clone();
    let main_idx = t.add_user(main_line);
    t.numbers.insert(
        MAIN_LINE_NUMBER.into(),
        NumberRecord {
            number: MAIN_LINE_NUMBER.into(),
            number_type: "directRouting".into(),
            target: Some(main_line_id),
            target_is_resource: true,
            category: Some("primary".into()),
            activation_state: "activated",
            location_id: None,
        },
    );

    let sync = t.add_group(new_group(
        tid,
        SYNC_GROUP,
        false,
        "Users whose Teams calling Teamline manages",
        CONTOSO_DOMAIN,
    ));
    let sales = t.add_group(new_group(
        tid,
        SALES_GROUP,
        true,
        "Sales team",
        CONTOSO_DOMAIN,
    ));
    let all = t.add_group(new_group(
        tid,
        ALL_COMPANY_GROUP,
        true,
        "Everyone in Contoso",
        CONTOSO_DOMAIN,
    ));
    for (name, idx) in &licensed {
        if CONTOSO_SALES_MEMBERS.contains(name) {
            t.add_member(sales, Member::User(*idx));
        } else if *name != IRVIN_SAYERS {
            t.add_member(sync, Member::User(*idx));
        }
    }
    t.add_member(sync, Member::Group(sales));
    t.add_member(all, Member::User(admin_idx));
    for (_, idx) in &licensed {
        if t.user(*idx).account_enabled {
            t.add_member(all, Member::User(*idx));
        }
    }
    let _ = main_idx;

    contoso_voice(&mut t);
    t
}

/// Builds Fabrikam: its own admin and a few users; Teamline's consent NOT granted.
pub(crate) fn fabrikam() -> Tenant {
    let tid = FABRIKAM_TENANT_ID;
    let mut t = Tenant::new(tid, FABRIKAM_NAME);
    t.country_letter_code = Some(FABRIKAM_COUNTRY.into());
    t.domains = vec![
        domain(FABRIKAM_DOMAIN, true, false),
        domain("fabrikam.onmicrosoft.com", false, true),
    ];
    let mut admin = new_user(
        tid,
        FABRIKAM_ADMIN_UPN,
        "Fabrikam Admin",
        Arc::from(ADMIN_PASSWORD),
    );
    admin.plans = vec![plan(PLAN_TEAMS1, CapabilityStatus::Enabled)];
    admin.wids = vec![ROLE_GLOBAL_ADMIN.to_string(), ROLE_DEFAULT_USER.to_string()];
    let admin_idx = t.add_user(admin);
    let pw: Arc<str> = Arc::from(USER_PASSWORD);
    let mut members = vec![admin_idx];
    for name in ["Katie Jordan", "Lenny Fischer", "Omar Haddad"] {
        let mut u = new_user(tid, &upn_for(name, FABRIKAM_DOMAIN), name, pw.clone());
        u.plans = teams_and_phone();
        members.push(t.add_user(u));
    }
    let all = t.add_group(new_group(
        tid,
        ALL_COMPANY_GROUP,
        true,
        "Everyone in Fabrikam",
        FABRIKAM_DOMAIN,
    ));
    // The users with Teams Phone, in a dedicated group for registration to choose.
    let sync = t.add_group(new_group(
        tid,
        SYNC_GROUP,
        false,
        "Users whose Teams calling goes through the PBX",
        FABRIKAM_DOMAIN,
    ));
    for &m in members.iter().skip(1) {
        t.add_member(sync, Member::User(m));
    }
    for m in members {
        t.add_member(all, Member::User(m));
    }
    t
}

/// A generated tenant `name` with `users` licensed users (`user000000@{name}.example`, ...),
/// `sync_groups` groups ("Teammate Sync", "Teammate Sync 2", ...) of `group_members` users
/// each, overlapping (see [`demo::generated_sync_group_range`]), everyone in "All Company", an
/// admin `admin@{name}.example` and consent granted.
pub(crate) fn generated(
    name: &str,
    users: usize,
    group_members: usize,
    sync_groups: usize,
) -> Tenant {
    let tid = demo::generated_tenant_id(name);
    let domain_name = demo::generated_domain(name);
    let mut t = Tenant::new(&tid, name);
    t.domains = vec![domain(&domain_name, true, false)];
    t.consent = Some(full_consent());
    t.sp_roles = vec![ROLE_TEAMS_ADMIN.to_string()];
    t.users.reserve(users + 1);
    t.changes.reserve(2 * users + 8);
    let mut admin = new_user(
        &tid,
        &format!("admin@{domain_name}"),
        &format!("{name} Admin"),
        Arc::from(ADMIN_PASSWORD),
    );
    admin.wids = vec![ROLE_GLOBAL_ADMIN.to_string(), ROLE_DEFAULT_USER.to_string()];
    admin.plans = vec![plan(PLAN_TEAMS1, CapabilityStatus::Enabled)];
    t.add_user(admin);
    let pw: Arc<str> = Arc::from(USER_PASSWORD);
    let plans = teams_and_phone();
    let mut first = Vec::with_capacity(users);
    for i in 0..users {
        let upn = demo::generated_user_upn(name, i);
        let mut u = new_user(&tid, &upn, &format!("User {i:06}"), pw.clone());
        u.given_name = Some("User".into());
        u.surname = Some(format!("{i:06}"));
        u.plans = plans.clone();
        first.push(t.add_user(u));
    }
    for k in 0..sync_groups.max(1) {
        let sync = t.add_group(new_group(
            &tid,
            &demo::generated_sync_group_name(k),
            false,
            "Users whose Teams calling Teamline manages",
            &domain_name,
        ));
        let range = demo::generated_sync_group_range(users, group_members, sync_groups, k);
        for idx in &first[range] {
            t.add_member(sync, Member::User(*idx));
        }
    }
    let all = t.add_group(new_group(
        &tid,
        ALL_COMPANY_GROUP,
        true,
        "Everyone",
        &domain_name,
    ));
    for idx in 0..t.users.len() as u32 {
        t.add_member(all, Member::User(idx));
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contoso_matches_the_spec() {
        let mut t = contoso();
        let sync = t.group_by_name(SYNC_GROUP).unwrap();
        let members = t.transitive_members(sync);
        let users: Vec<String> = members
            .iter()
            .filter_map(|m| match m {
                Member::User(u) => Some(t.user(*u).display_name.clone()),
                Member::Group(_) => None,
            })
            .collect();
        for name in CONTOSO_LICENSED_USERS {
            assert!(users.contains(&name.to_string()), "{name} missing");
        }
        assert!(users.contains(&CHRISTIE_CLINE.to_string()));
        assert!(users.contains(&DEBRA_BERGER.to_string()));
        assert!(!users.contains(&IRVIN_SAYERS.to_string()));
        let adele = t.user_idx("AdeleV@contoso.example").unwrap();
        assert_eq!(t.user(adele).id, contoso_user_id("Adele Vance"));
        assert!(
            t.find_policy("OnlineVoiceRoutingPolicy", "US East 2")
                .is_some()
        );
        assert!(t.find_policy("TenantDialPlan", CONTOSO_DIAL_PLAN).is_some());
    }

    #[test]
    fn generated_tenants_are_deterministic() {
        let a = generated("bench", 50, 20, 1);
        let b = generated("bench", 50, 20, 1);
        assert_eq!(a.id, b.id);
        assert_eq!(a.users[10].id, b.users[10].id);
        assert_eq!(a.users.len(), 51);
    }
}

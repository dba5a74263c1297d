//! The write round trip on a test user: a number assigned and removed (or removed and
//! assigned back), each policy granted and restored, a test object created and removed on the
//! Teams admin REST surface, and the user read back as they were before.

use reqwest::Method;
use teamline_domain::diagnosis::{Check, Outcome};

use super::probe;
use crate::client::TenantClient;
use crate::direct_routing::{CallingPolicySpec, TenantVoiceSetup, VoicemailMode};
use crate::directory::Directory;
use crate::learned::{CreateForm, PolicyPath};
use crate::odata::segment;
use crate::voice::{PolicyType, TeamsVoice, UserRef, UserVoiceConfig};

/// The calling policy the round trip creates and removes again.
const TEST_POLICY: &str = "Teamline-Doctor";

fn voice_word(on: bool) -> &'static str {
    if on { "on" } else { "off" }
}

/// Assigns and removes a number, or removes and assigns back the user's own.
async fn number_round_trip(
    client: &TenantClient,
    user: &UserRef,
    before: &UserVoiceConfig,
    test_number: &str,
) -> Check {
    let id = "write.number";
    let title = format!("Assign and remove a number on {}", user.upn);
    let voice = &client.voice;
    let read_voice = || async {
        voice
            .user_voice_config(user)
            .await
            .map(|c| c.enterprise_voice_enabled)
    };
    let (steps, found) = match before.primary_number() {
        Some(own) => {
            let own = own.to_owned();
            let steps = async {
                voice.unassign_number(user, &own).await?;
                let off = read_voice().await?;
                voice.assign_number(user, &own).await?;
                let on = read_voice().await?;
                Ok::<_, crate::MicrosoftError>((off, on))
            }
            .await;
            (steps, format!("removed {own} and assigned it back"))
        }
        None => {
            let steps = async {
                voice.assign_number(user, test_number).await?;
                let on = read_voice().await?;
                voice.unassign_number(user, test_number).await?;
                let off = read_voice().await?;
                Ok::<_, crate::MicrosoftError>((off, on))
            }
            .await;
            (steps, format!("assigned {test_number} and removed it"))
        }
    };
    match steps {
        Ok((off, on)) => {
            let outcome = if on && !off {
                Outcome::Pass
            } else {
                Outcome::Warn
            };
            let mut found = format!(
                "{found}; enterprise voice was {} with the number and {} without it",
                voice_word(on),
                voice_word(off)
            );
            if outcome == Outcome::Warn {
                found.push_str(" (Teamline expects on with the number, off without)");
            }
            if before.primary_number().is_some() && !before.enterprise_voice_enabled {
                found.push_str(&format!(
                    "; {} held the number with enterprise voice off before: Teamline turned it on",
                    user.upn
                ));
            }
            Check::new(id, title, outcome, found)
        }
        Err(e) => Check::new(id, title, Outcome::Fail, found)
            .with_error(e.to_string())
            .with_fix(format!(
                "check {} in the Teams admin center: it must have a Teams Phone licence and be ready for a Direct Routing number",
                user.upn
            )),
    }
}

/// Grants a policy and grants back what the user had.
async fn policy_round_trip(
    client: &TenantClient,
    user: &UserRef,
    before: &UserVoiceConfig,
    policy_type: PolicyType,
    name: &str,
) -> Check {
    let id = format!("write.policy.{}", policy_type.as_str());
    let title = format!("Grant and restore {policy_type} on {}", user.upn);
    let prior = before
        .policy(policy_type)
        .map(|p| p.plain_name().to_owned());
    let voice = &client.voice;
    let result = async {
        voice.grant_policy(user, policy_type, Some(name)).await?;
        voice
            .grant_policy(user, policy_type, prior.as_deref())
            .await
    }
    .await;
    let prior_name = prior.as_deref().unwrap_or("Global");
    match result {
        Ok(()) => {
            let path = match voice.policy_path(policy_type) {
                Some(PolicyPath::TeamsAdmin) => {
                    "through the Teams admin REST surface (Graph refuses this type)"
                }
                _ => "through Graph",
            };
            Check::new(
                id,
                title,
                Outcome::Pass,
                format!("granted \"{name}\" and restored \"{prior_name}\" {path}"),
            )
        }
        Err(e) => Check::new(
            id,
            title,
            Outcome::Fail,
            format!("granting \"{name}\" (then \"{prior_name}\") failed"),
        )
        .with_error(e.to_string()),
    }
}

/// Creates and removes a test calling policy: settles how this tenant creates objects.
async fn create_form_round_trip(client: &TenantClient) -> Check {
    let id = "write.create_form";
    let title = "Create and remove a Teams admin object";
    let spec = CallingPolicySpec {
        name: TEST_POLICY.to_owned(),
        voicemail: VoicemailMode::UserOverride,
    };
    if let Err(e) = client.direct_routing.ensure_calling_policy(&spec).await {
        return Check::new(
            id,
            title,
            Outcome::Fail,
            format!("creating the calling policy {TEST_POLICY} failed"),
        )
        .with_error(e.to_string());
    }
    let form = match client.core.learned.create_form() {
        Some(CreateForm::Put) => {
            "the collection refused POST; the object was created with PUT to its URL"
        }
        _ => "created with POST to the collection, as public clients do",
    };
    let removed = {
        let mut last = None;
        for identity in [format!("Tag:{TEST_POLICY}"), TEST_POLICY.to_owned()] {
            let path = format!(
                "/Skype.Policy/configurations/TeamsCallingPolicy/configuration/{}",
                segment(&identity)
            );
            match probe::admin_call(
                &client.core,
                Method::DELETE,
                &path,
                None,
                "remove a test policy",
            )
            .await
            {
                Ok(a) if a.ok() => {
                    last = None;
                    break;
                }
                Ok(a) => last = a.error.or(Some(format!("HTTP {}", a.status))),
                Err(e) => last = Some(e.to_string()),
            }
        }
        last
    };
    match removed {
        None => Check::new(id, title, Outcome::Pass, format!("{form}; removed again")),
        Some(error) => Check::new(
            id,
            title,
            Outcome::Warn,
            format!("{form}; removing it failed"),
        )
        .with_error(error)
        .with_fix(format!(
            "remove the Teams calling policy {TEST_POLICY} in the Teams admin center"
        )),
    }
}

/// Whether the user is back as before (policies may still propagate).
async fn restored_check(client: &TenantClient, user: &UserRef, before: &UserVoiceConfig) -> Check {
    let id = "write.restored";
    let title = format!("{} is back as before", user.upn);
    let after = match client.voice.user_voice_config(user).await {
        Ok(c) => c,
        Err(e) => {
            return Check::new(id, title, Outcome::Fail, "the user could not be read back")
                .with_error(e.to_string());
        }
    };
    let mut differences = Vec::new();
    if after.primary_number() != before.primary_number() {
        differences.push(format!(
            "number {} instead of {}",
            after.primary_number().unwrap_or("none"),
            before.primary_number().unwrap_or("none")
        ));
    }
    for t in PolicyType::ALL {
        if !after
            .policy_name(t)
            .eq_ignore_ascii_case(before.policy_name(t))
        {
            differences.push(format!(
                "{t} shows {} instead of {} (policy changes can take a while to show)",
                after.policy_name(t),
                before.policy_name(t)
            ));
        }
    }
    if differences.is_empty() {
        Check::new(
            id,
            title,
            Outcome::Pass,
            "number and policies read back as before the test",
        )
    } else {
        Check::new(id, title, Outcome::Warn, differences.join("; ")).with_fix(format!(
            "read {} again later; if it stays different, set it back in the Teams admin center",
            user.upn
        ))
    }
}

/// The whole round trip on one user.
pub(crate) async fn run_write_test(
    client: &TenantClient,
    user_key: &str,
    test_number: &str,
    policies: &[(PolicyType, String)],
) -> Vec<Check> {
    let refused = |found: String, error: Option<String>, fix: Option<&str>| {
        let mut check = Check::new("write.user", "Write test user", Outcome::Fail, found);
        check.error = error;
        check.fix = fix.map(str::to_owned);
        vec![check]
    };
    let user = match client.directory.user(user_key).await {
        Ok(Some(u)) => UserRef::new(u.id, u.user_principal_name),
        Ok(None) => {
            return refused(
                format!("the tenant has no user {user_key}"),
                None,
                Some("name an existing test user with a Teams Phone licence"),
            );
        }
        Err(e) => return refused("lookup failed".into(), Some(e.to_string()), None),
    };
    let before = match client.voice.user_voice_config(&user).await {
        Ok(c) => c,
        Err(e) => {
            return refused(
                format!("{} has no Teams configuration Teamline can read", user.upn),
                Some(e.to_string()),
                None,
            );
        }
    };
    let mut checks = vec![number_round_trip(client, &user, &before, test_number).await];
    for (policy_type, name) in policies {
        checks.push(policy_round_trip(client, &user, &before, *policy_type, name).await);
    }
    checks.push(create_form_round_trip(client).await);
    checks.push(restored_check(client, &user, &before).await);
    checks
}

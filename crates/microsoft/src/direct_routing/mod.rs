//! One-time Direct Routing setup of a customer tenant.
//!
//! Graph has no API for PSTN usages, voice routes, routing policies, dial plans, caller-ID or
//! calling policies, so these go through the Teams admin REST surface that Teams PowerShell
//! uses (`/Skype.Policy/configurations/{Type}/configuration/{Identity}`). That surface is
//! undocumented; see `FIDELITY.md` for what is inferred. The Direct Routing subdomain goes
//! through Graph `domains`. Every call is idempotent: it reads first and changes only what
//! differs.
//!
//! Public clients create an object with `POST /Skype.Policy/configurations/{Type}` (body with
//! `Identity`) and update it with `PUT …/configuration/{Identity}` without `Identity` in the
//! body; some create with `PUT`. Teamline creates with `POST`, falls back to `PUT` when the
//! collection refuses it (and remembers that for the tenant), and always updates without
//! `Identity`. Named policies may be reported as `Tag:<name>`: a read tries the plain name and
//! then the tagged one, and an update uses the identity the service reported.

mod licences;
mod types;

use std::sync::Arc;

use async_trait::async_trait;
use reqwest::Method;
use serde::Deserialize;
use serde_json::{Map, Value, json};

pub use self::types::{
    CallerIdPolicySpec, CallerIdSubstitute, CallingPolicySpec, DialPlanSpec, DnsRecord,
    DomainState, LicensedUserSpec, NormalizationRule, OrganizationInfo, PstnGatewaySpec,
    SetupChange, SubscribedSku, VoiceRouteSpec, VoiceRoutingPolicySpec, VoicemailMode,
};
use crate::error::MicrosoftError;
use crate::http::Reply;
use crate::learned::CreateForm;
use crate::odata::{segment, trim_base};
use crate::tenant::{Req, TenantCore};
use crate::voice::PolicyType;

/// Tenant-wide voice configuration for Direct Routing.
#[async_trait]
pub trait TenantVoiceSetup: Send + Sync {
    /// Makes sure the PSTN usage exists in the tenant's global usage list.
    async fn ensure_pstn_usage(&self, usage: &str) -> Result<SetupChange, MicrosoftError>;
    /// Creates or updates a voice route.
    async fn ensure_voice_route(
        &self,
        route: &VoiceRouteSpec,
    ) -> Result<SetupChange, MicrosoftError>;
    /// Creates or updates an online voice routing policy.
    async fn ensure_voice_routing_policy(
        &self,
        policy: &VoiceRoutingPolicySpec,
    ) -> Result<SetupChange, MicrosoftError>;
    /// Creates or updates a tenant dial plan with its normalization rules.
    async fn ensure_dial_plan(&self, plan: &DialPlanSpec) -> Result<SetupChange, MicrosoftError>;
    /// Creates or updates a calling line identity (caller ID) policy.
    async fn ensure_caller_id_policy(
        &self,
        policy: &CallerIdPolicySpec,
    ) -> Result<SetupChange, MicrosoftError>;
    /// Creates or updates a Teams calling policy (voicemail choice).
    async fn ensure_calling_policy(
        &self,
        policy: &CallingPolicySpec,
    ) -> Result<SetupChange, MicrosoftError>;
    /// Creates or updates an online PSTN gateway (SBC trunk).
    async fn ensure_pstn_gateway(
        &self,
        gateway: &PstnGatewaySpec,
    ) -> Result<SetupChange, MicrosoftError>;

    /// A domain of the tenant; `None` when the tenant does not have it.
    async fn domain(&self, name: &str) -> Result<Option<DomainState>, MicrosoftError>;
    /// Adds a domain to the tenant (does nothing if it is already there).
    async fn add_domain(&self, name: &str) -> Result<DomainState, MicrosoftError>;
    /// The DNS records that prove ownership of a domain.
    async fn domain_verification_records(
        &self,
        name: &str,
    ) -> Result<Vec<DnsRecord>, MicrosoftError>;
    /// Asks Microsoft to verify a domain (does nothing if it is already verified).
    async fn verify_domain(&self, name: &str) -> Result<DomainState, MicrosoftError>;

    /// The tenant's organization: its name and country (`GET /organization`).
    async fn organization(&self) -> Result<OrganizationInfo, MicrosoftError>;
    /// The tenant's subscriptions (`GET /subscribedSkus`).
    async fn subscribed_skus(&self) -> Result<Vec<SubscribedSku>, MicrosoftError>;
    /// The SKU ids of the licences a user holds; `None` when there is no such user.
    async fn user_licences(&self, upn: &str) -> Result<Option<Vec<String>>, MicrosoftError>;
    /// Makes sure the user exists (`POST /users`, with a random password nobody keeps) and
    /// holds a licence of the SKU (`POST /users/{id}/assignLicense`); `Unchanged` when it
    /// already does.
    async fn ensure_licensed_user(
        &self,
        user: &LicensedUserSpec,
    ) -> Result<SetupChange, MicrosoftError>;
}

pub(crate) struct DirectRouting {
    pub core: Arc<TenantCore>,
}

/// Whether every field of `want` is present in `have` with the same value (objects compared
/// by their wanted keys, case-insensitively, since the service adds keys of its own).
fn matches(want: &Value, have: &Value) -> bool {
    match (want, have) {
        (Value::Object(w), Value::Object(h)) => w.iter().all(|(k, wv)| {
            h.iter()
                .find(|(hk, _)| hk.eq_ignore_ascii_case(k))
                .map_or(wv.is_null(), |(_, hv)| matches(wv, hv))
        }),
        (Value::Array(w), Value::Array(h)) => {
            w.len() == h.len() && w.iter().zip(h).all(|(a, b)| matches(a, b))
        }
        (Value::Null, Value::Null) => true,
        (Value::Null, Value::String(s)) => s.is_empty(),
        (Value::String(a), Value::String(b)) => {
            a == b || a.strip_prefix("Tag:") == Some(b) || b.strip_prefix("Tag:") == Some(a)
        }
        (a, b) => a == b,
    }
}

#[derive(Deserialize)]
struct DomainWire {
    id: String,
    #[serde(rename = "isVerified", default)]
    is_verified: bool,
    #[serde(rename = "supportedServices", default)]
    supported_services: Vec<String>,
}

impl From<DomainWire> for DomainState {
    fn from(w: DomainWire) -> Self {
        Self {
            name: w.id,
            is_verified: w.is_verified,
            supported_services: w.supported_services,
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DnsRecordWire {
    #[serde(default)]
    record_type: Option<String>,
    #[serde(rename = "@odata.type", default)]
    odata_type: Option<String>,
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    mail_exchange: Option<String>,
    #[serde(default)]
    ttl: Option<u32>,
}

impl DirectRouting {
    fn config_url(&self, config_type: &str, identity: Option<&str>) -> String {
        let base = trim_base(&self.core.teams_admin_base);
        match identity {
            Some(id) => format!(
                "{base}/Skype.Policy/configurations/{config_type}/configuration/{}",
                segment(id)
            ),
            None => format!("{base}/Skype.Policy/configurations/{config_type}"),
        }
    }

    async fn admin_call(
        &self,
        method: Method,
        url: String,
        body: Option<&Value>,
        what: &str,
    ) -> Result<Reply, MicrosoftError> {
        self.core.teams_admin(method, url, body, what).await
    }

    /// PUTs a body to an instance's URL.
    async fn put_config(
        &self,
        config_type: &str,
        identity: &str,
        body: &Value,
        what: &str,
    ) -> Result<(), MicrosoftError> {
        let reply = self
            .admin_call(
                Method::PUT,
                self.config_url(config_type, Some(identity)),
                Some(body),
                what,
            )
            .await?;
        if reply.status.is_success() {
            Ok(())
        } else {
            Err(self.core.admin_error_from(&reply, what))
        }
    }

    /// Reads `{Type}/configuration/{Identity}` (then `Tag:{Identity}` for a policy); `None`
    /// when neither exists. Returns the identity the service reported with the object.
    async fn read_config(
        &self,
        config_type: &str,
        identity: &str,
        what: &str,
    ) -> Result<Option<(String, Value)>, MicrosoftError> {
        let mut candidates = vec![identity.to_owned()];
        if PolicyType::parse(config_type).is_some() && !identity.starts_with("Tag:") {
            candidates.push(format!("Tag:{identity}"));
        }
        for candidate in candidates {
            let reply = self
                .admin_call(
                    Method::GET,
                    self.config_url(config_type, Some(&candidate)),
                    None,
                    what,
                )
                .await?;
            if reply.status == reqwest::StatusCode::NOT_FOUND {
                continue;
            }
            if !reply.status.is_success() {
                return Err(self.core.admin_error_from(&reply, what));
            }
            if reply.body.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let v: Value = self.core.json(&reply, what)?;
            if v.is_null() {
                continue;
            }
            let reported = v
                .as_object()
                .and_then(|o| o.iter().find(|(k, _)| k.eq_ignore_ascii_case("Identity")))
                .and_then(|(_, id)| id.as_str())
                .map_or(candidate, str::to_owned);
            return Ok(Some((reported, v)));
        }
        Ok(None)
    }

    /// PUTs properties to an existing instance (a merge); the instance is the URL, so the
    /// body carries no `Identity`.
    async fn update_config(
        &self,
        config_type: &str,
        identity: &str,
        mut body: Value,
        what: &str,
    ) -> Result<(), MicrosoftError> {
        if let Value::Object(m) = &mut body {
            m.retain(|k, _| !k.eq_ignore_ascii_case("Identity"));
        }
        self.put_config(config_type, identity, &body, what).await
    }

    /// Creates an instance: `POST` to the collection, or `PUT` to the instance where the
    /// collection refuses `POST` (404/405; remembered for the tenant).
    async fn create_config(
        &self,
        config_type: &str,
        identity: &str,
        mut body: Value,
        what: &str,
    ) -> Result<(), MicrosoftError> {
        if let Value::Object(m) = &mut body {
            m.insert("Identity".into(), Value::String(identity.to_owned()));
        }
        let learned = &self.core.learned;
        if learned.create_form() != Some(CreateForm::Put) {
            let reply = self
                .admin_call(
                    Method::POST,
                    self.config_url(config_type, None),
                    Some(&body),
                    what,
                )
                .await?;
            if reply.status.is_success() {
                learned.set_create_form(CreateForm::Post);
                return Ok(());
            }
            if !matches!(reply.status.as_u16(), 404 | 405) {
                return Err(self.core.admin_error_from(&reply, what));
            }
            tracing::info!(
                tenant = %self.core.tenant_id,
                status = reply.status.as_u16(),
                "the Teams admin REST surface refused POST to create; creating with PUT"
            );
            learned.set_create_form(CreateForm::Put);
        }
        self.put_config(config_type, identity, &body, what).await
    }

    /// Creates the instance when missing, or PUTs the wanted properties (a merge) when any
    /// differs.
    async fn ensure(
        &self,
        config_type: &str,
        identity: &str,
        want: Map<String, Value>,
        what: &str,
    ) -> Result<SetupChange, MicrosoftError> {
        let want = Value::Object(want);
        match self.read_config(config_type, identity, what).await? {
            None => {
                self.create_config(config_type, identity, want, what)
                    .await?;
                if let Some(policy_type) = PolicyType::parse(config_type) {
                    // Graph sees the new policy only after replication.
                    self.core.learned.policy_created(policy_type, identity);
                }
                Ok(SetupChange::Created)
            }
            Some((_, have)) if matches(&want, &have) => Ok(SetupChange::Unchanged),
            Some((reported, _)) => {
                self.update_config(config_type, &reported, want, what)
                    .await?;
                Ok(SetupChange::Updated)
            }
        }
    }

    async fn get_domain(
        &self,
        name: &str,
        what: &str,
    ) -> Result<Option<DomainState>, MicrosoftError> {
        let url = self.core.graph_url(&format!("/domains/{}", segment(name)));
        let reply = self.core.send(&Req::get(url, what)).await?;
        if reply.status == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !reply.status.is_success() {
            return Err(self.core.error_from(&reply, what));
        }
        Ok(Some(self.core.json::<DomainWire>(&reply, what)?.into()))
    }
}

/// The wanted properties, without the ones Teamline leaves as they are (`None` → null).
fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m.into_iter().filter(|(_, v)| !v.is_null()).collect(),
        _ => Map::new(),
    }
}

#[async_trait]
impl TenantVoiceSetup for DirectRouting {
    async fn ensure_pstn_usage(&self, usage: &str) -> Result<SetupChange, MicrosoftError> {
        let what = format!("add the PSTN usage \"{usage}\"");
        // Usages are one global list, edited like `Set-CsOnlinePstnUsage -Identity Global
        // -Usage @{Add=...}`: read it, add ours, write the whole list back.
        let current = self
            .read_config("OnlinePstnUsages", "Global", &what)
            .await?;
        let mut usages: Vec<String> = current
            .as_ref()
            .and_then(|(_, v)| v.as_object())
            .and_then(|o| {
                o.iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("Usage"))
                    .map(|(_, v)| v)
            })
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|u| u.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        if usages.iter().any(|u| u.eq_ignore_ascii_case(usage)) {
            return Ok(SetupChange::Unchanged);
        }
        usages.push(usage.to_owned());
        let body = json!({ "Usage": usages });
        self.update_config("OnlinePstnUsages", "Global", body, &what)
            .await?;
        Ok(SetupChange::Created)
    }

    async fn ensure_voice_route(
        &self,
        route: &VoiceRouteSpec,
    ) -> Result<SetupChange, MicrosoftError> {
        let what = format!("set up the voice route \"{}\"", route.name);
        let want = obj(json!({
            "NumberPattern": route.number_pattern,
            "OnlinePstnGatewayList": route.gateways,
            "OnlinePstnUsages": route.pstn_usages,
            "Priority": route.priority,
            "Description": route.description,
        }));
        self.ensure("OnlineVoiceRoute", &route.name, want, &what)
            .await
    }

    async fn ensure_voice_routing_policy(
        &self,
        policy: &VoiceRoutingPolicySpec,
    ) -> Result<SetupChange, MicrosoftError> {
        let what = format!("set up the voice routing policy \"{}\"", policy.name);
        let want = obj(json!({
            "OnlinePstnUsages": policy.pstn_usages,
            "Description": policy.description,
        }));
        self.ensure("OnlineVoiceRoutingPolicy", &policy.name, want, &what)
            .await
    }

    async fn ensure_dial_plan(&self, plan: &DialPlanSpec) -> Result<SetupChange, MicrosoftError> {
        let what = format!("set up the dial plan \"{}\"", plan.name);
        let rules: Vec<Value> = plan
            .normalization_rules
            .iter()
            .map(|r| {
                json!({
                    "Name": r.name,
                    "Pattern": r.pattern,
                    "Translation": r.translation,
                    "Description": r.description,
                    "IsInternalExtension": r.is_internal_extension,
                })
            })
            .collect();
        let want = obj(json!({ "NormalizationRules": rules, "Description": plan.description }));
        self.ensure("TenantDialPlan", &plan.name, want, &what).await
    }

    async fn ensure_caller_id_policy(
        &self,
        policy: &CallerIdPolicySpec,
    ) -> Result<SetupChange, MicrosoftError> {
        let what = format!("set up the caller ID policy \"{}\"", policy.name);
        let (substitute, service_number) = match &policy.substitute {
            CallerIdSubstitute::LineUri => ("LineUri", None),
            CallerIdSubstitute::Anonymous => ("Anonymous", None),
            CallerIdSubstitute::Service(n) => ("Service", Some(n.clone())),
        };
        let mut want = obj(json!({
            "CallingIDSubstitute": substitute,
            "EnableUserOverride": policy.enable_user_override,
            "CompanyName": policy.company_name,
            "Description": policy.description,
        }));
        if let Some(n) = service_number {
            want.insert("ServiceNumber".into(), Value::String(n));
        }
        self.ensure("CallingLineIdentity", &policy.name, want, &what)
            .await
    }

    async fn ensure_calling_policy(
        &self,
        policy: &CallingPolicySpec,
    ) -> Result<SetupChange, MicrosoftError> {
        let what = format!("set up the calling policy \"{}\"", policy.name);
        let want = obj(json!({ "AllowVoicemail": policy.voicemail.as_str() }));
        self.ensure("TeamsCallingPolicy", &policy.name, want, &what)
            .await
    }

    async fn ensure_pstn_gateway(
        &self,
        gateway: &PstnGatewaySpec,
    ) -> Result<SetupChange, MicrosoftError> {
        let what = format!("set up the PSTN gateway {}", gateway.fqdn);
        let mut want = obj(json!({
            "Fqdn": gateway.fqdn,
            "SipSignalingPort": gateway.sip_signaling_port,
            "Enabled": gateway.enabled,
            "ForwardCallHistory": gateway.forward_call_history,
            "ForwardPai": gateway.forward_pai,
            "MediaBypass": gateway.media_bypass,
        }));
        if let Some(max) = gateway.max_concurrent_sessions {
            want.insert("MaxConcurrentSessions".into(), json!(max));
        }
        self.ensure("OnlinePSTNGateway", &gateway.fqdn, want, &what)
            .await
    }

    async fn domain(&self, name: &str) -> Result<Option<DomainState>, MicrosoftError> {
        self.get_domain(name, &format!("read the domain {name}"))
            .await
    }

    async fn add_domain(&self, name: &str) -> Result<DomainState, MicrosoftError> {
        let what = format!("add the domain {name}");
        if let Some(existing) = self.get_domain(name, &what).await? {
            return Ok(existing);
        }
        let body = json!({ "id": name });
        let reply = self
            .core
            .send(&Req::post(self.core.graph_url("/domains"), &body, &what))
            .await?;
        if reply.status.is_success() {
            return Ok(self.core.json::<DomainWire>(&reply, &what)?.into());
        }
        // Added meanwhile by someone else: read it back.
        let err = crate::graph::parse_error(&reply.body);
        if matches!(reply.status.as_u16(), 400 | 409)
            && err.message.to_ascii_lowercase().contains("already exist")
            && let Some(existing) = self.get_domain(name, &what).await?
        {
            return Ok(existing);
        }
        Err(self.core.error_from(&reply, &what))
    }

    async fn domain_verification_records(
        &self,
        name: &str,
    ) -> Result<Vec<DnsRecord>, MicrosoftError> {
        let what = format!("read the verification records of the domain {name}");
        let url = self.core.graph_url(&format!(
            "/domains/{}/verificationDnsRecords",
            segment(name)
        ));
        let page: crate::graph::Page<DnsRecordWire> = self.core.page(&Req::get(url, &what)).await?;
        Ok(page
            .value
            .into_iter()
            .map(|r| DnsRecord {
                record_type: r.record_type.unwrap_or_else(|| {
                    match r.odata_type.as_deref() {
                        Some("#microsoft.graph.domainDnsTxtRecord") => "Txt",
                        Some("#microsoft.graph.domainDnsMxRecord") => "Mx",
                        _ => "Unknown",
                    }
                    .to_owned()
                }),
                label: r.label.unwrap_or_default(),
                text: r.text,
                mail_exchange: r.mail_exchange,
                ttl: r.ttl,
            })
            .collect())
    }

    async fn verify_domain(&self, name: &str) -> Result<DomainState, MicrosoftError> {
        let what = format!("verify the domain {name}");
        match self.get_domain(name, &what).await? {
            Some(d) if d.is_verified => return Ok(d),
            Some(_) => {}
            None => {
                return Err(MicrosoftError::NotFound {
                    what: format!("the domain {name}"),
                    request_id: None,
                });
            }
        }
        let body = json!({});
        let url = self
            .core
            .graph_url(&format!("/domains/{}/verify", segment(name)));
        let mut req = Req::post(url, &body, &what);
        req.idempotent = true;
        let reply = self.core.send(&req).await?;
        if reply.status.is_success() {
            return Ok(self.core.json::<DomainWire>(&reply, &what)?.into());
        }
        if reply.status == reqwest::StatusCode::BAD_REQUEST {
            let err = crate::graph::parse_error(&reply.body);
            return Err(MicrosoftError::DomainNotVerified {
                domain: name.to_owned(),
                detail: err.message,
            });
        }
        Err(self.core.error_from(&reply, &what))
    }

    async fn organization(&self) -> Result<OrganizationInfo, MicrosoftError> {
        self.read_organization().await
    }

    async fn subscribed_skus(&self) -> Result<Vec<SubscribedSku>, MicrosoftError> {
        self.list_subscribed_skus().await
    }

    async fn user_licences(&self, upn: &str) -> Result<Option<Vec<String>>, MicrosoftError> {
        self.licences_of(upn).await
    }

    async fn ensure_licensed_user(
        &self,
        user: &LicensedUserSpec,
    ) -> Result<SetupChange, MicrosoftError> {
        self.licensed_user(user).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wanted_settings_match_what_the_service_returns() {
        let want = json!({"OnlinePstnUsages": ["US-East-2"], "Description": null});
        let have = json!({"Identity": "Tag:US-East-2", "onlinePstnUsages": ["US-East-2"], "Description": "", "RouteType": "BYOT"});
        assert!(matches(&want, &have));
        let have = json!({"OnlinePstnUsages": ["US-West"]});
        assert!(!matches(&want, &have));
    }
}

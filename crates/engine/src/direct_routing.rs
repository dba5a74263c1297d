//! Teamline's own Direct Routing set-up of an enterprise's tenant, one job per SBC region of
//! the enterprise: a licence check (a spare licence of a SKU with Teams Phone), the per-tenant
//! subdomain (added, its TXT verification record published in the platform's DNS zone by RFC
//! 2136, verified), the activation user (a licensed user in the subdomain), the SBC, PSTN usage, voice route, voice
//! routing policy named after the region, the enterprise dial plan, caller ID and calling
//! policies, then Sync Voice Routes (the region becomes selectable in SET UP PBX USER and the
//! enterprise is Direct Routing ready).
//!
//! Every step reads first and changes only what differs (`TenantVoiceSetup`), so the job can
//! run again at any time. Each step's outcome is stored as it happens (the portals show the
//! steps with Microsoft's own error text). Verification waits on Microsoft (DNS propagation):
//! the step says so and the job queues its next check for later, without using attempts.

use crate::calling::MICROSOFT;
use crate::{Engine, EngineError};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use teamline_dns::ZonePublisher;
use teamline_domain::audit::{Actor, Audit};
use teamline_domain::direct_routing::{DirectRoutingSetup, SetupStep, StepState};
use teamline_domain::enterprise::{Enterprise, EnterpriseState};
use teamline_domain::ids::{EnterpriseId, JobId, SbcRegionId};
use teamline_domain::voice_route::{NewVoiceRoute, SbcRegion, VoiceRouteState};
use teamline_jobs::{Attempt, Job, JobError};
use teamline_microsoft::direct_routing::{
    CallerIdPolicySpec, CallerIdSubstitute, CallingPolicySpec, DialPlanSpec, LicensedUserSpec,
    NormalizationRule, PstnGatewaySpec, SetupChange, SubscribedSku, VoiceRouteSpec,
    VoiceRoutingPolicySpec, VoicemailMode,
};
use teamline_microsoft::directory::licences::plans;
use teamline_microsoft::{MicrosoftError, TenantApi};

/// The activation user's name in each SBC subdomain (`teamline-activation@<subdomain>`).
pub const ACTIVATION_USER: &str = "teamline-activation";

/// The caller ID policy the set-up creates: each user's own number.
pub const CALLER_ID_POLICY: &str = "Teamline Caller ID";
/// TTL of the published TXT verification record.
const TXT_TTL_SECS: u32 = 3600;
/// How many re-checks before the step is reported failed (at the default 30 s: a little over
/// 24 hours).
const VERIFY_RECHECKS: u32 = 3000;

impl Engine {
    /// Sets the DNS zone Teamline publishes verification records in (once; later calls are
    /// ignored and answer `false`).
    pub fn set_dns_publisher(&self, publisher: Arc<dyn ZonePublisher>) -> bool {
        self.inner.dns.set(publisher).is_ok()
    }

    /// Queues the Direct Routing set-up of each of the enterprise's SBC regions (again: every
    /// step is idempotent). Needs the tenant's consent.
    pub async fn set_up_direct_routing(
        &self,
        e: EnterpriseId,
        actor: &Actor,
    ) -> Result<Vec<JobId>, EngineError> {
        let store = &self.inner.store;
        let enterprise = store.get_enterprise(e).await?;
        if enterprise.tenant_id.is_none() {
            return Err(EngineError::refused(format!(
                "{} has not registered its Microsoft 365 tenant yet: its Global Administrator follows the invitation link first",
                enterprise.name
            )));
        }
        if enterprise.sbc_regions.is_empty() {
            return Err(EngineError::refused(format!(
                "{} has no SBC region: edit the enterprise in the Reseller portal and choose one",
                enterprise.name
            )));
        }
        let mut jobs = Vec::new();
        for &region in &enterprise.sbc_regions {
            let mut setup = DirectRoutingSetup::new(region);
            setup.updated_ms = store.clock().now_ms();
            store.put_direct_routing_setup(e, &setup).await?;
            jobs.push(self.enqueue(&SetUpDirectRouting::new(e, region, 0)).await?);
        }
        store
            .record_audit(&teamline_store::AuditRecord {
                enterprise_id: Some(e),
                actor: actor.clone(),
                action: "direct_routing.set_up".into(),
                summary: format!("Started the Direct Routing set-up of {}", enterprise.name),
                object_type: "enterprise".into(),
                object_id: Some(e.to_string()),
                before: None,
                after: None,
            })
            .await?;
        Ok(jobs)
    }

    /// The steps of each region's set-up, with the region.
    pub async fn direct_routing_setups(
        &self,
        e: EnterpriseId,
    ) -> Result<Vec<(SbcRegion, DirectRoutingSetup)>, EngineError> {
        let store = &self.inner.store;
        let regions = store.list_sbc_regions().await?;
        Ok(store
            .list_direct_routing_setups(e)
            .await?
            .into_iter()
            .filter_map(|s| {
                regions
                    .iter()
                    .find(|r| r.id == s.region_id)
                    .map(|r| (r.clone(), s))
            })
            .collect())
    }
}

/// The set-up of one region; `check` counts the verification re-checks (each a new job).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SetUpDirectRouting {
    pub enterprise_id: EnterpriseId,
    pub region_id: SbcRegionId,
    #[serde(default)]
    pub check: u32,
}

impl SetUpDirectRouting {
    pub fn new(enterprise_id: EnterpriseId, region_id: SbcRegionId, check: u32) -> Self {
        Self {
            enterprise_id,
            region_id,
            check,
        }
    }
}

impl Job for SetUpDirectRouting {
    const KIND: &'static str = "set_up_direct_routing";
    const THROTTLE_GROUP: Option<&'static str> = Some(MICROSOFT);
    const PRIORITY: i32 = 5;
    type Context = Engine;

    fn enterprise(&self) -> Option<EnterpriseId> {
        Some(self.enterprise_id)
    }

    /// One region of one enterprise at a time (tenant-wide objects such as the PSTN usage
    /// list are read, changed and written back).
    fn lane(&self) -> Option<String> {
        Some(format!("direct_routing:{}", self.enterprise_id))
    }

    fn idempotency_key(&self) -> Option<String> {
        Some(format!(
            "{}:{}:{}:{}",
            Self::KIND,
            self.enterprise_id,
            self.region_id,
            self.check
        ))
    }

    async fn run(&self, engine: &Engine, _attempt: &Attempt) -> Result<(), JobError> {
        let mut run = match SetupRun::start(engine, self).await {
            Ok(run) => run,
            Err(e) => return Err(e.into()),
        };
        match run.steps().await {
            Ok(()) => Ok(()),
            Err(StepError::Waiting) => {
                if self.check >= VERIFY_RECHECKS {
                    return Err(JobError::permanent(
                        "Microsoft still does not see the TXT record after a day: check the platform's DNS zone, then Set up Direct Routing again",
                    ));
                }
                let at = engine.inner.store.clock().now_ms()
                    + i64::try_from(engine.inner.settings.direct_routing_recheck.as_millis())
                        .unwrap_or(i64::MAX);
                engine
                    .enqueue_at(
                        &SetUpDirectRouting::new(
                            self.enterprise_id,
                            self.region_id,
                            self.check + 1,
                        ),
                        at,
                    )
                    .await?;
                Ok(())
            }
            Err(StepError::Failed(e)) => Err(e),
        }
    }
}

enum StepError {
    /// Waiting on Microsoft; the next check is queued.
    Waiting,
    Failed(JobError),
}

impl From<teamline_store::StoreError> for StepError {
    fn from(e: teamline_store::StoreError) -> Self {
        Self::Failed(e.into())
    }
}

/// One run of a region's set-up: what it works on and the steps so far.
struct SetupRun {
    engine: Engine,
    enterprise: Enterprise,
    region: SbcRegion,
    route: NewVoiceRoute,
    tenant: Arc<dyn TenantApi>,
    setup: DirectRoutingSetup,
}

impl SetupRun {
    async fn start(engine: &Engine, job: &SetUpDirectRouting) -> Result<Self, EngineError> {
        let store = &engine.inner.store;
        let enterprise = store.get_enterprise(job.enterprise_id).await?;
        let tenant_id = enterprise.tenant_id.clone().ok_or_else(|| {
            EngineError::refused(format!("{} has no registered tenant", enterprise.name))
        })?;
        let region = store
            .list_sbc_regions()
            .await?
            .into_iter()
            .find(|r| r.id == job.region_id)
            .ok_or_else(|| {
                EngineError::refused(format!("SBC region {} no longer exists", job.region_id))
            })?;
        let route = NewVoiceRoute::for_region(&region, enterprise.slug.as_str())
            .map_err(|e| EngineError::refused(e.message))?;
        let setup = store
            .list_direct_routing_setups(job.enterprise_id)
            .await?
            .into_iter()
            .find(|s| s.region_id == job.region_id)
            .unwrap_or_else(|| DirectRoutingSetup::new(job.region_id));
        Ok(Self {
            tenant: engine.inner.microsoft.tenant(tenant_id.as_str()),
            engine: engine.clone(),
            enterprise,
            region,
            route,
            setup,
        })
    }

    async fn record(
        &mut self,
        step: SetupStep,
        state: StepState,
        detail: Option<String>,
    ) -> Result<(), teamline_store::StoreError> {
        let store = &self.engine.inner.store;
        self.setup
            .record(step, state, detail, store.clock().now_ms());
        store
            .put_direct_routing_setup(self.enterprise.id, &self.setup)
            .await
    }

    /// Records a step's outcome; a failure keeps Microsoft's words and ends the run.
    async fn outcome<T>(
        &mut self,
        step: SetupStep,
        result: Result<T, MicrosoftError>,
        done: impl FnOnce(&T) -> String,
    ) -> Result<T, StepError> {
        match result {
            Ok(value) => {
                self.record(step, StepState::Done, Some(done(&value)))
                    .await?;
                Ok(value)
            }
            Err(e) => Err(self.failed(step, e).await),
        }
    }

    /// Records a step as failed with Microsoft's words; the error ends the run.
    async fn failed(&mut self, step: SetupStep, e: MicrosoftError) -> StepError {
        if let Err(stored) = self
            .record(step, StepState::Failed, Some(e.to_string()))
            .await
        {
            return stored.into();
        }
        StepError::Failed(if e.is_retryable() {
            JobError::retry(e.to_string())
        } else {
            JobError::permanent(e.to_string())
        })
    }

    async fn steps(&mut self) -> Result<(), StepError> {
        let domain = self.route.subdomain.as_str().to_owned();
        let usage = self.route.name.as_str().to_owned();
        let tenant = self.tenant.clone();

        let sku = self.licence_check().await?;

        let added = tenant.add_domain(&domain).await;
        self.outcome(SetupStep::AddSubdomain, added, |d| {
            if d.is_verified {
                format!("{domain} (verified)")
            } else {
                format!("{domain} added")
            }
        })
        .await?;

        let verified = tenant
            .domain(&domain)
            .await
            .ok()
            .flatten()
            .is_some_and(|d| d.is_verified);
        if verified {
            self.record(
                SetupStep::PublishTxt,
                StepState::Done,
                Some("not needed: verified".into()),
            )
            .await?;
        } else {
            self.publish_txt(&domain).await?;
        }

        match tenant.verify_domain(&domain).await {
            Ok(_) => {
                self.record(
                    SetupStep::VerifyDomain,
                    StepState::Done,
                    Some(format!("{domain} verified")),
                )
                .await?;
            }
            Err(MicrosoftError::DomainNotVerified { detail, .. }) => {
                self.record(
                    SetupStep::VerifyDomain,
                    StepState::Waiting,
                    Some(format!(
                        "Microsoft does not see the TXT record yet (DNS changes can take hours to propagate); Teamline checks again every {} s by itself. Microsoft said: {detail}",
                        self.engine.inner.settings.direct_routing_recheck.as_secs()
                    )),
                )
                .await?;
                return Err(StepError::Waiting);
            }
            Err(e) => {
                let r: Result<(), _> = Err(e);
                self.outcome(SetupStep::VerifyDomain, r, |_| String::new())
                    .await?;
            }
        }

        let usage_location = self.usage_location().await?;
        let activation = LicensedUserSpec {
            upn: format!("{ACTIVATION_USER}@{domain}"),
            display_name: format!("Teamline Direct Routing activation ({domain}), do not delete"),
            usage_location,
            sku_id: sku.sku_id.clone(),
        };
        let r = tenant.ensure_licensed_user(&activation).await;
        self.outcome(SetupStep::ActivationUser, r, |c| {
            let what = format!("{} with a {} licence", activation.upn, sku.part_number);
            match c {
                SetupChange::Created => format!("{what}: created"),
                SetupChange::Updated => format!("{what}: licensed"),
                SetupChange::Unchanged => format!("{what}: already there"),
            }
        })
        .await?;

        let gateway = PstnGatewaySpec {
            fqdn: domain.clone(),
            sip_signaling_port: 5061,
            enabled: true,
            max_concurrent_sessions: None,
            forward_call_history: true,
            forward_pai: true,
            media_bypass: false,
        };
        let r = tenant.ensure_pstn_gateway(&gateway).await;
        self.outcome(SetupStep::PstnGateway, r, |c| change(*c, &domain))
            .await?;

        let r = tenant.ensure_pstn_usage(&usage).await;
        self.outcome(SetupStep::PstnUsage, r, |c| change(*c, &usage))
            .await?;

        let route = VoiceRouteSpec {
            name: usage.clone(),
            number_pattern: ".*".into(),
            gateways: vec![domain.clone()],
            pstn_usages: vec![usage.clone()],
            priority: 1,
            description: Some(format!("Teamline: calls through {}", self.region.name)),
        };
        let r = tenant.ensure_voice_route(&route).await;
        self.outcome(SetupStep::VoiceRoute, r, |c| change(*c, &usage))
            .await?;

        let policy = VoiceRoutingPolicySpec {
            name: self.route.policy_name.clone(),
            pstn_usages: vec![usage.clone()],
            description: Some(format!("Teamline: {}", self.region.name)),
        };
        let r = tenant.ensure_voice_routing_policy(&policy).await;
        let name = policy.name.clone();
        self.outcome(SetupStep::VoiceRoutingPolicy, r, |c| change(*c, &name))
            .await?;

        let settings = self.engine.inner.settings.clone();
        let plan = DialPlanSpec {
            name: settings.dial_plan.clone(),
            description: Some("Teamline: extensions and feature codes reach the PBX".into()),
            normalization_rules: vec![NormalizationRule::pass_short_strings(
                "Teamline short strings",
            )],
        };
        let r = tenant.ensure_dial_plan(&plan).await;
        self.outcome(SetupStep::DialPlan, r, |c| change(*c, &plan.name))
            .await?;

        let caller_id = CallerIdPolicySpec {
            name: CALLER_ID_POLICY.into(),
            substitute: CallerIdSubstitute::LineUri,
            company_name: None,
            enable_user_override: false,
            description: Some("Teamline: each user's own number".into()),
        };
        let r = tenant.ensure_caller_id_policy(&caller_id).await;
        self.outcome(SetupStep::CallerIdPolicy, r, |c| {
            change(*c, CALLER_ID_POLICY)
        })
        .await?;

        let calling = CallingPolicySpec {
            name: settings.no_voicemail_calling_policy.clone(),
            voicemail: VoicemailMode::AlwaysDisabled,
        };
        let r = tenant.ensure_calling_policy(&calling).await;
        self.outcome(SetupStep::CallingPolicy, r, |c| change(*c, &calling.name))
            .await?;

        self.sync_voice_route().await
    }

    /// A SKU with Teams Phone that has a licence left for the activation user — or that the
    /// activation user already holds, when an earlier run licensed it.
    async fn licence_check(&mut self) -> Result<SubscribedSku, StepError> {
        let skus = self.tenant.subscribed_skus().await;
        let skus = self
            .outcome(SetupStep::LicenceCheck, skus, |_| String::new())
            .await?;
        let capable: Vec<&SubscribedSku> = skus
            .iter()
            .filter(|s| s.assignable_with(plans::TEAMS_PHONE))
            .collect();
        // The activation user of an earlier run keeps its licence: nothing more is needed.
        let upn = format!("{ACTIVATION_USER}@{}", self.route.subdomain);
        let held = self.tenant.user_licences(&upn).await;
        let held = self
            .outcome(SetupStep::LicenceCheck, held, |_| String::new())
            .await?
            .unwrap_or_default();
        if let Some(sku) = capable
            .iter()
            .find(|s| held.iter().any(|h| h.eq_ignore_ascii_case(&s.sku_id)))
        {
            let detail = format!("{upn} already holds a {} licence", sku.part_number);
            self.record(SetupStep::LicenceCheck, StepState::Done, Some(detail))
                .await?;
            return Ok((*sku).clone());
        }
        // Prefer a SKU that also brings Teams itself (E5-class), then the most spare.
        let best = capable
            .iter()
            .filter(|s| s.spare() > 0)
            .max_by_key(|s| (s.service_plans.iter().any(|p| p == plans::TEAMS), s.spare()));
        if let Some(sku) = best {
            let detail = format!(
                "{}: {} of {} assigned, {} spare",
                sku.part_number,
                sku.consumed_units,
                sku.enabled_units,
                sku.spare().max(0)
            );
            self.record(SetupStep::LicenceCheck, StepState::Done, Some(detail))
                .await?;
            return Ok((*sku).clone());
        }
        let counts = if capable.is_empty() {
            "Microsoft lists no subscription with Teams Phone in this tenant".to_owned()
        } else {
            let each: Vec<String> = capable
                .iter()
                .map(|s| {
                    format!(
                        "{}: {} bought, {} assigned ({} spare)",
                        s.part_number,
                        s.enabled_units,
                        s.consumed_units,
                        s.spare()
                    )
                })
                .collect();
            format!("Microsoft's subscribedSkus says {}", each.join("; "))
        };
        let why = format!(
            "No spare licence with Teams Phone for the activation user {ACTIVATION_USER}@{}: {counts}. \
             Fix: in the Microsoft 365 admin center buy one more licence of such a SKU (e.g. Office 365 E5 or Teams Phone Standard), \
             or remove one from a user who does not need it (an expired trial shows more assigned than bought), \
             then choose Set up Direct Routing again.",
            self.route.subdomain
        );
        self.record(
            SetupStep::LicenceCheck,
            StepState::Failed,
            Some(why.clone()),
        )
        .await?;
        Err(StepError::Failed(JobError::permanent(why)))
    }

    /// The activation user's usage location, which Microsoft needs before it assigns a
    /// licence: the tenant's own (its default usage location, else its country), since a
    /// licence used outside the country it was bought for can break the tenant's terms.
    async fn usage_location(&mut self) -> Result<String, StepError> {
        let org = match self.tenant.organization().await {
            Ok(org) => org,
            Err(e) => return Err(self.failed(SetupStep::ActivationUser, e).await),
        };
        if let Some(country) = org.usage_location() {
            return Ok(country);
        }
        let why = format!(
            "The tenant's organization {} has no country (Microsoft's /organization shows neither a default usage location nor a country letter code), \
             and Microsoft licenses no user without a usage location, so the activation user {ACTIVATION_USER}@{} cannot be created. \
             Fix: in the Microsoft 365 admin center, Settings, Org settings, Organization profile, set the organization's country, \
             then choose Set up Direct Routing again.",
            if org.display_name.is_empty() {
                self.enterprise.name.to_string()
            } else {
                format!("\"{}\"", org.display_name)
            },
            self.route.subdomain
        );
        self.record(
            SetupStep::ActivationUser,
            StepState::Failed,
            Some(why.clone()),
        )
        .await?;
        Err(StepError::Failed(JobError::permanent(why)))
    }

    async fn publish_txt(&mut self, domain: &str) -> Result<(), StepError> {
        let records = self.tenant.domain_verification_records(domain).await;
        let records = match records {
            Ok(r) => r,
            Err(e) => {
                let r: Result<(), _> = Err(e);
                return self
                    .outcome(SetupStep::PublishTxt, r, |_| String::new())
                    .await;
            }
        };
        let Some(text) = records
            .iter()
            .find(|r| r.record_type.eq_ignore_ascii_case("txt"))
            .and_then(|r| r.text.clone())
        else {
            let why = format!("Microsoft gave no TXT verification record for {domain}");
            self.record(SetupStep::PublishTxt, StepState::Failed, Some(why.clone()))
                .await?;
            return Err(StepError::Failed(JobError::retry(why)));
        };
        let Some(dns) = self.engine.inner.dns.get().cloned() else {
            let why = "no DNS zone is configured for verification records: the platform operator sets the RFC 2136 server, zone and TSIG key (TEAMLINE_DNS_*)".to_owned();
            self.record(SetupStep::PublishTxt, StepState::Failed, Some(why.clone()))
                .await?;
            return Err(StepError::Failed(JobError::permanent(why)));
        };
        match dns
            .upsert_txt(domain, std::slice::from_ref(&text), TXT_TTL_SECS)
            .await
        {
            Ok(()) => {
                self.record(
                    SetupStep::PublishTxt,
                    StepState::Done,
                    Some(format!("TXT {text} in {}", dns.zone())),
                )
                .await?;
                Ok(())
            }
            Err(e) => {
                self.record(
                    SetupStep::PublishTxt,
                    StepState::Failed,
                    Some(e.to_string()),
                )
                .await?;
                Err(StepError::Failed(JobError::retry(e.to_string())))
            }
        }
    }

    /// Sync Voice Routes: the region's voice route is stored as provisioned (selectable in SET
    /// UP PBX USER) and the enterprise becomes Direct Routing ready.
    async fn sync_voice_route(&mut self) -> Result<(), StepError> {
        let store = self.engine.inner.store.clone();
        let e = self.enterprise.id;
        let actor = Actor::System("direct routing set-up".into());
        let existing = store
            .list_voice_routes(e)
            .await?
            .into_iter()
            .find(|r| r.region_id == self.region.id);
        match existing {
            Some(r) if r.state == VoiceRouteState::Provisioned => {}
            Some(r) => {
                let audit = Audit::new(
                    actor.clone(),
                    "voice_route.provision",
                    format!("Voice route {} is set up in Microsoft Teams", r.name),
                );
                store
                    .set_voice_route_state(e, r.id, VoiceRouteState::Provisioned, &audit)
                    .await?;
            }
            None => {
                let mut new = self.route.clone();
                new.state = VoiceRouteState::Provisioned;
                let audit = Audit::new(
                    actor.clone(),
                    "voice_route.provision",
                    format!("Voice route {} is set up in Microsoft Teams", new.name),
                );
                store.create_voice_route(e, &new, &audit).await?;
            }
        }
        let enterprise = store.get_enterprise(e).await?;
        if enterprise.state == EnterpriseState::Registered {
            let audit = Audit::new(
                actor,
                "enterprise.direct_routing_ready",
                format!("{} is ready for Direct Routing", enterprise.name),
            );
            store
                .set_enterprise_state(e, EnterpriseState::DirectRoutingReady, &audit)
                .await?;
        }
        self.record(
            SetupStep::SyncVoiceRoutes,
            StepState::Done,
            Some(format!(
                "{} is selectable in SET UP PBX USER",
                self.route.name
            )),
        )
        .await?;
        Ok(())
    }
}

fn change(c: SetupChange, what: &str) -> String {
    match c {
        SetupChange::Created => format!("{what} created"),
        SetupChange::Updated => format!("{what} updated"),
        SetupChange::Unchanged => format!("{what} already set up"),
    }
}

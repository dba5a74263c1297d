//! The entry point: [`MicrosoftClient`] implements [`MicrosoftCloud`], which hands out the
//! sign-in API and one [`TenantApi`] per customer tenant.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use futures::stream::BoxStream;

use teamline_domain::diagnosis::{Check, Outcome};

use crate::config::MicrosoftConfig;
use crate::direct_routing::{
    CallerIdPolicySpec, CallingPolicySpec, DialPlanSpec, DirectRouting, DnsRecord, DomainState,
    LicensedUserSpec, OrganizationInfo, PstnGatewaySpec, SetupChange, SubscribedSku,
    TenantVoiceSetup, VoiceRouteSpec, VoiceRoutingPolicySpec,
};
use crate::directory::{
    BatchItem, DeltaStart, DeltaStream, Directory, DirectoryGroup, DirectoryUser, GraphDirectory,
    GroupChange, PageStream, UserChange, UserFilter,
};
use crate::doctor::{self, DoctorOptions};
use crate::error::MicrosoftError;
use crate::http::Http;
use crate::signin::{EntraSignIn, SignIn};
use crate::tenant::TenantCore;
use crate::tokens::AppTokens;
use crate::voice::{
    GraphTeamsVoice, NumberAssignment, NumberChange, NumberOperation, NumberRequest, PolicyType,
    TeamsVoice, UserRef, UserVoiceConfig,
};

/// Microsoft's cloud as Teamline uses it. Hold it as `Arc<dyn MicrosoftCloud>`.
#[async_trait]
pub trait MicrosoftCloud: Send + Sync {
    /// Admin sign-in and admin consent.
    fn sign_in(&self) -> &dyn SignIn;

    /// Everything Teamline does inside one customer tenant, with app-only permissions.
    fn tenant(&self, tenant_id: &str) -> Arc<dyn TenantApi>;

    /// `teamline doctor` for one tenant: read-only checks, plus the write round trip when
    /// the options ask for it. Never fails: each check says what it found.
    async fn doctor(&self, tenant_id: &str, options: &DoctorOptions) -> Vec<Check>;
}

/// Directory, Teams voice and Direct Routing setup of one customer tenant.
pub trait TenantApi: Directory + TeamsVoice + TenantVoiceSetup {
    /// The tenant this handle talks to.
    fn tenant_id(&self) -> &str;
}

/// The production client: talks to Microsoft's public endpoints (or any host the
/// configuration names, such as the simulator).
#[derive(Clone)]
pub struct MicrosoftClient {
    shared: Arc<Shared>,
}

struct Shared {
    config: MicrosoftConfig,
    http: Arc<Http>,
    tokens: Arc<AppTokens>,
    sign_in: EntraSignIn,
    tenants: Mutex<HashMap<String, Arc<TenantClient>>>,
}

impl std::fmt::Debug for MicrosoftClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MicrosoftClient")
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

impl MicrosoftClient {
    /// Builds the client: one HTTPS client (rustls with the ring provider, installed here)
    /// shared by sign-in, tokens and every tenant.
    pub fn new(config: MicrosoftConfig) -> Result<Self, MicrosoftError> {
        config.validate()?;
        let http = Arc::new(Http::new(&config)?);
        let tokens = Arc::new(AppTokens::new(
            http.clone(),
            config.login_base.clone(),
            config.client_id.clone(),
            config.client_secret.clone(),
        ));
        let sign_in = EntraSignIn::new(
            http.clone(),
            config.login_base.clone(),
            config.graph_base.clone(),
            config.client_id.clone(),
            config.client_secret.clone(),
            config.redirect_uri.clone(),
            config.consent_redirect().clone(),
        );
        Ok(Self {
            shared: Arc::new(Shared {
                config,
                http,
                tokens,
                sign_in,
                tenants: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// The configuration this client was built with.
    pub fn config(&self) -> &MicrosoftConfig {
        &self.shared.config
    }

    fn tenant_client(&self, tenant_id: &str) -> Arc<TenantClient> {
        let mut tenants = self
            .shared
            .tenants
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        tenants
            .entry(tenant_id.to_owned())
            .or_insert_with(|| {
                let c = &self.shared.config;
                let core = Arc::new(TenantCore {
                    tenant_id: tenant_id.to_owned(),
                    http: self.shared.http.clone(),
                    tokens: self.shared.tokens.clone(),
                    graph_base: c.graph_base.clone(),
                    teams_admin_base: c.teams_admin_base.clone(),
                    polling: c.operation_polling.clone(),
                    retry: c.retry.clone(),
                    policy_replication_wait: c.policy_replication_wait,
                    learned: Default::default(),
                });
                Arc::new(TenantClient {
                    directory: GraphDirectory { core: core.clone() },
                    voice: GraphTeamsVoice::new(core.clone()),
                    direct_routing: DirectRouting { core: core.clone() },
                    core,
                })
            })
            .clone()
    }
}

#[async_trait]
impl MicrosoftCloud for MicrosoftClient {
    fn sign_in(&self) -> &dyn SignIn {
        &self.shared.sign_in
    }

    fn tenant(&self, tenant_id: &str) -> Arc<dyn TenantApi> {
        self.tenant_client(tenant_id.trim())
    }

    async fn doctor(&self, tenant_id: &str, options: &DoctorOptions) -> Vec<Check> {
        let client = self.tenant_client(tenant_id.trim());
        let test_user = match &options.write_test {
            Some(w) => client
                .directory
                .user(&w.user)
                .await
                .ok()
                .flatten()
                .map(|u| UserRef::new(u.id, u.user_principal_name)),
            None => None,
        };
        let mut checks = doctor::run_read_checks(&client, options, test_user.as_ref()).await;
        if let Some(w) = &options.write_test {
            let blocked = checks
                .iter()
                .any(|c| c.outcome == Outcome::Fail && c.id.starts_with("token."));
            if blocked {
                checks.push(Check::new(
                    "write",
                    "Write round trip",
                    Outcome::Skip,
                    "not run: Teamline has no app token for the tenant",
                ));
            } else {
                checks.extend(
                    doctor::run_write_test(&client, &w.user, &w.number, &options.policy_names())
                        .await,
                );
            }
        }
        checks
    }
}

/// One tenant's clients, sharing the tenant's transport, tokens and learned behaviour.
pub(crate) struct TenantClient {
    pub(crate) core: Arc<TenantCore>,
    pub(crate) directory: GraphDirectory,
    pub(crate) voice: GraphTeamsVoice,
    pub(crate) direct_routing: DirectRouting,
}

impl TenantApi for TenantClient {
    fn tenant_id(&self) -> &str {
        &self.core.tenant_id
    }
}

#[async_trait]
impl Directory for TenantClient {
    fn users(&self, filter: UserFilter) -> PageStream<DirectoryUser> {
        self.directory.users(filter)
    }
    async fn user(&self, id_or_upn: &str) -> Result<Option<DirectoryUser>, MicrosoftError> {
        self.directory.user(id_or_upn).await
    }
    async fn search_users(
        &self,
        prefix: &str,
        limit: usize,
    ) -> Result<Vec<DirectoryUser>, MicrosoftError> {
        self.directory.search_users(prefix, limit).await
    }
    async fn users_by_id(&self, ids: &[String]) -> Vec<BatchItem<DirectoryUser>> {
        self.directory.users_by_id(ids).await
    }
    async fn user_groups(&self, user_id: &str) -> Result<Vec<DirectoryGroup>, MicrosoftError> {
        self.directory.user_groups(user_id).await
    }
    fn groups(&self, name_prefix: Option<&str>) -> PageStream<DirectoryGroup> {
        self.directory.groups(name_prefix)
    }
    async fn group(&self, group_id: &str) -> Result<Option<DirectoryGroup>, MicrosoftError> {
        self.directory.group(group_id).await
    }
    fn group_members(&self, group_id: &str) -> PageStream<DirectoryUser> {
        self.directory.group_members(group_id)
    }
    fn member_groups(&self, group_id: &str) -> PageStream<DirectoryGroup> {
        self.directory.member_groups(group_id)
    }
    fn users_delta(&self, start: DeltaStart) -> DeltaStream<UserChange> {
        self.directory.users_delta(start)
    }
    fn groups_delta(
        &self,
        start: DeltaStart,
        group_ids: &[String],
    ) -> BoxStream<'static, Result<crate::directory::DeltaPage<GroupChange>, MicrosoftError>> {
        self.directory.groups_delta(start, group_ids)
    }
}

#[async_trait]
impl TeamsVoice for TenantClient {
    async fn assign_number(
        &self,
        user: &UserRef,
        number: &str,
    ) -> Result<NumberChange, MicrosoftError> {
        self.voice.assign_number(user, number).await
    }
    async fn request_number_assignment(
        &self,
        user: &UserRef,
        number: &str,
    ) -> Result<NumberRequest, MicrosoftError> {
        self.voice.request_number_assignment(user, number).await
    }
    async fn finish_number_assignment(
        &self,
        user: &UserRef,
        number: &str,
        operation: &NumberOperation,
    ) -> Result<NumberChange, MicrosoftError> {
        self.voice
            .finish_number_assignment(user, number, operation)
            .await
    }
    async fn unassign_number(
        &self,
        user: &UserRef,
        number: &str,
    ) -> Result<NumberChange, MicrosoftError> {
        self.voice.unassign_number(user, number).await
    }
    async fn number_assignment(
        &self,
        number: &str,
    ) -> Result<Option<NumberAssignment>, MicrosoftError> {
        self.voice.number_assignment(number).await
    }
    async fn policy_id(
        &self,
        policy_type: PolicyType,
        name: &str,
    ) -> Result<Option<String>, MicrosoftError> {
        self.voice.policy_id(policy_type, name).await
    }
    async fn grant_policy(
        &self,
        user: &UserRef,
        policy_type: PolicyType,
        name: Option<&str>,
    ) -> Result<(), MicrosoftError> {
        self.voice.grant_policy(user, policy_type, name).await
    }
    async fn grant_policy_to_users(
        &self,
        users: &[UserRef],
        policy_type: PolicyType,
        name: Option<&str>,
    ) -> Result<(), MicrosoftError> {
        self.voice
            .grant_policy_to_users(users, policy_type, name)
            .await
    }
    fn policy_path(&self, policy_type: PolicyType) -> Option<crate::learned::PolicyPath> {
        self.voice.policy_path(policy_type)
    }
    async fn user_voice_config(&self, user: &UserRef) -> Result<UserVoiceConfig, MicrosoftError> {
        self.voice.user_voice_config(user).await
    }
    async fn user_voice_configs(&self, users: &[UserRef]) -> Vec<BatchItem<UserVoiceConfig>> {
        self.voice.user_voice_configs(users).await
    }
}

#[async_trait]
impl TenantVoiceSetup for TenantClient {
    async fn organization(&self) -> Result<OrganizationInfo, MicrosoftError> {
        self.direct_routing.organization().await
    }
    async fn subscribed_skus(&self) -> Result<Vec<SubscribedSku>, MicrosoftError> {
        self.direct_routing.subscribed_skus().await
    }
    async fn ensure_licensed_user(
        &self,
        user: &LicensedUserSpec,
    ) -> Result<SetupChange, MicrosoftError> {
        self.direct_routing.ensure_licensed_user(user).await
    }
    async fn user_licences(&self, upn: &str) -> Result<Option<Vec<String>>, MicrosoftError> {
        self.direct_routing.user_licences(upn).await
    }
    async fn ensure_pstn_usage(&self, usage: &str) -> Result<SetupChange, MicrosoftError> {
        self.direct_routing.ensure_pstn_usage(usage).await
    }
    async fn ensure_voice_route(
        &self,
        route: &VoiceRouteSpec,
    ) -> Result<SetupChange, MicrosoftError> {
        self.direct_routing.ensure_voice_route(route).await
    }
    async fn ensure_voice_routing_policy(
        &self,
        policy: &VoiceRoutingPolicySpec,
    ) -> Result<SetupChange, MicrosoftError> {
        self.direct_routing
            .ensure_voice_routing_policy(policy)
            .await
    }
    async fn ensure_dial_plan(&self, plan: &DialPlanSpec) -> Result<SetupChange, MicrosoftError> {
        self.direct_routing.ensure_dial_plan(plan).await
    }
    async fn ensure_caller_id_policy(
        &self,
        policy: &CallerIdPolicySpec,
    ) -> Result<SetupChange, MicrosoftError> {
        self.direct_routing.ensure_caller_id_policy(policy).await
    }
    async fn ensure_calling_policy(
        &self,
        policy: &CallingPolicySpec,
    ) -> Result<SetupChange, MicrosoftError> {
        self.direct_routing.ensure_calling_policy(policy).await
    }
    async fn ensure_pstn_gateway(
        &self,
        gateway: &PstnGatewaySpec,
    ) -> Result<SetupChange, MicrosoftError> {
        self.direct_routing.ensure_pstn_gateway(gateway).await
    }
    async fn domain(&self, name: &str) -> Result<Option<DomainState>, MicrosoftError> {
        self.direct_routing.domain(name).await
    }
    async fn add_domain(&self, name: &str) -> Result<DomainState, MicrosoftError> {
        self.direct_routing.add_domain(name).await
    }
    async fn domain_verification_records(
        &self,
        name: &str,
    ) -> Result<Vec<DnsRecord>, MicrosoftError> {
        self.direct_routing.domain_verification_records(name).await
    }
    async fn verify_domain(&self, name: &str) -> Result<DomainState, MicrosoftError> {
        self.direct_routing.verify_domain(name).await
    }
}

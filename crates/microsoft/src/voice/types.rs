//! Teams voice types as Teamline sees them; no Graph JSON.

/// A Teams user Teamline acts on: the object id Microsoft needs and the UPN admins read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserRef {
    /// Entra object id.
    pub id: String,
    /// User principal name, used in messages.
    pub upn: String,
}

impl UserRef {
    /// A user reference.
    pub fn new(id: impl Into<String>, upn: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            upn: upn.into(),
        }
    }
}

/// What a change did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NumberChange {
    /// Microsoft made the change.
    Applied,
    /// Nothing to do: the tenant was already in the wanted state.
    AlreadyInPlace,
}

/// A number change Microsoft accepted (202) and carries out in the background: the address of
/// its long-running operation. Polling it is all that is left to do, also after a restart:
/// sending the change again would make a second change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NumberOperation {
    /// The operation's URL, from the answer's `Location` (on the Graph host).
    pub location: String,
}

/// Microsoft's first answer to a number change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NumberRequest {
    /// Finished already (done at once, nothing to do, or explained as already in place).
    Finished(NumberChange),
    /// Accepted: the operation to follow until it ends.
    Accepted(NumberOperation),
}

/// The Teams policy types Teamline assigns to users.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PolicyType {
    /// Which voice routes the user's calls may take (one per SBC region).
    OnlineVoiceRoutingPolicy,
    /// Dial plan (normalization of dialed numbers).
    TenantDialPlan,
    /// Caller ID presented on outbound calls.
    CallingLineIdentity,
    /// Calling features, including whether Teams voicemail is used.
    TeamsCallingPolicy,
}

impl PolicyType {
    /// The policy type as Microsoft names it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OnlineVoiceRoutingPolicy => "OnlineVoiceRoutingPolicy",
            Self::TenantDialPlan => "TenantDialPlan",
            Self::CallingLineIdentity => "CallingLineIdentity",
            Self::TeamsCallingPolicy => "TeamsCallingPolicy",
        }
    }

    /// The type named as Microsoft names it.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(name))
    }

    /// All types Teamline manages.
    pub const ALL: [PolicyType; 4] = [
        Self::OnlineVoiceRoutingPolicy,
        Self::TenantDialPlan,
        Self::CallingLineIdentity,
        Self::TeamsCallingPolicy,
    ];
}

impl std::fmt::Display for PolicyType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A number in the tenant's Teams number inventory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NumberAssignment {
    /// The number, as Microsoft stores it.
    pub number: String,
    /// Object id of the user or resource account holding it.
    pub target_id: Option<String>,
    /// `userAssigned`, `unassigned`, `voiceApplicationAssigned`, ...
    pub assignment_status: String,
    /// `activated`, `assignmentPending`, `assignmentFailed`, ...
    pub activation_state: Option<String>,
    /// `directRouting`, `callingPlan`, `operatorConnect`.
    pub number_type: Option<String>,
}

impl NumberAssignment {
    /// Whether someone holds the number.
    pub fn is_assigned(&self) -> bool {
        self.target_id.as_deref().is_some_and(|t| !t.is_empty())
            && self.assignment_status != "unassigned"
    }
}

/// A user's Teams voice state as Microsoft reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserVoiceConfig {
    /// Object id.
    pub user_id: String,
    /// UPN.
    pub user_principal_name: Option<String>,
    /// Whether the user can make and receive PSTN calls.
    pub enterprise_voice_enabled: bool,
    /// Kind of account.
    pub account_type: AccountType,
    /// Teams features the user's licences give, e.g. `Teams`, `PhoneSystem`.
    pub feature_types: Vec<String>,
    /// Numbers assigned to the user.
    pub telephone_numbers: Vec<TelephoneNumber>,
    /// Policies in effect, per type.
    pub policies: Vec<EffectivePolicy>,
}

impl UserVoiceConfig {
    /// Whether Teams sees a Teams Phone (Phone System) licence on the user.
    pub fn has_teams_phone(&self) -> bool {
        self.feature_types
            .iter()
            .any(|f| f.eq_ignore_ascii_case("PhoneSystem"))
    }

    /// The primary number, if any.
    pub fn primary_number(&self) -> Option<&str> {
        self.telephone_numbers
            .iter()
            .find(|n| {
                n.category
                    .as_deref()
                    .is_none_or(|c| c.eq_ignore_ascii_case("primary"))
            })
            .map(|n| n.number.as_str())
    }

    /// The policy in effect for a type; `None` means the org-wide default (Global).
    pub fn policy(&self, policy_type: PolicyType) -> Option<&EffectivePolicy> {
        self.policies
            .iter()
            .find(|p| p.policy_type.eq_ignore_ascii_case(policy_type.as_str()))
    }

    /// The name of the policy in effect for a type, `Global` when none is assigned.
    pub fn policy_name(&self, policy_type: PolicyType) -> &str {
        self.policy(policy_type)
            .map_or("Global", |p| p.name.as_str())
    }
}

/// A number on a user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TelephoneNumber {
    /// The number.
    pub number: String,
    /// `primary`, `private` or `alternate`.
    pub category: Option<String>,
}

/// A policy in effect for a user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EffectivePolicy {
    /// Policy type as Microsoft names it.
    pub policy_type: String,
    /// Policy name, e.g. `US-East-2` (Microsoft may prefix custom ones with `Tag:`).
    pub name: String,
    /// Opaque policy id.
    pub policy_id: Option<String>,
    /// How the user got it.
    pub source: PolicySource,
}

impl EffectivePolicy {
    /// The name without Microsoft's `Tag:` prefix.
    pub fn plain_name(&self) -> &str {
        self.name.strip_prefix("Tag:").unwrap_or(&self.name)
    }
}

/// How a policy reached the user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PolicySource {
    /// Assigned to the user directly.
    Direct,
    /// Inherited from a group assignment.
    Group {
        /// The group.
        group_id: Option<String>,
    },
    /// Something else.
    Other(String),
}

/// Teams account type of a user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AccountType {
    /// A regular user.
    User,
    /// A resource account (auto attendant, call queue).
    ResourceAccount,
    /// A guest.
    Guest,
    /// A Skype for Business on-premises user.
    SfbOnPremUser,
    /// Not eligible for Teams.
    IneligibleUser,
    /// Microsoft does not know.
    Unknown,
    /// A value this client does not know.
    Other(String),
}

impl AccountType {
    pub(crate) fn parse(s: &str) -> Self {
        match s {
            "user" => Self::User,
            "resourceAccount" => Self::ResourceAccount,
            "guest" => Self::Guest,
            "sfbOnPremUser" => Self::SfbOnPremUser,
            "ineligibleUser" => Self::IneligibleUser,
            "unknown" => Self::Unknown,
            other => Self::Other(other.to_owned()),
        }
    }
}

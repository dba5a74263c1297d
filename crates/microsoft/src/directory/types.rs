//! Directory types as Teamline sees them; no Graph JSON.

use crate::directory::licences::Licences;
use crate::error::MicrosoftError;

/// A user of the customer tenant, with the fields Teamline needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirectoryUser {
    /// Entra object id: the stable key.
    pub id: String,
    /// Sign-in name, e.g. `AdeleV@contoso.example`.
    pub user_principal_name: String,
    /// Display name.
    pub display_name: String,
    /// Primary e-mail address.
    pub mail: Option<String>,
    /// Whether the account may sign in.
    pub account_enabled: bool,
    /// Member or guest.
    pub user_type: UserType,
    /// Two-letter country code the licences apply in.
    pub usage_location: Option<String>,
    /// Teams-related licences.
    pub licences: Licences,
}

/// `userType` of a user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UserType {
    /// A member of the organisation.
    Member,
    /// An external guest.
    Guest,
    /// Unknown value.
    Other(String),
}

impl UserType {
    pub(crate) fn parse(s: &str) -> Self {
        match s {
            "Member" => Self::Member,
            "Guest" => Self::Guest,
            other => Self::Other(other.to_owned()),
        }
    }
}

/// Which users to list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserFilter {
    /// Every user object.
    All,
    /// Enabled member users only (what "no sync group" means).
    EnabledMembers,
}

/// A group of the customer tenant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirectoryGroup {
    /// Entra object id.
    pub id: String,
    /// Display name.
    pub display_name: String,
    /// Description.
    pub description: Option<String>,
    /// E-mail address, for mail-enabled groups.
    pub mail: Option<String>,
    /// Kind of group.
    pub kind: GroupKind,
    /// Whether membership is computed from a rule.
    pub dynamic_membership: bool,
}

/// Kind of a group, as the Microsoft 365 admin center names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupKind {
    /// Microsoft 365 group (`groupTypes` contains `Unified`).
    Microsoft365,
    /// Security group.
    Security,
    /// Mail-enabled security group.
    MailEnabledSecurity,
    /// Distribution list.
    Distribution,
}

/// A page of changes from a delta round, with the link to resume from once the round is
/// complete (only on the last page).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeltaPage<T> {
    /// Changes on this page. The same object can appear more than once in a round.
    pub changes: Vec<T>,
    /// Present on the last page of the round: store it and pass it to the next round.
    pub delta_link: Option<DeltaLink>,
}

/// Where a delta round resumes; opaque, store it as text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeltaLink(pub String);

impl DeltaLink {
    /// The link as text, for storage.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How to start a delta round.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeltaStart {
    /// Everything that exists now, then a link for later changes.
    Initial,
    /// Only a link from now on, without the current state ("sync from now").
    Latest,
    /// The changes since the round that produced this link.
    Resume(DeltaLink),
}

/// A change to a user in a users delta round.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UserChange {
    /// Created or changed. Changed users may carry only the changed fields.
    Upserted(Box<UserDelta>),
    /// Deleted (restorable for 30 days unless `permanently`).
    Removed {
        /// Object id.
        id: String,
        /// Hard-deleted rather than moved to the recycle bin.
        permanently: bool,
    },
}

/// A created or changed user; `None` means "not in this change".
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserDelta {
    /// Object id.
    pub id: String,
    /// Sign-in name.
    pub user_principal_name: Option<String>,
    /// Display name.
    pub display_name: Option<String>,
    /// E-mail address.
    pub mail: Option<String>,
    /// Account enabled.
    pub account_enabled: Option<bool>,
    /// Member or guest.
    pub user_type: Option<UserType>,
    /// Usage location.
    pub usage_location: Option<String>,
    /// Licences, when `assignedPlans` changed.
    pub licences: Option<Licences>,
}

impl UserDelta {
    /// Applies this change to a user Teamline already knows.
    pub fn apply_to(&self, user: &mut DirectoryUser) {
        if let Some(v) = &self.user_principal_name {
            user.user_principal_name.clone_from(v);
        }
        if let Some(v) = &self.display_name {
            user.display_name.clone_from(v);
        }
        if self.mail.is_some() {
            user.mail.clone_from(&self.mail);
        }
        if let Some(v) = self.account_enabled {
            user.account_enabled = v;
        }
        if let Some(v) = &self.user_type {
            user.user_type = v.clone();
        }
        if self.usage_location.is_some() {
            user.usage_location.clone_from(&self.usage_location);
        }
        if let Some(v) = &self.licences {
            user.licences = v.clone();
        }
    }

    /// The full user, when the change carries every field (as in an initial round).
    pub fn to_user(&self) -> Option<DirectoryUser> {
        Some(DirectoryUser {
            id: self.id.clone(),
            user_principal_name: self.user_principal_name.clone()?,
            display_name: self.display_name.clone().unwrap_or_default(),
            mail: self.mail.clone(),
            account_enabled: self.account_enabled?,
            user_type: self.user_type.clone().unwrap_or(UserType::Member),
            usage_location: self.usage_location.clone(),
            licences: self.licences.clone().unwrap_or_default(),
        })
    }
}

/// A change to a tracked group in a groups delta round.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupChange {
    /// Group object id.
    pub id: String,
    /// New display name, when it changed.
    pub display_name: Option<String>,
    /// Set when the group itself was deleted.
    pub removed: Option<Removal>,
    /// Direct members added (`members@delta` without `@removed`).
    pub members_added: Vec<MemberRef>,
    /// Direct members removed.
    pub members_removed: Vec<MemberRef>,
}

/// How an object was removed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Removal {
    /// Soft-deleted, can be restored.
    Restorable,
    /// Hard-deleted.
    Permanent,
}

/// A direct member of a group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberRef {
    /// Object id.
    pub id: String,
    /// What kind of object.
    pub kind: MemberKind,
}

/// Kind of a group member.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MemberKind {
    /// A user.
    User,
    /// A nested group (its members are members transitively).
    Group,
    /// A device, contact, service principal, ...
    Other(String),
}

/// The result for one id of a batched lookup.
#[derive(Debug)]
pub struct BatchItem<T> {
    /// The id asked for.
    pub id: String,
    /// `Ok(None)` when the object does not exist.
    pub result: Result<Option<T>, MicrosoftError>,
}

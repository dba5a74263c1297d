//! The customer tenant's directory through Microsoft Graph v1.0: users, groups, transitive
//! membership, delta rounds and batched lookups. Results come page by page so a sync of tens
//! of thousands of users never holds more than one page of Graph JSON.

pub(crate) mod batch;
pub(crate) mod group_delta;
pub mod licences;
mod types;
mod wire;

use std::sync::Arc;

use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::BoxStream;
use serde::de::DeserializeOwned;

pub use self::types::{
    BatchItem, DeltaLink, DeltaPage, DeltaStart, DirectoryGroup, DirectoryUser, GroupChange,
    GroupKind, MemberKind, MemberRef, Removal, UserChange, UserDelta, UserFilter, UserType,
};
use self::wire::{GROUP_SELECT, GroupWire, USER_SELECT, UserWire};
use crate::error::MicrosoftError;
use crate::graph::Page;
use crate::odata::{literal, query, segment};
use crate::tenant::{Req, TenantCore};

/// A stream of pages; each item is one page of results.
pub type PageStream<T> = BoxStream<'static, Result<Vec<T>, MicrosoftError>>;
/// A stream of delta pages; the last one carries the link for the next round.
pub type DeltaStream<T> = BoxStream<'static, Result<DeltaPage<T>, MicrosoftError>>;

/// Graph's largest page size for users and groups.
const PAGE_SIZE: &str = "999";

/// Headers for Graph's "advanced queries" (needed for OData casts such as
/// `transitiveMembers/microsoft.graph.user`, used together with `$count=true`, and for
/// `$search`).
const ADVANCED: &[(&str, &str)] = &[("ConsistencyLevel", "eventual")];

/// Reading the customer tenant's directory.
#[async_trait]
pub trait Directory: Send + Sync {
    /// All users (or enabled members only), page by page.
    fn users(&self, filter: UserFilter) -> PageStream<DirectoryUser>;

    /// One user by object id or UPN; `None` when no such user exists.
    async fn user(&self, id_or_upn: &str) -> Result<Option<DirectoryUser>, MicrosoftError>;

    /// Users with a word of the display name, the UPN or the mail starting with `prefix`
    /// (Graph's `$search`; for the Troubleshoot page).
    async fn search_users(
        &self,
        prefix: &str,
        limit: usize,
    ) -> Result<Vec<DirectoryUser>, MicrosoftError>;

    /// Several users by object id in as few requests as possible (`$batch`), one result per
    /// id in the same order.
    async fn users_by_id(&self, ids: &[String]) -> Vec<BatchItem<DirectoryUser>>;

    /// The groups a user belongs to, directly or through nested groups.
    async fn user_groups(&self, user_id: &str) -> Result<Vec<DirectoryGroup>, MicrosoftError>;

    /// Groups, optionally only those whose display name starts with `name_prefix`.
    fn groups(&self, name_prefix: Option<&str>) -> PageStream<DirectoryGroup>;

    /// One group by object id; `None` when no such group exists.
    async fn group(&self, group_id: &str) -> Result<Option<DirectoryGroup>, MicrosoftError>;

    /// The users that are members of the group, directly or through nested groups.
    fn group_members(&self, group_id: &str) -> PageStream<DirectoryUser>;

    /// The groups that are direct members of the group (nested groups, one level down).
    fn member_groups(&self, group_id: &str) -> PageStream<DirectoryGroup>;

    /// A users delta round. Fails with [`MicrosoftError::DeltaExpired`] when the link can no
    /// longer be used; run a full sync then.
    fn users_delta(&self, start: DeltaStart) -> DeltaStream<UserChange>;

    /// A groups delta round for the given groups (all groups when empty), with their
    /// membership changes. Many groups are tracked in several rounds whose links the one
    /// returned [`DeltaLink`] holds.
    fn groups_delta(&self, start: DeltaStart, group_ids: &[String]) -> DeltaStream<GroupChange>;
}

pub(crate) struct GraphDirectory {
    pub core: Arc<TenantCore>,
}

fn collection<W, T>(
    core: Arc<TenantCore>,
    first_url: String,
    headers: &'static [(&'static str, &'static str)],
    what: String,
    convert: fn(Vec<W>) -> Vec<T>,
) -> PageStream<T>
where
    W: DeserializeOwned + Send + 'static,
    T: Send + 'static,
{
    futures::stream::try_unfold(Some(first_url), move |next| {
        let core = core.clone();
        let what = what.clone();
        async move {
            let Some(url) = next else { return Ok(None) };
            let mut req = Req::get(url, &what);
            req.headers = headers;
            let page: Page<W> = core.page(&req).await?;
            let next = page
                .next_link
                .as_deref()
                .map(|l| core.graph_link(l, &what))
                .transpose()?;
            Ok(Some((convert(page.value), next)))
        }
    })
    .boxed()
}

fn delta<W, T>(
    core: Arc<TenantCore>,
    first: Result<String, MicrosoftError>,
    what: String,
    convert: fn(W) -> T,
) -> DeltaStream<T>
where
    W: DeserializeOwned + Send + 'static,
    T: Send + 'static,
{
    futures::stream::try_unfold(Some(first), move |next| {
        let core = core.clone();
        let what = what.clone();
        async move {
            let Some(url) = next else { return Ok(None) };
            let url = url?;
            let reply = core.send(&Req::get(url, &what)).await?;
            if !reply.status.is_success() {
                let err = crate::graph::parse_error(&reply.body);
                // 410 Gone (with a Location for a fresh start) or an expired/invalid token:
                // only a full resync helps.
                if reply.status == reqwest::StatusCode::GONE
                    || ["syncStateNotFound", "resyncRequired", "syncStateInvalid"]
                        .iter()
                        .any(|c| err.has_code(c))
                {
                    return Err(MicrosoftError::DeltaExpired {
                        request_id: crate::graph::request_id(&reply),
                    });
                }
                return Err(core.error_from(&reply, &what));
            }
            let page: Page<W> = core.json(&reply, &what)?;
            let changes = page.value.into_iter().map(convert).collect();
            if let Some(link) = page.delta_link {
                let page = DeltaPage {
                    changes,
                    delta_link: Some(DeltaLink(link)),
                };
                return Ok(Some((page, None)));
            }
            match page.next_link {
                Some(link) => {
                    let next = core.graph_link(&link, &what);
                    Ok(Some((
                        DeltaPage {
                            changes,
                            delta_link: None,
                        },
                        Some(next),
                    )))
                }
                None => Err(MicrosoftError::UnexpectedResponse {
                    what,
                    detail: "a delta page had neither @odata.nextLink nor @odata.deltaLink".into(),
                }),
            }
        }
    })
    .boxed()
}

fn users_from(wire: Vec<UserWire>) -> Vec<DirectoryUser> {
    wire.into_iter().map(UserWire::into_user).collect()
}

fn groups_from(wire: Vec<GroupWire>) -> Vec<DirectoryGroup> {
    wire.into_iter()
        .filter(GroupWire::is_group)
        .map(GroupWire::into_group)
        .collect()
}

impl GraphDirectory {
    fn start_url(
        &self,
        start: &DeltaStart,
        fresh: String,
        what: &str,
    ) -> Result<String, MicrosoftError> {
        match start {
            DeltaStart::Initial => Ok(fresh),
            DeltaStart::Latest => Ok(format!("{fresh}&$deltatoken=latest")),
            DeltaStart::Resume(link) => self.core.graph_link(link.as_str(), what),
        }
    }
}

#[async_trait]
impl Directory for GraphDirectory {
    fn users(&self, filter: UserFilter) -> PageStream<DirectoryUser> {
        let mut q = vec![("$select", USER_SELECT), ("$top", PAGE_SIZE)];
        if filter == UserFilter::EnabledMembers {
            q.push(("$filter", "accountEnabled eq true and userType eq 'Member'"));
        }
        let url = self.core.graph_url(&format!("/users?{}", query(&q)));
        collection(
            self.core.clone(),
            url,
            &[],
            "list the users of the tenant".into(),
            users_from,
        )
    }

    async fn user(&self, id_or_upn: &str) -> Result<Option<DirectoryUser>, MicrosoftError> {
        let what = format!("the user {id_or_upn}");
        let url = self.core.graph_url(&format!(
            "/users/{}?{}",
            segment(id_or_upn),
            query(&[("$select", USER_SELECT)])
        ));
        let reply = self.core.send(&Req::get(url, &what)).await?;
        if reply.status == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !reply.status.is_success() {
            return Err(self.core.error_from(&reply, &format!("read {what}")));
        }
        Ok(Some(self.core.json::<UserWire>(&reply, &what)?.into_user()))
    }

    async fn search_users(
        &self,
        prefix: &str,
        limit: usize,
    ) -> Result<Vec<DirectoryUser>, MicrosoftError> {
        // Nothing typed means nothing found (Graph would list everyone).
        if prefix.trim().is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        // `$search` matches the start of any word of the name, the UPN and the mail
        // ("Cline" finds Christie Cline), which `startswith` on the whole name does not. The
        // term is a quoted string: quotes and backslashes in it would end it early.
        let term = prefix.trim().replace(['"', '\\'], " ");
        let search =
            format!("\"displayName:{term}\" OR \"mail:{term}\" OR \"userPrincipalName:{term}\"");
        let top = limit.clamp(1, 999).to_string();
        let url = self.core.graph_url(&format!(
            "/users?{}",
            query(&[
                ("$select", USER_SELECT),
                ("$search", &search),
                ("$top", &top)
            ])
        ));
        let what = format!("search the users matching \"{}\"", prefix.trim());
        let mut pages = collection(self.core.clone(), url, ADVANCED, what, users_from);
        let mut users = match pages.next().await {
            Some(page) => page?,
            None => Vec::new(),
        };
        users.truncate(limit);
        Ok(users)
    }

    async fn users_by_id(&self, ids: &[String]) -> Vec<BatchItem<DirectoryUser>> {
        let urls: Vec<String> = ids
            .iter()
            .map(|id| {
                format!(
                    "/users/{}?{}",
                    segment(id),
                    query(&[("$select", USER_SELECT)])
                )
            })
            .collect();
        let replies = batch::get_all(&self.core, &urls, "look up users").await;
        ids.iter()
            .zip(replies)
            .map(|(id, reply)| {
                let what = format!("the user {id}");
                let result = reply.and_then(|r| match r.status {
                    200..=299 => serde_json::from_value::<UserWire>(r.body)
                        .map(|w| Some(w.into_user()))
                        .map_err(|e| MicrosoftError::UnexpectedResponse {
                            what: what.clone(),
                            detail: e.to_string(),
                        }),
                    404 => Ok(None),
                    status => Err(batch::item_error(&self.core, status, &r.body, &what)),
                });
                BatchItem {
                    id: id.clone(),
                    result,
                }
            })
            .collect()
    }

    async fn user_groups(&self, user_id: &str) -> Result<Vec<DirectoryGroup>, MicrosoftError> {
        let url = self.core.graph_url(&format!(
            "/users/{}/transitiveMemberOf/microsoft.graph.group?{}",
            segment(user_id),
            query(&[
                ("$select", GROUP_SELECT),
                ("$top", PAGE_SIZE),
                ("$count", "true")
            ])
        ));
        let mut pages = collection(
            self.core.clone(),
            url,
            ADVANCED,
            format!("list the groups of the user {user_id}"),
            groups_from,
        );
        let mut all = Vec::new();
        while let Some(page) = pages.next().await {
            all.extend(page?);
        }
        Ok(all)
    }

    fn groups(&self, name_prefix: Option<&str>) -> PageStream<DirectoryGroup> {
        let filter = name_prefix
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| format!("startswith(displayName,{})", literal(p)));
        let mut q = vec![("$select", GROUP_SELECT), ("$top", PAGE_SIZE)];
        if let Some(f) = &filter {
            q.push(("$filter", f));
        }
        let url = self.core.graph_url(&format!("/groups?{}", query(&q)));
        collection(
            self.core.clone(),
            url,
            &[],
            "list the groups of the tenant".into(),
            groups_from,
        )
    }

    async fn group(&self, group_id: &str) -> Result<Option<DirectoryGroup>, MicrosoftError> {
        let what = format!("the group {group_id}");
        let url = self.core.graph_url(&format!(
            "/groups/{}?{}",
            segment(group_id),
            query(&[("$select", GROUP_SELECT)])
        ));
        let reply = self.core.send(&Req::get(url, &what)).await?;
        if reply.status == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !reply.status.is_success() {
            return Err(self.core.error_from(&reply, &format!("read {what}")));
        }
        Ok(Some(
            self.core.json::<GroupWire>(&reply, &what)?.into_group(),
        ))
    }

    fn group_members(&self, group_id: &str) -> PageStream<DirectoryUser> {
        let url = self.core.graph_url(&format!(
            "/groups/{}/transitiveMembers/microsoft.graph.user?{}",
            segment(group_id),
            query(&[
                ("$select", USER_SELECT),
                ("$top", PAGE_SIZE),
                ("$count", "true")
            ])
        ));
        collection(
            self.core.clone(),
            url,
            ADVANCED,
            format!("list the members of the group {group_id}"),
            users_from,
        )
    }

    fn member_groups(&self, group_id: &str) -> PageStream<DirectoryGroup> {
        let url = self.core.graph_url(&format!(
            "/groups/{}/members/microsoft.graph.group?{}",
            segment(group_id),
            query(&[
                ("$select", GROUP_SELECT),
                ("$top", PAGE_SIZE),
                ("$count", "true")
            ])
        ));
        collection(
            self.core.clone(),
            url,
            ADVANCED,
            format!("list the groups nested in the group {group_id}"),
            groups_from,
        )
    }

    fn users_delta(&self, start: DeltaStart) -> DeltaStream<UserChange> {
        let what = "track changes to the users of the tenant";
        let fresh = self.core.graph_url(&format!(
            "/users/delta?{}",
            query(&[("$select", USER_SELECT)])
        ));
        let first = self.start_url(&start, fresh, what);
        delta(self.core.clone(), first, what.into(), UserWire::into_change)
    }

    fn groups_delta(&self, start: DeltaStart, group_ids: &[String]) -> DeltaStream<GroupChange> {
        self.chunked_groups_delta(start, group_ids)
    }
}

//! What a delta round tracks: the sync groups and every group nested in them, with the nesting,
//! so a membership change in a nested group is credited to the right sync groups.

use crate::EngineError;
use futures::TryStreamExt;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use teamline_microsoft::TenantApi;
use teamline_store::SyncGroup;

/// Stored as JSON in the sync state: a delta link is only valid for the scope it was made for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SyncScope {
    /// The sync groups' object ids as configured (sorted, lower case); empty = every enabled
    /// member user.
    pub groups: Vec<String>,
    /// Every tracked group (sync groups and the groups nested in them, lower case) → its
    /// direct child groups.
    pub tree: BTreeMap<String, Vec<String>>,
}

/// The configured sync groups in the form [`SyncScope::groups`] keeps them.
pub(crate) fn group_keys(groups: &[SyncGroup]) -> Vec<String> {
    let set: BTreeSet<String> = groups
        .iter()
        .map(|g| g.group_object_id.to_ascii_lowercase())
        .collect();
    set.into_iter().collect()
}

impl SyncScope {
    pub fn parse(json: Option<&str>) -> Option<Self> {
        json.and_then(|j| serde_json::from_str(j).ok())
    }

    pub fn to_json(&self) -> Option<String> {
        serde_json::to_string(self).ok()
    }

    /// The groups a groups-delta round follows.
    pub fn tracked(&self) -> Vec<String> {
        self.tree.keys().cloned().collect()
    }

    /// The sync groups that contain `group` (itself, or through nesting).
    pub fn sync_groups_containing(&self, group: &str) -> Vec<String> {
        let group = group.to_ascii_lowercase();
        self.groups
            .iter()
            .filter(|g| self.reaches(g, &group))
            .cloned()
            .collect()
    }

    fn reaches(&self, from: &str, to: &str) -> bool {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from.to_owned()];
        while let Some(g) = stack.pop() {
            if g == to {
                return true;
            }
            if seen.insert(g.clone())
                && let Some(children) = self.tree.get(&g)
            {
                stack.extend(children.iter().cloned());
            }
        }
        false
    }
}

/// Reads the sync groups' nesting from Microsoft. A sync group that no longer exists stops the
/// sync with the fix: nothing would be in scope and every user would be flagged.
pub(crate) async fn discover(
    tenant: &dyn TenantApi,
    groups: &[SyncGroup],
) -> Result<SyncScope, EngineError> {
    for g in groups {
        if tenant.group(&g.group_object_id).await?.is_none() {
            return Err(EngineError::refused(format!(
                "the sync group \"{}\" no longer exists in Microsoft 365: choose another sync group, then sync again",
                g.display_name
            )));
        }
    }
    let mut scope = SyncScope {
        groups: group_keys(groups),
        tree: BTreeMap::new(),
    };
    let mut queue: Vec<String> = scope.groups.clone();
    while let Some(id) = queue.pop() {
        if scope.tree.contains_key(&id) {
            continue; // nesting can loop in Entra ID; each group is read once
        }
        let mut children = Vec::new();
        let mut pages = tenant.member_groups(&id);
        while let Some(page) = pages.try_next().await? {
            children.extend(page.into_iter().map(|g| g.id.to_ascii_lowercase()));
        }
        children.sort();
        children.dedup();
        queue.extend(children.iter().cloned());
        scope.tree.insert(id, children);
    }
    Ok(scope)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope() -> SyncScope {
        // sync ⊃ sales ⊃ emea; other ⊃ emea; loop ⊃ sync (a cycle back)
        SyncScope {
            groups: vec!["other".into(), "sync".into()],
            tree: BTreeMap::from([
                ("sync".into(), vec!["sales".into()]),
                ("sales".into(), vec!["emea".into(), "sync".into()]),
                ("emea".into(), vec![]),
                ("other".into(), vec!["emea".into()]),
            ]),
        }
    }

    #[test]
    fn nested_groups_credit_every_sync_group_above_them() {
        let s = scope();
        assert_eq!(s.sync_groups_containing("EMEA"), vec!["other", "sync"]);
        assert_eq!(s.sync_groups_containing("sales"), vec!["sync"]);
        assert_eq!(s.sync_groups_containing("sync"), vec!["sync"]);
        assert!(s.sync_groups_containing("elsewhere").is_empty());
        assert_eq!(s.tracked(), vec!["emea", "other", "sales", "sync"]);
    }

    #[test]
    fn scope_round_trips_as_json() {
        let s = scope();
        assert_eq!(SyncScope::parse(s.to_json().as_deref()), Some(s));
        assert_eq!(SyncScope::parse(Some("not json")), None);
    }
}

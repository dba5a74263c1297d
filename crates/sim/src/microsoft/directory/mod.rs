//! Directory endpoints of Microsoft Graph: users, groups and their (transitive) membership,
//! the organization and domains, and the signed-in user's role eligibilities.
//!
//! Split by resource: `users`, `groups`, `domains` (with the organization); `json` shapes users
//! and groups for every endpoint, delta included.

mod domains;
mod groups;
mod json;
mod licences;
mod roles;
mod users;

pub(crate) use self::domains::{
    add_domain, get_domain, list_domains, look_up_verification, organization, verification_records,
    verify_domain,
};
pub(crate) use self::groups::{get_group, group_members, list_groups};
pub(crate) use self::json::{GROUP_PROPS, USER_PROPS, group_json, parse_select, user_json};
pub(crate) use self::licences::{assign_license, create_user, subscribed_skus, update_user};
pub(crate) use self::roles::{READ_ELIGIBILITY_SCP, eligibilities_of_caller};
pub(crate) use self::users::{count_users, get_user, list_users, user_member_of};

/// Pages through `len` candidates starting at `offset`, keeping those `keep` accepts, until
/// `top` are collected. Returns the kept indices and the offset of the next page, if any.
fn scan(
    len: usize,
    offset: usize,
    top: usize,
    mut keep: impl FnMut(usize) -> bool,
) -> (Vec<usize>, Option<usize>) {
    let mut out = Vec::new();
    let mut i = offset;
    while i < len {
        if keep(i) {
            if out.len() == top {
                return (out, Some(i));
            }
            out.push(i);
        }
        i += 1;
    }
    (out, None)
}

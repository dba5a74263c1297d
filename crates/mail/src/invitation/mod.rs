//! The enterprise invitation: a signed, expiring, single-use token ([`token`]), the
//! registration link that carries it, and the e-mail that delivers the link ([`email`]).

pub mod email;
pub mod token;

use url::Url;

pub use email::{Invitation, invitation_message};
pub use token::{
    DEFAULT_VALIDITY, InvitationError, InvitationKey, InvitationNonce, InvitationToken,
    IssuedInvitation, NonceLedger, NonceUse, PendingInvitation, RedeemedInvitation,
};

/// The portal path that opens an invitation; the token travels in its `invitation` query
/// parameter.
pub const REGISTRATION_PATH: &str = "register";

/// The link for the e-mail: `<portal>/register?invitation=<token>`, keeping any path the
/// portal is served under (`https://voice.example/teamline/` → `…/teamline/register?…`).
pub fn registration_link(portal: &Url, token: &InvitationToken) -> Url {
    let mut link = portal.clone();
    let base = link.path().trim_end_matches('/').to_owned();
    link.set_path(&format!("{base}/{REGISTRATION_PATH}"));
    link.set_fragment(None);
    link.query_pairs_mut()
        .clear()
        .append_pair("invitation", token.as_str());
    link
}

/// The token in a registration link, if it has one.
pub fn token_in_link(link: &Url) -> Option<String> {
    link.query_pairs()
        .find(|(name, _)| name == "invitation")
        .map(|(_, value)| value.into_owned())
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn the_link_keeps_the_portal_path_and_carries_the_token() {
        let key = InvitationKey::generate();
        let issued = key.issue(
            teamline_domain::ids::EnterpriseId(3),
            datetime!(2026-03-12 14:00 UTC),
        );
        for (portal, want) in [
            (
                "https://voice.example",
                "https://voice.example/register?invitation=",
            ),
            (
                "https://voice.example/teamline/",
                "https://voice.example/teamline/register?invitation=",
            ),
            (
                "http://127.0.0.1:8080/?x=1#top",
                "http://127.0.0.1:8080/register?invitation=",
            ),
        ] {
            let link = registration_link(&Url::parse(portal).unwrap(), &issued.token);
            assert_eq!(link.as_str(), format!("{want}{}", issued.token.as_str()));
            assert_eq!(token_in_link(&link).as_deref(), Some(issued.token.as_str()));
        }
    }
}

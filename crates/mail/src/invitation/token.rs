//! Signed, expiring, single-use invitation tokens.
//!
//! A token carries the enterprise id, a random nonce and the expiry, and an HMAC-SHA256 of
//! them under the platform's invitation key. Anyone holding the key can tell a genuine,
//! unexpired token; only the store can tell whether it was used, so redeeming one requires a
//! [`NonceLedger`] (the store) to record the nonce as used. The only way to obtain a
//! [`RedeemedInvitation`], which registration needs, is through that ledger.

use std::fmt;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{KeyInit, Mac};
use sha2::Sha256;
use teamline_domain::ids::EnterpriseId;
use time::OffsetDateTime;

type HmacSha256 = hmac::Hmac<Sha256>;

/// How long an invitation is valid unless the caller says otherwise.
pub const DEFAULT_VALIDITY: time::Duration = time::Duration::days(7);

/// Bound into every MAC, so a MAC made for anything else under the same key never verifies.
const CONTEXT: &[u8] = b"teamline invitation v1\0";
const VERSION: u8 = 1;
const NONCE_LEN: usize = 16;
const MAC_LEN: usize = 32;
/// version, enterprise id, nonce, expiry (Unix seconds).
const CLAIMS_LEN: usize = 1 + 8 + NONCE_LEN + 8;
const TOKEN_LEN: usize = CLAIMS_LEN + MAC_LEN;

/// Why an invitation link cannot be used, worded for the person who clicked it.
#[derive(Debug, thiserror::Error)]
pub enum InvitationError {
    #[error("the invitation key must be at least 32 bytes, this one has {0}")]
    KeyTooShort(usize),
    #[error(
        "this invitation link is not valid: it was changed or cut short, or was not issued by \
         this Teamline. Open the link from the invitation e-mail exactly as it was sent"
    )]
    Invalid,
    #[error(
        "this invitation expired on {expired_at}: ask your service provider to send the \
         invitation again"
    )]
    Expired { expired_at: String },
    #[error(
        "this invitation link was already used to register: sign in instead, or ask your \
         service provider to send the invitation again"
    )]
    AlreadyUsed,
    #[error(
        "a newer invitation replaced this one: use the link in the most recent invitation \
         e-mail"
    )]
    Superseded,
    #[error("could not record the use of the invitation: {0}")]
    Ledger(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// The platform's secret for signing invitations (at least 32 bytes), kept as the keyed HMAC
/// state. `Debug` hides it.
#[derive(Clone)]
pub struct InvitationKey {
    keyed: HmacSha256,
}

impl fmt::Debug for InvitationKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("InvitationKey(<redacted>)")
    }
}

/// The random part of an invitation: what the store records as used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InvitationNonce([u8; NONCE_LEN]);

impl InvitationNonce {
    /// 32 lowercase hex digits, for storing.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    pub fn from_hex(text: &str) -> Option<Self> {
        if text.len() != NONCE_LEN * 2 || !text.is_ascii() {
            return None;
        }
        let mut bytes = [0u8; NONCE_LEN];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(Self(bytes))
    }
}

/// The token as it travels in the link (URL-safe base64, 87 characters). It is a credential
/// until used: `Debug` shows only its start.
#[derive(Clone, PartialEq, Eq)]
pub struct InvitationToken(String);

impl InvitationToken {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for InvitationToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "InvitationToken({}…)",
            self.0.get(..6).unwrap_or_default()
        )
    }
}

/// A freshly signed invitation: send `token` in the link, store `nonce` with the enterprise's
/// invitation (a resend issues a new one and lets the store mark older nonces superseded).
#[derive(Debug, Clone)]
pub struct IssuedInvitation {
    pub enterprise: EnterpriseId,
    pub nonce: InvitationNonce,
    pub expires_at: OffsetDateTime,
    pub token: InvitationToken,
}

/// A genuine invitation that had not expired when opened; not yet used. Good for showing whom
/// the invitation is for; registering needs [`PendingInvitation::redeem`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingInvitation {
    enterprise: EnterpriseId,
    nonce: InvitationNonce,
    expires_at: OffsetDateTime,
}

/// An invitation whose nonce the ledger has just recorded as used: proof for registration.
/// It has no public constructor.
#[derive(Debug, PartialEq, Eq)]
pub struct RedeemedInvitation {
    enterprise: EnterpriseId,
    nonce: InvitationNonce,
}

/// What the ledger found when asked to record a nonce as used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonceUse {
    /// It was the enterprise's current invitation and is now recorded as used.
    Fresh,
    /// It had been used before.
    AlreadyUsed,
    /// A newer invitation was issued for the enterprise.
    Superseded,
}

/// Where used nonces are recorded (the store). `use_nonce` must be atomic: of two concurrent
/// calls with the same nonce, exactly one sees [`NonceUse::Fresh`].
#[async_trait]
pub trait NonceLedger: Send + Sync {
    async fn use_nonce(
        &self,
        enterprise: EnterpriseId,
        nonce: &InvitationNonce,
    ) -> Result<NonceUse, Box<dyn std::error::Error + Send + Sync>>;
}

impl InvitationKey {
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, InvitationError> {
        if bytes.len() < 32 {
            return Err(InvitationError::KeyTooShort(bytes.len()));
        }
        let keyed = HmacSha256::new_from_slice(bytes)
            .map_err(|_| InvitationError::KeyTooShort(bytes.len()))?;
        Ok(Self { keyed })
    }

    /// A new random key (one SHA-256 block, 64 bytes).
    pub fn generate() -> Self {
        let mut key = hmac::digest::Key::<HmacSha256>::default();
        rand::fill(key.as_mut_slice());
        Self {
            keyed: HmacSha256::new(&key),
        }
    }

    /// Signs a new invitation for `enterprise`, valid until `expires_at`.
    pub fn issue(&self, enterprise: EnterpriseId, expires_at: OffsetDateTime) -> IssuedInvitation {
        let mut nonce = [0u8; NONCE_LEN];
        rand::fill(&mut nonce);
        let nonce = InvitationNonce(nonce);
        let mut bytes = claims(enterprise, &nonce, expires_at.unix_timestamp()).to_vec();
        bytes.extend_from_slice(&self.mac(&bytes[..CLAIMS_LEN]).finalize().into_bytes());
        IssuedInvitation {
            enterprise,
            nonce,
            expires_at,
            token: InvitationToken(URL_SAFE_NO_PAD.encode(bytes)),
        }
    }

    /// Checks the token's signature (in constant time), then its expiry against `now`.
    pub fn open(
        &self,
        token: &str,
        now: OffsetDateTime,
    ) -> Result<PendingInvitation, InvitationError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(token.trim())
            .map_err(|_| InvitationError::Invalid)?;
        if bytes.len() != TOKEN_LEN || bytes[0] != VERSION {
            return Err(InvitationError::Invalid);
        }
        let (claims, tag) = bytes.split_at(CLAIMS_LEN);
        self.mac(claims)
            .verify_slice(tag)
            .map_err(|_| InvitationError::Invalid)?;
        // Only signed bytes are read from here on.
        let enterprise = EnterpriseId(i64::from_be_bytes(field(claims, 1)));
        let nonce = InvitationNonce(field(claims, 9));
        let expires_at =
            OffsetDateTime::from_unix_timestamp(i64::from_be_bytes(field(claims, 9 + NONCE_LEN)))
                .map_err(|_| InvitationError::Invalid)?;
        let pending = PendingInvitation {
            enterprise,
            nonce,
            expires_at,
        };
        pending.check_expiry(now)?;
        Ok(pending)
    }

    fn mac(&self, claims: &[u8]) -> HmacSha256 {
        let mut mac = self.keyed.clone();
        mac.update(CONTEXT);
        mac.update(claims);
        mac
    }
}

fn claims(enterprise: EnterpriseId, nonce: &InvitationNonce, expires: i64) -> [u8; CLAIMS_LEN] {
    let mut out = [0u8; CLAIMS_LEN];
    out[0] = VERSION;
    out[1..9].copy_from_slice(&enterprise.0.to_be_bytes());
    out[9..9 + NONCE_LEN].copy_from_slice(&nonce.0);
    out[9 + NONCE_LEN..].copy_from_slice(&expires.to_be_bytes());
    out
}

/// `N` bytes of `claims` from `at` (the layout above guarantees they are there).
fn field<const N: usize>(claims: &[u8], at: usize) -> [u8; N] {
    let mut out = [0u8; N];
    if let Some(slice) = claims.get(at..at + N) {
        out.copy_from_slice(slice);
    }
    out
}

impl PendingInvitation {
    pub fn enterprise(&self) -> EnterpriseId {
        self.enterprise
    }

    pub fn nonce(&self) -> &InvitationNonce {
        &self.nonce
    }

    pub fn expires_at(&self) -> OffsetDateTime {
        self.expires_at
    }

    /// Records the invitation as used in `ledger` and returns the proof registration needs.
    /// Fails when it expired since it was opened, was used before, or was replaced.
    pub async fn redeem(
        self,
        now: OffsetDateTime,
        ledger: &dyn NonceLedger,
    ) -> Result<RedeemedInvitation, InvitationError> {
        self.check_expiry(now)?;
        match ledger
            .use_nonce(self.enterprise, &self.nonce)
            .await
            .map_err(InvitationError::Ledger)?
        {
            NonceUse::Fresh => Ok(RedeemedInvitation {
                enterprise: self.enterprise,
                nonce: self.nonce,
            }),
            NonceUse::AlreadyUsed => Err(InvitationError::AlreadyUsed),
            NonceUse::Superseded => Err(InvitationError::Superseded),
        }
    }

    fn check_expiry(&self, now: OffsetDateTime) -> Result<(), InvitationError> {
        if now >= self.expires_at {
            return Err(InvitationError::Expired {
                expired_at: super::email::format_expiry(self.expires_at),
            });
        }
        Ok(())
    }
}

impl RedeemedInvitation {
    pub fn enterprise(&self) -> EnterpriseId {
        self.enterprise
    }

    pub fn nonce(&self) -> &InvitationNonce {
        &self.nonce
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::sync::Mutex;

    use time::macros::datetime;

    use super::*;

    const NOW: OffsetDateTime = datetime!(2026-03-05 14:00 UTC);
    const EXPIRES: OffsetDateTime = datetime!(2026-03-12 14:00 UTC);

    /// The ledger contract in its simplest form: a set of used nonces and the current one.
    #[derive(Default)]
    struct Ledger {
        used: Mutex<HashSet<InvitationNonce>>,
        current: Mutex<Option<InvitationNonce>>,
        broken: bool,
    }

    #[async_trait]
    impl NonceLedger for Ledger {
        async fn use_nonce(
            &self,
            _: EnterpriseId,
            nonce: &InvitationNonce,
        ) -> Result<NonceUse, Box<dyn std::error::Error + Send + Sync>> {
            if self.broken {
                return Err("database is locked".into());
            }
            if self.current.lock().unwrap().is_some_and(|c| c != *nonce) {
                return Ok(NonceUse::Superseded);
            }
            Ok(if self.used.lock().unwrap().insert(*nonce) {
                NonceUse::Fresh
            } else {
                NonceUse::AlreadyUsed
            })
        }
    }

    fn key() -> InvitationKey {
        InvitationKey::from_bytes(&[7u8; 32]).unwrap()
    }

    #[test]
    fn an_issued_token_opens_to_its_enterprise_nonce_and_expiry() {
        let issued = key().issue(EnterpriseId(42), EXPIRES);
        assert_eq!(issued.token.as_str().len(), 87);
        let pending = key().open(issued.token.as_str(), NOW).unwrap();
        assert_eq!(pending.enterprise(), EnterpriseId(42));
        assert_eq!(pending.nonce(), &issued.nonce);
        assert_eq!(pending.expires_at(), EXPIRES);
        assert_ne!(
            key().issue(EnterpriseId(42), EXPIRES).nonce,
            issued.nonce,
            "every invitation has its own nonce"
        );
    }

    #[test]
    fn any_changed_byte_makes_the_token_invalid() {
        let issued = key().issue(EnterpriseId(42), EXPIRES);
        let bytes = URL_SAFE_NO_PAD.decode(issued.token.as_str()).unwrap();
        for i in 0..bytes.len() {
            let mut tampered = bytes.clone();
            tampered[i] ^= 0x01;
            let err = key()
                .open(&URL_SAFE_NO_PAD.encode(&tampered), NOW)
                .unwrap_err();
            assert!(matches!(err, InvitationError::Invalid), "byte {i}: {err:?}");
        }
        // A later expiry or another enterprise cannot be written in without the key.
        let mut longer = bytes.clone();
        longer[9 + NONCE_LEN..CLAIMS_LEN].copy_from_slice(&i64::MAX.to_be_bytes());
        assert!(key().open(&URL_SAFE_NO_PAD.encode(&longer), NOW).is_err());
        let token = issued.token.as_str();
        for broken in [
            "",
            "not a token",
            &token[..40],
            &format!("{token}AA"),
            &token.replace('A', "*"),
        ] {
            assert!(
                matches!(key().open(broken, NOW), Err(InvitationError::Invalid)),
                "{broken}"
            );
        }
    }

    #[test]
    fn a_token_signed_with_another_key_is_invalid() {
        let issued = InvitationKey::generate().issue(EnterpriseId(42), EXPIRES);
        let err = key().open(issued.token.as_str(), NOW).unwrap_err();
        assert_eq!(
            err.to_string(),
            "this invitation link is not valid: it was changed or cut short, or was not issued \
             by this Teamline. Open the link from the invitation e-mail exactly as it was sent"
        );
        assert!(matches!(
            InvitationKey::from_bytes(&[1u8; 31]),
            Err(InvitationError::KeyTooShort(31))
        ));
    }

    #[test]
    fn an_expired_token_says_when_it_expired() {
        let issued = key().issue(EnterpriseId(42), EXPIRES);
        let err = key().open(issued.token.as_str(), EXPIRES).unwrap_err();
        assert_eq!(
            err.to_string(),
            "this invitation expired on 12 March 2026, 14:00 UTC: ask your service provider to \
             send the invitation again"
        );
        assert!(
            key()
                .open(issued.token.as_str(), EXPIRES - time::Duration::SECOND)
                .is_ok()
        );
    }

    #[tokio::test]
    async fn a_token_is_redeemed_once() {
        let ledger = Ledger::default();
        let issued = key().issue(EnterpriseId(42), EXPIRES);

        let redeemed = key()
            .open(issued.token.as_str(), NOW)
            .unwrap()
            .redeem(NOW, &ledger)
            .await
            .unwrap();
        assert_eq!(redeemed.enterprise(), EnterpriseId(42));
        assert_eq!(redeemed.nonce(), &issued.nonce);

        let again = key().open(issued.token.as_str(), NOW).unwrap();
        let err = again.redeem(NOW, &ledger).await.unwrap_err();
        assert!(matches!(err, InvitationError::AlreadyUsed), "{err:?}");
    }

    #[tokio::test]
    async fn a_replaced_or_since_expired_invitation_is_not_redeemed() {
        let ledger = Ledger::default();
        let old = key().issue(EnterpriseId(42), EXPIRES);
        let new = key().issue(EnterpriseId(42), EXPIRES);
        *ledger.current.lock().unwrap() = Some(new.nonce);
        let err = key()
            .open(old.token.as_str(), NOW)
            .unwrap()
            .redeem(NOW, &ledger)
            .await
            .unwrap_err();
        assert!(matches!(err, InvitationError::Superseded), "{err:?}");

        // Opened in time, but the sign-in took until after the expiry.
        let pending = key().open(new.token.as_str(), NOW).unwrap();
        let err = pending.redeem(EXPIRES, &ledger).await.unwrap_err();
        assert!(matches!(err, InvitationError::Expired { .. }), "{err:?}");
        assert!(
            ledger.used.lock().unwrap().is_empty(),
            "an expired link uses nothing up"
        );
    }

    #[tokio::test]
    async fn a_ledger_failure_is_reported_not_taken_as_success() {
        let ledger = Ledger {
            broken: true,
            ..Ledger::default()
        };
        let issued = key().issue(EnterpriseId(42), EXPIRES);
        let err = key()
            .open(issued.token.as_str(), NOW)
            .unwrap()
            .redeem(NOW, &ledger)
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "could not record the use of the invitation: database is locked"
        );
    }

    #[test]
    fn nonces_round_trip_through_hex_and_tokens_and_keys_stay_out_of_debug() {
        let issued = key().issue(EnterpriseId(42), EXPIRES);
        let hex = issued.nonce.to_hex();
        assert_eq!(InvitationNonce::from_hex(&hex), Some(issued.nonce));
        assert_eq!(InvitationNonce::from_hex("zz"), None);
        let debug = format!("{issued:?}");
        assert!(!debug.contains(issued.token.as_str()), "{debug}");
        assert_eq!(format!("{:?}", key()), "InvitationKey(<redacted>)");
    }
}

//! Local account passwords (platform operators and reseller admins), hashed with Argon2id.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use teamline_store::{Account, LockoutPolicy, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("the password must have at least 12 characters")]
    TooShort,
    #[error("the password could not be hashed: {0}")]
    Hash(String),
}

pub const MIN_PASSWORD_LEN: usize = 12;

/// A PHC string (`$argon2id$v=19$…`) for storing; never the password itself.
pub fn hash_password(password: &str) -> Result<String, PasswordError> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(PasswordError::TooShort);
    }
    let mut salt = [0u8; 16];
    rand::fill(&mut salt);
    Argon2::default()
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// Whether `password` matches the stored hash. A malformed hash never matches.
pub fn verify_password(password: &str, stored_hash: &str) -> bool {
    PasswordHash::new(stored_hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Why a local sign-in was refused, worded for the person signing in. A wrong e-mail and a
/// wrong password read the same, so the form does not tell which accounts exist.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignInRefusal {
    #[error("The e-mail address or the password is wrong.")]
    WrongCredentials,
    #[error(
        "This account is locked after {failures} wrong passwords, until {until} UTC. Wait until then, or ask your platform operator to reset the password."
    )]
    Locked { failures: u32, until: String },
    #[error(
        "{reseller} is suspended by the platform operator: {reason} Its admins cannot sign in until the operator reinstates it."
    )]
    Suspended { reseller: String, reason: String },
    #[error(
        "The two-factor code is wrong. Enter the code your authenticator app shows now, or one of your recovery codes."
    )]
    WrongCode,
    #[error(
        "This two-factor code was already used. Wait for the next code in your authenticator app and enter that one."
    )]
    ReplayedCode,
}

/// A hash that no password matches quickly: checking against it when the e-mail is unknown
/// takes as long as checking a real account, so timing does not reveal accounts either.
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| {
        hash_password("teamline-decoy-password-that-nobody-has").unwrap_or_default()
    })
}

impl crate::Engine {
    /// Signs in a local account (platform operator or reseller admin): counts wrong passwords
    /// and locks the account after `policy.max_failures` of them.
    pub async fn sign_in_local(
        &self,
        email: &str,
        password: &str,
        policy: LockoutPolicy,
    ) -> Result<Account, SignInError> {
        let store = &self.inner.store;
        let Some(account) = store.account_by_email(email).await? else {
            verify_password(password, decoy_hash());
            return Err(SignInRefusal::WrongCredentials.into());
        };
        let now = store.clock().now_ms();
        if let Some(until) = account.locked_until_ms.filter(|u| *u > now) {
            return Err(locked(policy, until).into());
        }
        if verify_password(password, &account.password_hash) {
            // With two-factor the count starts again only after the code: otherwise a right
            // password before each guess would keep wrong codes from ever locking the account.
            if !account.two_factor {
                store.record_sign_in(account.id).await?;
            }
            // Only someone who knows the password learns that the reseller is suspended.
            if let Some(reseller_id) = account.reseller_id {
                let reseller = store.get_reseller(reseller_id).await?;
                if let Some(reason) = reseller.suspended {
                    return Err(SignInRefusal::Suspended {
                        reseller: reseller.name.as_str().to_owned(),
                        reason: with_full_stop(&reason),
                    }
                    .into());
                }
            }
            return Ok(account);
        }
        let after = store.record_failed_sign_in(account.id, policy).await?;
        match after.locked_until_ms.filter(|u| *u > now) {
            Some(until) => Err(locked(policy, until).into()),
            None => Err(SignInRefusal::WrongCredentials.into()),
        }
    }
}

fn with_full_stop(text: &str) -> String {
    if text.ends_with(['.', '!', '?']) {
        text.to_owned()
    } else {
        format!("{text}.")
    }
}

pub(crate) fn locked(policy: LockoutPolicy, until_ms: i64) -> SignInRefusal {
    let until = time::OffsetDateTime::from_unix_timestamp(until_ms / 1000)
        .ok()
        .and_then(|t| {
            t.format(time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute]"
            ))
            .ok()
        })
        .unwrap_or_default();
    SignInRefusal::Locked {
        failures: policy.max_failures,
        until,
    }
}

/// A refused sign-in, or the store failed.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error(transparent)]
    Refused(#[from] SignInRefusal),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_and_verify() {
        let h = hash_password("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("wrong horse battery", &h));
        assert!(!verify_password("x", "not a hash"));
        assert!(matches!(
            hash_password("short"),
            Err(PasswordError::TooShort)
        ));
    }
}

/// A password for a new account, shown once to whoever created it (18 random bytes, hex).
pub fn generate_password() -> String {
    let mut bytes = [0u8; 18];
    rand::fill(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Adding a reseller admin failed: the e-mail needs fixing, or something else went wrong.
#[derive(Debug, thiserror::Error)]
pub enum AddAdminError {
    #[error("{0}")]
    Field(teamline_domain::FieldError),
    #[error(transparent)]
    Password(#[from] PasswordError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A new account and its generated first password (shown once; the store keeps only its hash).
pub struct NewAdmin {
    pub account: Account,
    pub password: String,
}

impl crate::Engine {
    /// Adds an admin account to `reseller` (by the operator or another of its admins), with a
    /// generated password.
    pub async fn add_reseller_admin(
        &self,
        reseller: &teamline_domain::reseller::Reseller,
        email: &str,
        actor: teamline_domain::audit::Actor,
    ) -> Result<NewAdmin, AddAdminError> {
        use teamline_domain::reseller::AccountRole;
        let store = &self.inner.store;
        let email =
            teamline_domain::text::Email::parse("E-mail", email).map_err(AddAdminError::Field)?;
        if store.account_by_email(email.as_str()).await?.is_some() {
            return Err(AddAdminError::Field(teamline_domain::FieldError::new(
                "E-mail",
                format!(
                    "{} already has an account; each person signs in with one account.",
                    email.as_str()
                ),
            )));
        }
        let password = generate_password();
        let audit = teamline_domain::audit::Audit::new(
            actor,
            "account.create",
            format!(
                "Added {} as an admin of {}",
                email.as_str(),
                reseller.name.as_str()
            ),
        );
        let account = store
            .create_account(
                &teamline_store::NewAccount {
                    email,
                    role: AccountRole::ResellerAdmin,
                    reseller_id: Some(reseller.id),
                    password_hash: hash_password(&password)?,
                },
                &audit,
            )
            .await?;
        Ok(NewAdmin { account, password })
    }
}

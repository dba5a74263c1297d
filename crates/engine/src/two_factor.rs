//! TOTP two-factor for local accounts (RFC 6238: SHA-1, 6 digits, 30-second steps, the
//! parameters every authenticator app understands). The code arithmetic is `totp-rs`'s; this
//! module adds what sign-in needs around it: which time step a code belongs to (so a code is
//! never accepted twice), one-time recovery codes stored only as hashes, and the lock-out that
//! wrong codes count toward like wrong passwords.

use crate::accounts::{SignInError, SignInRefusal, locked};
use sha2::{Digest, Sha256};
use teamline_domain::audit::{Actor, Audit};
use teamline_store::{Account, LockoutPolicy, StoreError};
use totp_rs::{Algorithm, Secret, TOTP};

const DIGITS: usize = 6;
const STEP_SECONDS: u64 = 30;
/// Codes of the previous and the next step are accepted too: phones' clocks drift.
const SKEW_STEPS: i64 = 1;
/// 160 bits, as RFC 4226 recommends.
const SECRET_BYTES: usize = 20;
const RECOVERY_CODES: usize = 10;

#[derive(Debug, thiserror::Error)]
pub enum TwoFactorError {
    #[error(
        "The code is not the one your authenticator app shows now: check that the phone's clock is right and enter the current code."
    )]
    WrongCode,
    #[error("the two-factor secret is not usable: {0}")]
    Secret(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A new secret for an account to enrol with: shown as a QR code and as text.
#[derive(Debug, Clone)]
pub struct Enrolment {
    /// Base32, as authenticator apps accept it typed in.
    pub secret: String,
    /// `otpauth://totp/…`, what the QR code holds.
    pub url: String,
}

fn totp(secret: &str, issuer: &str, account: &str) -> Result<TOTP, TwoFactorError> {
    let bytes = Secret::Encoded(secret.to_owned())
        .to_bytes()
        .map_err(|e| TwoFactorError::Secret(format!("{e:?}")))?;
    TOTP::new(
        Algorithm::SHA1,
        DIGITS,
        // totp-rs's own skew is not used: `code_step` walks the steps to learn which matched.
        0,
        STEP_SECONDS,
        bytes,
        Some(issuer.replace(':', " ")),
        account.replace(':', " "),
    )
    .map_err(|e| TwoFactorError::Secret(e.to_string()))
}

/// A fresh random secret for `account` (its e-mail), labelled with `issuer` in the app.
pub fn new_enrolment(issuer: &str, account: &str) -> Result<Enrolment, TwoFactorError> {
    let mut bytes = [0u8; SECRET_BYTES];
    rand::fill(&mut bytes);
    let secret = Secret::Raw(bytes.to_vec()).to_encoded().to_string();
    let url = totp(&secret, issuer, account)?.get_url();
    Ok(Enrolment { secret, url })
}

/// The `otpauth://` URL of an enrolment secret (what its QR code holds).
pub fn enrolment_url(secret: &str, issuer: &str, account: &str) -> Result<String, TwoFactorError> {
    Ok(totp(secret, issuer, account)?.get_url())
}

/// The code the app shows at `unix_seconds` (tests and the CLI's checks use it).
pub fn code_at(secret: &str, unix_seconds: u64) -> Result<String, TwoFactorError> {
    Ok(totp(secret, "Teamline", "account")?.generate(unix_seconds))
}

/// The time step `code` belongs to, if it is the code of the current step or of a neighbour.
pub fn code_step(secret: &str, code: &str, unix_seconds: u64) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let totp = totp(secret, "Teamline", "account").ok()?;
    let now_step = i64::try_from(unix_seconds / STEP_SECONDS).ok()?;
    (-SKEW_STEPS..=SKEW_STEPS)
        .map(|offset| now_step + offset)
        .filter(|step| *step >= 0)
        .find(|step| {
            let at = u64::try_from(*step).unwrap_or(0) * STEP_SECONDS;
            constant_time_eq(totp.generate(at).as_bytes(), code.as_bytes())
        })
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Ten one-time codes like `7f3a-91c2-0b5e`, shown once at enrolment.
pub fn new_recovery_codes() -> Vec<String> {
    (0..RECOVERY_CODES)
        .map(|_| {
            let mut bytes = [0u8; 6];
            rand::fill(&mut bytes);
            let hex = hex::encode(bytes);
            format!("{}-{}-{}", &hex[0..4], &hex[4..8], &hex[8..12])
        })
        .collect()
}

/// What the store keeps of a recovery code: the SHA-256 of its characters, ignoring case,
/// dashes and spaces as people type them.
pub fn hash_recovery_code(code: &str) -> String {
    let normalised: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    hex::encode(Sha256::digest(normalised.as_bytes()))
}

impl crate::Engine {
    fn unix_seconds(&self) -> u64 {
        u64::try_from(self.inner.store.clock().now_ms() / 1000).unwrap_or(0)
    }

    /// Switches two-factor on for `account` once `code` proves the app has `secret`; returns
    /// the recovery codes to show once.
    pub async fn enable_two_factor(
        &self,
        account: &Account,
        secret: &str,
        code: &str,
        actor: Actor,
    ) -> Result<Vec<String>, TwoFactorError> {
        let store = &self.inner.store;
        let step = code_step(secret, code, self.unix_seconds()).ok_or(TwoFactorError::WrongCode)?;
        let codes = new_recovery_codes();
        let hashes: Vec<String> = codes.iter().map(|c| hash_recovery_code(c)).collect();
        let audit = Audit::new(
            actor,
            "account.two_factor_on",
            format!(
                "Two-factor sign-in switched on for {}",
                account.email.as_str()
            ),
        );
        store
            .enable_two_factor(account.id, secret, &hashes, &audit)
            .await?;
        // The enrolment code is spent: it cannot sign in as well.
        store.record_totp_step(account.id, step).await?;
        Ok(codes)
    }

    /// The second step of a sign-in whose password was right: a code from the app, or an unused
    /// recovery code. Wrong codes count toward the lock-out like wrong passwords; a code that
    /// was already accepted once is refused.
    pub async fn verify_second_factor(
        &self,
        account: &Account,
        code: &str,
        policy: LockoutPolicy,
    ) -> Result<(), SignInError> {
        let store = &self.inner.store;
        let now_ms = store.clock().now_ms();
        let current = store
            .account_by_email(account.email.as_str())
            .await?
            .filter(|a| a.id == account.id)
            .ok_or(SignInRefusal::WrongCredentials)?;
        if let Some(until) = current.locked_until_ms.filter(|u| *u > now_ms) {
            return Err(locked(policy, until).into());
        }
        let Some(secret) = store.two_factor_secret(account.id).await? else {
            // Two-factor was reset meanwhile: the password alone is what the account has.
            return Ok(());
        };
        let refusal = match code_step(&secret, code, self.unix_seconds()) {
            Some(step) if store.record_totp_step(account.id, step).await? => {
                store.record_sign_in(account.id).await?;
                return Ok(());
            }
            Some(_) => SignInRefusal::ReplayedCode,
            None if store
                .use_recovery_code(account.id, &hash_recovery_code(code))
                .await? =>
            {
                store.record_sign_in(account.id).await?;
                return Ok(());
            }
            None => SignInRefusal::WrongCode,
        };
        let after = store.record_failed_sign_in(account.id, policy).await?;
        match after.locked_until_ms.filter(|u| *u > now_ms) {
            Some(until) => Err(locked(policy, until).into()),
            None => Err(refusal.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

    #[test]
    fn a_code_matches_its_own_step_and_the_neighbours() {
        let now = 1_800_000_000;
        let step = i64::try_from(now / 30).unwrap();
        let code = code_at(SECRET, now).unwrap();
        assert_eq!(code_step(SECRET, &code, now), Some(step));
        assert_eq!(code_step(SECRET, &code, now + 30), Some(step));
        assert_eq!(code_step(SECRET, &code, now - 30), Some(step));
        assert_eq!(code_step(SECRET, &code, now + 90), None);
        let spaced = format!("{} {}", &code[..3], &code[3..]);
        assert_eq!(code_step(SECRET, &spaced, now), Some(step));
    }

    #[test]
    fn malformed_and_wrong_codes_match_nothing() {
        let now = 1_800_000_000;
        let code = code_at(SECRET, now).unwrap();
        let wrong = format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000);
        assert_eq!(code_step(SECRET, &wrong, now), None);
        assert_eq!(code_step(SECRET, "12345", now), None);
        assert_eq!(code_step(SECRET, "abcdef", now), None);
        assert_eq!(code_step(SECRET, "", now), None);
    }

    #[test]
    fn rfc_6238_test_vector() {
        // RFC 6238 appendix B, SHA-1 secret "12345678901234567890", T = 59 → 94287082 (8
        // digits); its last six digits are the 6-digit code.
        let secret = Secret::Raw(b"12345678901234567890".to_vec())
            .to_encoded()
            .to_string();
        assert_eq!(code_at(&secret, 59).unwrap(), "287082");
    }

    #[test]
    fn enrolment_secrets_are_fresh_and_the_url_names_the_account() {
        let a = new_enrolment("Teamline Reseller portal", "ann@example.net").unwrap();
        let b = new_enrolment("Teamline Reseller portal", "ann@example.net").unwrap();
        assert_ne!(a.secret, b.secret);
        assert!(a.url.starts_with("otpauth://totp/"), "{}", a.url);
        assert!(a.url.contains("ann%40example.net"), "{}", a.url);
    }

    #[test]
    fn recovery_codes_hash_as_typed() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), 10);
        let c = &codes[0];
        assert_eq!(hash_recovery_code(c), hash_recovery_code(&c.to_uppercase()));
        assert_eq!(
            hash_recovery_code(c),
            hash_recovery_code(&c.replace('-', " "))
        );
        assert_ne!(hash_recovery_code(c), hash_recovery_code(&codes[1]));
    }
}

//! `serve`'s outgoing mail: the SMTP server that sends the Reseller portal's invitations, and
//! the key that signs their links.
//!
//! The SMTP password never appears on the command line (where `ps` shows it to every user of
//! the host): it comes from `TEAMLINE_SMTP_PASSWORD` or from a file (`--smtp-password-file`).

use anyhow::{Context, bail};
use clap::Args;
use secrecy::SecretString;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use teamline_engine::onboarding::Invitations;
use teamline_mail::MailAddress;
use teamline_mail::invitation::InvitationKey;
use teamline_mail::smtp::{SmtpAuth, SmtpMailer, SmtpSecurity, SmtpSettings};

/// Where invitation e-mails go out. Without `--smtp-host` no e-mail is sent: Add Enterprise
/// stores the enterprise and says that the invitation could not be sent.
#[derive(Args, Debug, Clone, Default)]
pub struct SmtpArgs {
    /// The mail server Teamline sends invitations through (name checked against its
    /// certificate, or address).
    #[arg(long, env = "TEAMLINE_SMTP_HOST")]
    pub smtp_host: Option<String>,

    /// The mail server's port; by default the security mode's usual one (25, 587 or 465).
    #[arg(long, env = "TEAMLINE_SMTP_PORT")]
    pub smtp_port: Option<u16>,

    /// How the connection is protected: starttls (required, never a plain-text fallback), tls
    /// (from the first byte, "SMTPS") or none (only for a relay on a network you trust).
    #[arg(long, env = "TEAMLINE_SMTP_SECURITY", default_value = "starttls")]
    pub smtp_security: String,

    /// The account to sign in to the mail server with; its password comes from
    /// TEAMLINE_SMTP_PASSWORD or --smtp-password-file.
    #[arg(long, env = "TEAMLINE_SMTP_USER")]
    pub smtp_user: Option<String>,

    /// A file holding the SMTP password (its first line), instead of TEAMLINE_SMTP_PASSWORD.
    #[arg(long, env = "TEAMLINE_SMTP_PASSWORD_FILE")]
    pub smtp_password_file: Option<PathBuf>,

    /// The sender of invitations, e.g. "Teamline <noreply@voice.example>".
    #[arg(long, env = "TEAMLINE_SMTP_FROM")]
    pub smtp_from: Option<String>,

    /// A CA certificate (PEM) to trust for the mail server besides the system's.
    #[arg(long, env = "TEAMLINE_SMTP_CA_FILE")]
    pub smtp_ca_file: Option<PathBuf>,

    /// The key that signs invitation links (hex, 32 bytes). Every instance must use the same
    /// one; by default `<data-dir>/invitation.key`, created when missing.
    #[arg(long, env = "TEAMLINE_INVITATION_KEY_FILE")]
    pub invitation_key_file: Option<PathBuf>,
}

/// Where the password comes from when no file is given (read here, never a flag).
const PASSWORD_ENV: &str = "TEAMLINE_SMTP_PASSWORD";

impl SmtpArgs {
    /// The SMTP settings, or `None` without `--smtp-host`.
    pub fn settings(&self) -> anyhow::Result<Option<SmtpSettings>> {
        let Some(host) = self.smtp_host.as_deref().filter(|h| !h.trim().is_empty()) else {
            return Ok(None);
        };
        let security: SmtpSecurity = self
            .smtp_security
            .parse()
            .context("--smtp-security (TEAMLINE_SMTP_SECURITY)")?;
        let from = self
            .smtp_from
            .as_deref()
            .context("set --smtp-from (TEAMLINE_SMTP_FROM) to the sender of invitations, e.g. \"Teamline <noreply@voice.example>\"")?;
        let from = MailAddress::parse(from).context("--smtp-from (TEAMLINE_SMTP_FROM)")?;
        let mut settings = SmtpSettings::new(host.trim(), security, from);
        if let Some(port) = self.smtp_port {
            settings.port = port;
        }
        settings.auth = match &self.smtp_user {
            Some(user) => Some(SmtpAuth {
                user: user.clone(),
                password: self.password()?,
            }),
            None => None,
        };
        if let Some(path) = &self.smtp_ca_file {
            settings.extra_ca_pem = Some(
                std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read the SMTP CA file {}", path.display()))?,
            );
        }
        Ok(Some(settings))
    }

    fn password(&self) -> anyhow::Result<SecretString> {
        if let Some(path) = &self.smtp_password_file {
            let text = std::fs::read_to_string(path).with_context(|| {
                format!("cannot read the SMTP password file {}", path.display())
            })?;
            let line = text.lines().next().unwrap_or_default();
            if line.is_empty() {
                bail!("the SMTP password file {} is empty", path.display());
            }
            return Ok(SecretString::from(line.to_owned()));
        }
        match std::env::var(PASSWORD_ENV) {
            Ok(p) if !p.is_empty() => Ok(SecretString::from(p)),
            _ => bail!(
                "--smtp-user is set but no password: set {PASSWORD_ENV} or --smtp-password-file"
            ),
        }
    }

    /// Invitations over SMTP with links to `public_url`, or `None` without `--smtp-host`.
    pub fn invitations(
        &self,
        data_dir: &Path,
        public_url: &str,
    ) -> anyhow::Result<Option<Invitations>> {
        let Some(settings) = self.settings()? else {
            return Ok(None);
        };
        let portal =
            url::Url::parse(public_url).with_context(|| format!("the public URL {public_url}"))?;
        let mailer = SmtpMailer::new(settings).context("the SMTP settings")?;
        let key_path = self
            .invitation_key_file
            .clone()
            .unwrap_or_else(|| data_dir.join("invitation.key"));
        let key = invitation_key(&key_path)?;
        Ok(Some(Invitations::new(key, Arc::new(mailer), portal)))
    }
}

fn invitation_key(path: &Path) -> anyhow::Result<InvitationKey> {
    let invalid = || {
        format!(
            "{} does not hold an invitation key (64 or more hex digits)",
            path.display()
        )
    };
    if path.exists() {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let bytes = hex::decode(text.trim()).with_context(invalid)?;
        return InvitationKey::from_bytes(&bytes).with_context(invalid);
    }
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    crate::config::write_private(path, &hex::encode(bytes))?;
    tracing::warn!(
        path = %path.display(),
        "created a new key for invitation links (mode 0600); every instance must use the same file"
    );
    InvitationKey::from_bytes(&bytes).with_context(invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> SmtpArgs {
        SmtpArgs {
            smtp_host: Some("mail.example.net".into()),
            smtp_security: "tls".into(),
            smtp_from: Some("Teamline <noreply@example.net>".into()),
            ..Default::default()
        }
    }

    #[test]
    fn without_a_host_no_mail_is_configured() {
        assert!(SmtpArgs::default().settings().unwrap().is_none());
    }

    #[test]
    fn the_password_comes_from_a_file_and_the_port_from_the_mode() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("smtp-password");
        std::fs::write(&file, "s3cret-from-file\n").unwrap();
        let settings = SmtpArgs {
            smtp_user: Some("teamline".into()),
            smtp_password_file: Some(file),
            ..args()
        }
        .settings()
        .unwrap()
        .unwrap();
        assert_eq!(settings.port, 465);
        assert_eq!(settings.security, SmtpSecurity::Tls);
        let auth = settings.auth.unwrap();
        use secrecy::ExposeSecret;
        assert_eq!(auth.password.expose_secret(), "s3cret-from-file");
    }

    #[test]
    fn mistakes_are_named() {
        let err = SmtpArgs {
            smtp_from: None,
            ..args()
        }
        .settings()
        .unwrap_err();
        assert!(format!("{err:#}").contains("--smtp-from"), "{err:#}");
        let err = SmtpArgs {
            smtp_security: "ssl3".into(),
            ..args()
        }
        .settings()
        .unwrap_err();
        assert!(
            format!("{err:#}").contains("use none, starttls or tls"),
            "{err:#}"
        );
    }

    #[test]
    fn the_invitation_key_is_created_once_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("invitation.key");
        invitation_key(&path).unwrap();
        let written = std::fs::read_to_string(&path).unwrap();
        assert_eq!(written.trim().len(), 64);
        invitation_key(&path).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            written,
            "kept, not replaced"
        );
        std::fs::write(&path, "not hex").unwrap();
        let err = invitation_key(&path).err().unwrap();
        assert!(
            format!("{err:#}").contains("does not hold an invitation key"),
            "{err:#}"
        );
    }
}

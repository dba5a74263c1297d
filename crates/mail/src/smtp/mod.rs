//! [`Mailer`] over SMTP with lettre (tokio, rustls with ring, the platform's certificate
//! verifier).
//!
//! The conversation is driven step by step (connect, STARTTLS, AUTH, send) rather than through
//! lettre's all-in-one transport, so each failure is reported as what it is: a server that is
//! down, a TLS problem, a refused sign-in with the server's reply, or a refused recipient.

mod reply;
mod settings;

use std::fmt;

use async_trait::async_trait;
use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, Certificate, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use secrecy::ExposeSecret;

use crate::compose::{compose, message_id};
use crate::{MailError, Mailer, OutgoingMessage, SentMessage};
pub use settings::{SmtpAuth, SmtpSecurity, SmtpSettings};

/// Sends each message over its own SMTP connection (invitations are rare; no pool to go stale).
pub struct SmtpMailer {
    settings: SmtpSettings,
    tls: Option<TlsParameters>,
}

impl fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpMailer")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl SmtpMailer {
    /// Checks the settings (and the extra CA certificate); contacts nothing.
    pub fn new(settings: SmtpSettings) -> Result<Self, MailError> {
        if settings.host.trim().is_empty() {
            return Err(MailError::Settings {
                setting: "SMTP host",
                detail: "is empty".to_owned(),
            });
        }
        let tls = match settings.security {
            SmtpSecurity::None => None,
            SmtpSecurity::StartTls | SmtpSecurity::Tls => Some(tls_parameters(&settings)?),
        };
        Ok(Self { settings, tls })
    }

    fn server(&self) -> String {
        self.settings.server()
    }

    async fn deliver(&self, envelope: &Envelope, bytes: &[u8]) -> Result<(), MailError> {
        let hello = ClientId::default();
        let implicit_tls = match self.settings.security {
            SmtpSecurity::Tls => self.tls.clone(),
            SmtpSecurity::None | SmtpSecurity::StartTls => None,
        };
        let mut connection = AsyncSmtpConnection::connect_tokio1(
            (self.settings.host.as_str(), self.settings.port),
            Some(self.settings.timeout),
            &hello,
            implicit_tls,
            None,
        )
        .await
        .map_err(|e| self.connect_error(&e))?;

        if let (SmtpSecurity::StartTls, Some(tls)) = (self.settings.security, &self.tls) {
            if !connection.can_starttls() {
                connection.abort().await;
                return Err(MailError::StartTlsUnavailable {
                    server: self.server(),
                });
            }
            connection
                .starttls(tls.clone(), &hello)
                .await
                .map_err(|e| self.tls_error(&e))?;
        }

        if let Some(auth) = &self.settings.auth {
            let credentials =
                Credentials::new(auth.user.clone(), auth.password.expose_secret().to_owned());
            let mechanisms = [Mechanism::Plain, Mechanism::Login];
            if !mechanisms
                .iter()
                .any(|m| connection.server_info().supports_auth_mechanism(*m))
            {
                connection.abort().await;
                return Err(MailError::AuthUnavailable {
                    server: self.server(),
                    hint: match self.settings.security {
                        // Servers usually offer AUTH only once the connection is encrypted.
                        SmtpSecurity::None => ": choose STARTTLS or TLS",
                        SmtpSecurity::StartTls | SmtpSecurity::Tls => "",
                    },
                });
            }
            connection
                .auth(&mechanisms, &credentials)
                .await
                .map_err(|e| MailError::AuthRefused {
                    server: self.server(),
                    user: auth.user.clone(),
                    reply: reply::reply(&e),
                })?;
        }

        connection.send(envelope, bytes).await.map_err(|e| {
            if e.status().is_some() {
                MailError::Rejected {
                    server: self.server(),
                    recipient: envelope
                        .to()
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", "),
                    reply: reply::reply(&e),
                }
            } else {
                self.smtp_error(&e)
            }
        })?;
        // The message is accepted; a failed goodbye changes nothing.
        let _ = connection.quit().await;
        Ok(())
    }

    fn connect_error(&self, e: &lettre::transport::smtp::Error) -> MailError {
        if reply::is_tls_failure(e) {
            self.tls_error(e)
        } else if e.status().is_some() {
            // The server greeted with a refusal (e.g. 554 no service).
            MailError::Smtp {
                server: self.server(),
                detail: format!("it answered {}", reply::reply(e)),
            }
        } else {
            MailError::Connect {
                server: self.server(),
                detail: reply::detail(e),
            }
        }
    }

    fn tls_error(&self, e: &lettre::transport::smtp::Error) -> MailError {
        if e.status().is_some() {
            return MailError::Smtp {
                server: self.server(),
                detail: format!("STARTTLS was refused: {}", reply::reply(e)),
            };
        }
        MailError::Tls {
            server: self.server(),
            detail: reply::detail(e),
        }
    }

    fn smtp_error(&self, e: &lettre::transport::smtp::Error) -> MailError {
        MailError::Smtp {
            server: self.server(),
            detail: reply::detail(e),
        }
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, message: &OutgoingMessage) -> Result<SentMessage, MailError> {
        let message_id = message_id(&self.settings.from);
        let email = compose(&self.settings.from, message, &message_id)?;
        let envelope = email.envelope().clone();
        let bytes = email.formatted();
        // The connection timeout covers connecting; this bounds the whole conversation.
        let whole = self.settings.timeout.saturating_mul(4);
        tokio::time::timeout(whole, self.deliver(&envelope, &bytes))
            .await
            .map_err(|_| MailError::Timeout {
                server: self.server(),
                secs: whole.as_secs().max(1),
            })??;
        tracing::info!(server = %self.server(), to = %message.to, subject = %message.subject, "e-mail sent");
        Ok(SentMessage { message_id })
    }
}

fn tls_parameters(settings: &SmtpSettings) -> Result<TlsParameters, MailError> {
    let mut builder = TlsParameters::builder(settings.host.clone());
    if let Some(pem) = &settings.extra_ca_pem {
        let certificate =
            Certificate::from_pem(pem.as_bytes()).map_err(|e| MailError::Settings {
                setting: "extra CA certificate",
                detail: format!("is not a PEM certificate ({e})"),
            })?;
        builder = builder.add_root_certificate(certificate);
    }
    builder.build_rustls().map_err(|e| MailError::Settings {
        setting: "TLS",
        detail: format!("cannot be set up ({})", reply::detail(&e)),
    })
}

//! Outgoing mail: real SMTP through lettre when `HEARTH_SMTP_URL` is set; otherwise each mail
//! is written to the log and to a file under the outbox folder, so a local run needs no server.

use std::path::PathBuf;

use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::DomainError;

#[derive(Debug, Clone)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub body: String,
}

#[derive(Clone)]
pub enum Mailer {
    Smtp { transport: AsyncSmtpTransport<Tokio1Executor>, from: Mailbox },
    Outbox { folder: PathBuf },
}

impl Mailer {
    /// `url` as lettre reads it: `smtp://host:port` (plain), `smtp://host?tls=required`, `smtps://…`,
    /// with optional `user:password@`.
    pub fn smtp(url: &str, from: &str) -> Result<Mailer, String> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| format!("HEARTH_SMTP_URL is not a valid SMTP URL: {e}"))?
            .timeout(Some(std::time::Duration::from_secs(10)))
            .build();
        let from = from.parse().map_err(|e| format!("HEARTH_MAIL_FROM is not a valid mailbox: {e}"))?;
        Ok(Mailer::Smtp { transport, from })
    }

    pub fn outbox(folder: PathBuf) -> Mailer {
        Mailer::Outbox { folder }
    }

    pub async fn send(&self, mail: Mail) -> Result<(), DomainError> {
        match self {
            Mailer::Smtp { transport, from } => {
                let to: Mailbox =
                    mail.to.parse().map_err(|_| DomainError::invalid("email", "Enter a valid email address."))?;
                let message = Message::builder()
                    .from(from.clone())
                    .to(to)
                    .subject(mail.subject)
                    .body(mail.body)
                    .map_err(|e| DomainError::Internal(format!("building mail: {e}")))?;
                transport.send(message).await.map_err(|e| {
                    tracing::warn!(error = %e, "SMTP delivery failed");
                    DomainError::MailUnavailable
                })?;
                Ok(())
            }
            Mailer::Outbox { folder } => {
                let file = folder.join(format!("{}-{}.txt", super::store::now_ms(), rand::random::<u32>()));
                // Subject and body carry codes and links, which never go to the log: the file does.
                tracing::info!(to = %mail.to, file = %file.display(), "mail written to the outbox (no HEARTH_SMTP_URL)");
                let text = format!("To: {}\nSubject: {}\n\n{}\n", mail.to, mail.subject, mail.body);
                let write = async {
                    tokio::fs::create_dir_all(folder).await?;
                    tokio::fs::write(&file, text).await
                };
                write.await.map_err(|e| DomainError::Internal(format!("outbox {}: {e}", file.display())))
            }
        }
    }

    /// Checks that the SMTP server answers (for readiness probes).
    pub async fn check(&self) -> Result<(), String> {
        match self {
            Mailer::Smtp { transport, .. } => match transport.test_connection().await {
                Ok(true) => Ok(()),
                Ok(false) => Err("SMTP server refused the connection".into()),
                Err(e) => Err(format!("SMTP server unreachable: {e}")),
            },
            Mailer::Outbox { .. } => Ok(()),
        }
    }
}

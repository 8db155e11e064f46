//! Outgoing mail: real SMTP through lettre when `HEARTH_SMTP_URL` is set; otherwise each mail
//! is written to the log and to a file under the outbox folder, so a local run needs no server.

use std::path::PathBuf;
use std::time::Duration;

use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::DomainError;
use crate::i18n::{td_string, Locale};
use crate::locale::ready;

#[derive(Debug, Clone)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub body: String,
}

/// The mails Hearth writes, in the reader's language (the catalogue's `mail` section).
impl Mail {
    /// The code that confirms a new account's address.
    pub fn verification_code(to: String, language: Locale, code: &str, valid: Duration) -> Mail {
        let duration = duration(language, valid);
        Mail {
            subject: ready(td_string!(language, mail.verification_subject, code = code)),
            body: ready(td_string!(language, mail.verification_body, code = code, duration = duration)),
            to,
        }
    }

    /// The code that confirms an address an account is moving to (sent to that new address).
    pub fn new_address_code(to: String, language: Locale, username: &str, code: &str, valid: Duration) -> Mail {
        let duration = duration(language, valid);
        let body = ready(td_string!(
            language,
            mail.new_address_body,
            code = code,
            email = to.as_str(),
            username = username,
            duration = duration
        ));
        Mail { subject: ready(td_string!(language, mail.new_address_subject, code = code)), body, to }
    }

    /// The link that lets the account's owner choose a new password.
    pub fn password_reset(to: String, language: Locale, username: &str, link: &str, valid: Duration) -> Mail {
        let duration = duration(language, valid);
        Mail {
            subject: ready(td_string!(language, mail.reset_subject)),
            body: ready(td_string!(language, mail.reset_body, username = username, link = link, duration = duration)),
            to,
        }
    }
}

/// "5 minutes" in `language`, with its plural rules (at least one minute).
fn duration(language: Locale, valid: Duration) -> String {
    let minutes = (valid.as_secs() / 60).max(1);
    ready(td_string!(language, mail.duration, count = minutes))
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

#[cfg(test)]
mod tests {
    use super::*;

    const FIVE_MINUTES: Duration = Duration::from_secs(300);

    #[test]
    fn english_mails_keep_their_wording() {
        let mail = Mail::verification_code("a@example.org".into(), Locale::en, "123456", FIVE_MINUTES);
        assert_eq!(mail.subject, "Your Hearth verification code: 123456");
        assert_eq!(
            mail.body,
            "Your Hearth verification code is 123456\n\nIt is valid for 5 minutes. If you did not ask for it, ignore this mail."
        );
        let reset =
            Mail::password_reset("a@example.org".into(), Locale::en, "ann", "http://h/r?t=1&u=ann", FIVE_MINUTES);
        assert_eq!(reset.subject, "Reset your Hearth password");
        assert!(reset.body.contains(
            "account 'ann'.\n\nTo choose a new password, open this link (valid for 5 minutes):\nhttp://h/r?t=1&u=ann\n"
        ));
    }

    #[test]
    fn durations_follow_each_languages_plural_rules() {
        let valid = |language, seconds| duration(language, Duration::from_secs(seconds));
        assert_eq!(valid(Locale::en, 60), "1 minute");
        assert_eq!(valid(Locale::en, 59), "1 minute");
        assert_eq!(valid(Locale::de, 60), "eine Minute");
        assert_eq!(valid(Locale::de, 3600), "60 Minuten");
        assert_eq!(valid(Locale::ar, 120), "دقيقتين");
        assert_eq!(valid(Locale::ar, 300), "5 دقائق");
        assert_eq!(valid(Locale::ar, 900), "15 دقيقة");
        assert_eq!(valid(Locale::es, 300), "5 minutos");
    }

    #[test]
    fn each_mail_is_in_the_readers_language() {
        let reset = Mail::password_reset("a@example.org".into(), Locale::de, "ann", "http://h/r", FIVE_MINUTES);
        assert_eq!(reset.subject, "Dein Hearth-Passwort zurücksetzen");
        assert!(reset.body.contains("„ann“") && reset.body.contains("5 Minuten lang gültig):\nhttp://h/r\n"));
        let code = Mail::new_address_code("new@example.org".into(), Locale::fr, "ann", "654321", FIVE_MINUTES);
        assert!(code.subject.ends_with(" : 654321"));
        assert!(code.body.contains("new@example.org") && code.body.contains("« ann »"), "{}", code.body);
    }
}

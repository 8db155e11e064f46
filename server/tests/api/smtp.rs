//! A real SMTP server on loopback that keeps what it receives, so tests read the codes and links
//! Hearth mailed exactly as a person would.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

#[derive(Debug, Clone)]
pub struct ReceivedMail {
    pub to: Vec<String>,
    pub subject: String,
    pub body: String,
}

#[derive(Clone, Default)]
pub struct MailServer {
    pub url: String,
    inbox: Arc<Mutex<Vec<ReceivedMail>>>,
}

impl MailServer {
    pub async fn start() -> MailServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind SMTP listener");
        let url = format!("smtp://{}", listener.local_addr().expect("local addr"));
        let server = MailServer { url, inbox: Arc::default() };
        let inbox = server.inbox.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(serve_connection(socket, inbox.clone()));
            }
        });
        server
    }

    pub fn all(&self) -> Vec<ReceivedMail> {
        self.inbox.lock().expect("inbox lock").clone()
    }

    /// The newest mail to `address` whose subject contains `subject`, waiting up to 10 s for it.
    pub async fn wait_for(&self, address: &str, subject: &str) -> ReceivedMail {
        for _ in 0..200 {
            let found = self
                .all()
                .into_iter()
                .rev()
                .find(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(address)) && m.subject.contains(subject));
            if let Some(mail) = found {
                return mail;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no mail to {address} about {subject:?}; got {:#?}", self.all());
    }

    pub fn count_to(&self, address: &str) -> usize {
        self.all().iter().filter(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(address))).count()
    }

    /// The 6-digit code in the newest verification mail to `address`.
    pub async fn verification_code(&self, address: &str) -> String {
        let mail = self.wait_for(address, "verification code").await;
        let code: String = mail
            .body
            .split_whitespace()
            .find(|w| w.len() == 6 && w.chars().all(|c| c.is_ascii_digit()))
            .unwrap_or_default()
            .into();
        assert_eq!(code.len(), 6, "no code in {mail:?}");
        code
    }

    /// The link in the newest reset mail to `address`.
    pub async fn reset_link(&self, address: &str) -> String {
        let mail = self.wait_for(address, "Reset your Hearth password").await;
        mail.body
            .split_whitespace()
            .find(|w| w.starts_with("http") && w.contains("/user/reset-password?"))
            .unwrap_or_else(|| panic!("no reset link in {mail:?}"))
            .to_string()
    }
}

async fn serve_connection(socket: tokio::net::TcpStream, inbox: Arc<Mutex<Vec<ReceivedMail>>>) {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read).lines();
    let mut to = Vec::new();
    if write.write_all(b"220 hearth-test ESMTP\r\n").await.is_err() {
        return;
    }
    while let Ok(Some(line)) = lines.next_line().await {
        let verb = line.split_whitespace().next().unwrap_or_default().to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" => b"250-hearth-test\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n",
            "HELO" | "MAIL" | "RSET" | "NOOP" => {
                if verb == "RSET" {
                    to.clear();
                }
                b"250 OK\r\n"
            }
            "RCPT" => {
                let address = line.split(':').nth(1).unwrap_or_default();
                let address = address.split_whitespace().next().unwrap_or_default();
                to.push(address.trim_matches(|c| c == '<' || c == '>').to_string());
                b"250 OK\r\n"
            }
            "DATA" => {
                if write.write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n").await.is_err() {
                    return;
                }
                let mut raw = Vec::new();
                while let Ok(Some(data)) = lines.next_line().await {
                    if data == "." {
                        break;
                    }
                    raw.push(
                        data.strip_prefix('.').map(str::to_string).filter(|_| data.starts_with("..")).unwrap_or(data),
                    );
                }
                inbox.lock().expect("inbox lock").push(parse(std::mem::take(&mut to), &raw));
                b"250 OK: queued\r\n"
            }
            "QUIT" => {
                let _ = write.write_all(b"221 Bye\r\n").await;
                return;
            }
            _ => b"502 Command not implemented\r\n",
        };
        if write.write_all(reply).await.is_err() {
            return;
        }
    }
}

/// Splits headers from body and undoes quoted-printable (lettre uses it for long lines).
fn parse(to: Vec<String>, lines: &[String]) -> ReceivedMail {
    let split = lines.iter().position(|l| l.is_empty()).unwrap_or(lines.len());
    let headers = &lines[..split];
    let subject = headers.iter().find_map(|h| h.strip_prefix("Subject: ")).unwrap_or_default().to_string();
    let quoted_printable = headers.iter().any(|h| h.to_ascii_lowercase().contains("quoted-printable"));
    let body_lines = lines.get(split + 1..).unwrap_or_default();
    let body = if quoted_printable {
        let mut joined = String::new();
        for line in body_lines {
            match line.strip_suffix('=') {
                Some(soft) => joined.push_str(soft),
                None => {
                    joined.push_str(line);
                    joined.push('\n');
                }
            }
        }
        decode_qp(&joined)
    } else {
        body_lines.join("\n")
    };
    ReceivedMail { to, subject, body }
}

fn decode_qp(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() {
            if let Ok(byte) = u8::from_str_radix(&text[i + 1..i + 3], 16) {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

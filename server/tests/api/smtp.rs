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

/// Splits headers from body and undoes what lettre encodes: folded headers, non-ASCII subjects as
/// encoded words, and bodies as quoted-printable (long lines) or base64 (mostly non-ASCII text).
fn parse(to: Vec<String>, lines: &[String]) -> ReceivedMail {
    let split = lines.iter().position(|l| l.is_empty()).unwrap_or(lines.len());
    let mut headers: Vec<String> = Vec::new();
    for line in &lines[..split] {
        match headers.last_mut() {
            Some(last) if line.starts_with([' ', '\t']) => last.push_str(line),
            _ => headers.push(line.clone()),
        }
    }
    let subject = headers.iter().find_map(|h| h.strip_prefix("Subject: ")).map(decode_header).unwrap_or_default();
    let transfer_encoding = headers
        .iter()
        .find_map(|h| h.to_ascii_lowercase().strip_prefix("content-transfer-encoding:").map(|v| v.trim().to_string()))
        .unwrap_or_default();
    let encoding = |name: &str| transfer_encoding == name;
    let body_lines = lines.get(split + 1..).unwrap_or_default();
    let body = if encoding("base64") {
        use base64::Engine;
        let joined: String = body_lines.concat();
        let bytes = base64::engine::general_purpose::STANDARD.decode(joined.trim()).expect("a base64 body");
        String::from_utf8(bytes).expect("a UTF-8 body").replace("\r\n", "\n").trim_end_matches('\n').to_string()
    } else if encoding("quoted-printable") {
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

/// An unfolded header value with its RFC 2047 encoded words (`=?utf-8?b?…?=`) decoded. The
/// space between two encoded words is folding, not text; the bytes of neighbouring words are
/// decoded together, as a character may be split between them.
fn decode_header(value: &str) -> String {
    use base64::Engine;
    let mut text = String::new();
    let mut encoded: Vec<u8> = Vec::new();
    let mut after_encoded = false;
    for word in value.split_whitespace() {
        let base64_word = word
            .strip_prefix("=?")
            .and_then(|w| w.strip_suffix("?="))
            .and_then(|w| w.split_once('?'))
            .and_then(|(_, rest)| rest.strip_prefix("b?").or_else(|| rest.strip_prefix("B?")));
        match base64_word {
            Some(data) => {
                if !after_encoded && !text.is_empty() {
                    text.push(' ');
                }
                encoded.extend(base64::engine::general_purpose::STANDARD.decode(data).expect("an encoded word"));
                after_encoded = true;
            }
            None => {
                text.push_str(&String::from_utf8_lossy(&std::mem::take(&mut encoded)));
                if !text.is_empty() {
                    text.push(' ');
                }
                text.push_str(word);
                after_encoded = false;
            }
        }
    }
    text.push_str(&String::from_utf8_lossy(&encoded));
    text
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

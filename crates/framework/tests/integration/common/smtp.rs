//! A real SMTP server for tests: accepts every message on a random loopback port and
//! keeps it, parsed, for the test to read (the server under test talks SMTP to it).

use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::Notify;

#[derive(Debug, Clone)]
pub struct ReceivedMail {
    /// The envelope recipients (`RCPT TO`).
    pub to: Vec<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
}

pub struct SmtpSink {
    pub port: u16,
    inbox: Arc<Mutex<Vec<ReceivedMail>>>,
    arrived: Arc<Notify>,
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind smtp");
        let port = listener.local_addr().expect("addr").port();
        let inbox = Arc::new(Mutex::new(Vec::new()));
        let arrived = Arc::new(Notify::new());
        let (i, a) = (inbox.clone(), arrived.clone());
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let (i, a) = (i.clone(), a.clone());
                tokio::spawn(async move {
                    let _ = session(sock, i, a).await;
                });
            }
        });
        SmtpSink {
            port,
            inbox,
            arrived,
        }
    }

    /// Takes the first message to `to`, waiting up to 10 s for it.
    pub async fn wait_for(&self, to: &str) -> ReceivedMail {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let notified = self.arrived.notified();
            if let Some(m) = self.take(to) {
                return m;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!("no e-mail to {to} within 10 s");
            }
        }
    }

    fn take(&self, to: &str) -> Option<ReceivedMail> {
        let mut inbox = self.inbox.lock().unwrap();
        let pos = inbox.iter().position(|m| m.to.iter().any(|t| t == to))?;
        Some(inbox.remove(pos))
    }

    /// How many messages to `to` are waiting, after giving stragglers `settle` to arrive.
    pub async fn count_for(&self, to: &str, settle: Duration) -> usize {
        tokio::time::sleep(settle).await;
        let inbox = self.inbox.lock().unwrap();
        inbox
            .iter()
            .filter(|m| m.to.iter().any(|t| t == to))
            .count()
    }
}

async fn session(
    sock: tokio::net::TcpStream,
    inbox: Arc<Mutex<Vec<ReceivedMail>>>,
    arrived: Arc<Notify>,
) -> std::io::Result<()> {
    let (read, mut write) = sock.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 sink ESMTP ready\r\n").await?;
    let mut rcpt = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let cmd = line.trim_end().to_ascii_uppercase();
        let reply: &[u8] = if cmd.starts_with("EHLO") {
            b"250-sink\r\n250 8BITMIME\r\n"
        } else if cmd.starts_with("HELO") || cmd.starts_with("NOOP") {
            b"250 ok\r\n"
        } else if cmd.starts_with("MAIL FROM") || cmd.starts_with("RSET") {
            rcpt.clear();
            b"250 ok\r\n"
        } else if cmd.starts_with("RCPT TO") {
            let addr = line.trim_end()[8..]
                .trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_string();
            rcpt.push(addr);
            b"250 ok\r\n"
        } else if cmd == "DATA" {
            write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
            let mut raw = Vec::new();
            loop {
                line.clear();
                if lines.read_line(&mut line).await? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" || line == ".\n" {
                    break;
                }
                let l = line.strip_prefix('.').unwrap_or(&line);
                raw.extend_from_slice(l.as_bytes());
            }
            let parsed = mail_parser::MessageParser::default()
                .parse(&raw)
                .expect("parse received e-mail");
            let mail = ReceivedMail {
                to: std::mem::take(&mut rcpt),
                subject: parsed.subject().unwrap_or_default().to_string(),
                text: parsed.body_text(0).unwrap_or_default().to_string(),
                html: parsed.body_html(0).unwrap_or_default().to_string(),
            };
            inbox.lock().unwrap().push(mail);
            arrived.notify_waiters();
            b"250 queued\r\n"
        } else if cmd == "QUIT" {
            write.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else {
            b"502 not implemented\r\n"
        };
        write.write_all(reply).await?;
    }
}

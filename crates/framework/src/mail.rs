//! Outgoing e-mail: the auth messages (built-in askama templates or a collection's own
//! template) and their delivery over SMTP with the server from the settings.

use crate::collections::model::EmailTemplate;
use crate::error::{Error, Result};
use crate::settings::model::Settings;
use askama::Template;
use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde_json::{Map, Value};

/// Which message to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailKind {
    Verification,
    PasswordReset,
    EmailChange,
    Otp,
    /// Sent by `POST /api/settings/test/email` with no template asked for.
    Test,
}

impl MailKind {
    /// The template names `POST /api/settings/test/email` accepts.
    pub fn from_template_name(name: &str) -> Option<MailKind> {
        Some(match name {
            "verification" => MailKind::Verification,
            "password-reset" => MailKind::PasswordReset,
            "email-change" => MailKind::EmailChange,
            "otp" => MailKind::Otp,
            "" | "test" => MailKind::Test,
            _ => return None,
        })
    }

    /// The page of the admin UI a link in this message opens.
    fn confirm_page(self) -> &'static str {
        match self {
            MailKind::Verification => "confirm-verification",
            MailKind::PasswordReset => "confirm-password-reset",
            MailKind::EmailChange => "confirm-email-change",
            MailKind::Otp | MailKind::Test => "",
        }
    }
}

/// A rendered message, ready to send.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub html: String,
    pub text: String,
}

/// What goes into a message: `secret` is the token (links) or the one-time code.
pub struct MailData<'a> {
    pub kind: MailKind,
    pub to: &'a str,
    pub secret: &'a str,
    /// The auth record, for `{RECORD:field}` placeholders.
    pub record: &'a Map<String, Value>,
    /// The collection's own template; empty = the built-in one.
    pub template: &'a EmailTemplate,
}

/// The built-in message's words.
struct Content {
    subject: String,
    paragraphs: Vec<String>,
    action: Option<(String, String)>,
    code: Option<String>,
}

#[derive(Template)]
#[template(path = "mail/message.html")]
struct HtmlMessage<'a> {
    app_name: &'a str,
    app_url: &'a str,
    paragraphs: &'a [String],
    action: Option<&'a (String, String)>,
    code: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "mail/message.txt")]
struct TextMessage<'a> {
    app_name: &'a str,
    paragraphs: &'a [String],
    action: Option<&'a (String, String)>,
    code: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "mail/custom.html")]
struct CustomHtml<'a> {
    app_name: &'a str,
    body: &'a str,
}

fn built_in(kind: MailKind, app_name: &str, link: &str, secret: &str) -> Content {
    let p = |s: &str| s.to_string();
    match kind {
        MailKind::Verification => Content {
            subject: format!("Verify your {app_name} e-mail address"),
            paragraphs: vec![
                format!("Welcome to {app_name}."),
                p("Please confirm that this address is yours by opening the link below."),
            ],
            action: Some((p("Verify e-mail address"), link.to_string())),
            code: None,
        },
        MailKind::PasswordReset => Content {
            subject: format!("Reset your {app_name} password"),
            paragraphs: vec![
                p("Someone asked to reset the password of the account with this address."),
                p("If it was you, open the link below to choose a new password. If not, ignore this message: nothing changes."),
            ],
            action: Some((p("Choose a new password"), link.to_string())),
            code: None,
        },
        MailKind::EmailChange => Content {
            subject: format!("Confirm your new {app_name} e-mail address"),
            paragraphs: vec![
                format!("Your {app_name} account is being moved to this address."),
                p("Open the link below to confirm. If you did not ask for this, ignore this message."),
            ],
            action: Some((p("Confirm new address"), link.to_string())),
            code: None,
        },
        MailKind::Otp => Content {
            subject: format!("Your {app_name} sign-in code"),
            paragraphs: vec![
                p("Use this one-time code to sign in. It works once and expires soon."),
                p("If you did not try to sign in, ignore this message."),
            ],
            action: None,
            code: Some(secret.to_string()),
        },
        MailKind::Test => Content {
            subject: format!("{app_name}: test e-mail"),
            paragraphs: vec![p(
                "This is a test message: the SMTP settings work.",
            )],
            action: None,
            code: None,
        },
    }
}

/// Replaces PocketBase's placeholders in a collection's own template.
fn fill(text: &str, app_name: &str, app_url: &str, data: &MailData, escape: bool) -> String {
    let esc = |s: &str| {
        if escape {
            escape_html(s)
        } else {
            s.to_string()
        }
    };
    let mut out = text
        .replace("{APP_NAME}", &esc(app_name))
        .replace("{APP_URL}", &esc(app_url))
        .replace("{TOKEN}", &esc(data.secret))
        .replace("{OTP}", &esc(data.secret));
    for (k, v) in data.record {
        let key = format!("{{RECORD:{k}}}");
        if out.contains(&key) {
            let s = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            out = out.replace(&key, &esc(&s));
        }
    }
    out
}

/// `s` as HTML text.
pub fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// The plain-text part of a custom HTML body: tags dropped, entities decoded.
fn html_to_text(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for ch in html.chars() {
        match ch {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                if !out.ends_with('\n') {
                    out.push('\n');
                }
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    let text = out
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Renders one message with the application's name and URL from the settings.
pub fn render(settings: &Settings, data: &MailData) -> Result<Mail> {
    let app_name = settings.meta.app_name.as_str();
    let app_url = settings.meta.app_url.trim_end_matches('/');
    let err = |e: askama::Error| Error::internal_from("cannot render e-mail", e);
    let t = data.template;
    if !t.body.trim().is_empty() {
        let body = fill(&t.body, app_name, app_url, data, true);
        let html = CustomHtml {
            app_name,
            body: &body,
        }
        .render()
        .map_err(err)?;
        let subject = match t.subject.trim() {
            "" => built_in(data.kind, app_name, "", data.secret).subject,
            s => fill(s, app_name, app_url, data, false),
        };
        return Ok(Mail {
            to: data.to.to_string(),
            subject,
            text: html_to_text(&body),
            html,
        });
    }
    let link = format!(
        "{app_url}/_/#/auth/{}/{}",
        data.kind.confirm_page(),
        data.secret
    );
    let mut content = built_in(data.kind, app_name, &link, data.secret);
    if !t.subject.trim().is_empty() {
        content.subject = fill(&t.subject, app_name, app_url, data, false);
    }
    let html = HtmlMessage {
        app_name,
        app_url,
        paragraphs: &content.paragraphs,
        action: content.action.as_ref(),
        code: content.code.as_deref(),
    }
    .render()
    .map_err(err)?;
    let text = TextMessage {
        app_name,
        paragraphs: &content.paragraphs,
        action: content.action.as_ref(),
        code: content.code.as_deref(),
    }
    .render()
    .map_err(err)?;
    Ok(Mail {
        to: data.to.to_string(),
        subject: content.subject,
        html,
        text,
    })
}

/// Why a message was not delivered.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("SMTP is not configured (settings.smtp.enabled is false)")]
    NotConfigured,
    #[error("invalid address: {0}")]
    Address(String),
    #[error("cannot build the message: {0}")]
    Build(String),
    #[error("SMTP delivery failed: {0}")]
    Smtp(String),
}

/// Sends `mail` through the SMTP server of `settings` and waits for the server's answer.
pub async fn send(settings: &Settings, mail: &Mail) -> std::result::Result<(), SendError> {
    let smtp = &settings.smtp;
    if !smtp.enabled {
        return Err(SendError::NotConfigured);
    }
    let from = Mailbox::new(
        Some(settings.meta.sender_name.clone()).filter(|n| !n.is_empty()),
        settings
            .meta
            .sender_address
            .parse()
            .map_err(|_| SendError::Address(settings.meta.sender_address.clone()))?,
    );
    let to: Mailbox = mail
        .to
        .parse()
        .map_err(|_| SendError::Address(mail.to.clone()))?;
    let message = Message::builder()
        .from(from)
        .to(to)
        .subject(mail.subject.clone())
        .multipart(
            MultiPart::alternative()
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_PLAIN)
                        .body(mail.text.clone()),
                )
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_HTML)
                        .body(mail.html.clone()),
                ),
        )
        .map_err(|e| SendError::Build(e.to_string()))?;
    let tls_params =
        TlsParameters::new(smtp.host.clone()).map_err(|e| SendError::Smtp(e.to_string()))?;
    // `tls: true` is TLS from the first byte (port 465); otherwise STARTTLS when offered.
    let tls = if smtp.tls {
        Tls::Wrapper(tls_params)
    } else {
        Tls::Opportunistic(tls_params)
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(smtp.host.as_str())
        .port(smtp.port)
        .tls(tls)
        .timeout(Some(std::time::Duration::from_secs(15)));
    if !smtp.local_name.is_empty() {
        builder = builder.hello_name(ClientId::Domain(smtp.local_name.clone()));
    }
    if !smtp.username.is_empty() {
        let mechanism = if smtp.auth_method.eq_ignore_ascii_case("LOGIN") {
            Mechanism::Login
        } else {
            Mechanism::Plain
        };
        builder = builder
            .credentials(Credentials::new(
                smtp.username.clone(),
                smtp.password.clone(),
            ))
            .authentication(vec![mechanism]);
    }
    builder
        .build()
        .send(message)
        .await
        .map(|_| ())
        .map_err(|e| SendError::Smtp(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn built_in_and_custom_messages() {
        let settings = Settings::named("Acme");
        let record = json!({"id": "abc", "name": "Ann <b>"})
            .as_object()
            .cloned()
            .unwrap();
        let template = EmailTemplate::default();
        let data = MailData {
            kind: MailKind::Verification,
            to: "a@example.com",
            secret: "TOKEN123",
            record: &record,
            template: &template,
        };
        let m = render(&settings, &data).unwrap();
        assert!(m.subject.contains("Acme"));
        let link = "http://127.0.0.1:8090/_/#/auth/confirm-verification/TOKEN123";
        assert!(m.html.contains(link) && m.text.contains(link));

        let custom = EmailTemplate {
            subject: "Hi {RECORD:name}".into(),
            body: "<p>Code for {APP_NAME}: {OTP} ({RECORD:name})</p>".into(),
        };
        let data = MailData {
            kind: MailKind::Otp,
            template: &custom,
            secret: "12345678",
            ..data
        };
        let m = render(&settings, &data).unwrap();
        assert_eq!(m.subject, "Hi Ann <b>");
        assert!(m.html.contains("Code for Acme: 12345678 (Ann &lt;b&gt;)"));
        assert_eq!(m.text, "Code for Acme: 12345678 (Ann <b>)");
    }
}

//! Human accounts on Gather's pages: the `users` collection's e-mail links open the
//! pages' own account screens (`/account/...`) rather than the operator dashboard's.

use framework::collections::{self, EmailTemplate};
use framework::{App, Result};

/// The collection humans sign up to (PocketBase's default one).
pub const USERS: &str = "users";

/// A message with one button, in the look of the framework's built-in ones.
fn message(heading: &str, text: &str, label: &str, page: &str) -> String {
    let url = format!("{{APP_URL}}/account/{page}/{{TOKEN}}");
    format!(
        concat!(
            "<div style=\"font-family:-apple-system,Segoe UI,Roboto,sans-serif;font-size:15px;line-height:1.5;color:#1b1f27;max-width:560px;\">",
            "<h1 style=\"margin:0 0 24px;font-size:18px;\">{heading}</h1>",
            "<p style=\"margin:0 0 16px;\">{text}</p>",
            "<p style=\"margin:24px 0;\"><a href=\"{url}\" style=\"display:inline-block;padding:10px 18px;background:#4338ca;color:#ffffff;text-decoration:none;border-radius:6px;\">{label}</a></p>",
            "<p style=\"margin:0 0 16px;font-size:13px;color:#4a5261;word-break:break-all;\">Or paste this address into your browser: {url}</p>",
            "<p style=\"margin:32px 0 0;font-size:13px;color:#4a5261;\">If you did not ask for this, ignore this e-mail. {{APP_NAME}} &middot; {{APP_URL}}</p>",
            "</div>"
        ),
        heading = heading,
        text = text,
        url = url,
        label = label,
    )
}

/// Points the `users` collection's verification, password-reset and e-mail-change
/// messages at the account pages; a template the operator already wrote stays.
pub async fn mail_links(app: &App) -> Result<()> {
    let Ok(users) = app.collection(USERS) else {
        return Ok(());
    };
    let mut users = (*users).clone();
    let Some(auth) = users.auth.as_mut() else {
        return Ok(());
    };
    let wanted = [
        (
            &mut auth.verification_template,
            "Verify your e-mail for {APP_NAME}",
            message(
                "Welcome to {APP_NAME}",
                "Confirm that this is your e-mail address to finish signing up.",
                "Verify my e-mail",
                "confirm-verification",
            ),
        ),
        (
            &mut auth.reset_password_template,
            "Reset your {APP_NAME} password",
            message(
                "Reset your password",
                "Someone, hopefully you, asked to reset the password of your {APP_NAME} account.",
                "Choose a new password",
                "confirm-password-reset",
            ),
        ),
        (
            &mut auth.confirm_email_change_template,
            "Confirm your new {APP_NAME} e-mail address",
            message(
                "Confirm your new e-mail address",
                "Confirm this address to make it your {APP_NAME} account's e-mail.",
                "Confirm the new address",
                "confirm-email-change",
            ),
        ),
    ];
    for (template, subject, body) in wanted {
        if *template == EmailTemplate::default() {
            *template = EmailTemplate {
                subject: subject.to_string(),
                body,
            };
        }
    }
    collections::import(app, vec![users], false).await
}

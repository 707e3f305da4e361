//! Tweets through Twitter's oEmbed endpoint (its base URL is a setting, so tests and
//! operators can point it elsewhere).

use framework::App;
use framework::{Error, Result};
use std::sync::LazyLock;
use std::time::Duration;

static TWEET_URL: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(r"(?:twitter|x)\.com/(\w+)/status/(\d+)").expect("valid regex")
});

pub struct Tweet {
    pub html: String,
    /// The author's handle, lower-cased (from the oEmbed `author_url`).
    pub handle: String,
}

fn failed(why: impl std::fmt::Display) -> Error {
    Error::BadRequest(format!("Tweet verification failed: {why}."))
}

/// `x.com` becomes `twitter.com`, and the query string goes.
pub fn normalise(url: &str) -> Option<String> {
    let url = url.trim().replacen("x.com", "twitter.com", 1);
    let url = url.split(['?', '#']).next().unwrap_or_default().to_string();
    TWEET_URL.is_match(&url).then_some(url)
}

/// The profile a oEmbed `author_url` (`https://twitter.com/<handle>`) points to.
fn handle_of(author_url: &str) -> Option<String> {
    let u = url::Url::parse(author_url).ok()?;
    let handle = u.path_segments()?.find(|s| !s.is_empty())?.to_lowercase();
    let ok = !handle.is_empty()
        && handle.len() <= 50
        && handle
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_');
    ok.then_some(handle)
}

pub async fn fetch(app: &App, oembed_url: &str, tweet_url: &str) -> Result<Tweet> {
    let url = normalise(tweet_url)
        .ok_or_else(|| failed("the URL is not a tweet (https://x.com/<user>/status/<id>)"))?;
    let resp = app
        .http()?
        .get(oembed_url)
        .query(&[("url", url.as_str())])
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "oEmbed request failed");
            Error::ServiceUnavailable("Twitter could not be reached; try again later.".into())
        })?;
    let status = resp.status();
    if !status.is_success() {
        return Err(failed(format!(
            "Twitter answered {} for this tweet (is it public?)",
            status.as_u16()
        )));
    }
    let body: serde_json::Value = resp
        .json()
        .await
        .map_err(|_| failed("Twitter's answer was not oEmbed JSON"))?;
    let html = body["html"].as_str().unwrap_or_default().to_string();
    let handle = handle_of(body["author_url"].as_str().unwrap_or_default())
        .ok_or_else(|| failed("the tweet's author could not be read"))?;
    Ok(Tweet { html, handle })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_handles() {
        assert_eq!(
            normalise("https://x.com/Agent_1/status/123?s=20").as_deref(),
            Some("https://twitter.com/Agent_1/status/123")
        );
        assert!(normalise("https://twitter.com/agent").is_none());
        assert!(normalise("https://example.com/a/status/1").is_none());
        assert_eq!(
            handle_of("https://twitter.com/Agent_1").as_deref(),
            Some("agent_1")
        );
        assert_eq!(
            handle_of("https://twitter.com/agent_1/").as_deref(),
            Some("agent_1")
        );
        assert_eq!(handle_of("not a url"), None);
        assert_eq!(handle_of("https://twitter.com/"), None);
    }
}

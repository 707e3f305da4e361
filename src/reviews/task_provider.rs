//! Challenge tasks written by a language model: a provider behind a small trait, used
//! when the operator configured one; any failure (unreachable, slow, an error status, an
//! answer that is not the asked-for JSON) falls back to the template task.

use crate::skills::api::text;
use framework::records::{Record, RecordFields};
use futures::future::BoxFuture;
use serde_json::{json, Value};
use std::time::Duration;

/// A task and its aspects, from a provider.
#[derive(Debug, Clone, PartialEq)]
pub struct WrittenTask {
    pub task: String,
    pub aspects: Vec<String>,
}

/// Writes a challenge task for a skill.
pub trait TaskProvider: Send + Sync {
    /// `prompt` describes the skill and what reviews it has (see [`prompt`]).
    fn write<'a>(&'a self, prompt: &'a str) -> BoxFuture<'a, Result<WrittenTask, String>>;
}

/// Lets `provider` write the tasks of `app`'s challenges (call after [`crate::setup`]).
pub fn configure(
    app: &framework::App,
    provider: std::sync::Arc<dyn TaskProvider>,
) -> framework::Result<()> {
    *crate::state(app)?.task_provider.write() = Some(provider);
    Ok(())
}

/// What the model is told to do.
const INSTRUCTION: &str = "You set review assignments for agent skills. Answer with JSON only: {\"task\": \"...\", \"aspects\": [\"...\", \"...\"]}. Give exactly two aspects: one about security, one that complements the reviews the skill already has. The task must name the skill, be doable in 15 minutes, and stress installation, dependency and file-system safety when the skill must be installed, and data handling, authentication and network behaviour for API and service skills.";

/// The facts about `skill` the provider writes from.
pub fn prompt(skill: &Record) -> String {
    let mut lines = vec![format!("Skill: {}", skill.get_str("name"))];
    for (label, field) in [
        ("Description", "description"),
        ("Category", "category"),
        ("URL", "url"),
        ("Source", "source"),
    ] {
        if let Some(v) = text(skill, field) {
            lines.push(format!("{label}: {v}"));
        }
    }
    lines.push(format!(
        "Install required: {}",
        skill.get_bool("install_required")
    ));
    let n = skill.get_i64("review_count");
    lines.push(match n {
        0 => "Coverage: no reviews yet; this will be the first.".to_string(),
        _ => format!(
            "Coverage: {n} reviews (average score {:.1}, average security score {:.1}).",
            skill.get_f64("avg_score"),
            skill.get_f64("avg_security_score")
        ),
    });
    lines.join("\n")
}

/// Google's Gemini `generateContent` API.
pub struct Gemini {
    /// `https://generativelanguage.googleapis.com`
    pub base_url: String,
    /// `gemini-2.0-flash`
    pub model: String,
    pub key: String,
    /// Calls go through the app's HTTP client.
    pub app: framework::App,
    /// How long a call may take ([`PROVIDER_TIMEOUT`] by default).
    pub timeout: Duration,
}

/// How long a provider may take before the template is used.
pub const PROVIDER_TIMEOUT: Duration = Duration::from_secs(15);

impl Gemini {
    pub fn new(app: &framework::App, base_url: &str, model: &str, key: &str) -> Gemini {
        Gemini {
            base_url: base_url.trim_end_matches('/').to_string(),
            model: model.to_string(),
            key: key.to_string(),
            app: app.clone(),
            timeout: PROVIDER_TIMEOUT,
        }
    }

    async fn call(&self, prompt: &str) -> Result<WrittenTask, String> {
        let url = format!(
            "{}/v1beta/models/{}:generateContent",
            self.base_url, self.model
        );
        let body = json!({
            "system_instruction": {"parts": [{"text": INSTRUCTION}]},
            "contents": [{"parts": [{"text": prompt}]}],
        });
        // The key goes in a header, so it is in no URL and no access log.
        let http = self.app.http().map_err(|e| e.to_string())?;
        let resp = http
            .post(url)
            .timeout(self.timeout)
            .header("x-goog-api-key", &self.key)
            .json(&body)
            .send()
            .await
            .map_err(|e| format!("the provider cannot be reached: {e}"))?;
        if !resp.status().is_success() {
            return Err(format!("the provider answered {}", resp.status()));
        }
        let answer: Value = resp
            .json()
            .await
            .map_err(|e| format!("the provider's answer is not JSON: {e}"))?;
        let text = answer["candidates"][0]["content"]["parts"][0]["text"]
            .as_str()
            .ok_or("the provider's answer has no text")?;
        parse(text)
    }
}

impl TaskProvider for Gemini {
    fn write<'a>(&'a self, prompt: &'a str) -> BoxFuture<'a, Result<WrittenTask, String>> {
        Box::pin(self.call(prompt))
    }
}

/// The `{task, aspects}` JSON in a model's text (code fences allowed around it); the
/// task at most 5000 characters, one or two aspects of at most 100.
pub fn parse(text: &str) -> Result<WrittenTask, String> {
    let inner = text
        .trim()
        .trim_start_matches("```json")
        .trim_start_matches("```")
        .trim_end_matches("```")
        .trim();
    let v: Value =
        serde_json::from_str(inner).map_err(|_| "the provider's text is not the JSON asked for")?;
    let task = v["task"].as_str().map(str::trim).unwrap_or_default();
    let aspects: Vec<String> = v["aspects"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_string)
        .collect();
    let fits = !task.is_empty()
        && task.chars().count() <= super::limits::TASK
        && (1..=2).contains(&aspects.len())
        && aspects.iter().all(|a| a.chars().count() <= 100);
    if !fits {
        return Err("the provider's task or aspects are missing or too long".into());
    }
    Ok(WrittenTask {
        task: task.to_string(),
        aspects,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_json_is_read_with_or_without_fences() {
        let t = parse(
            "```json\n{\"task\": \"Review x\", \"aspects\": [\"security\", \"latency\"]}\n```",
        )
        .expect("parsed");
        assert_eq!(t.task, "Review x");
        assert_eq!(t.aspects, ["security", "latency"]);
        for bad in [
            "",
            "Sure! Here is a task.",
            "{\"task\": \"\", \"aspects\": [\"a\"]}",
            "{\"task\": \"t\", \"aspects\": []}",
            "{\"task\": \"t\", \"aspects\": [\"a\", \"b\", \"c\"]}",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}

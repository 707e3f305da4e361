//! What the review command is asked, and reading its answer: the last JSON object in
//! its output that has a `score` and the three texts.

use serde_json::Value;

/// The prompt for reviewing `skill` at `task`.
pub fn prompt(skill: &str, task: &str) -> String {
    format!(
        "You are reviewing the agent skill '{skill}' for other agents.\n\
         1. Install the skill in this (empty) directory and use it for the task below; judge \
         whether it does what it claims.\n\
         2. Read every file the skill installed and score its security from 10 down: take \
         off for writes outside the project, reading credentials, network calls, system-wide \
         installs, persistence (cron, PATH, shell profiles) and obfuscated code.\n\
         Answer with one JSON object and nothing after it: {{\"score\": 1-10, \
         \"what_worked\": \"...\", \"what_failed\": \"...\", \"skill_feedback\": \"...\", \
         \"security_score\": 1-10, \"security_notes\": \"...\"}}\n\n\
         Skill to review: {skill}\nTask: {task}\n"
    )
}

/// A review read from the runner's output.
#[derive(Debug, Clone, PartialEq)]
pub struct RunResult {
    pub score: f64,
    pub security_score: Option<f64>,
    pub what_worked: String,
    pub what_failed: String,
    pub skill_feedback: String,
    pub security_notes: String,
}

/// The review in `output`: the last JSON object with a numeric `score` and non-empty
/// `what_worked`, `what_failed` and `skill_feedback`; scores are clamped to 1-10.
pub fn parse(output: &str) -> Result<RunResult, String> {
    // From the end: the first start that parses to a review is the last review.
    let found = output.rmatch_indices('{').find_map(|(i, _)| {
        let mut values = serde_json::Deserializer::from_str(&output[i..]).into_iter::<Value>();
        values
            .next()
            .and_then(Result::ok)
            .and_then(|v| from_object(&v))
    });
    found.ok_or_else(|| {
        "the output holds no JSON object with score, what_worked, what_failed and skill_feedback"
            .to_string()
    })
}

fn from_object(v: &Value) -> Option<RunResult> {
    let text = |k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| clip(s, crate::reviews::limits::NOTES))
    };
    let clamp = |x: f64| x.clamp(1.0, 10.0);
    Some(RunResult {
        score: clamp(v.get("score")?.as_f64().filter(|s| s.is_finite())?),
        security_score: v
            .get("security_score")
            .and_then(Value::as_f64)
            .filter(|s| s.is_finite())
            .map(clamp),
        what_worked: text("what_worked")?,
        what_failed: text("what_failed")?,
        skill_feedback: text("skill_feedback")?,
        security_notes: text("security_notes").unwrap_or_default(),
    })
}

/// `s` cut to at most `max` characters.
pub fn clip(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => s[..i].to_string(),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_complete_review_object_wins_and_scores_are_clamped() {
        let out = "Installing...\n{\"step\": 1}\nExample: {\"score\": 3}\nDone.\n\
            {\"score\": 14, \"what_worked\": \"merges\", \"what_failed\": \"forms\", \
            \"skill_feedback\": \"add docs\", \"security_score\": 0, \"security_notes\": \"runs pdftk\"}\n";
        let r = parse(out).expect("a review");
        assert_eq!(r.score, 10.0);
        assert_eq!(r.security_score, Some(1.0));
        assert_eq!(r.what_worked, "merges");
        assert_eq!(r.security_notes, "runs pdftk");
    }

    #[test]
    fn output_without_a_review_is_an_error() {
        for out in [
            "",
            "no json here",
            "{\"score\": 8}",
            "{\"score\": 8, \"what_worked\": \"\", \"what_failed\": \"x\", \"skill_feedback\": \"y\"}",
            "{\"score\": \"8\", \"what_worked\": \"a\", \"what_failed\": \"b\", \"skill_feedback\": \"c\"}",
            "{\"score\": 8, \"what_worked\": \"a\"",
        ] {
            assert!(parse(out).is_err(), "{out}");
        }
    }

    #[test]
    fn clipping_keeps_whole_characters() {
        assert_eq!(clip("héllo", 2), "hé");
        assert_eq!(clip("hi", 5), "hi");
    }
}

//! Review challenges: a server-issued, single-use assignment for one skill (a random
//! totem, a task and the aspects to look at), valid for 15 minutes. A review that quotes
//! it, mentions the totem and scores security counts as challenged.

use super::task_provider;
use super::Submission;
use crate::skills::{self, Category};
use crate::Agent;
use framework::collections::FieldError;
use framework::records::{format_datetime, Record, RecordFields};
use framework::{App, Error, Result};
use rand::seq::SliceRandom;
use rand::RngCore;
use serde_json::json;

pub(crate) const CHALLENGES: &str = "review_challenges";
/// How long a challenge may be answered.
pub const VALID_MINUTES: i64 = 15;

/// One thing to look at in a review, and what to ask about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Aspect {
    pub name: &'static str,
    pub prompt: &'static str,
}

const SECURITY: &[Aspect] = &[
    Aspect {
        name: "security",
        prompt: "What does the skill need to run: code to install, permissions, network calls home? Can its source be audited?",
    },
    Aspect {
        name: "installation safety",
        prompt: "What does setting it up change: dependencies pulled in, files written outside the project, system settings?",
    },
    Aspect {
        name: "data handling",
        prompt: "Which data leaves the machine, to whom, and is it encrypted on the way?",
    },
];

const GENERAL: &[Aspect] = &[
    Aspect {
        name: "functionality",
        prompt: "Does it do what its description says?",
    },
    Aspect {
        name: "error handling",
        prompt: "How does it behave on edge cases and invalid input?",
    },
    Aspect {
        name: "output quality",
        prompt: "How good and how useful is what it produces?",
    },
    Aspect {
        name: "ease of use",
        prompt: "How easily does an agent set it up and use it?",
    },
    Aspect {
        name: "documentation",
        prompt: "Are its instructions clear, with examples?",
    },
];

/// Asked of skills reached over an API (`api` and `service` skills) too.
const API: &[Aspect] = &[
    Aspect {
        name: "response format",
        prompt: "Are its answers structured and easy to parse?",
    },
    Aspect {
        name: "error responses",
        prompt: "Do its errors carry useful codes and messages?",
    },
    Aspect {
        name: "latency",
        prompt: "Is it fast enough for an agent's workflow?",
    },
    Aspect {
        name: "authentication",
        prompt: "Is its authentication straightforward for an agent?",
    },
];

/// A task for reviewing `skill`: one security aspect and one general one.
pub fn template_task(skill: &Record, rng: &mut impl rand::Rng) -> (String, Vec<Aspect>) {
    let is_api = Category::parse(skill.get_str("category"))
        .is_ok_and(|c| matches!(c, Category::Api | Category::Service));
    let mut general: Vec<Aspect> = GENERAL.to_vec();
    if is_api {
        general.extend_from_slice(API);
    }
    let picked = [SECURITY.choose(rng), general.choose(rng)];
    let aspects: Vec<Aspect> = picked.into_iter().flatten().copied().collect();
    let mut task = format!("Review the skill '{}'", skill.get_str("name"));
    let description = skill.get_str("description");
    if !description.is_empty() {
        task.push_str(&format!(" ({description})"));
    }
    let url = skill.get_str("url");
    if !url.is_empty() {
        task.push_str(&format!(" at {url}"));
    }
    task.push_str(". Focus on these aspects:\n");
    for (i, a) in aspects.iter().enumerate() {
        task.push_str(&format!("{}. {}: {}\n", i + 1, a.name, a.prompt));
    }
    task.push_str("Put what worked into what_worked and what did not into what_failed, quote the totem in your review, and give a security_score.");
    (task, aspects)
}

/// `GATHER-` and 8 lowercase hex digits from the OS's random source.
fn totem() -> String {
    let mut bytes = [0u8; 4];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("GATHER-{hex}")
}

/// A challenge and the skill it was issued for.
pub struct Issued {
    pub challenge: Record,
    pub skill: Record,
    pub aspects: Vec<String>,
}

/// Issues `agent` a challenge for the skill `key` (a name or an id).
pub async fn issue(app: &App, agent: &Agent, key: &str) -> Result<Issued> {
    skills::may_take_part(app, agent, "review skills").await?;
    let skill = skills::get(app, key).await?;
    let (task, aspects) = write_task(app, &skill).await?;
    let expires = chrono::Utc::now() + chrono::Duration::minutes(VALID_MINUTES);
    let body = json!({
        "agent": agent.id,
        "skill": skill.id(),
        "skill_version": skill.get_i64("version"),
        "totem": totem(),
        "task": task,
        "aspects": aspects,
        "expires": format_datetime(expires),
        "used": false,
    });
    let challenge = app.create_record(CHALLENGES, body).await?;
    Ok(Issued {
        challenge,
        skill,
        aspects,
    })
}

/// The configured provider's task, or the template's when there is none or it fails.
async fn write_task(app: &App, skill: &Record) -> Result<(String, Vec<String>)> {
    let provider = crate::state(app)?.task_provider.read().clone();
    if let Some(p) = provider {
        match p.write(&task_provider::prompt(skill)).await {
            Ok(t) => return Ok((t.task, t.aspects)),
            Err(why) => {
                tracing::warn!(skill = skill.id(), %why, "the task provider failed; using the template")
            }
        }
    }
    let (task, aspects) = template_task(skill, &mut rand::thread_rng());
    Ok((task, aspects.iter().map(|a| a.name.to_string()).collect()))
}

fn refused(field: &str, code: &'static str, message: &str) -> Error {
    Error::field(message, field, FieldError::new(code, message))
}

/// The challenge `id` if it lets `agent` submit this review of `skill`: issued to the
/// agent for this skill version, not expired, with this totem, which the review's text
/// quotes, and with a security score. Nothing is changed here.
pub async fn check(
    app: &App,
    agent: &Agent,
    skill: &Record,
    id: &str,
    totem: &str,
    review: &Submission,
) -> Result<Record> {
    // Another agent's challenge reads as missing: ids reveal nothing.
    let missing = || {
        refused(
            "challenge_id",
            "validation_challenge_missing",
            "No such challenge: it was used, or never issued to you.",
        )
    };
    if !framework::collections::is_valid_record_id(id) {
        return Err(missing());
    }
    let c = app.find_record(CHALLENGES, id).await?.ok_or_else(missing)?;
    if c.get_str("agent") != agent.id {
        return Err(missing());
    }
    if c.get_str("skill") != skill.id() {
        return Err(refused(
            "challenge_id",
            "validation_challenge_other_skill",
            "This challenge was issued for another skill.",
        ));
    }
    if c.get_i64("skill_version") != skill.get_i64("version") {
        return Err(refused(
            "challenge_id",
            "validation_challenge_old_version",
            "This challenge was issued for an earlier version of the skill: ask for a new one.",
        ));
    }
    if c.get_datetime("expires")
        .is_none_or(|t| t <= chrono::Utc::now())
    {
        return Err(refused(
            "challenge_id",
            "validation_challenge_expired",
            "This challenge has expired: ask for a new one.",
        ));
    }
    if c.get_str("totem") != totem.trim() {
        return Err(refused(
            "totem",
            "validation_totem_mismatch",
            "This is not the challenge's totem.",
        ));
    }
    let quoted = [
        &review.what_worked,
        &review.what_failed,
        &review.skill_feedback,
        &review.security_notes,
    ]
    .iter()
    .any(|t| t.contains(c.get_str("totem")));
    if !quoted {
        return Err(refused(
            "totem",
            "validation_totem_not_quoted",
            "Quote the totem in the review's text (what_worked, what_failed, skill_feedback or security_notes).",
        ));
    }
    if review.security_score.is_none() {
        return Err(refused(
            "security_score",
            "validation_required",
            "A challenged review gives a security_score.",
        ));
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use serde_json::Value;

    fn skill(category: &str) -> Record {
        let Value::Object(r) = json!({"id": "s1", "name": "acme/deploy", "description": "Ships things",
            "url": "https://acme.example", "category": category})
        else {
            unreachable!()
        };
        r
    }

    #[test]
    fn a_task_has_one_security_and_one_general_aspect() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        for _ in 0..50 {
            let (task, aspects) = template_task(&skill("devtools"), &mut rng);
            assert_eq!(aspects.len(), 2);
            assert!(SECURITY.contains(&aspects[0]));
            assert!(GENERAL.contains(&aspects[1]), "no API aspects for devtools");
            assert!(task.starts_with(
                "Review the skill 'acme/deploy' (Ships things) at https://acme.example. Focus"
            ));
            assert!(task.contains(&format!("1. {}: ", aspects[0].name)));
            assert!(task.contains(&format!("2. {}: ", aspects[1].name)));
        }
        let api_seen = (0..200).any(|_| {
            let (_, a) = template_task(&skill("api"), &mut rng);
            API.contains(&a[1])
        });
        assert!(api_seen, "API skills may get an API aspect");
    }

    #[test]
    fn totems_are_gather_and_eight_hex_digits() {
        let t = totem();
        assert_eq!(t.len(), 15);
        assert!(t.starts_with("GATHER-"));
        assert!(t[7..]
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_ne!(totem(), totem());
    }
}

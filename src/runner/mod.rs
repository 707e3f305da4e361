//! Server-run reviews (`POST /api/reviews`): a review command the machine's operator
//! configured (`--review-runner`, e.g. `claude -p -`) runs as a subprocess with the
//! prompt on stdin, at most `slots` at a time; the review moves `queued → running →
//! complete | failed`, each step a record update that realtime subscribers of the
//! review see. Without a runner the route answers 503 and says how to configure one.
//! Reviews a stopped server left queued or running are marked failed once they cannot
//! be running anywhere ([`fail_abandoned`]); a failed review may be run again.

mod output;
mod process;

use crate::reviews::{self, ReviewStatus, PROOFS, REVIEWS};
use crate::{skills, state, Agent};
use framework::collections::FieldError;
use framework::records::{format_datetime, Record, RecordFields, RecordQuery};
use framework::{App, Error, Result};
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// What an operator configured: the command and how many run at once.
#[derive(Debug, Clone)]
pub struct RunnerConfig {
    /// The program and its arguments (`["claude", "-p", "-"]`).
    pub command: Vec<String>,
    /// Reviews running at once; the rest wait, `queued`.
    pub slots: usize,
    /// A review still running after this is killed and `failed`.
    pub timeout: Duration,
    /// A review waiting longer than this for a slot fails ([`MAX_QUEUED`] by default).
    pub max_queued: Duration,
}

impl RunnerConfig {
    /// `command` split at spaces (a wrapper script holds anything more elaborate).
    pub fn parse(command: &str, slots: usize, timeout: Duration) -> Option<RunnerConfig> {
        let command: Vec<String> = command.split_whitespace().map(str::to_string).collect();
        (!command.is_empty()).then(|| RunnerConfig {
            command,
            slots: slots.max(1),
            timeout,
            max_queued: MAX_QUEUED,
        })
    }
}

/// The configured runner and its free slots.
pub(crate) struct Runner {
    config: RunnerConfig,
    slots: Arc<Semaphore>,
}

/// The longest a review waits for a free slot by default; then it fails, and so does a
/// review found queued longer than this (its server stopped).
pub const MAX_QUEUED: Duration = Duration::from_secs(3600);

/// What a review left behind by a stopped server says.
const ABANDONED: &str = "[The server running this review stopped before it finished: POST /api/reviews to run it again.]";

/// Sets the review runner of `app` (call after [`crate::setup`]), and marks failed the
/// reviews an earlier run of the server left behind ([`fail_abandoned`]).
pub async fn configure(app: &App, config: RunnerConfig) -> Result<()> {
    let g = state(app)?;
    let slots = Arc::new(Semaphore::new(config.slots));
    let failed = fail_abandoned(app, &config).await?;
    *g.runner.write() = Some(Arc::new(Runner { config, slots }));
    if failed > 0 {
        tracing::warn!(
            failed,
            "server-run reviews left by a stopped server were marked failed"
        );
    }
    Ok(())
}

/// Marks failed the server-run reviews that cannot be running on any instance: running
/// for over twice the timeout (a run is killed at the timeout), or queued for over
/// `max_queued` (a queued review gives up then). Returns how many.
pub async fn fail_abandoned(app: &App, config: &RunnerConfig) -> Result<u64> {
    let ago = |d: Duration| {
        let d = chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX);
        format_datetime(chrono::Utc::now() - d)
    };
    let q = RecordQuery::filter(
        "runner_type = {:server} && ((status = {:running} && updated < {:run_cutoff}) || (status = {:queued} && updated < {:queue_cutoff}))",
    )
    .bind("server", "server")
    .bind("running", ReviewStatus::Running.as_str())
    .bind("queued", ReviewStatus::Queued.as_str())
    .bind("run_cutoff", ago(config.timeout * 2))
    .bind("queue_cutoff", ago(config.max_queued));
    let mut failed = 0;
    for r in app.find_records(REVIEWS, &q).await? {
        let patch = json!({"status": ReviewStatus::Failed.as_str(), "cli_output": ABANDONED});
        app.update_record(REVIEWS, r.id(), patch).await?;
        failed += 1;
    }
    Ok(failed)
}

/// Queues a server-run review of skill `key` with `task` by `agent`; returns the queued
/// review at once.
pub async fn start(app: &App, agent: &Agent, key: &str, task: &str) -> Result<Record> {
    let g = state(app)?;
    let Some(runner) = g.runner.read().clone() else {
        return Err(Error::ServiceUnavailable(
            "No review runner is configured on this server: its operator starts it with --review-runner \"claude -p -\" (or GATHER_REVIEW_RUNNER). Until then, run the review yourself and POST /api/reviews/submit.".into(),
        ));
    };
    skills::may_take_part(app, agent, "review skills").await?;
    let skill = skills::get(app, key).await?;
    let version = skill.get_i64("version");
    let mut review = json!({
        "skill": skill.id(),
        "agent": agent.id,
        "skill_version": version,
        "status": ReviewStatus::Queued.as_str(),
        "task": task,
        "runner_type": "server",
        "verified_reviewer": agent.verified,
        "cli_output": "",
        "execution_time_ms": 0,
    });
    let taken = || {
        Error::Conflict(
            "You have a review of this skill version already; GET /api/reviews?agent_id= lists it."
                .into(),
        )
    };
    let mine = RecordQuery::filter("skill = {:skill} && agent = {:agent} && skill_version = {:v}")
        .bind("skill", skill.id())
        .bind("agent", agent.id.as_str())
        .bind("v", version);
    let review = match app.find_first(REVIEWS, &mine).await? {
        // A failed run counts for nothing; running it again replaces it.
        Some(r) if r.get_str("status") == ReviewStatus::Failed.as_str() => {
            review["score"] = json!(0);
            app.update_record(REVIEWS, r.id(), review).await?
        }
        Some(_) => return Err(taken()),
        None => app
            .create_record(REVIEWS, review)
            .await
            .map_err(|e| match e {
                Error::Validation { ref fields, .. } if fields.contains_key("skill_version") => {
                    taken()
                }
                other => other,
            })?,
    };
    let (app, id) = (app.clone(), review.id().to_string());
    let name = skill.get_str("name").to_string();
    tokio::spawn(async move {
        if let Err(e) = run(&app, &runner, &id, &name).await {
            tracing::error!(review = %id, error = %e, "a server-run review failed to record");
            let failed = json!({"status": ReviewStatus::Failed.as_str(), "cli_output": format!("The server could not record the review: {e}")});
            let _ = app.update_record(REVIEWS, &id, failed).await;
        }
    });
    Ok(review)
}

/// Waits for a slot, runs the review and records what came of it.
async fn run(app: &App, runner: &Runner, id: &str, skill: &str) -> Result<()> {
    let Ok(slot) = tokio::time::timeout(runner.config.max_queued, runner.slots.acquire()).await
    else {
        let why = format!(
            "[No runner slot came free within {} s: POST /api/reviews to try again.]",
            runner.config.max_queued.as_secs()
        );
        let failed = json!({"status": ReviewStatus::Failed.as_str(), "cli_output": why});
        app.update_record(REVIEWS, id, failed).await?;
        return Ok(());
    };
    let _slot = slot.map_err(|_| Error::internal("the runner's slots are closed"))?;
    let running = json!({"status": ReviewStatus::Running.as_str()});
    let review = app.update_record(REVIEWS, id, running).await?;
    let prompt = output::prompt(skill, review.get_str("task"));
    let started = Instant::now();
    let ran = process::run(&runner.config, &prompt, id).await;
    let elapsed = started.elapsed().as_millis() as u64;
    let cli_output = output::clip(&ran.output, reviews::limits::CLI_OUTPUT);
    let parsed = match ran.outcome {
        process::Outcome::Exited(0) => output::parse(&ran.output),
        process::Outcome::Exited(code) => Err(format!("the runner exited with status {code}")),
        process::Outcome::TimedOut => Err(format!(
            "the runner was killed after {} s",
            runner.config.timeout.as_secs()
        )),
        process::Outcome::NotStarted(e) => Err(format!("the runner could not start: {e}")),
    };
    let Ok(result) = parsed else {
        let why = parsed.err().unwrap_or_default();
        let failed = json!({
            "status": ReviewStatus::Failed.as_str(),
            "execution_time_ms": elapsed,
            "cli_output": output::clip(&format!("{cli_output}\n\n[{why}]"), reviews::limits::CLI_OUTPUT),
        });
        app.update_record(REVIEWS, id, failed).await?;
        return Ok(());
    };
    let complete = json!({
        "status": ReviewStatus::Complete.as_str(),
        "score": result.score,
        "security_score": result.security_score.unwrap_or(0.0),
        "what_worked": result.what_worked,
        "what_failed": result.what_failed,
        "skill_feedback": result.skill_feedback,
        "security_notes": result.security_notes,
        "agent_model": program_name(&runner.config),
        "execution_time_ms": elapsed,
        "cli_output": cli_output,
    });
    // The attestation first, then the review's completion (whose hook ranks the skill
    // with the proof in place); both in one transaction.
    let mut done = review.clone();
    if let Some(fields) = complete.as_object() {
        done.extend(fields.clone());
    }
    let claim = reviews::stored_claim(&done, skill);
    let mut proof = reviews::attestation(app, &claim, id)?;
    proof["review"] = json!(id);
    app.run_in_transaction(|tx| {
        tx.create(PROOFS, proof);
        tx.update(REVIEWS, id, complete);
        Ok(())
    })
    .await
    .map_err(|e| match e {
        Error::Batch { error, .. } => *error,
        other => other,
    })?;
    Ok(())
}

/// The 400 for a task that is too long or empty.
pub(crate) fn check_task(task: &str) -> Result<()> {
    let n = task.chars().count();
    if n == 0 || n > reviews::limits::TASK {
        return Err(Error::field(
            format!("Invalid task: 1 to {} characters.", reviews::limits::TASK),
            "task",
            FieldError::new("validation_length_out_of_range", "1 to 5000 characters."),
        ));
    }
    Ok(())
}

/// The runner's program without its directory (`claude`), recorded as the review's model.
fn program_name(c: &RunnerConfig) -> String {
    let program = c.command.first().map(String::as_str).unwrap_or_default();
    let name = std::path::Path::new(program)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or(program);
    name.chars().take(reviews::limits::MODEL).collect()
}

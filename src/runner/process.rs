//! Running the review command: its own empty working directory, a clean environment
//! (only `PATH`, and `HOME` pointing at that directory), the prompt on stdin, stdout and
//! stderr captured, killed at the timeout.

use super::RunnerConfig;
use std::process::Stdio;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;

/// How the command ended.
#[derive(Debug)]
pub enum Outcome {
    Exited(i32),
    TimedOut,
    NotStarted(String),
}

pub struct Ran {
    pub outcome: Outcome,
    /// stdout, then stderr.
    pub output: String,
}

/// The most output kept from a run, in bytes (the rest is dropped while reading).
const MAX_OUTPUT: usize = 1 << 20;

/// Runs `config.command` for review `id` with `prompt` on stdin.
pub async fn run(config: &RunnerConfig, prompt: &str, id: &str) -> Ran {
    // A fresh name made here (never an existing directory or a link someone placed
    // where a review id says it will be), private to the server's user.
    let suffix: u64 = rand::random();
    let dir = std::env::temp_dir().join(format!("gather-review-{id}-{suffix:016x}"));
    let ran = run_in(config, prompt, &dir).await;
    let _ = tokio::fs::remove_dir_all(&dir).await;
    ran
}

async fn run_in(config: &RunnerConfig, prompt: &str, dir: &std::path::Path) -> Ran {
    let not_started = |e: String| Ran {
        outcome: Outcome::NotStarted(e),
        output: String::new(),
    };
    if let Err(e) = make_private_dir(dir).await {
        return not_started(format!("cannot make its directory: {e}"));
    }
    let Some((program, args)) = config.command.split_first() else {
        return not_started("no command".into());
    };
    let mut cmd = Command::new(program);
    cmd.args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return not_started(format!("{program}: {e}")),
    };
    let (stdin, stdout, stderr) = (child.stdin.take(), child.stdout.take(), child.stderr.take());
    let prompt = prompt.as_bytes().to_vec();
    let feed = async move {
        if let Some(mut s) = stdin {
            // A runner that does not read its stdin is not an error.
            let _ = s.write_all(&prompt).await;
        }
    };
    let work = async {
        let (_, out, err, status) =
            tokio::join!(feed, read_capped(stdout), read_capped(stderr), child.wait());
        (out, err, status)
    };
    match tokio::time::timeout(config.timeout, work).await {
        Ok((out, err, status)) => {
            let code = status.ok().and_then(|s| s.code()).unwrap_or(-1);
            Ran {
                outcome: Outcome::Exited(code),
                output: joined(&out, &err),
            }
        }
        Err(_) => {
            // Dropping the future dropped its reads; kill and reap the process.
            let _ = child.kill().await;
            Ran {
                outcome: Outcome::TimedOut,
                output: String::new(),
            }
        }
    }
}

/// Creates `dir`, failing if anything is there already; mode 0700 on Unix.
async fn make_private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    let mut b = tokio::fs::DirBuilder::new();
    #[cfg(unix)]
    b.mode(0o700);
    b.create(dir).await
}

async fn read_capped(pipe: Option<impl tokio::io::AsyncRead + Unpin>) -> Vec<u8> {
    let mut kept = Vec::new();
    let Some(mut pipe) = pipe else { return kept };
    let mut buf = [0u8; 8192];
    // Reads to the end (so the process never blocks on a full pipe), keeping the start.
    while let Ok(n) = pipe.read(&mut buf).await {
        if n == 0 {
            break;
        }
        let room = MAX_OUTPUT.saturating_sub(kept.len());
        kept.extend_from_slice(&buf[..n.min(room)]);
    }
    kept
}

fn joined(out: &[u8], err: &[u8]) -> String {
    let (out, err) = (String::from_utf8_lossy(out), String::from_utf8_lossy(err));
    if err.trim().is_empty() {
        out.into_owned()
    } else {
        format!("{out}\n{err}")
    }
}

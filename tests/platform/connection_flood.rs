//! The `gather` binary under a low file-descriptor limit: a connection flood is shed with
//! 503s while the server idles.

use crate::common::*;

/// CPU time (user + system) of a process so far, in seconds (Linux `/proc`).
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = [11, 12]
        .iter()
        .filter_map(|&i| f.get(i)?.parse::<f64>().ok())
        .sum();
    ticks / 100.0
}

/// With few file descriptors, a flood of connections is shed with 503s while the server
/// idles: it neither spins on failing accepts nor stops answering afterwards.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn a_connection_flood_is_shed_without_spinning() {
    use std::time::Duration;
    let s = start().await;
    let port = free_port();
    let config = s.config();
    let dir = config.data_dir.join("flooded");
    let mut cmd = std::process::Command::new("bash");
    let mut line = format!(
        "ulimit -n 200 && exec \"$0\" --dir {} --secrets-dir {} serve --http 127.0.0.1:{port}",
        dir.display(),
        config.secrets_dir.clone().unwrap().display()
    );
    if let Some(url) = &config.database_url {
        line = line.replace("serve", &format!("--database-url {url} serve"));
    }
    let mut child = cmd
        .arg("-c")
        .arg(line)
        .arg(env!("CARGO_BIN_EXE_gather"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start gather");
    let health = format!("http://127.0.0.1:{port}/api/health");
    let up = wait_for_ok(&health, 200, Duration::from_millis(50)).await;
    assert!(up, "the limited server did not start");
    let mut held = Vec::new();
    for _ in 0..300 {
        if let Ok(c) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await {
            held.push(c);
        }
    }
    let before = cpu_seconds(child.id());
    tokio::time::sleep(Duration::from_secs(2)).await;
    let used = cpu_seconds(child.id()) - before;
    assert!(
        used < 0.5,
        "the server used {used:.2} s of CPU in 2 s while flooded"
    );
    // Connections past the cap were told why.
    let mut shed = 0;
    for c in held.iter_mut().rev().take(50) {
        let (answer, _) = read_until_closed(c, Duration::from_millis(200)).await;
        if answer.starts_with("HTTP/1.1 503") {
            shed += 1;
        }
    }
    assert!(shed > 0, "no connection was shed with a 503");
    drop(held);
    let back = wait_for_ok(&health, 100, Duration::from_millis(100)).await;
    let _ = child.kill();
    let _ = child.wait();
    assert!(back, "the server did not answer after the flood");
}

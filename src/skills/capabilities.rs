//! A static scan of a skill's text at publish time: what it asks an agent to do (run
//! shell commands, reach the network, write outside the project, read credentials).
//! Shown on the skill so a reader knows what to audit; nothing is ever executed.

use regex::RegexSet;
use serde::Serialize;
use std::sync::LazyLock;

/// What a skill's instructions ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Capability {
    Shell,
    Network,
    WritesOutsideProject,
    CredentialAccess,
}

impl Capability {
    const ALL: [Capability; 4] = [
        Capability::Shell,
        Capability::Network,
        Capability::WritesOutsideProject,
        Capability::CredentialAccess,
    ];

    /// Patterns that, on one line, show the capability.
    fn patterns(self) -> &'static [&'static str] {
        match self {
            Capability::Shell => &[
                r"^\s*```\s*(bash|sh|shell|zsh|console|powershell)\b",
                r"^\s*\$\s+\S",
                r"\b(sudo|chmod|chown|rm\s+-rf|bash\s+-c|sh\s+-c|eval|exec)\b",
                r"\b(npm|pnpm|yarn|pip3?|cargo|brew|apt(-get)?|gem|go)\s+(install|add|get)\b",
                r"\bBash\(",
            ],
            Capability::Network => &[
                r"\b(curl|wget|nc|ssh|scp|rsync|telnet)\s",
                r"https?://",
                r"\b(fetch\(|requests\.(get|post)|urllib|axios|WebFetch)",
            ],
            Capability::WritesOutsideProject => &[
                r"(>>?|\btee\b|\bcp\b|\bmv\b|\binstall\b|\bwrite\b).*(~/|\$HOME|/etc/|/usr/|/opt/|/var/|/tmp/)",
                r"\.(bashrc|zshrc|profile|bash_profile)\b",
                r"\bcrontab\b|\bsystemctl\s+enable\b|launchctl",
                r"\bexport\s+PATH=",
            ],
            Capability::CredentialAccess => &[
                r"~/\.(ssh|aws|gnupg|kube|docker|netrc|npmrc|pypirc)\b|\.ssh/|id_(rsa|ed25519)",
                r"\.env\b|\bcredentials?\b|\bkeychain\b|\bsecrets?\b",
                r"\b[A-Z0-9_]*(API_KEY|TOKEN|SECRET|PASSWORD)[A-Z0-9_]*\b",
            ],
        }
    }
}

/// One place a capability was seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub capability: Capability,
    /// The file it was seen in (`SKILL.md` or another file of the skill).
    pub file: String,
    /// 1-based.
    pub line: usize,
    /// The line, cut to 200 characters.
    pub excerpt: String,
}

/// At most this many findings are kept per capability (the first ones).
const MAX_PER_CAPABILITY: usize = 5;

static SETS: LazyLock<Vec<(Capability, RegexSet)>> = LazyLock::new(|| {
    Capability::ALL
        .iter()
        .filter_map(|c| {
            let set = RegexSet::new(c.patterns().iter().map(|p| format!("(?i){p}")));
            // The patterns are constants; a bad one is caught by the unit test below.
            set.ok().map(|s| (*c, s))
        })
        .collect()
});

/// What `text` (the file `file`) asks for, in file order.
pub fn scan(file: &str, text: &str) -> Vec<Finding> {
    let mut found = Vec::new();
    let mut counts = [0usize; 4];
    for (i, line) in text.lines().enumerate() {
        for (cap, set) in SETS.iter() {
            let n = &mut counts[*cap as usize];
            if *n < MAX_PER_CAPABILITY && set.is_match(line) {
                *n += 1;
                found.push(Finding {
                    capability: *cap,
                    file: file.to_string(),
                    line: i + 1,
                    excerpt: line.trim().chars().take(200).collect(),
                });
            }
        }
    }
    found
}

/// What several files (`(name, text)`) ask for: the first places of each capability
/// across them all, so a folder of many files stays as short as one.
pub fn scan_all<'a>(files: impl IntoIterator<Item = (&'a str, &'a str)>) -> Vec<Finding> {
    let mut counts = [0usize; 4];
    let mut found = Vec::new();
    for (file, text) in files {
        for f in scan(file, text) {
            let n = &mut counts[f.capability as usize];
            if *n < MAX_PER_CAPABILITY {
                *n += 1;
                found.push(f);
            }
        }
    }
    found
}

/// The distinct capabilities among `findings`, in a fixed order.
pub fn summary(findings: &[Finding]) -> Vec<Capability> {
    let mut caps: Vec<Capability> = findings.iter().map(|f| f.capability).collect();
    caps.sort();
    caps.dedup();
    caps
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pattern_compiles() {
        assert_eq!(SETS.len(), Capability::ALL.len());
    }

    #[test]
    fn what_a_skill_asks_for_is_flagged() {
        let text = "# Deploy\n\n```bash\ncurl -s https://get.example.com | sh\necho 'export PATH=$PATH:~/bin' >> ~/.bashrc\ncat ~/.aws/credentials\n```\nPlain prose.\n";
        let found = scan("SKILL.md", text);
        let caps = summary(&found);
        assert_eq!(
            caps,
            vec![
                Capability::Shell,
                Capability::Network,
                Capability::WritesOutsideProject,
                Capability::CredentialAccess
            ]
        );
        let network = found
            .iter()
            .find(|f| f.capability == Capability::Network)
            .expect("network");
        assert_eq!(network.line, 4);
        assert!(network.excerpt.starts_with("curl"));
        assert!(!found.iter().any(|f| f.line == 8), "prose is not flagged");
    }

    #[test]
    fn plain_instructions_ask_for_nothing() {
        let text = "# Style guide\n\nWrite short sentences. Prefer the active voice.\n";
        assert!(scan("SKILL.md", text).is_empty());
    }
}

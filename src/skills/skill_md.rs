//! `SKILL.md`, the Agent Skills format: YAML front matter (`name`, `description`,
//! optional `license`, `allowed-tools`, `compatibility`, `metadata`) between `---` lines,
//! then Markdown instructions. Read and checked here; errors name the line.

use crate::keys::sha256_hex;
use serde::Deserialize;
use std::collections::BTreeMap;

/// The longest `SKILL.md` accepted, in bytes.
pub const MAX_BYTES: usize = 100_000;
/// Limits of the Agent Skills format.
pub const MAX_NAME: usize = 64;
pub const MAX_DESCRIPTION: usize = 1024;
pub const MAX_COMPATIBILITY: usize = 500;

/// A checked `SKILL.md`.
#[derive(Debug, Clone, PartialEq)]
pub struct SkillMd {
    pub name: String,
    pub description: String,
    pub license: Option<String>,
    pub allowed_tools: Vec<String>,
    pub compatibility: Option<String>,
    pub metadata: BTreeMap<String, String>,
    /// The Markdown after the front matter.
    pub body: String,
    /// Lowercase hex SHA-256 of the whole text as given.
    pub sha256: String,
}

/// Why a `SKILL.md` was refused; `line` counts from 1 in the whole file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("SKILL.md line {line}: {message}")]
pub struct SkillMdError {
    pub line: usize,
    pub message: String,
}

fn error(line: usize, message: impl Into<String>) -> SkillMdError {
    SkillMdError {
        line,
        message: message.into(),
    }
}

/// `allowed-tools` is a space-separated string in the format; a list is accepted too.
#[derive(Deserialize)]
#[serde(untagged)]
enum Tools {
    Text(String),
    List(Vec<String>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FrontMatter {
    name: Option<String>,
    description: Option<String>,
    license: Option<String>,
    #[serde(rename = "allowed-tools")]
    allowed_tools: Option<Tools>,
    compatibility: Option<String>,
    metadata: Option<BTreeMap<String, String>>,
}

/// Reads and checks `text`.
pub fn parse(text: &str) -> Result<SkillMd, SkillMdError> {
    if text.len() > MAX_BYTES {
        return Err(error(1, format!("the file is over {MAX_BYTES} bytes")));
    }
    let text_no_bom = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text_no_bom.split_inclusive('\n');
    if lines.next().map(str::trim_end) != Some("---") {
        return Err(error(
            1,
            "a SKILL.md starts with front matter: a line `---`, YAML, and a closing `---`",
        ));
    }
    let mut yaml = String::new();
    let mut closed_at = None;
    let mut consumed = 0;
    for (i, line) in lines.by_ref().enumerate() {
        consumed += line.len();
        if line.trim_end() == "---" {
            closed_at = Some(i + 2);
            break;
        }
        yaml.push_str(line);
    }
    let Some(closing_line) = closed_at else {
        return Err(error(1, "the front matter has no closing `---` line"));
    };
    let first_line_len = text_no_bom.find('\n').map_or(text_no_bom.len(), |n| n + 1);
    let body = text_no_bom[first_line_len + consumed..].to_string();
    let front: FrontMatter = serde_norway::from_str(&yaml).map_err(|e| {
        // YAML lines count from the line after the opening `---`.
        let line = e.location().map_or(2, |l| l.line() + 1);
        let message = e.to_string();
        let message = message.split(" at line ").next().unwrap_or(&message);
        error(line, message.to_string())
    })?;
    let line_of = |key: &str| {
        yaml.lines()
            .position(|l| l.starts_with(&format!("{key}:")))
            .map_or(closing_line, |i| i + 2)
    };
    let name = front
        .name
        .ok_or_else(|| error(closing_line, "`name` is missing"))?;
    check_name(&name).map_err(|m| error(line_of("name"), m))?;
    let description = front
        .description
        .map(|d| d.trim().to_string())
        .ok_or_else(|| error(closing_line, "`description` is missing"))?;
    if description.is_empty() || description.chars().count() > MAX_DESCRIPTION {
        return Err(error(
            line_of("description"),
            format!("`description` must be 1-{MAX_DESCRIPTION} characters"),
        ));
    }
    if let Some(c) = &front.compatibility {
        if c.chars().count() > MAX_COMPATIBILITY {
            return Err(error(
                line_of("compatibility"),
                format!("`compatibility` must be at most {MAX_COMPATIBILITY} characters"),
            ));
        }
    }
    let allowed_tools = match front.allowed_tools {
        None => Vec::new(),
        Some(Tools::Text(t)) => t.split_whitespace().map(str::to_string).collect(),
        Some(Tools::List(l)) => l,
    };
    Ok(SkillMd {
        name,
        description,
        license: front.license,
        allowed_tools,
        compatibility: front.compatibility,
        metadata: front.metadata.unwrap_or_default(),
        body,
        sha256: sha256_hex(text.as_bytes()),
    })
}

/// The format's rule for `name`: 1-64 lowercase letters, digits and hyphens, no hyphen
/// at either end or twice in a row.
pub fn check_name(name: &str) -> Result<(), String> {
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME
        && ok_chars
        && !name.starts_with('-')
        && !name.ends_with('-')
        && !name.contains("--");
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`name` must be 1-{MAX_NAME} lowercase letters, digits and hyphens (no hyphen at either end or twice in a row), got {name:?}"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "---\nname: pdf-tools\ndescription: Fill and merge PDF forms.\nlicense: MIT\nallowed-tools: Bash(pdftk:*) Read\nmetadata:\n  author: anthropics\n  version: \"1.2\"\n---\n# PDF tools\n\nRun `pdftk`.\n";

    #[test]
    fn a_skill_md_is_read() {
        let s = parse(GOOD).expect("valid");
        assert_eq!(s.name, "pdf-tools");
        assert_eq!(s.description, "Fill and merge PDF forms.");
        assert_eq!(s.license.as_deref(), Some("MIT"));
        assert_eq!(s.allowed_tools, vec!["Bash(pdftk:*)", "Read"]);
        assert_eq!(s.metadata["author"], "anthropics");
        assert_eq!(s.body, "# PDF tools\n\nRun `pdftk`.\n");
        assert_eq!(s.sha256, sha256_hex(GOOD.as_bytes()));
        assert_eq!(s.sha256.len(), 64);
        // CRLF files and a list of tools work too.
        let crlf = GOOD
            .replace(
                "allowed-tools: Bash(pdftk:*) Read",
                "allowed-tools: [Read, Grep]",
            )
            .replace('\n', "\r\n");
        let s = parse(&crlf).expect("crlf");
        assert_eq!(s.allowed_tools, vec!["Read", "Grep"]);
        assert!(s.body.starts_with("# PDF tools"));
    }

    #[test]
    fn errors_name_the_line() {
        let cases = [
            ("# no front matter\n", 1, "starts with front matter"),
            ("---\nname: a\ndescription: b\n", 1, "no closing"),
            ("---\nname: a\n---\nbody", 3, "`description` is missing"),
            ("---\ndescription: b\n---\n", 3, "`name` is missing"),
            ("---\nname: Bad_Name\ndescription: b\n---\n", 2, "lowercase"),
            ("---\ndescription: b\nname: -x\n---\n", 3, "lowercase"),
            ("---\nname: a--b\ndescription: b\n---\n", 2, "twice"),
            (
                "---\nname: a\ndescription: b\ncolour: red\n---\n",
                4,
                "unknown field",
            ),
            (
                "---\nname: a\ndescription: [unclosed\n---\n",
                3,
                "description",
            ),
            ("---\nname: a\ndescription: \"\"\n---\n", 3, "1-1024"),
        ];
        for (text, line, says) in cases {
            let e = parse(text).expect_err(text);
            assert_eq!(e.line, line, "{text}: {e:?}");
            assert!(e.message.contains(says), "{text}: {e}");
        }
        let long = format!("---\nname: a\ndescription: {}\n---\n", "x".repeat(1025));
        assert_eq!(parse(&long).expect_err("long").line, 3);
        let name = "a".repeat(65);
        assert!(check_name(&name).is_err());
        assert!(check_name(&"a".repeat(64)).is_ok());
        assert!(parse(&"x".repeat(MAX_BYTES + 1)).is_err());
    }
}

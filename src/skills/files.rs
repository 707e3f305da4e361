//! A skill's other files (the scripts, references and assets beside its `SKILL.md` in
//! an Agent Skills folder): paths and sizes checked, text scanned for capabilities, one
//! `skill_files` record each, replaced as a whole by each new version.

use super::capabilities::{self, Finding};
use super::invalid;
use crate::keys::sha256_hex;
use framework::files::FormFile;
use framework::records::{Record, RecordQuery};
use framework::{App, Error, Result};
use serde_json::{json, Value};

pub(crate) const SKILL_FILES: &str = "skill_files";

/// Files one skill version may carry, each at most `FILE_BYTES`, together at most
/// `TOTAL_BYTES` (413 over a size).
pub const MAX_FILES: usize = 50;
pub const FILE_BYTES: usize = 5 << 20;
pub const TOTAL_BYTES: usize = 10 << 20;
/// A path's length and depth (`scripts/fill.py` is 2 deep).
pub const MAX_PATH: usize = 200;
const MAX_DEPTH: usize = 5;

/// A file of the skill's folder, at its path relative to the folder.
#[derive(Debug, Clone)]
pub struct SkillFile {
    pub path: String,
    pub data: bytes::Bytes,
}

impl SkillFile {
    pub fn sha256(&self) -> String {
        sha256_hex(&self.data)
    }
}

/// Why `path` cannot name a file of a skill folder, if it cannot.
fn path_problem(path: &str) -> Option<&'static str> {
    if path.is_empty() || path.len() > MAX_PATH {
        return Some("a path is 1 to 200 characters");
    }
    if path.starts_with('/') || path.contains('\\') {
        return Some("a path is relative, with `/` between its parts");
    }
    let parts: Vec<&str> = path.split('/').collect();
    if parts.len() > MAX_DEPTH {
        return Some("a path is at most 5 parts deep");
    }
    let part_ok = |p: &&str| {
        !p.is_empty()
            && *p != "."
            && *p != ".."
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    };
    if !parts.iter().all(part_ok) {
        return Some("each part is letters, digits, `.`, `_` and `-` (not `.` or `..`)");
    }
    if path.eq_ignore_ascii_case("SKILL.md") {
        return Some("the SKILL.md goes in `skill_md`, not among the files");
    }
    None
}

/// Checks count, paths (unique) and sizes; nothing is stored past them.
pub fn check(files: &[SkillFile]) -> Result<()> {
    if files.len() > MAX_FILES {
        return Err(invalid(
            "files",
            "validation_too_many_files",
            format!("at most {MAX_FILES} files beside the SKILL.md."),
        ));
    }
    for (i, f) in files.iter().enumerate() {
        if let Some(problem) = path_problem(&f.path) {
            return Err(invalid(
                "files",
                "validation_invalid_path",
                format!("file {i} ({:?}): {problem}.", f.path),
            ));
        }
        if files[..i].iter().any(|g| g.path == f.path) {
            return Err(invalid(
                "files",
                "validation_duplicate_path",
                format!("{:?} is given twice.", f.path),
            ));
        }
        if f.data.len() > FILE_BYTES {
            return Err(Error::PayloadTooLarge(format!(
                "The file {:?} is {} bytes; each may be at most {FILE_BYTES} bytes.",
                f.path,
                f.data.len()
            )));
        }
    }
    let total: usize = files.iter().map(|f| f.data.len()).sum();
    if total > TOTAL_BYTES {
        return Err(Error::PayloadTooLarge(format!(
            "The files are {total} bytes together; at most {TOTAL_BYTES} bytes."
        )));
    }
    Ok(())
}

/// What the `SKILL.md` and the files that are text ask for (binary files are listed,
/// not read).
pub fn scan(skill_md: &str, files: &[SkillFile]) -> Vec<Finding> {
    let texts = files.iter().filter_map(|f| {
        std::str::from_utf8(&f.data)
            .ok()
            .map(|t| (f.path.as_str(), t))
    });
    capabilities::scan_all(std::iter::once(("SKILL.md", skill_md)).chain(texts))
}

/// The stored files of `skill`, by path.
pub async fn of(app: &App, skill: &str) -> Result<Vec<Record>> {
    let q = RecordQuery::filter("skill = {:skill}")
        .bind("skill", skill)
        .sort("path");
    app.find_records(SKILL_FILES, &q).await
}

/// The record and upload storing `file` for `skill`.
pub(crate) fn record(skill: &str, file: &SkillFile) -> (Value, FormFile) {
    let name = file.path.rsplit('/').next().unwrap_or(&file.path);
    let upload = FormFile::new("file", name, file.data.clone());
    let body = json!({
        "skill": skill,
        "path": file.path,
        "mime_type": upload.mime(),
        "size_bytes": file.data.len(),
        "sha256": file.sha256(),
    });
    (body, upload)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, size: usize) -> SkillFile {
        SkillFile {
            path: path.into(),
            data: vec![b'x'; size].into(),
        }
    }

    #[test]
    fn paths_stay_inside_the_folder() {
        for ok in [
            "scripts/fill.py",
            "reference.md",
            "assets/fonts/a-b_c.ttf",
            ".env.example",
        ] {
            assert_eq!(path_problem(ok), None, "{ok}");
        }
        for bad in [
            "",
            "/etc/passwd",
            "../up",
            "a/../b",
            "a//b",
            "./a",
            "a\\b",
            "SKILL.md",
            "skill.MD",
            "a b",
            "a/b/c/d/e/f",
            "ü.md",
        ] {
            assert!(path_problem(bad).is_some(), "{bad:?}");
        }
        assert!(path_problem(&"a".repeat(201)).is_some());
    }

    #[test]
    fn counts_sizes_and_duplicates_are_bounded() {
        assert!(check(&[file("a", 1), file("b", FILE_BYTES)]).is_ok());
        assert!(check(&vec![file("a", 1); 2]).is_err());
        let many: Vec<SkillFile> = (0..=MAX_FILES).map(|i| file(&format!("f{i}"), 1)).collect();
        assert!(matches!(check(&many), Err(Error::Validation { .. })));
        assert!(matches!(
            check(&[file("big", FILE_BYTES + 1)]),
            Err(Error::PayloadTooLarge(_))
        ));
        let three: Vec<SkillFile> = (0..3).map(|i| file(&format!("f{i}"), FILE_BYTES)).collect();
        assert!(matches!(check(&three), Err(Error::PayloadTooLarge(_))));
    }

    #[test]
    fn text_files_are_scanned_and_binary_ones_are_not() {
        let files = [
            SkillFile {
                path: "scripts/get.sh".into(),
                data: "curl https://example.com\n".into(),
            },
            SkillFile {
                path: "logo.png".into(),
                data: vec![0x89, b'P', 0xff, 0xfe].into(),
            },
        ];
        let found = scan("# plain\n", &files);
        assert!(!found.is_empty());
        assert!(found.iter().all(|f| f.file == "scripts/get.sh"));
    }
}

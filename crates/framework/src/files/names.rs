//! Stored file names: the client's name made safe, plus a random suffix, as PocketBase
//! names them (`Photo 1.PNG` → `photo_1_k3j2h1g0f9.png`).

use crate::collections::ids::random_from;

const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// The name to store an upload called `original` (with content type `mime`) under.
pub fn stored_name(original: &str, mime: &str) -> String {
    // Only the last path segment counts: browsers may send `C:\dir\name.png`.
    let base = original.rsplit(['/', '\\']).next().unwrap_or_default();
    let (stem, ext) = match base.rsplit_once('.') {
        Some((s, e)) if !s.is_empty() => (s, e),
        _ => (base, ""),
    };
    let mut ext: String = ext
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(20)
        .collect::<String>()
        .to_ascii_lowercase();
    if ext.is_empty() {
        ext = extension_for(mime).to_string();
    }
    let mut clean = String::new();
    for c in stem.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            clean.push(c);
        } else if !clean.ends_with('_') {
            clean.push('_');
        }
    }
    let mut clean: String = clean.trim_matches('_').chars().take(100).collect();
    if clean.len() < 3 {
        clean.push_str(&random_from(ALPHABET, 10));
    }
    let suffix = random_from(ALPHABET, 10);
    if ext.is_empty() {
        format!("{clean}_{suffix}")
    } else {
        format!("{clean}_{suffix}.{ext}")
    }
}

fn extension_for(mime: &str) -> &'static str {
    match mime.split(';').next().unwrap_or_default() {
        "image/png" => "png",
        "image/jpeg" => "jpg",
        "image/gif" => "gif",
        "image/webp" => "webp",
        "image/svg+xml" => "svg",
        "application/pdf" => "pdf",
        "text/plain" => "txt",
        "text/html" => "html",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(name: &str) -> (String, String) {
        let (stem, ext) = name.rsplit_once('.').unwrap_or((name, ""));
        let (base, suffix) = stem.rsplit_once('_').expect("a suffix");
        assert_eq!(suffix.len(), 10, "{name}");
        (base.to_string(), ext.to_string())
    }

    #[test]
    fn names_are_safe_and_unique() {
        assert_eq!(
            shape(&stored_name("Photo 1.PNG", "image/png")),
            ("photo_1".into(), "png".into())
        );
        assert_eq!(
            shape(&stored_name("../../etc/passwd", "text/plain")),
            ("passwd".into(), "txt".into())
        );
        assert_eq!(
            shape(&stored_name(
                "C:\\Users\\me\\report.final.pdf",
                "application/pdf"
            )),
            ("report_final".into(), "pdf".into())
        );
        let (base, ext) = shape(&stored_name("a", "image/png"));
        assert_eq!(
            (base.len(), ext.as_str()),
            (11, "png"),
            "short names get a random part"
        );
        let (base, _) = shape(&stored_name(&"x".repeat(300), ""));
        assert_eq!(base.len(), 100);
        assert_ne!(stored_name("a.txt", ""), stored_name("a.txt", ""));
        let odd = stored_name("..", "");
        assert!(!odd.contains('.') && !odd.contains('/'), "{odd}");
    }
}

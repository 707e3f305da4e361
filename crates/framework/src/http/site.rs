//! An app's web pages, served beside the API: files embedded in the binary (a built
//! front end), sections whose every path falls back to the section's page (history-API
//! routing), the home page for browsers only, and caching fit for hashed assets.

use bytes::Bytes;
use poem::http::{header, HeaderMap, Method, StatusCode};
use poem::{Endpoint, IntoResponse, Request, Response};
use rust_embed::{EmbeddedFile, RustEmbed};
use std::sync::Arc;

/// Where a built front end's content-hashed files are (Vite's `assets/`): cached for a
/// year, since a new build gives them new names.
const HASHED_DIR: &str = "assets/";

/// How long browsers keep the other files (`/llms.txt`, icons) without asking again.
const SHORT_CACHE: &str = "public, max-age=3600";
const IMMUTABLE_CACHE: &str = "public, max-age=31536000, immutable";

/// The policy pages get unless the app sets its own: everything from this origin, no
/// plugins, no framing, no inline scripts (so text a page renders cannot run).
const DEFAULT_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

/// Web pages to serve: give it to [`crate::App::serve_site`] before the server starts.
///
/// ```ignore
/// #[derive(rust_embed::RustEmbed)]
/// #[folder = "web/dist"]
/// struct Web;
/// app.serve_site(Site::embedded::<Web>().home("index.html").section("/shop", "shop/index.html"));
/// ```
pub struct Site {
    get: fn(&str) -> Option<EmbeddedFile>,
    home: Option<String>,
    /// `(path prefix, page)`, longest prefix first.
    sections: Vec<(String, String)>,
    policy: String,
}

impl Site {
    /// The files of a `#[derive(RustEmbed)]` folder; each is served at its own path.
    pub fn embedded<E: RustEmbed>() -> Site {
        Site {
            get: E::get,
            home: None,
            sections: Vec::new(),
            policy: DEFAULT_POLICY.to_string(),
        }
    }

    /// The page browsers get at `/` (requests that accept `text/html`); other clients
    /// get the API's answer there.
    pub fn home(mut self, page: &str) -> Site {
        self.home = Some(page.to_string());
        self
    }

    /// Every path under `prefix` (like `/shop`) that names no file gets `page`, so the
    /// section's own router can read the path.
    pub fn section(mut self, prefix: &str, page: &str) -> Site {
        let prefix = prefix.trim_end_matches('/').to_string();
        self.sections.push((prefix, page.to_string()));
        self.sections
            .sort_by_key(|(p, _)| std::cmp::Reverse(p.len()));
        self
    }

    /// The `Content-Security-Policy` of pages, in place of the default one.
    pub fn content_security_policy(mut self, policy: &str) -> Site {
        self.policy = policy.to_string();
        self
    }

    /// The file a request for `path` gets, and whether it is a page (HTML); `None` when
    /// the site has nothing there and the API answers.
    fn resolve(&self, path: &str, wants_html: bool) -> Option<(String, bool)> {
        if path == "/" {
            let page = self.home.as_ref().filter(|_| wants_html)?;
            return Some((page.clone(), true));
        }
        let file = path.trim_start_matches('/');
        if !file.is_empty() && !file.ends_with('/') && (self.get)(file).is_some() {
            return Some((file.to_string(), file.ends_with(".html")));
        }
        self.sections
            .iter()
            .find(|(prefix, _)| {
                path.strip_prefix(prefix.as_str())
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
            })
            .map(|(_, page)| (page.clone(), true))
    }

    fn answer(&self, req: &Request, file: &str, page: bool) -> Option<Response> {
        let gzip = accepts_gzip(req.headers());
        let (stored, encoded) = match gzip.then(|| (self.get)(&format!("{file}.gz"))).flatten() {
            Some(f) => (f, true),
            None => ((self.get)(file)?, false),
        };
        let etag = format!(
            "\"{}{}\"",
            hex(&stored.metadata.sha256_hash()[..12]),
            if encoded { "-gz" } else { "" }
        );
        let mut resp = Response::builder()
            .header(header::ETAG, etag.as_str())
            .header(header::VARY, "Accept-Encoding")
            .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
            .header(header::CACHE_CONTROL, cache_control(file, page));
        if page {
            resp = resp
                .header(header::CONTENT_SECURITY_POLICY, self.policy.as_str())
                .header(header::X_FRAME_OPTIONS, "DENY")
                .header(header::REFERRER_POLICY, "strict-origin-when-cross-origin");
        }
        if encoded {
            resp = resp.header(header::CONTENT_ENCODING, "gzip");
        }
        let unchanged = req
            .headers()
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|tags| tags.split(',').any(|t| t.trim() == etag));
        if unchanged {
            return Some(resp.status(StatusCode::NOT_MODIFIED).finish());
        }
        let body = match stored.data {
            _ if req.method() == Method::HEAD => Bytes::new(),
            // Release builds embed the files: served from the binary, not copied.
            std::borrow::Cow::Borrowed(b) => Bytes::from_static(b),
            std::borrow::Cow::Owned(v) => Bytes::from(v),
        };
        Some(resp.content_type(content_type(file)).body(body))
    }
}

/// Answers the site's requests (GET and HEAD on its paths); passes the rest on.
pub(crate) async fn serve<E: Endpoint>(
    next: Arc<E>,
    req: Request,
    site: Option<Arc<Site>>,
) -> poem::Result<Response> {
    let Some(site) = site else {
        return next.call(req).await.map(IntoResponse::into_response);
    };
    let path = req.uri().path();
    let api = path.starts_with("/api/") || path.starts_with("/_/");
    let readable = req.method() == Method::GET || req.method() == Method::HEAD;
    if !api && readable {
        let wants_html = req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("text/html"));
        if let Some((file, page)) = site.resolve(path, wants_html) {
            if let Some(resp) = site.answer(&req, &file, page) {
                return Ok(resp);
            }
        }
    }
    next.call(req).await.map(IntoResponse::into_response)
}

fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';');
            let name = parts.next().unwrap_or_default().trim();
            let refused = parts.any(|p| p.trim().replace(' ', "") == "q=0");
            name.eq_ignore_ascii_case("gzip") && !refused
        })
}

fn cache_control(file: &str, page: bool) -> &'static str {
    if page {
        // Pages name the hashed files of the current build: always ask (304 if unchanged).
        "no-cache"
    } else if file.starts_with(HASHED_DIR) {
        IMMUTABLE_CACHE
    } else {
        SHORT_CACHE
    }
}

fn content_type(file: &str) -> &'static str {
    let ext = file.rsplit_once('.').map(|(_, e)| e).unwrap_or_default();
    match ext.to_ascii_lowercase().as_str() {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "txt" => "text/plain; charset=utf-8",
        "md" => "text/markdown; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "webmanifest" => "application/manifest+json",
        _ => "application/octet-stream",
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use poem::http::HeaderValue;

    #[derive(RustEmbed)]
    #[folder = "tests/site_files"]
    struct Files;

    fn site() -> Site {
        Site::embedded::<Files>()
            .home("index.html")
            .section("/shop", "shop/index.html")
            .section("/join", "shop/index.html")
    }

    #[test]
    fn paths_resolve_to_files_then_sections_and_home_only_for_browsers() {
        let s = site();
        assert_eq!(s.resolve("/", true), Some(("index.html".into(), true)));
        assert_eq!(s.resolve("/", false), None, "the API answers machines at /");
        assert_eq!(
            s.resolve("/assets/app.js", false),
            Some(("assets/app.js".into(), false))
        );
        for p in ["/shop", "/shop/", "/shop/order/42", "/join/ABCD2345"] {
            assert_eq!(
                s.resolve(p, false),
                Some(("shop/index.html".into(), true)),
                "{p}"
            );
        }
        assert_eq!(
            s.resolve("/shopping", true),
            None,
            "a prefix is a whole segment"
        );
        assert_eq!(s.resolve("/assets/missing.js", true), None);
        assert_eq!(s.resolve("/help", true), None);
    }

    #[test]
    fn hashed_files_are_cached_for_good_pages_never_without_asking() {
        assert_eq!(cache_control("assets/app-1a2b.js", false), IMMUTABLE_CACHE);
        assert_eq!(cache_control("llms.txt", false), SHORT_CACHE);
        assert_eq!(cache_control("shop/index.html", true), "no-cache");
    }

    #[test]
    fn gzip_is_used_only_when_accepted() {
        let mut h = HeaderMap::new();
        assert!(!accepts_gzip(&h));
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("br, gzip;q=0.8"),
        );
        assert!(accepts_gzip(&h));
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("gzip; q=0, br"),
        );
        assert!(!accepts_gzip(&h));
    }
}

//! `/_/`: the operator dashboard (`admin-ui/`, a Svelte app), embedded in the binary.
//! It is a client of the public API only; this module serves its files, with the app's
//! name put into the page (the dashboard shows it; it names no app of its own).

use bytes::Bytes;
use poem::endpoint::EmbeddedFilesEndpoint;
use poem::{Endpoint, IntoResponse, Request, Response, Result};
use rust_embed::RustEmbed;

/// The built dashboard (`admin-ui/dist`, committed, rebuilt by CI from `admin-ui/src`).
#[derive(RustEmbed)]
#[folder = "admin-ui/dist"]
pub struct AdminUi;

/// Where `index.html` takes the app's name (`<meta name="app-name">`).
const NAME_PLACEHOLDER: &str = "%APP_NAME%";

/// Serves the dashboard's files, its page with `app_name` in it; `/_` redirects to `/_/`.
pub fn endpoint(app_name: &str) -> impl Endpoint {
    let page = AdminUi::get("index.html")
        .map(|f| String::from_utf8_lossy(&f.data).replace(NAME_PLACEHOLDER, &escape(app_name)))
        .unwrap_or_default()
        .into();
    Dashboard {
        page,
        files: EmbeddedFilesEndpoint::new(),
    }
}

struct Dashboard {
    /// `index.html` with the name in it, made once (cheap to clone per request).
    page: Bytes,
    files: EmbeddedFilesEndpoint<AdminUi>,
}

impl Endpoint for Dashboard {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Response> {
        let path = req.uri().path().trim_start_matches('/');
        if path == "index.html" || (path.is_empty() && req.original_uri().path().ends_with('/')) {
            return Ok(Response::builder()
                .content_type("text/html; charset=utf-8")
                .body(self.page.clone()));
        }
        self.files.call(req).await.map(IntoResponse::into_response)
    }
}

/// The name as HTML attribute text.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_page_has_a_place_for_the_name_and_the_name_is_escaped() {
        let page = super::AdminUi::get("index.html").expect("index.html");
        assert!(String::from_utf8_lossy(&page.data).contains(super::NAME_PLACEHOLDER));
        assert_eq!(
            super::escape("A \"b\" <c> & d"),
            "A &quot;b&quot; &lt;c&gt; &amp; d"
        );
    }
}

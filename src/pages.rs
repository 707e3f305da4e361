//! Gather's web pages (`gather-ui/`, built into `gather-ui/dist` and embedded): `/` for
//! browsers, and each section's page for every path under it.

use framework::http::Site;
use rust_embed::RustEmbed;

/// The built pages (`gather-ui/dist`, committed; CI rebuilds it from `gather-ui/src`).
#[derive(RustEmbed)]
#[folder = "gather-ui/dist"]
struct Pages;

/// The site: the landing page, and the sections with their own routers.
pub fn site() -> Site {
    Site::embedded::<Pages>()
        .home("index.html")
        .section("/skills", "skills/index.html")
        .section("/account", "account/index.html")
        .section("/shop", "shop/index.html")
        .section("/agents", "agents/index.html")
        .section("/app", "app/index.html")
        .section("/join", "app/index.html")
}

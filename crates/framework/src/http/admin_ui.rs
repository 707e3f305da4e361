//! `/_/`: the operator dashboard (`admin-ui/`, a Svelte app), embedded in the binary.
//! It is a client of the public API only; this module just serves its files.

use poem::endpoint::EmbeddedFilesEndpoint;
use rust_embed::RustEmbed;

/// The built dashboard (`admin-ui/dist`, committed, rebuilt by CI from `admin-ui/src`).
#[derive(RustEmbed)]
#[folder = "admin-ui/dist"]
pub struct AdminUi;

/// Serves the dashboard's files; `/_` redirects to `/_/`.
pub fn endpoint() -> EmbeddedFilesEndpoint<AdminUi> {
    EmbeddedFilesEndpoint::new()
}

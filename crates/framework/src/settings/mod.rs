//! Settings: the server's settings document, and the named JSON documents (`_params`)
//! it and an app's own settings are kept in.

pub(crate) mod model;
pub(crate) mod params;

pub use model::{merge, Settings};
pub use params::{delete, load, load_or_init, save};

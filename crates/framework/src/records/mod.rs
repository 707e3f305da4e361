//! Records: reads through the API rules, writes as checked plans committed alone or in
//! batches, expand, the columns behind field values, uploads, counts, and the app's own
//! typed API (`App::find_record` and the rest, as the system).

pub(crate) mod auth_steps;
pub(crate) mod batch;
pub(crate) mod cascade;
pub(crate) mod columns;
pub(crate) mod commit;
pub(crate) mod count_cache;
pub(crate) mod expand;
pub(crate) mod files;
pub(crate) mod pick;
pub(crate) mod read;
pub(crate) mod recent;
pub(crate) mod search;
pub(crate) mod sequence;
pub(crate) mod system;
pub(crate) mod values;
pub(crate) mod write;

pub use crate::fields::{format_datetime, parse_datetime};
pub use commit::CHANGED_MEANWHILE;
pub use expand::expand;
pub use read::{list, present, view, ListParams, ListResult, Record};
pub use system::{RecordFields, RecordQuery, Transaction};
pub use write::{create, create_with_files, delete, update, update_with_files};

//! PocketBase's filter language: lexer, parser and the compiler to bound-parameter SQL.

pub(crate) mod compile;
mod lexer;
mod macros;
pub(crate) mod parser;
mod table;

pub use compile::{
    compile_filter, compile_filter_with, compile_sort, AuthRecord, RequestInfo, Scope,
};
pub use lexer::Params;
pub(crate) use table::PlainTable;
pub use table::{Store, Table};

/// A filter that does not parse or resolve, with the byte position of the problem.
#[derive(Debug, Clone, PartialEq)]
pub struct FilterError {
    /// Byte offset in the filter text, for syntax errors.
    pub position: Option<usize>,
    pub message: String,
    pub kind: FilterErrorKind,
}

/// Why a filter was refused: it is wrong (400), or it asks for what only a superuser
/// may ask for (403).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterErrorKind {
    Invalid,
    SuperusersOnly,
}

impl std::fmt::Display for FilterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.position {
            Some(p) => write!(f, "{} (at position {p})", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl FilterError {
    pub fn at(position: usize, message: impl Into<String>) -> Self {
        FilterError {
            position: Some(position),
            message: message.into(),
            kind: FilterErrorKind::Invalid,
        }
    }
    /// An error found after parsing (unknown field, bad modifier, ...).
    pub fn resolve(message: impl Into<String>) -> Self {
        FilterError {
            position: None,
            message: message.into(),
            kind: FilterErrorKind::Invalid,
        }
    }
    /// A client filter or sort that names what only superusers may filter by.
    pub fn superusers_only(what: &str) -> Self {
        FilterError {
            position: None,
            message: format!("Only superusers can filter by \"{what}\"."),
            kind: FilterErrorKind::SuperusersOnly,
        }
    }
}

impl std::error::Error for FilterError {}

#[cfg(test)]
mod tests;

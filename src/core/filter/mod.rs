//! PocketBase's filter language: lexer, parser and the compiler to bound-parameter SQL.

pub(crate) mod compile;
mod lexer;
mod macros;
mod parser;

pub use compile::{compile_filter, compile_sort, AuthRecord, Compiled, RequestInfo, Scope};
pub use lexer::{Op, Sign};
pub use parser::{parse, Comparison, Expr, Operand};

/// A filter that does not parse or resolve, with the byte position of the problem.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message} (at position {position})")]
pub struct FilterError {
    pub position: usize,
    pub message: String,
}

impl FilterError {
    pub fn at(position: usize, message: impl Into<String>) -> Self {
        FilterError { position, message: message.into() }
    }
    /// An error found after parsing, where the position is not known.
    pub fn resolve(message: impl Into<String>) -> Self {
        FilterError { position: 0, message: message.into() }
    }
}

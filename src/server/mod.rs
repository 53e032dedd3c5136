//! The language server face (placeholder, being written).

use crate::ServerArgs;
use std::process::ExitCode;

/// `otel-lsp server`.
pub fn run(_args: ServerArgs) -> ExitCode {
    ExitCode::from(2)
}

//! The command-line face (placeholder, being written).

use crate::{CheckArgs, RulesFormat};
use std::process::ExitCode;

/// `otel-lsp check`.
pub fn check(_args: CheckArgs) -> ExitCode {
    ExitCode::from(2)
}

/// `otel-lsp rules`.
pub fn rules(_format: RulesFormat) -> ExitCode {
    ExitCode::SUCCESS
}

/// `otel-lsp explain`.
pub fn explain(_rule: &str) -> ExitCode {
    ExitCode::SUCCESS
}

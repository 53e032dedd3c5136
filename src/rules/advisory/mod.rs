//! Advisory rules (rules.md §7, severity info): hints where the app still exports telemetry
//! but something is likely not what was meant.

pub mod double_agent;

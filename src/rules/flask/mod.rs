//! Flask rules (rules.md §1–2): the debug reloader started from code or configuration.

pub mod flask_debug_reloader;
pub mod flask_debug_reloader_config;

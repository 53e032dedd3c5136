//! Rules over Python source.

pub mod flask_debug_reloader;
pub mod initialize_after_framework_import;

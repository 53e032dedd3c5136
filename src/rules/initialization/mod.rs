//! Initialisation rules (rules.md §1–2): where and in which order the SDK and the
//! instrumentors are set up.

pub mod double_sdk_initialization;
pub mod framework_instrumentor_after_app_created;
pub mod initialize_after_framework_import;

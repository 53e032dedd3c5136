//! Packaging rules (rules.md §6): `opentelemetry-bootstrap`, distros and uv.

pub mod bootstrap_before_dependencies;
pub mod bootstrap_under_uv;
pub mod instrument_without_distro;

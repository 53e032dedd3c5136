//! Rules judged on launchers and environment settings (rules.md §0.3): their primary kind is
//! the Dockerfile, and most also read shell scripts, Procfiles, compose files, Kubernetes
//! containers and gunicorn config modules (`Rule::also`).

pub mod bootstrap_before_dependencies;
pub mod bootstrap_under_uv;
pub mod gunicorn_multiworker_zero_code;
pub mod instrument_without_distro;
pub mod unknown_otel_component;

//! otel-lsp: finds OpenTelemetry Python auto-instrumentation pitfalls in Python code and
//! Kubernetes manifests. One engine (pure, infallible), two faces: the `check` CLI and the
//! language server.

pub mod config;
pub mod diagnostic;
pub mod engine;
pub mod insight;
pub mod language;
pub mod launch;
pub mod rules;
pub mod source;
pub mod syntax;
pub mod workspace;

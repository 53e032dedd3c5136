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

// The faces' shared parts live here so that they can be driven in-process (the fuzz harness,
// `fuzz/harness.rs`): the language server (`otel-lsp server` is `server::run`) and the file
// walk it shares with the CLI. Not a public API.
#[doc(hidden)]
pub mod server;
#[doc(hidden)]
#[path = "cli/walk.rs"]
pub mod walk;

// The faces name the engine `otel_lsp::…`, in the binary and here alike.
extern crate self as otel_lsp;

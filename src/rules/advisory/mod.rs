//! Advisory rules (rules.md §7, severity info): hygiene hints for apps that still export
//! telemetry — console exporters left in production code and manifests, missing service
//! names, a NOTSET OpenTelemetry logging handler under the root logger's WARNING, and
//! `http.server` apps under auto-instrumentation that nothing can instrument.
//!
//! Info hints are the ones users silence first when they are noisy, so each of these rules
//! reports only what it can see for certain and stays quiet where a setting may come from
//! somewhere it cannot read. The helpers here are what they share: which files are tests,
//! examples or development setups, and whether a name is OpenTelemetry's.

pub mod console_exporter_in_production;
pub mod double_agent;
pub mod missing_service_name;
pub mod otel_logging_handler_notset;
pub mod uninstrumented_stdlib_http_server;

use crate::syntax::python::PyFacts;
use std::path::Path;

/// Directory names that mark non-production code or configuration wherever they appear in
/// a path: examples, samples, demos, documentation, end-to-end suites.
const NON_PRODUCTION_ANYWHERE: &[&str] = &[
    "examples", "example", "samples", "sample", "demo", "demos", "docs", "doc", "e2e", "testdata",
];

/// Directory names that mark tests or development setups when they are among the last two
/// folders of a path (`tests/unit/x.py`, `overlays/dev/deployment.yaml`). Further up they
/// more likely name where a checkout lives, so they are not read there.
const NON_PRODUCTION_NEAR: &[&str] = &[
    "tests",
    "test",
    "testing",
    "dev",
    "development",
    "local",
    "debug",
    "sandbox",
];

/// Words of a file name (split at `.`, `-`, `_`) that mark a test or development file:
/// `test_app.py`, `app_test.py`, `conftest.py`, `Dockerfile.dev`, `deployment-local.yaml`.
const NON_PRODUCTION_WORDS: &[&str] = &[
    "test",
    "tests",
    "testing",
    "conftest",
    "e2e",
    "dev",
    "development",
    "local",
    "debug",
    "example",
    "examples",
    "sample",
    "demo",
];

/// Whether a path is a test, example or development file (see the constants above for the
/// exact names). A file without a path is judged as production code.
pub fn non_production(path: Option<&Path>) -> bool {
    let Some(path) = path else {
        return false;
    };
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    if name
        .split(['.', '-', '_'])
        .any(|w| NON_PRODUCTION_WORDS.contains(&w))
    {
        return true;
    }
    let dirs: Vec<String> = path
        .parent()
        .map(|p| {
            p.components()
                .filter_map(|c| match c {
                    std::path::Component::Normal(s) => s.to_str().map(str::to_ascii_lowercase),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    if dirs
        .iter()
        .any(|d| NON_PRODUCTION_ANYWHERE.contains(&d.as_str()))
    {
        return true;
    }
    dirs.iter()
        .rev()
        .take(2)
        .any(|d| NON_PRODUCTION_NEAR.contains(&d.as_str()))
}

/// Whether a Python module is a test module by its imports (`pytest`, `unittest`).
pub fn imports_test_framework(py: &PyFacts) -> bool {
    py.imports.iter().any(|i| {
        let root = i.module.split('.').next().unwrap_or("");
        matches!(root, "pytest" | "unittest")
    })
}

/// Whether `callee` (as written, white space removed) names something imported from an
/// `opentelemetry` module: a name bound by `from opentelemetry… import X [as Y]`, or an
/// attribute of a name bound to an `opentelemetry` module (`export.ConsoleSpanExporter`,
/// `opentelemetry.sdk.trace.export.ConsoleSpanExporter`).
pub fn from_opentelemetry(py: &PyFacts, callee: &str) -> bool {
    let root = callee.split('.').next().unwrap_or(callee);
    let is_otel = |m: &str| m == "opentelemetry" || m.starts_with("opentelemetry.");
    py.imports.iter().filter(|i| !i.type_checking).any(|i| {
        is_otel(&i.module)
            && (i.bound == root || (i.name.as_deref() == Some("*") && !callee.contains('.')))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_production_paths() {
        let yes = [
            "tests/test_app.py",
            "app_test.py",
            "conftest.py",
            "pkg/tests/helpers.py",
            "examples/flask/app.py",
            "docs/snippets/tracing.py",
            "deploy/Dockerfile.dev",
            "k8s/overlays/dev/deployment.yaml",
            "e2e/instrumentation-python/00-install.yaml",
        ];
        for p in yes {
            assert!(non_production(Some(Path::new(p))), "{p}");
        }
        let no = [
            "app/telemetry.py",
            "tests/fixtures/workspaces/OTEL060_x/app.py",
            "tests/corpus/k8s-real/deployment.yaml",
            "Dockerfile",
            "k8s/base/deployment.yaml",
            "src/latest/app.py",
        ];
        for p in no {
            assert!(!non_production(Some(Path::new(p))), "{p}");
        }
        assert!(!non_production(None));
    }
}

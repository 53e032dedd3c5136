//! OTEL051 `bootstrap-before-dependencies`: `opentelemetry-bootstrap -a install` runs before
//! the application's dependencies are installed, so it finds no library to instrument.

use crate::diagnostic::{Edit, Finding, Fix, Severity};
use crate::language::Language;
use crate::launch::{judge, packaging, LaunchKind};
use crate::rules::{always, anywhere, Context, Facts, FixKind, Pre, Rule, Topic};

/// The rule.
pub static RULE: Rule = Rule {
    code: "OTEL051",
    name: "bootstrap-before-dependencies",
    topic: Topic::Packaging,
    language: Language::Dockerfile,
    also: &[],
    severity: Severity::Warning,
    summary:
        "`opentelemetry-bootstrap -a install` runs before the app's dependencies are installed",
    docs: DOCS,
    url: "https://opentelemetry.io/docs/zero-code/python/#setup",
    fix: FixKind::Unsafe,
    query: None,
    pre: &[Pre {
        langs: &[Language::Dockerfile],
        needles: &["opentelemetry-bootstrap"],
        facts: Facts::NONE,
        file: &[],
        relevant: anywhere,
    }],
    gate: always,
    scan: Some(scan),
    scan_per_document: false,
    trees: crate::syntax::yaml::Classes::NONE,
};

const MESSAGE: &str = "`opentelemetry-bootstrap -a install` only installs instrumentations for libraries already installed; it runs before the application's dependencies are installed in this stage. Run it after them.";

fn scan(ctx: &Context) -> Vec<Finding> {
    let f = ctx.launch();
    let runs: Vec<_> = f
        .launchers
        .iter()
        .filter(|l| l.kind == LaunchKind::Run)
        .collect();
    let mut out = Vec::new();
    for (i, b) in runs.iter().enumerate() {
        if !packaging::is_bootstrap_install(b) {
            continue;
        }
        let Some(dep) = runs[i + 1..]
            .iter()
            .find(|d| d.stage == b.stage && packaging::installs_dependencies(d))
        else {
            continue;
        };
        let mut finding = Finding::new(b.argv[0].span, MESSAGE);
        // Move a RUN that does nothing else below the dependency RUN.
        let alone = runs.iter().filter(|r| r.stmt == b.stmt).count() == 1;
        if alone && dep.stmt != b.stmt {
            let from = judge::line_span(ctx.text, b.stmt);
            let to = judge::line_span(ctx.text, dep.stmt);
            let moved = &ctx.text[from.start..from.end];
            let moved = if moved.ends_with('\n') {
                moved.to_string()
            } else {
                format!("{moved}\n")
            };
            let insert = if to.end == ctx.text.len() && !ctx.text.ends_with('\n') {
                format!("\n{}", moved.trim_end_matches('\n'))
            } else {
                moved
            };
            finding = finding.with_fix(Fix::unsafe_(
                "Move the bootstrap step after the dependency install",
                vec![Edit::delete(from), Edit::insert(to.end, insert)],
            ));
        }
        out.push(finding);
    }
    out
}

const DOCS: &str = r#"## What it does
Flags `opentelemetry-bootstrap -a install` in a Dockerfile build stage when a later step of
the same stage installs the application's dependencies (`pip install -r …`, `pip install .`,
`poetry install`, `uv sync`, `pipenv install`).

## Why is this bad?
`opentelemetry-bootstrap` reads the packages installed in the active site-packages and
installs the instrumentation for each library it finds. Run before the app's dependencies,
it finds none of them: Flask, requests, psycopg… stay uninstrumented, silently.

## Example
```dockerfile
RUN pip install opentelemetry-distro opentelemetry-exporter-otlp
RUN opentelemetry-bootstrap -a install
RUN pip install -r requirements.txt
```

## Use instead
```dockerfile
RUN pip install opentelemetry-distro opentelemetry-exporter-otlp
RUN pip install -r requirements.txt
RUN opentelemetry-bootstrap -a install
```

## Fix safety
Unsafe: it reorders build steps (offered when the bootstrap is a `RUN` of its own).

## Source
- OpenTelemetry docs, Python zero-code setup: the bootstrap "reads through the list of
  packages installed in your active site-packages folder" <https://opentelemetry.io/docs/zero-code/python/#setup>
- ClickStack Python guide (install, then bootstrap)
"#;

//! OTEL025 `prometheus-reader-prefork`: a Prometheus pull reader in an app served by several
//! pre-fork workers — each worker has its own registry and fights for the same port.

use crate::diagnostic::{Edit, Finding, Fix, Severity};
use crate::language::Language;
use crate::launch::summary::Count;
use crate::launch::{judge, Target};
use crate::rules::{always, Context, FixKind, Match, Rule};
use std::path::Path;

/// The rule.
pub static RULE: Rule = Rule {
    code: "OTEL025",
    name: "prometheus-reader-prefork",
    language: Language::Python,
    also: &[
        Language::Dockerfile,
        Language::Shell,
        Language::Procfile,
        Language::Yaml,
        Language::Ini,
        Language::Makefile,
        Language::DotEnv,
    ],
    severity: Severity::Warning,
    summary: "Prometheus metric reader in an app served by several pre-fork workers",
    docs: DOCS,
    url: "https://opentelemetry.io/docs/zero-code/python/troubleshooting/#use-prometheus-with-direct-otlp",
    fix: FixKind::Unsafe,
    query: include_str!("../../../queries/python/prometheus_reader_prefork.scm"),
    needles: &["PrometheusMetricReader", "prometheus"],
    gate: always,
    check,
    scan: Some(scan),
};

const MESSAGE: &str = "With several pre-fork workers every worker gets its own Prometheus registry and tries to bind the same port: scrapes see one worker at a time. Push OTLP metrics (PeriodicExportingMetricReader) or run one worker.";

const PREFORK: &[&str] = &["gunicorn", "uvicorn", "uwsgi", "hypercorn", "fastapi"];

/// Whether the workspace serves `path` with more than one worker.
fn served_multi(ctx: &Context, path: &Path) -> bool {
    ctx.workspace.launched_by(path).iter().any(|b| {
        let l = b.launcher;
        if matches!(b.target, Target::Config(_))
            || !l.runtime
            || !PREFORK.contains(&l.program.as_str())
        {
            return false;
        }
        let n: Option<Count> = ctx.workspace.launcher_workers(b.file, l);
        n.is_some_and(Count::is_multi)
    })
}

fn check(m: &Match) -> Option<Finding> {
    let path = m.ctx.path?;
    if !served_multi(m.ctx, path) {
        return None;
    }
    let func = m.get("func")?;
    Some(Finding::new(m.span(func), MESSAGE))
}

fn scan(ctx: &Context) -> Vec<Finding> {
    if ctx.python().is_some() {
        return Vec::new();
    }
    let eff = crate::launch::imports::effective(ctx.launch, ctx.path, ctx.workspace);
    let f = &*eff;
    let mut out = Vec::new();
    for v in f.own_env().filter(|v| v.name == "OTEL_METRICS_EXPORTER") {
        let Some(val) = v.value.as_ref().filter(|t| !t.dynamic) else {
            continue;
        };
        let Some(pos) = val.text.find("prometheus") else {
            continue;
        };
        let multi = judge::visible_contexts(f, v).into_iter().any(|c| {
            f.launchers
                .iter()
                .filter(|l| l.scope == c && l.runtime)
                .any(|l| {
                    judge::workers(l, f)
                        .count
                        .and_then(|c| c.count)
                        .is_some_and(Count::is_multi)
                })
        });
        if !multi {
            continue;
        }
        let mut finding = Finding::new(val.best_span(), MESSAGE);
        if let Some(sp) = val.sub_span(pos, pos + "prometheus".len()) {
            finding = finding.with_fix(Fix::unsafe_(
                "Export metrics over OTLP",
                vec![Edit::replace(sp, "otlp")],
            ));
        }
        out.push(finding);
    }
    out
}

const DOCS: &str = r#"## What it does
Flags `PrometheusMetricReader(…)` in a module the workspace serves with more than one
pre-fork worker (gunicorn/uvicorn/uWSGI counts from the command line, environment or
gunicorn config), and `OTEL_METRICS_EXPORTER` containing `prometheus` in the environment of
such a launcher.

## Why is this bad?
Each forked worker gets its own metric registry and tries to start an HTTP server on the
same `OTEL_EXPORTER_PROMETHEUS_PORT`; one wins, and scrapes only ever see that worker.

## Example
```sh
OTEL_METRICS_EXPORTER=prometheus opentelemetry-instrument gunicorn -w 4 app:app
```

## Use instead
```sh
OTEL_METRICS_EXPORTER=otlp opentelemetry-instrument gunicorn -w 4 -k uvicorn.workers.UvicornWorker app:app
```
(Prometheus can receive OTLP directly.)

## Fix safety
Unsafe: switching the exporter to `otlp` changes where metrics go.

## Source
- OpenTelemetry docs, Python zero-code troubleshooting, "Use Prometheus with direct OTLP"
  <https://opentelemetry.io/docs/zero-code/python/troubleshooting/#use-prometheus-with-direct-otlp>
- opentelemetry-python #3747
"#;

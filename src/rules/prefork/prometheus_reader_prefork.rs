//! OTEL025 `prometheus-reader-prefork`: a Prometheus pull reader in an app served by several
//! pre-fork workers — each worker has its own registry and fights for the same port.

use crate::diagnostic::{Edit, Finding, Fix, Severity, Span};
use crate::language::Language;
use crate::launch::ini::{self, UwsgiOptions};
use crate::launch::judge::{self, CountFrom};
use crate::launch::summary::{self, Count};
use crate::launch::{LaunchFacts, LaunchRef, Launcher, Token};
use crate::rules::{
    self, always, anywhere, Context, Facts, FixKind, Match, Pre, Query, Rule, Topic,
};
use std::path::Path;

/// The rule.
pub static RULE: Rule = Rule {
    code: "OTEL025",
    name: "prometheus-reader-prefork",
    topic: Topic::Prefork,
    language: Language::Python,
    also: rules::ENV_KINDS,
    severity: Severity::Warning,
    summary: "Prometheus metric reader in an app served by several pre-fork workers",
    docs: DOCS,
    url: "https://opentelemetry.io/docs/zero-code/python/troubleshooting/#use-prometheus-with-direct-otlp",
    fix: FixKind::Unsafe,
    query: Some(Query {
        text: include_str!("prometheus_reader_prefork.scm"),
        check,
    }),
    pre: &[
        Pre {
            langs: &[Language::Python],
            needles: &["PrometheusMetricReader"],
            facts: Facts::All,
            file: &[],
            relevant: rules::launched,
        },
        Pre {
            langs: rules::ENV_KINDS,
            needles: &["prometheus"],
            facts: Facts::NONE,
            file: &[],
            relevant: anywhere,
        },
    ],
    gate: always,
    scan: Some(scan),
    scan_per_document: true,
    trees: crate::syntax::yaml::Classes::NONE,
};

const MESSAGE: &str = "With several pre-fork workers every worker gets its own Prometheus registry and tries to bind the same port: scrapes see one worker at a time. Push OTLP metrics (PeriodicExportingMetricReader) or run one worker.";

const PREFORK: &[&str] = &["gunicorn", "uvicorn", "uwsgi", "hypercorn", "fastapi"];

/// The worker count of a uWSGI launcher of the workspace (its options over its ini file,
/// or under the command lines that read its ini section): the largest.
fn uwsgi_count(
    ctx: &Context,
    file: &Path,
    l: &LaunchRef,
    own: UwsgiOptions,
) -> Option<(i64, Option<Token>)> {
    ini::uwsgi_contexts(ctx.workspace, file, l, own)
        .iter()
        .filter_map(UwsgiOptions::processes)
        .max_by_key(|(n, _)| *n)
}

/// Whether the workspace serves `path` with more than one worker — counts resolved as for
/// OTEL020/OTEL022 (command line, `GUNICORN_CMD_ARGS`, gunicorn config, `WEB_CONCURRENCY`,
/// imported `.env`/ConfigMap/image settings) and uWSGI (`processes`, ini files, `UWSGI_*`).
fn served_multi(ctx: &Context, path: &Path) -> bool {
    ctx.workspace.launched_by(path).iter().any(|b| {
        let l = b.launcher;
        if !b.target.is_app() || !l.runtime || !PREFORK.contains(&l.program.as_str()) {
            return false;
        }
        if l.program == "uwsgi" {
            return uwsgi_count(ctx, b.file, l, UwsgiOptions::remote(&l.uwsgi))
                .is_some_and(|(n, _)| n > 1);
        }
        ctx.workspace
            .launcher_workers(b.file, l)
            .is_some_and(Count::is_multi)
    })
}

/// The worker count a launcher of this file runs with, and its token when it is written
/// here (for a "one worker" fix).
fn launcher_count(ctx: &Context, f: &LaunchFacts, l: &Launcher) -> Option<(Count, Option<Token>)> {
    let prog = l.program()?;
    let lref = summary::launch_ref(l, f)?;
    if prog == "uwsgi" {
        let own = UwsgiOptions::local(ini::launcher_options(l, f));
        let (n, tok) = match ctx.path {
            Some(p) => uwsgi_count(ctx, p, &lref, own)?,
            None => own.processes()?,
        };
        return Some((Count::N(n), tok));
    }
    let w = judge::workers(l, f);
    let here = |t: &Token| Some(t.clone()).filter(judge::is_here);
    match &w.count {
        Some(c) if c.from != CountFrom::WebConcurrency || prog != "gunicorn" => {
            return c.count.map(|n| (n, here(&c.token)));
        }
        _ => {}
    }
    if let Some((_, g)) = ctx
        .path
        .and_then(|p| ctx.workspace.gunicorn_config(p, &lref))
    {
        if g.workers_unknown {
            return None;
        }
        if let Some(n) = g.workers {
            return Some((n, None));
        }
    }
    let c = w.count?;
    c.count.map(|n| (n, here(&c.token)))
}

fn check(m: &Match) -> Option<Finding> {
    let path = m.ctx.path?;
    if !served_multi(m.ctx, path) {
        return None;
    }
    let func = m.get("func")?;
    let call = m.get("call")?;
    let mut finding = Finding::new(m.span(func), MESSAGE);
    if let Some(fix) = otlp_reader_fix(m, m.span(call)) {
        finding = finding.with_fix(fix);
    }
    Some(finding)
}

/// Replaces the Prometheus reader by a periodic OTLP/HTTP reader (Prometheus can receive
/// OTLP), importing what is not bound yet. Unsafe: metrics are pushed elsewhere.
fn otlp_reader_fix(m: &Match, call: Span) -> Option<Fix> {
    let py = m.ctx.python()?;
    let needed = [
        (
            "opentelemetry.sdk.metrics.export",
            "PeriodicExportingMetricReader",
        ),
        (
            "opentelemetry.exporter.otlp.proto.http.metric_exporter",
            "OTLPMetricExporter",
        ),
    ];
    let mut names = Vec::new();
    let mut lines = String::new();
    for (module, name) in needed {
        match py.names_bound_to(module, name).next() {
            Some(i) => names.push(i.bound.clone()),
            None => {
                lines.push_str(&format!("from {module} import {name}\n"));
                names.push(name.to_string());
            }
        }
    }
    let mut edits = Vec::new();
    if !lines.is_empty() {
        // Next to the Prometheus import (or before the first import).
        let at = py
            .imports
            .iter()
            .filter(|i| !i.nested && !i.type_checking)
            .find(|i| i.name.as_deref() == Some("PrometheusMetricReader"))
            .or_else(|| py.imports.iter().find(|i| !i.nested && !i.type_checking))
            .map(|i| i.stmt_start)
            .or(py.header_end)
            .unwrap_or(0);
        if at > call.start {
            return None;
        }
        edits.push(Edit::insert(at, lines));
    }
    edits.push(Edit::replace(call, format!("{}({}())", names[0], names[1])));
    Some(Fix::unsafe_(
        "Push metrics over OTLP (PeriodicExportingMetricReader + OTLPMetricExporter)",
        edits,
    ))
}

fn scan(ctx: &Context) -> Vec<Finding> {
    if ctx.python().is_some() {
        return Vec::new();
    }
    let eff = ctx.effective();
    let f = eff;
    let mut out = Vec::new();
    for v in f.own_env().filter(|v| v.name == "OTEL_METRICS_EXPORTER") {
        let Some(val) = v.value.as_ref().filter(|t| !t.dynamic) else {
            continue;
        };
        let Some(pos) = val.text.find("prometheus") else {
            continue;
        };
        let served = judge::visible_contexts(f, v).into_iter().find_map(|c| {
            f.launchers
                .iter()
                .filter(|l| l.scope == c && l.runtime)
                .filter(|l| l.program().is_some_and(|p| PREFORK.contains(&p.as_str())))
                .find_map(|l| launcher_count(ctx, f, l).filter(|(n, _)| n.is_multi()))
        });
        let Some((_, count_token)) = served else {
            continue;
        };
        let mut finding = Finding::new(val.best_span(), MESSAGE);
        if let Some(sp) = val.sub_span(pos, pos + "prometheus".len()) {
            finding = finding.with_fix(Fix::unsafe_(
                "Export metrics over OTLP",
                vec![Edit::replace(sp, "otlp")],
            ));
        }
        if let Some(e) = count_token
            .as_ref()
            .and_then(|t| judge::replace_value(t, "1"))
        {
            finding = finding.with_fix(Fix::unsafe_("Run a single worker", vec![e]));
        }
        out.push(finding);
    }
    out
}

const DOCS: &str = r#"## What it does
Flags `PrometheusMetricReader(…)` in a module the workspace serves with more than one
pre-fork worker, and `OTEL_METRICS_EXPORTER` containing `prometheus` in the environment of
such a launcher (Dockerfile, script, Procfile, Makefile, compose, Kubernetes, `.env` file,
uWSGI ini). Worker counts are resolved as for OTEL020/OTEL022: gunicorn's command line,
`GUNICORN_CMD_ARGS`, config module (`-c`, `./gunicorn.conf.py`) and `WEB_CONCURRENCY`, in
gunicorn's precedence; uvicorn/fastapi/hypercorn `--workers` and `WEB_CONCURRENCY`; uWSGI
`processes`/`workers` from its ini file (`--ini`), `UWSGI_*` variables and command line; and
settings other files give the service (`env_file:`, `envFrom:`, the image's `ENV`).
Unknown counts (`$WORKERS`, `workers = WORKERS`) are never judged.

## Why is this bad?
Each forked worker gets its own metric registry and tries to start an HTTP server on the
same `OTEL_EXPORTER_PROMETHEUS_PORT`; one wins, and scrapes only ever see that worker.

## Example
```sh
OTEL_METRICS_EXPORTER=prometheus opentelemetry-instrument gunicorn -w 4 app:app
```
```python
reader = PrometheusMetricReader()
```

## Use instead
```sh
OTEL_METRICS_EXPORTER=otlp opentelemetry-instrument gunicorn -w 4 -k uvicorn.workers.UvicornWorker app:app
```
```python
reader = PeriodicExportingMetricReader(OTLPMetricExporter())
```
(Prometheus can receive OTLP directly.)

## Fix safety
All unsafe. Switching to OTLP changes where metrics go and what has to receive them: in an
environment setting `prometheus` becomes `otlp`; in Python the reader becomes
`PeriodicExportingMetricReader(OTLPMetricExporter())` (OTLP/HTTP, package
`opentelemetry-exporter-otlp-proto-http`; the Prometheus reader's arguments are dropped, its
import is left for you to remove). Running one worker (offered where the count is written in
the same file) reduces concurrency.

## Source
- OpenTelemetry docs, Python zero-code troubleshooting, "Use Prometheus with direct OTLP"
  <https://opentelemetry.io/docs/zero-code/python/troubleshooting/#use-prometheus-with-direct-otlp>
- opentelemetry-python #3747
"#;

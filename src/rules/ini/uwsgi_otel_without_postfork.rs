//! OTEL024 `uwsgi-otel-without-postfork`: uWSGI forks workers from a master that imported the
//! app — an SDK set up at import time is forked with dead threads — and without threads
//! enabled the exporters' background threads never run.

use crate::diagnostic::{Edit, Finding, Fix, Severity};
use crate::language::Language;
use crate::launch::{args, summary, Launcher};
use crate::rules::{always, Context, FixKind, Match, Rule};

/// The rule.
pub static RULE: Rule = Rule {
    code: "OTEL024",
    name: "uwsgi-otel-without-postfork",
    language: Language::Ini,
    also: &[
        Language::Dockerfile,
        Language::Shell,
        Language::Procfile,
        Language::Yaml,
        Language::Makefile,
        Language::Python,
    ],
    severity: Severity::Warning,
    summary: "uWSGI app sets up OpenTelemetry at import without `@postfork`, or without threads",
    docs: DOCS,
    url: "https://opentelemetry.io/docs/zero-code/python/troubleshooting/#pre-fork-server-issues",
    fix: FixKind::Sometimes,
    query: include_str!("../../../queries/ini/uwsgi_otel_without_postfork.scm"),
    needles: &["uwsgi"],
    gate: always,
    check,
    scan: Some(scan),
};

fn check(_: &Match) -> Option<Finding> {
    None
}

/// A uWSGI option of a launcher: `--key value`, `--key=value`, or a bare `--key` (= true).
fn opt(l: &Launcher, key: &str) -> Option<Option<String>> {
    let long = format!("--{key}");
    let a = l.args();
    for (i, t) in a.iter().enumerate().rev() {
        if t.text == long {
            return Some(
                a.get(i + 1)
                    .filter(|v| !v.text.starts_with("--"))
                    .map(|v| v.text.clone()),
            );
        }
        if let Some(v) = t.text.strip_prefix(&format!("{long}=")) {
            return Some(Some(v.to_string()));
        }
    }
    None
}

fn on(v: Option<Option<String>>) -> bool {
    match v {
        Some(None) => true,
        Some(Some(s)) => matches!(
            s.trim().to_ascii_lowercase().as_str(),
            "" | "true" | "1" | "yes" | "on"
        ),
        None => false,
    }
}

fn scan(ctx: &Context) -> Vec<Finding> {
    let Some(path) = ctx.path else {
        return Vec::new();
    };
    let f = ctx.launch;
    let mut out = Vec::new();
    for l in f
        .launchers
        .iter()
        .filter(|l| l.program().as_deref() == Some("uwsgi"))
    {
        let Some(lref) = summary::launch_ref(l, f) else {
            continue;
        };
        let targets: Vec<_> = ctx.workspace.targets_of(path, &lref);
        let otel = targets
            .iter()
            .any(|(_, s)| s.launch.uses_otel || s.launch.initializes_otel);
        if !otel {
            continue;
        }
        let ini = f
            .uwsgi
            .as_ref()
            .filter(|_| l.kind == crate::launch::LaunchKind::Uwsgi);
        // (a) master + several processes + import-time setup without @postfork or lazy-apps.
        let processes = args::find(l.args(), &["-p"], &["--processes", "--workers"])
            .and_then(|o| o.value)
            .and_then(|v| args::int(&v).map(|n| (n, v)));
        let master = on(opt(l, "master"));
        let lazy = on(opt(l, "lazy-apps")) || on(opt(l, "lazy"));
        let import_init = targets
            .iter()
            .any(|(_, s)| s.launch.initializes_otel && !s.launch.uwsgi_postfork);
        if let Some((n, tok)) = processes.filter(|(n, _)| *n > 1) {
            if master && !lazy && import_init {
                let mut finding = Finding::new(tok.best_span(), format!(
                    "uWSGI forks {n} workers from a master that already imported the app, and the app sets up OpenTelemetry at import time: the workers inherit dead export threads. Set it up in a `@postfork` function, or use `lazy-apps = true`."
                ));
                if let Some(c) = ini {
                    finding = finding.with_fix(Fix::unsafe_(
                        "Add `lazy-apps = true`",
                        vec![Edit::insert(c.insert_at, "\nlazy-apps = true")],
                    ));
                }
                out.push(finding);
            }
        }
        // (b) OpenTelemetry under uWSGI without threads.
        let threads = on(opt(l, "enable-threads"))
            || opt(l, "threads")
                .flatten()
                .is_some_and(|t| t.trim().parse::<i64>().is_ok_and(|n| n > 0));
        if !threads {
            let anchor = l.argv[0].span;
            let mut finding = Finding::new(anchor, "uWSGI runs without threads unless `enable-threads` (or `threads`) is set: OpenTelemetry's batch processor and metric reader threads never run, nothing is exported.");
            if let Some(c) = ini {
                finding = finding.with_fix(Fix::safe(
                    "Add `enable-threads = true`",
                    vec![Edit::insert(c.insert_at, "\nenable-threads = true")],
                ));
            }
            out.push(finding);
        }
    }
    out
}

const DOCS: &str = r#"## What it does
For a uWSGI server (`[uwsgi]` ini section or `uwsgi …` command line) whose module the
workspace can see, flags (a) `master` with `processes`/`workers` > 1, no `lazy-apps`, serving
a module that sets up the SDK at import time without a `@postfork` function; (b) any
OpenTelemetry use without `enable-threads` or `threads`.

## Why is this bad?
uWSGI imports the app in the master and forks the workers: an SDK set up at import time is
copied into every worker with its export threads dead. And uWSGI disables Python threads by
default, so batch span processors and periodic metric readers never export.

## Example
```ini
[uwsgi]
module = app:app
master = true
processes = 4
```

## Use instead
```ini
[uwsgi]
module = app:app
master = true
processes = 4
enable-threads = true
```
with the SDK set up in a `@postfork` function (`from uwsgidecorators import postfork`).

## Fix safety
Adding `enable-threads = true` is safe. Adding `lazy-apps = true` is unsafe: every worker
then loads the app itself (more memory, slower start).

## Source
- Mackerel tracing guide and ClickStack Python guide (`@postfork`)
- opentelemetry-python fork-process-model example; opentelemetry-python #2266,
  opentelemetry-python-contrib #675; uWSGI "Things to know" (`enable-threads`)
"#;

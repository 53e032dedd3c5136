//! OTEL024 `uwsgi-otel-without-postfork`: uWSGI forks workers from a master that imported the
//! app — an SDK set up at import time is forked with dead threads — and without threads
//! enabled the exporters' background threads never run.

use crate::diagnostic::{Edit, Finding, Fix, Severity, Span};
use crate::language::Language;
use crate::launch::ini::{self, UwsgiOptions};
use crate::launch::{judge, summary, LaunchKind};
use crate::rules::{self as rules, always, anywhere, Context, Facts, FixKind, Pre, Rule, Topic};
use crate::syntax::python::{Call, PyFacts};

/// The strings a uWSGI launcher, its configuration or an OpenTelemetry setup is written with.
const NEEDLES: &[&str] = &[
    "uwsgi",
    "opentelemetry",
    "instrument",
    "setup_tracing",
    "init_tracing",
    "telemetry",
];

/// The rule.
pub static RULE: Rule = Rule {
    code: "OTEL024",
    name: "uwsgi-otel-without-postfork",
    topic: Topic::Prefork,
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
    query: None,
    pre: &[
        Pre {
            langs: &[
                Language::Ini,
                Language::Dockerfile,
                Language::Shell,
                Language::Procfile,
                Language::Yaml,
                Language::Makefile,
            ],
            needles: NEEDLES,
            facts: Facts::NONE,
            file: &[],
            relevant: anywhere,
        },
        Pre {
            langs: &[Language::Python],
            needles: NEEDLES,
            facts: Facts::All,
            file: &[],
            relevant: rules::launched,
        },
    ],
    gate: always,
    scan: Some(scan),
    scan_per_document: true,
    trees: crate::syntax::yaml::Classes::NONE,
};

const PREFORK_MESSAGE: &str = "uWSGI forks {n} workers from a master that already imported the app, and the app sets up OpenTelemetry at import time: the workers inherit dead export threads. Set it up in a `@postfork` function, or use `lazy-apps = true`.";

const THREADS_MESSAGE: &str = "uWSGI runs without threads unless `enable-threads` (or `threads`) is set: OpenTelemetry's batch processor and metric reader threads never run, nothing is exported.";

fn scan(ctx: &Context) -> Vec<Finding> {
    if ctx.python().is_some() {
        return python_module(ctx);
    }
    let Some(path) = ctx.path else {
        return Vec::new();
    };
    let eff = ctx.effective();
    let f = eff;
    let ws = ctx.workspace;
    let mut out = Vec::new();
    for l in f
        .own_launchers()
        .filter(|l| l.program().as_deref() == Some("uwsgi"))
    {
        let Some(lref) = summary::launch_ref(l, f) else {
            continue;
        };
        let ini_section = f.uwsgi.as_ref().filter(|_| l.kind == LaunchKind::Uwsgi);
        let via_ini = ws.uwsgi_ini(path, &lref);
        let mut targets = ws.targets_of(path, &lref);
        if let Some((ini_path, ini_ref)) = via_ini {
            targets.extend(ws.targets_of(ini_path, ini_ref));
        }
        // OpenTelemetry is in use when the app module says so, and whenever uWSGI runs under
        // `opentelemetry-instrument` — on this command line, or on the one that reads this
        // ini file — whether or not the app module is in the workspace.
        let instrumented = l.instrumented()
            || (l.kind == LaunchKind::Uwsgi
                && ws.launched_by(path).iter().any(|b| {
                    matches!(b.target, summary::Target::UwsgiIni(_))
                        && b.launcher.program == "uwsgi"
                        && b.launcher.instrumented
                }));
        let otel = instrumented
            || targets
                .iter()
                .any(|(_, s)| s.launch.uses_otel || s.launch.initializes_otel);
        if !otel {
            continue;
        }
        let import_init = targets
            .iter()
            .any(|(_, s)| s.launch.initializes_otel && !s.launch.uwsgi_postfork);
        let own = UwsgiOptions::local(ini::launcher_options(l, f));
        let head = &l.argv[0];
        for opts in ini::uwsgi_contexts(ws, path, &lref, own) {
            // (a) master + several workers + import-time setup without @postfork/lazy-apps.
            if let Some((n, Some(tok))) = opts.preforks().filter(|_| import_init) {
                let mut finding = Finding::new(
                    tok.best_span(),
                    PREFORK_MESSAGE.replace("{n}", &n.to_string()),
                );
                if let Some(c) = ini_section {
                    finding = finding.with_fix(Fix::unsafe_(
                        "Add `lazy-apps = true`",
                        vec![Edit::insert(c.insert_at, "\nlazy-apps = true")],
                    ));
                } else if judge::is_here(head) {
                    finding = finding.with_fix(Fix::unsafe_(
                        "Add `--lazy-apps`",
                        vec![judge::insert_words_after(ctx.text, head, &["--lazy-apps"])],
                    ));
                }
                out.push(finding);
            }
            // (b) OpenTelemetry under uWSGI without threads; an ini file of the workspace
            // that the command line reads reports it itself.
            if opts.threads() || via_ini.is_some() || !judge::is_here(head) {
                continue;
            }
            let mut finding = Finding::new(head.span, THREADS_MESSAGE);
            finding = finding.with_fix(match ini_section {
                Some(c) => Fix::safe(
                    "Add `enable-threads = true`",
                    vec![Edit::insert(c.insert_at, "\nenable-threads = true")],
                ),
                None => Fix::safe(
                    "Add `--enable-threads`",
                    vec![judge::insert_words_after(
                        ctx.text,
                        head,
                        &["--enable-threads"],
                    )],
                ),
            });
            out.push(finding);
        }
    }
    out
}

/// The setup calls of a WSGI module that run at import time (not under
/// `if __name__ == "__main__":`, which uWSGI never runs).
fn import_time_setup<'p>(ctx: &Context, py: &'p PyFacts) -> Vec<&'p Call> {
    let g = &ctx.launch().gunicorn;
    py.calls
        .iter()
        .filter(|c| summary::is_otel_setup_call(&c.callee, g))
        .filter(|c| {
            let stmt = ctx.text.get(c.stmt_start..).unwrap_or("");
            !(c.guarded
                && stmt.starts_with("if")
                && stmt.lines().next().is_some_and(|l| l.contains("__main__")))
        })
        .collect()
}

/// Python side of (a): a module served by a forking uWSGI that sets up OpenTelemetry at
/// import time, reported on the setup call.
fn python_module(ctx: &Context) -> Vec<Finding> {
    let (Some(py), Some(path)) = (ctx.python(), ctx.path) else {
        return Vec::new();
    };
    let g = &ctx.launch().gunicorn;
    let has_postfork = g.functions.iter().any(|f| {
        f.decorators
            .iter()
            .any(|d| d.rsplit('.').next() == Some("postfork"))
    });
    if has_postfork {
        return Vec::new();
    }
    let calls = import_time_setup(ctx, py);
    if calls.is_empty() {
        return Vec::new();
    }
    let ws = ctx.workspace;
    let workers = ws
        .launched_by(path)
        .into_iter()
        .filter(|b| b.target.is_app() && b.launcher.program == "uwsgi" && b.launcher.runtime)
        .flat_map(|b| {
            ini::uwsgi_contexts(
                ws,
                b.file,
                b.launcher,
                UwsgiOptions::remote(&b.launcher.uwsgi),
            )
        })
        .find_map(|o| o.preforks());
    let Some((n, _)) = workers else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for c in calls {
        let mut finding = Finding::new(
            Span::new(c.start, c.start + c.callee.len()),
            format!("uWSGI forks {n} workers from a master that already imported this module: `{}()` here sets up OpenTelemetry before fork, and the workers inherit dead export threads. Call it in a `@postfork` function (`from uwsgidecorators import postfork`), or use `lazy-apps = true`.", c.callee),
        );
        if let Some(fix) = postfork_fix(ctx, py, c) {
            finding = finding.with_fix(fix);
        }
        out.push(finding);
    }
    out
}

/// Wraps a one-line, argument-less setup call (the seeds' `instrument()` /
/// `configure_opentelemetry()`) in a `@postfork` function, importing `postfork` when needed.
/// Not for `initialize()`: instrumentations must patch the framework before it is imported,
/// which a post-fork call is too late for (use `lazy-apps` there).
fn postfork_fix(ctx: &Context, py: &PyFacts, c: &Call) -> Option<Fix> {
    let last = c.callee.rsplit('.').next().unwrap_or(&c.callee);
    if last == "initialize" || c.guarded || c.assigned_to.is_some() || c.start != c.stmt_start {
        return None;
    }
    let line = judge::line_span(ctx.text, Span::new(c.stmt_start, c.stmt_start));
    if line.start != c.stmt_start {
        return None;
    }
    let stmt = ctx.text.get(line.start..line.end)?;
    let call = format!("{}()", c.callee);
    let rest = stmt.strip_prefix(call.as_str())?.trim();
    if !(rest.is_empty() || rest.starts_with('#')) {
        return None;
    }
    let g = &ctx.launch().gunicorn;
    let name = ["init_tracing", "init_otel_after_fork", "_otel_postfork"]
        .into_iter()
        .find(|n| g.function(n).is_none() && !py.calls.iter().any(|x| x.callee == *n))?;
    let decorator = py
        .names_bound_to("uwsgidecorators", "postfork")
        .next()
        .map(|i| i.bound.clone());
    let mut edits = Vec::new();
    if decorator.is_none() {
        let at = py
            .imports
            .iter()
            .find(|i| !i.nested && !i.type_checking)
            .map(|i| i.stmt_start)
            .or(py.header_end)
            .unwrap_or(0);
        edits.push(Edit::insert(at, "from uwsgidecorators import postfork\n"));
    }
    let deco = decorator.unwrap_or_else(|| "postfork".into());
    let nl = if stmt.ends_with('\n') { "\n" } else { "" };
    edits.push(Edit::replace(
        line,
        format!("@{deco}\ndef {name}():\n    {call}{nl}"),
    ));
    Some(Fix::unsafe_(
        format!("Call `{call}` in a uWSGI `@postfork` function"),
        edits,
    ))
}

const DOCS: &str = r#"## What it does
For a uWSGI server — an ini file's `[uwsgi]`
section, or a `uwsgi …` command line (Dockerfile, script, Procfile, Makefile, compose,
Kubernetes), its options merged from the ini file it reads (`--ini`), its `UWSGI_*`
environment variables and the command line, in that order — flags:

(a) `master` with `processes`/`workers` > 1 and no `lazy-apps`, serving a module that sets
up OpenTelemetry at import time (`set_tracer_provider(…)`, `initialize()`,
`configure_opentelemetry()`, a local setup function) without a `@postfork` function —
reported on the process count where it is written, and in the Python module on the setup
call (a call under `if __name__ == "__main__":` never runs under uWSGI and is not flagged);

(b) any OpenTelemetry use without `enable-threads` or `threads` — reported on the `uwsgi`
word or the `[uwsgi]` header (an ini file that a command line reads reports it itself).
OpenTelemetry is in use when the app module (if the workspace has it) imports or sets it up,
and whenever uWSGI runs under `opentelemetry-instrument` — on its command line, or on the
command line that reads its ini file — whether or not the app module is in the workspace.

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
```python
# app.py
from hyperdx.opentelemetry import configure_opentelemetry

configure_opentelemetry()
```

## Use instead
```ini
[uwsgi]
module = app:app
master = true
processes = 4
enable-threads = true
```
```python
from hyperdx.opentelemetry import configure_opentelemetry
from uwsgidecorators import postfork


@postfork
def init_tracing():
    configure_opentelemetry()
```

## Fix safety
Adding `enable-threads = true` (`--enable-threads` on a command line) is safe. Adding
`lazy-apps = true` (`--lazy-apps`) is unsafe: every worker then loads the app itself (more
memory, slower start). Wrapping the setup call in a `@postfork` function (and importing
`postfork` from `uwsgidecorators`) is unsafe — it changes when the code runs — and offered
only for a one-line call without arguments (the guides' `instrument()` /
`configure_opentelemetry()`); not for `initialize()`, whose instrumentations must patch the
framework before the app imports it (use `lazy-apps` there).

## Source
- Mackerel tracing guide and ClickStack Python guide (`@postfork`)
- opentelemetry-python fork-process-model example; opentelemetry-python #2266,
  opentelemetry-python-contrib #675; uWSGI "Things to know" (`enable-threads`)
"#;

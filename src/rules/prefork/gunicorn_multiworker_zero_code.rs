//! OTEL020 `gunicorn-multiworker-zero-code`: gunicorn with several pre-fork workers under
//! `opentelemetry-instrument` — the SDK is set up in the arbiter, and the periodic metric
//! reader's thread and locks do not survive `fork()`.

use crate::diagnostic::{Edit, Finding, Fix, Severity, Span};
use crate::language::Language;
use crate::launch::judge::{self, CountFrom};
use crate::launch::summary::{self, Count, Framework};
use crate::launch::Target;
use crate::rules::{self as rules, always, anywhere, Context, Facts, FixKind, Pre, Rule, Topic};

/// The rule.
pub static RULE: Rule = Rule {
    code: "OTEL020",
    name: "gunicorn-multiworker-zero-code",
    topic: Topic::Prefork,
    language: Language::Dockerfile,
    also: &[
        Language::Shell,
        Language::Procfile,
        Language::Yaml,
        Language::Python,
        Language::Makefile,
    ],
    severity: Severity::Warning,
    summary: "gunicorn with several workers under opentelemetry-instrument loses metrics",
    docs: DOCS,
    url: "https://opentelemetry.io/docs/zero-code/python/troubleshooting/#pre-fork-server-issues",
    fix: FixKind::Unsafe,
    query: None,
    pre: &[
        Pre {
            langs: &[
                Language::Dockerfile,
                Language::Shell,
                Language::Procfile,
                Language::Yaml,
                Language::Makefile,
            ],
            needles: &["gunicorn", "workers", "WEB_CONCURRENCY", "-w"],
            facts: Facts::NONE,
            file: &[],
            relevant: anywhere,
        },
        Pre {
            langs: &[Language::Python],
            needles: &["workers"],
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

const MESSAGE: &str = "Multiple pre-fork gunicorn workers under opentelemetry-instrument break metrics (PeriodicExportingMetricReader threads/locks do not survive fork). Use UvicornWorker (ASGI), initialize OTel in post_fork instead of opentelemetry-instrument, or run a single worker.";

const UVICORN_WORKER: &str = "uvicorn.workers.UvicornWorker";

fn scan(ctx: &Context) -> Vec<Finding> {
    if ctx.python().is_some() {
        return config_module(ctx).into_iter().collect();
    }
    let eff = ctx.effective();
    let f = eff;
    let mut out = Vec::new();
    for l in &f.launchers {
        if l.program().as_deref() != Some("gunicorn") || !l.instrumented() || !l.runtime {
            continue;
        }
        if judge::metrics_disabled(l, f) {
            continue;
        }
        let w = judge::workers(l, f);
        let Some(lref) = summary::launch_ref(l, f) else {
            continue;
        };
        let cfg = ctx
            .path
            .and_then(|p| ctx.workspace.gunicorn_config(p, &lref))
            .map(|(_, g)| g);
        match &w.class {
            Some(c) if c.dynamic || judge::is_uvicorn_worker(&c.text) => continue,
            None if cfg.is_some_and(|g| g.uvicorn_worker()) => continue,
            _ => {}
        }
        let gunicorn = &l.argv[0];
        // Another file's launcher (the image's CMD under a compose service) is judged in its
        // own file, unless the count is set here (the service's `WEB_CONCURRENCY`).
        if l.is_imported() && !w.count.as_ref().is_some_and(|c| judge::is_here(&c.token)) {
            continue;
        }
        // Precedence: command line, GUNICORN_CMD_ARGS, config file, WEB_CONCURRENCY.
        let from_config = || -> Option<Option<Count>> {
            let g = cfg?;
            if g.workers_unknown {
                return Some(None);
            }
            g.workers.map(Some)
        };
        let (count, anchor, single): (Count, Span, Option<Edit>) = match &w.count {
            Some(c) if c.from != CountFrom::WebConcurrency || from_config().is_none() => {
                let Some(n) = c.count else {
                    continue;
                };
                // Report where it is written: the count, or the program when the count
                // comes from the environment.
                let anchor = if c.from == CountFrom::Cli || !judge::is_here(gunicorn) {
                    if !judge::is_here(&c.token) {
                        continue;
                    }
                    c.token.best_span()
                } else {
                    gunicorn.span
                };
                (n, anchor, judge::replace_value(&c.token, "1"))
            }
            _ if !judge::is_here(gunicorn) => continue,
            _ => match from_config() {
                Some(Some(n)) => (n, gunicorn.span, None),
                _ => continue,
            },
        };
        if !count.is_multi() {
            continue;
        }
        let mut finding = Finding::new(anchor, MESSAGE);
        if let Some(e) = single {
            finding = finding.with_fix(Fix::unsafe_("Run a single gunicorn worker", vec![e]));
        }
        let framework = ctx.path.and_then(|p| ctx.workspace.framework_of(p, &lref));
        if framework != Some(Framework::Wsgi) {
            let edit = match &w.class {
                Some(c) => judge::replace_value(c, UVICORN_WORKER),
                None if judge::is_here(gunicorn) => Some(judge::insert_words_after(
                    ctx.text,
                    gunicorn,
                    &["--worker-class", UVICORN_WORKER],
                )),
                None => None,
            };
            if let Some(e) = edit {
                finding = finding.with_fix(Fix::unsafe_(
                    "Use the UvicornWorker worker class (ASGI apps only)",
                    vec![e],
                ));
            }
        }
        if let Some(p) = l
            .instrument_prefix
            .filter(|p| p.start >= l.span.start && p.end <= l.span.end && p.end > p.start)
        {
            finding = finding.with_fix(Fix::unsafe_(
                "Remove `opentelemetry-instrument` (then call `initialize()` in a gunicorn `post_fork` hook)",
                vec![Edit::delete(p)],
            ));
        }
        out.push(finding);
    }
    out
}

/// A gunicorn config module read by an instrumented gunicorn that sets no worker count of
/// its own: `workers = N` here is the count.
fn config_module(ctx: &Context) -> Option<Finding> {
    let path = ctx.path?;
    let g = &ctx.launch().gunicorn;
    let w = g.setting("workers")?;
    let count = match w.kind {
        crate::launch::python::ValueKind::Int(n) => Count::N(n),
        crate::launch::python::ValueKind::CpuCount => Count::Many,
        _ => return None,
    };
    if !count.is_multi() || summary::post_fork_inits(g) {
        return None;
    }
    let own_class = g.setting("worker_class");
    if own_class.is_some_and(|c| c.value.dynamic || judge::is_uvicorn_worker(&c.value.text)) {
        return None;
    }
    let users: Vec<_> = ctx
        .workspace
        .launched_by(path)
        .into_iter()
        .filter(|b| {
            let l = b.launcher;
            matches!(b.target, Target::Config(_))
                && l.program == "gunicorn"
                && ctx.workspace.runs_instrumented(b.file, l)
                && l.runtime
                && !ctx.workspace.metrics_disabled(b.file, l)
                && l.workers.is_none()
                && !l.workers_unknown
                && !l
                    .worker_class
                    .as_deref()
                    .is_some_and(judge::is_uvicorn_worker)
        })
        .collect();
    let first = users.first()?;
    let mut finding = Finding::new(w.value.span, MESSAGE).with_fix(Fix::unsafe_(
        "Run a single gunicorn worker",
        vec![Edit::replace(w.value.span, "1")],
    ));
    if ctx.workspace.framework_of(first.file, first.launcher) != Some(Framework::Wsgi) {
        let edit = match own_class {
            Some(c) => judge::replace_value(&c.value, UVICORN_WORKER),
            None => Some(Edit::insert(
                w.stmt.end,
                format!("\nworker_class = \"{UVICORN_WORKER}\""),
            )),
        };
        if let Some(e) = edit {
            finding = finding.with_fix(Fix::unsafe_(
                "Use the UvicornWorker worker class (ASGI apps only)",
                vec![e],
            ));
        }
    }
    if g.function("post_fork").is_none() {
        let lead = if ctx.text.ends_with('\n') || ctx.text.is_empty() {
            "\n"
        } else {
            "\n\n"
        };
        finding = finding.with_fix(Fix::unsafe_(
            "Initialize OpenTelemetry in a `post_fork` hook (then remove `opentelemetry-instrument` from the launcher)",
            vec![Edit::insert(
                ctx.text.len(),
                format!("{lead}\ndef post_fork(server, worker):\n    from opentelemetry.instrumentation.auto_instrumentation import initialize\n\n    initialize()\n"),
            )],
        ));
    }
    Some(finding)
}

const DOCS: &str = r#"## What it does
Flags gunicorn started under `opentelemetry-instrument` with more than one worker — counted
from `-w N`, `-wN`, `--workers N`, `--workers=N`, an exec-form word `"-w 4"`,
`GUNICORN_CMD_ARGS`, `WEB_CONCURRENCY`, or `workers = …` in the config module gunicorn reads
(`-c/--config`, or `./gunicorn.conf.py`) — unless the worker class is a Uvicorn worker or
metrics export is off (`OTEL_METRICS_EXPORTER=none`, `--metrics_exporter none`). It reads
Dockerfiles, shell scripts, Procfiles, compose files, Kubernetes containers, and reports in
the gunicorn config module too when that is where the count is.

## Why is this bad?
`opentelemetry-instrument` sets up the SDK in gunicorn's arbiter, before it forks the
workers. The `PeriodicExportingMetricReader` exports from a background thread; after
`fork()` the workers inherit the thread object but not the thread, and locks held at fork
time stay locked. Traces and logs still flow, metrics silently do not.

## Example
```dockerfile
CMD ["opentelemetry-instrument", "gunicorn", "--workers", "4", "app:app"]
```

## Use instead
```dockerfile
# ASGI app: UvicornWorker handles fork correctly
CMD ["opentelemetry-instrument", "gunicorn", "--workers", "4", "--worker-class", "uvicorn.workers.UvicornWorker", "app:app"]
```
or drop `opentelemetry-instrument` and initialise in the workers:
```python
# gunicorn.conf.py
def post_fork(server, worker):
    from opentelemetry.instrumentation.auto_instrumentation import initialize
    initialize()
```
or run one worker (`--workers 1`).

## Fix safety
Three code actions, all unsafe because each changes how the service runs: set the worker
count to `1` (less concurrency); use `uvicorn.workers.UvicornWorker` (only valid for ASGI
apps; not offered when the app is known to be WSGI); remove the `opentelemetry-instrument`
prefix (in a config module: add a `post_fork` hook that calls `initialize()`) — the other
half of that remedy lives in the other file and must be done by hand.

## Source
- OpenTelemetry docs, Python zero-code troubleshooting, "Pre-fork server issues" and its
  workarounds table <https://opentelemetry.io/docs/zero-code/python/troubleshooting/#pre-fork-server-issues>
- opentelemetry-python issues #2767 and #3307; Python issue 6721 (fork and locks)
"#;

//! OTEL012 `celery-instrument-outside-worker-init`: a Celery app module that sets
//! OpenTelemetry up (`CeleryInstrumentor().instrument()`, `set_*_provider(...)`) at import
//! time or in a `worker_init` handler — in the worker's main process, before the default
//! prefork pool forks the children that run the tasks — instead of in a
//! `@worker_process_init.connect` handler, which runs in each child.
//!
//! Where the call runs is read from the tree (the function around it, its decorators); what
//! the module imports, builds and calls at module level from its facts; how the workers are
//! started (`--pool`) from the workspace's launchers.

use crate::diagnostic::{Edit, Finding, Fix, Severity, Span};
use crate::language::Language;
use crate::rules::initialization::initialize_after_framework_import::whole_lines;
use crate::rules::{always, Bytes, Context, Facts, FixKind, Match, Pre, Query, Rule, Topic};
use crate::syntax::python::{Call, PyFacts};
use tree_sitter::Node;

/// The rule.
pub static RULE: Rule = Rule {
    code: "OTEL012",
    name: "celery-instrument-outside-worker-init",
    topic: Topic::Prefork,
    language: Language::Python,
    also: &[],
    severity: Severity::Warning,
    summary: "Celery app sets up OpenTelemetry at import or in `worker_init`, before the prefork pool forks, instead of in `worker_process_init`",
    docs: DOCS,
    url: "https://opentelemetry-python-contrib.readthedocs.io/en/latest/instrumentation/celery/celery.html",
    fix: FixKind::Unsafe,
    query: Some(Query {
        text: include_str!("celery_instrument_outside_worker_init.scm"),
        check,
    }),
    pre: &[Pre {
        langs: &[Language::Python],
        needles: &[
            "instrument",
            "set_tracer_provider",
            "set_meter_provider",
            "set_logger_provider",
        ],
        facts: Facts::All,
        file: &["Celery", "opentelemetry"],
        relevant,
    }],
    gate: always,
    scan: None,
    scan_per_document: false,
    trees: crate::syntax::yaml::Classes::NONE,
};

/// The instrumentor's module.
const CELERY_INSTRUMENTATION: &str = "opentelemetry.instrumentation.celery";

/// The SDK setters, by module.
const PROVIDERS: &[(&str, &str)] = &[
    ("opentelemetry.trace", "set_tracer_provider"),
    ("opentelemetry.metrics", "set_meter_provider"),
    ("opentelemetry._logs", "set_logger_provider"),
];

/// The name the fix gives its handler.
const HANDLER: &str = "init_celery_tracing";

/// A module naming Celery and OpenTelemetry.
fn relevant(b: &Bytes) -> bool {
    b.has("Celery") && b.has("opentelemetry")
}

fn compact(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// Whether a callee (white space removed) sets OpenTelemetry up for the worker:
/// `CeleryInstrumentor().instrument` (or a name bound from `CeleryInstrumentor()`), or an SDK
/// provider setter through the module or an imported name.
fn is_setup(py: &PyFacts, callee: &str) -> bool {
    if let Some(obj) = callee.strip_suffix(".instrument") {
        let refs: Vec<String> = py
            .class_refs(CELERY_INSTRUMENTATION, "CeleryInstrumentor")
            .into_iter()
            .map(|(r, _)| r)
            .chain(
                py.names_bound_to(CELERY_INSTRUMENTATION, "CeleryInstrumentor")
                    .map(|i| i.bound.clone()),
            )
            .collect();
        let named = |s: &str| refs.iter().any(|r| r == s);
        return match obj.strip_suffix("()") {
            Some(class) => named(class),
            None => py
                .calls
                .iter()
                .any(|c| c.assigned_to.as_deref() == Some(obj) && named(&c.callee)),
        };
    }
    PROVIDERS.iter().any(|(module, f)| {
        py.names_bound_to(module, f).any(|i| i.bound == callee)
            || callee
                .strip_suffix(f)
                .and_then(|o| o.strip_suffix('.'))
                .is_some_and(|o| py.module_refs(module).any(|(r, _)| r == o))
    })
}

/// Whether the module builds a Celery app (at module level, or in a module-level function).
fn builds_celery(ctx: &Context, py: &PyFacts) -> bool {
    let refs: Vec<String> = py
        .class_refs("celery", "Celery")
        .into_iter()
        .map(|(r, _)| r)
        .chain(
            py.names_bound_to("celery", "Celery")
                .map(|i| i.bound.clone()),
        )
        .collect();
    let named = |s: &str| refs.iter().any(|r| r == s);
    py.calls
        .iter()
        .any(|c| !c.type_checking && named(&c.callee))
        || ctx
            .launch()
            .gunicorn
            .functions
            .iter()
            .any(|f| f.calls.iter().any(|c| named(c)))
}

/// The pool the module's configuration names (`worker_pool = "solo"`,
/// `app.conf.update(worker_pool="threads")`, the old `CELERYD_POOL`), lower-cased.
fn config_pool(text: &str) -> Option<String> {
    ["worker_pool", "CELERYD_POOL"].iter().find_map(|key| {
        text.match_indices(key).find_map(|(at, k)| {
            let rest = &text[at + k.len()..];
            let line = &rest[..rest.find('\n').unwrap_or(rest.len())];
            // `worker_pool = `, `worker_pool=`, `["worker_pool"] = `, `"worker_pool": `.
            let line = line.trim_start_matches(['"', '\'', ']']).trim_start();
            let value = line.strip_prefix(['=', ':'])?.trim_start();
            let q = value.chars().next().filter(|c| *c == '"' || *c == '\'')?;
            let inner = &value[1..];
            let end = inner.find(q)?;
            Some(inner[..end].trim().to_ascii_lowercase())
        })
    })
}

/// Whether a pool forks worker processes (`prefork`, its alias `processes`). An unknown pool
/// (`$POOL`) does not count: the rule stays silent where it cannot tell.
fn forks(pool: &str) -> bool {
    matches!(pool, "prefork" | "processes")
}

/// Whether the workers that run this module's app fork: some `celery … worker` launcher of
/// the workspace that starts it uses a forking pool (its `-P`, else the module's
/// `worker_pool`, else the default `prefork`); with no such launcher, the module's
/// `worker_pool`, else the default.
fn workers_fork(ctx: &Context) -> bool {
    let config = config_pool(ctx.text);
    let effective = |given: &str| match given {
        "" => config.clone().unwrap_or_else(|| "prefork".into()),
        p => p.to_string(),
    };
    let pools: Vec<String> = ctx
        .path
        .map(|p| ctx.workspace.launched_by(p))
        .unwrap_or_default()
        .iter()
        .filter(|b| b.launcher.program == "celery" && b.target.is_app())
        .filter_map(|b| b.launcher.celery_pool.clone())
        .collect();
    if pools.is_empty() {
        return forks(&effective(""));
    }
    pools.iter().any(|p| forks(&effective(p)))
}

/// The module-level function around `node` and its decorators; `None` at module level, in a
/// class, a lambda or a nested function.
fn enclosing_function(node: Node) -> Option<(Node, Vec<Node>)> {
    let mut cur = node.parent();
    while let Some(n) = cur {
        match n.kind() {
            "class_definition" | "lambda" => return None,
            "function_definition" => break,
            _ => {}
        }
        cur = n.parent();
    }
    let f = cur?;
    let parent = f.parent()?;
    match parent.kind() {
        "module" => Some((f, Vec::new())),
        "decorated_definition" if parent.parent().is_some_and(|g| g.kind() == "module") => {
            let mut c = parent.walk();
            let d: Vec<Node> = parent
                .named_children(&mut c)
                .filter(|d| d.kind() == "decorator")
                .collect();
            Some((f, d))
        }
        _ => None,
    }
}

/// The Celery signal a decorator connects to (`worker_process_init.connect(weak=False)` →
/// `worker_process_init`).
fn signal_of(decorator: &str) -> Option<&str> {
    let head = decorator.trim_start_matches('@');
    let head = head.split('(').next().unwrap_or(head);
    let mut parts = head.rsplit('.');
    (parts.next() == Some("connect"))
        .then(|| parts.next())
        .flatten()
}

fn check(m: &Match) -> Option<Finding> {
    let call = m.get("call")?;
    if call.has_error() {
        return None;
    }
    let py = m.ctx.python()?;
    let callee = compact(m.text(m.get("func")?));
    if !is_setup(py, &callee) || !builds_celery(m.ctx, py) {
        return None;
    }
    let span = m.span(call);
    let text = m.file_text();
    let module_level = py
        .calls
        .iter()
        .find(|c| c.start == span.start && !c.type_checking);
    let (finding, fix) = match module_level {
        Some(c) => {
            if is_main_block(text, c) {
                return None;
            }
            if !workers_fork(m.ctx) {
                return None;
            }
            let message = format!(
                "`{}(…)` runs when the Celery app is imported, in the worker's main process: the child processes the prefork pool forks to run the tasks do not keep its export threads. Call it in a `@worker_process_init.connect` handler.",
                callee
            );
            (Finding::new(span, message), wrap_fix(m, py))
        }
        None => {
            let (_, decorators) = enclosing_function(call)?;
            let (signal, deco) = decorators.iter().find_map(|d| {
                let t = compact(m.text(*d));
                let s = signal_of(&t)?;
                matches!(s, "worker_init" | "celeryd_init").then(|| (s.to_string(), *d))
            })?;
            if decorators
                .iter()
                .any(|d| signal_of(&compact(m.text(*d))) == Some("worker_process_init"))
                || !workers_fork(m.ctx)
            {
                return None;
            }
            let message = format!(
                "`{}(…)` runs in a `{signal}` handler, in the worker's main process before the prefork pool forks: the child processes that run the tasks do not keep its export threads. Connect it to `worker_process_init` instead.",
                callee
            );
            (Finding::new(span, message), signal_fix(m, py, deco))
        }
    };
    Some(match fix {
        Some(f) => finding.with_fix(f),
        None => finding,
    })
}

/// Whether a module-level call sits under `if __name__ == "__main__":` (it does not run when
/// the worker imports the app).
fn is_main_block(text: &str, c: &Call) -> bool {
    c.guarded
        && text
            .get(c.stmt_start..)
            .is_some_and(|t| t.starts_with("if __name__"))
}

/// The name `worker_process_init` is reachable by in the module, and the import edit to add
/// when it is not.
fn signal_name(m: &Match, py: &PyFacts) -> (String, Option<Edit>) {
    if let Some(i) = py
        .names_bound_to("celery.signals", "worker_process_init")
        .find(|i| i.is_executed())
    {
        return (i.bound.clone(), None);
    }
    if let Some((r, _)) = py.module_refs("celery.signals").next() {
        return (format!("{r}.worker_process_init"), None);
    }
    let text = m.file_text();
    let newline = if text.contains("\r\n") { "\r\n" } else { "\n" };
    // After the last plain module-level import, else after the module header.
    let at = py
        .imports
        .iter()
        .filter(|i| i.is_executed() && i.top_start == i.stmt_start && i.top_end == i.stmt_end)
        .filter_map(|i| whole_lines(text, i.stmt_start, i.stmt_end))
        .map(|s| s.end)
        .max()
        .or_else(|| {
            py.header_end
                .filter(|&h| h > 0)
                .map(|h| text[h..].find('\n').map_or(text.len(), |n| h + n + 1))
        })
        .unwrap_or(0);
    let line = format!("from celery.signals import worker_process_init{newline}");
    let line = if at > 0 && !text[..at].ends_with('\n') {
        format!("{newline}{line}")
    } else {
        line
    };
    (
        "worker_process_init".to_string(),
        Some(Edit::insert(at, line)),
    )
}

/// Wraps every module-level setup call of the module (each a statement of its own lines) in
/// one `@worker_process_init.connect(weak=False)` handler, placed where the last one was.
fn wrap_fix(m: &Match, py: &PyFacts) -> Option<Fix> {
    let text = m.file_text();
    if py.functions.iter().any(|f| f.name == HANDLER) {
        return None;
    }
    let mut spans: Vec<Span> = Vec::new();
    for c in py
        .calls
        .iter()
        .filter(|c| !c.type_checking && !is_main_block(text, c) && is_setup(py, &c.callee))
    {
        if !c.is_whole_statement() {
            return None;
        }
        let lines = whole_lines(text, c.stmt_start, c.stmt_end)?;
        let stmt = text.get(c.stmt_start..c.stmt_end)?;
        if stmt.contains("\"\"\"") || stmt.contains("'''") {
            return None;
        }
        spans.push(lines);
    }
    spans.sort();
    spans.dedup();
    let last = *spans.last()?;
    let newline = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let (signal, import) = signal_name(m, py);
    let mut handler =
        format!("@{signal}.connect(weak=False){newline}def {HANDLER}(*args, **kwargs):{newline}");
    for s in &spans {
        for line in text[s.start..s.end].lines() {
            let line = line.strip_suffix('\r').unwrap_or(line);
            if !line.trim().is_empty() {
                handler.push_str("    ");
            }
            handler.push_str(line);
            handler.push_str(newline);
        }
    }
    let mut edits: Vec<Edit> = spans[..spans.len() - 1]
        .iter()
        .map(|s| Edit::delete(*s))
        .collect();
    edits.push(Edit::replace(last, handler));
    if let Some(i) = import {
        if spans
            .iter()
            .any(|s| s.start < i.span.start && i.span.start < s.end)
        {
            return None;
        }
        edits.push(i);
    }
    Some(Fix::unsafe_(
        format!("Move the setup into a `@worker_process_init.connect` handler (`{HANDLER}`)"),
        edits,
    ))
}

/// Connects the handler to `worker_process_init` instead of `worker_init`/`celeryd_init`.
fn signal_fix(m: &Match, py: &PyFacts, decorator: Node) -> Option<Fix> {
    let mut expr = decorator.named_child(0)?;
    if expr.kind() == "call" {
        expr = expr.child_by_field_name("function")?;
    }
    if expr.kind() != "attribute" {
        return None;
    }
    let object = expr.child_by_field_name("object")?;
    let (name, bare) = match object.kind() {
        "identifier" => (object, true),
        "attribute" => (object.child_by_field_name("attribute")?, false),
        _ => return None,
    };
    let mut edits = Vec::new();
    if bare {
        let (signal, import) = signal_name(m, py);
        edits.push(Edit::replace(m.span(name), signal));
        edits.extend(import);
    } else {
        edits.push(Edit::replace(m.span(name), "worker_process_init"));
    }
    Some(Fix::unsafe_(
        "Connect the handler to `worker_process_init`",
        edits,
    ))
}

const DOCS: &str = r#"## What it does
Flags, in a module that builds a Celery app (`Celery(...)`), the OpenTelemetry setup that
runs in the worker's main process: `CeleryInstrumentor().instrument()` and the SDK provider
setters (`trace.set_tracer_provider(...)`, `metrics.set_meter_provider(...)`,
`_logs.set_logger_provider(...)`) at module level, or in a handler of `worker_init` /
`celeryd_init`, instead of in a function decorated with `@worker_process_init.connect`.

Silent when the workers do not fork: every `celery … worker` launcher of the workspace that
starts the module uses `--pool solo`, `threads`, `gevent` or `eventlet` (or a pool it cannot
read, `$POOL`), or — without `-P` — the module configures such a `worker_pool`. Calls under
`if __name__ == "__main__":` and in other functions are not judged.

## Why is this bad?
With the default prefork pool the tasks run in child processes forked from the main
process. Setup done before the fork leaves the children with the parent's exporter state:
the batch span processor's worker thread does not run in them, so task spans are never
exported (or only partly). The Celery instrumentation's documentation initialises tracing
in a `worker_process_init` handler, which runs in each child.

## Example
```python
from celery import Celery
from opentelemetry import trace
from opentelemetry.instrumentation.celery import CeleryInstrumentor
from opentelemetry.sdk.trace import TracerProvider

app = Celery("tasks", broker="redis://localhost")
trace.set_tracer_provider(TracerProvider())
CeleryInstrumentor().instrument()
```

## Use instead
```python
from celery import Celery
from celery.signals import worker_process_init
from opentelemetry import trace
from opentelemetry.instrumentation.celery import CeleryInstrumentor
from opentelemetry.sdk.trace import TracerProvider

app = Celery("tasks", broker="redis://localhost")


@worker_process_init.connect(weak=False)
def init_celery_tracing(*args, **kwargs):
    trace.set_tracer_provider(TracerProvider())
    CeleryInstrumentor().instrument()
```

## Fix safety
Unsafe. The fix wraps the module's module-level setup calls (each a statement of its own
lines) in `@worker_process_init.connect(weak=False)` / `def init_celery_tracing(*args,
**kwargs):`, importing `worker_process_init` when the module lacks it; for a `worker_init`
handler it connects the handler to `worker_process_init` instead. Processes that import
the module without being a Celery worker child (a web app sending tasks) then no longer get
that setup, and code between the moved statements runs before them: review it.

## Source
- opentelemetry-python-contrib `opentelemetry-instrumentation-celery`: "Setting up tracing"
  (`@worker_process_init.connect(weak=False)`)
  <https://opentelemetry-python-contrib.readthedocs.io/en/latest/instrumentation/celery/celery.html>
- opentelemetry-python issue #2266; opentelemetry-python-contrib issue #4916
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pools_from_the_module_configuration() {
        assert_eq!(
            config_pool("app.conf.worker_pool = 'solo'\n").as_deref(),
            Some("solo")
        );
        assert_eq!(
            config_pool("app.conf.update(worker_pool=\"Threads\", x=1)\n").as_deref(),
            Some("threads")
        );
        assert_eq!(
            config_pool("app.conf[\"worker_pool\"] = \"gevent\"\n").as_deref(),
            Some("gevent")
        );
        assert_eq!(
            config_pool("CELERYD_POOL = 'eventlet'\n").as_deref(),
            Some("eventlet")
        );
        assert_eq!(
            config_pool("conf = {\"worker_pool\": \"solo\"}\n").as_deref(),
            Some("solo")
        );
        assert_eq!(config_pool("worker_pool = POOL\n"), None);
        assert_eq!(config_pool("# nothing\n"), None);
        assert!(forks("prefork") && forks("processes"));
        assert!(!forks("solo") && !forks("$") && !forks("threads"));
    }

    #[test]
    fn signals_of_decorators() {
        assert_eq!(
            signal_of("worker_process_init.connect(weak=False)"),
            Some("worker_process_init")
        );
        assert_eq!(
            signal_of("celery.signals.worker_init.connect"),
            Some("worker_init")
        );
        assert_eq!(signal_of("@app.task"), None);
    }
}

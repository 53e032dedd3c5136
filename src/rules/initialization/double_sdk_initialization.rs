//! OTEL011 `double-sdk-initialization`: `set_tracer_provider` / `set_meter_provider` /
//! `set_logger_provider` in a process that auto-instrumentation already configured. The SDK
//! configurator installs the tracer and meter providers (and the logger provider when logs
//! are exported) before the application runs; the API lets a global provider be set once,
//! so the manual one is dropped with a warning and its resource, exporters and processors
//! never see a span.
//!
//! The query finds the calls by name; the imports say whether the name is OpenTelemetry's
//! setter, and the workspace's launchers whether the process is auto-configured: started by
//! `opentelemetry-instrument`, in a pod the Operator injects, or after the module's own
//! `initialize()` — in each case only when a configurator is there to install providers.

use crate::diagnostic::{Edit, Finding, Fix, Severity, Span};
use crate::engine::suppress::line_start;
use crate::language::Language;
use crate::launch::Target;
use crate::rules::initialization::initialize_after_framework_import::first_activation;
use crate::rules::{always, launched, Facts, FixKind, Match, Pre, Query, Rule, Topic};
use crate::syntax::python::PyFacts;
use crate::workspace::{LaunchedBy, Workspace};
use std::path::Path;
use tree_sitter::Node;

/// The rule.
pub static RULE: Rule = Rule {
    code: "OTEL011",
    name: "double-sdk-initialization",
    topic: Topic::Initialization,
    language: Language::Python,
    also: &[],
    severity: Severity::Warning,
    summary:
        "`set_*_provider` in a process auto-instrumentation already configured: the call is ignored",
    docs: DOCS,
    url: "https://opentelemetry.io/docs/zero-code/python/troubleshooting/#pre-fork-server-issues",
    fix: FixKind::Unsafe,
    query: Some(Query {
        text: include_str!("double_sdk_initialization.scm"),
        check,
    }),
    pre: &[Pre {
        langs: &[Language::Python],
        needles: SETTER_NAMES,
        // Imports of OpenTelemetry (the setters' modules, auto-instrumentation) and the
        // calls of the names they bind (`initialize()` under any alias).
        facts: Facts::Named(&["opentelemetry"], otel_names),
        file: &[],
        // Every reason needs a launcher of the workspace that starts the module.
        relevant: launched,
    }],
    gate: always,
    scan: None,
    scan_per_document: false,
    trees: crate::syntax::yaml::Classes::NONE,
};

/// The setters: the function, its module, and the module's name in `opentelemetry`.
const SETTERS: &[(&str, &str, &str)] = &[
    ("set_tracer_provider", "opentelemetry.trace", "trace"),
    ("set_meter_provider", "opentelemetry.metrics", "metrics"),
    ("set_logger_provider", "opentelemetry._logs", "_logs"),
];

/// The setters' names, as needles.
const SETTER_NAMES: &[&str] = &[
    "set_tracer_provider",
    "set_meter_provider",
    "set_logger_provider",
];

/// The local names OpenTelemetry imports bind (for [`Facts::Named`]).
fn otel_names(py: &PyFacts) -> Vec<String> {
    py.imports
        .iter()
        .filter(|i| i.module == "opentelemetry" || i.module.starts_with("opentelemetry."))
        .map(|i| i.bound.clone())
        .collect()
}

/// Which setter a callee (white space removed) names through the module's imports
/// (module level or inside functions; never `TYPE_CHECKING` ones).
fn setter_of(py: &PyFacts, callee: &str) -> Option<&'static str> {
    for &(func, module, short) in SETTERS {
        let refs = py
            .imports
            .iter()
            .filter(|i| !i.type_checking)
            .filter_map(|i| {
                let name = i.name.as_deref();
                if i.module == module {
                    return match name {
                        Some(n) if n == func => Some(i.bound.clone()),
                        Some("*") => Some(func.to_string()),
                        Some(_) => None,
                        // `import opentelemetry.trace as t` → `t.set_…`.
                        None if i.bound != "opentelemetry" => Some(format!("{}.{func}", i.bound)),
                        None => Some(format!("{module}.{func}")),
                    };
                }
                // `import opentelemetry.trace.span` loads `opentelemetry.trace` too.
                if name.is_none()
                    && i.bound == "opentelemetry"
                    && i.module.starts_with(module)
                    && i.module[module.len()..].starts_with('.')
                {
                    return Some(format!("{module}.{func}"));
                }
                // `from opentelemetry import trace [as t]` → `t.set_…`.
                (i.module == "opentelemetry" && name == Some(short))
                    .then(|| format!("{}.{func}", i.bound))
            });
        if refs.into_iter().any(|r| r == callee) {
            return Some(func);
        }
    }
    None
}

/// Why the process is already configured.
enum Reason<'a> {
    /// The Operator injects the pod that runs the module (from this launcher's file).
    Injected(&'a Path),
    /// `opentelemetry-instrument` starts it (in this file).
    Instrument(&'a Path),
    /// The module's own `initialize()` ran before the call.
    Initialize,
}

fn check(m: &Match) -> Option<Finding> {
    let call = m.get("call")?;
    let callee = m.get("callee")?;
    if call.has_error() {
        return None;
    }
    let py = m.ctx.python()?;
    let name: String = m
        .text(callee)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let setter = setter_of(py, &name)?;
    let path = m.ctx.path?;
    if checks_the_provider(m, call) {
        return None;
    }
    let ws = m.ctx.workspace;
    let main_only = under_main_guard(m, call);
    let span = m.span(call);
    let by: Vec<LaunchedBy> = ws
        .launched_by(path)
        .into_iter()
        .filter(|b| b.launcher.runtime && (!main_only || runs_as_main(b)))
        .collect();
    let reason = if let Some(b) = by
        .iter()
        .find(|b| b.launcher.operator_injected || ws.image_injected(b.file))
    {
        Reason::Injected(b.file)
    } else if let Some(file) = by.iter().find_map(|b| instrumented_by(ws, b)) {
        Reason::Instrument(file)
    } else if initialized_before(py, span.start)
        && by.iter().any(|b| ws.auto_configures(b.file, b.launcher))
    {
        Reason::Initialize
    } else {
        return None;
    };
    let remedy = match reason {
        Reason::Injected(file) => format!(
            " The OpenTelemetry Operator injects auto-instrumentation into the pod that runs this module (started by `{}`): remove this call, or the pod's `inject-python` annotation.",
            file_name(file)
        ),
        Reason::Instrument(file) => format!(
            " Remove this call, or start the process without `opentelemetry-instrument` (in `{}`) and keep this setup.",
            file_name(file)
        ),
        Reason::Initialize => {
            " `initialize()` ran above: remove this call, or the `initialize()` call.".to_string()
        }
    };
    let message = format!(
        "This process is already configured by OpenTelemetry auto-instrumentation; `{setter}` is ignored (override not allowed).{remedy}"
    );
    let finding = Finding::new(span, message);
    Some(match removal(m, call, setter) {
        Some(fix) => finding.with_fix(fix),
        None => finding,
    })
}

/// The file name of a launcher's file, for the message.
fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| p.display().to_string())
}

/// The file of an `opentelemetry-instrument` launcher that starts the module (or the uWSGI
/// ini file that names it) in a process a configurator sets up.
fn instrumented_by<'w>(ws: &'w Workspace, b: &LaunchedBy<'w>) -> Option<&'w Path> {
    if ws.runs_instrumented(b.file, b.launcher) && ws.auto_configures(b.file, b.launcher) {
        return Some(b.file);
    }
    // `module = app:app` in a uWSGI ini file that an instrumented uwsgi reads.
    if b.launcher.program != "uwsgi" || Language::from_path(b.file) != Some(Language::Ini) {
        return None;
    }
    ws.launched_by(b.file)
        .into_iter()
        .find(|r| {
            matches!(r.target, Target::UwsgiIni(_))
                && r.launcher.program == "uwsgi"
                && r.launcher.runtime
                && ws.runs_instrumented(r.file, r.launcher)
                && (ws.auto_configures(r.file, r.launcher)
                    || ws.auto_configures(b.file, b.launcher))
        })
        .map(|r| r.file)
}

/// Whether the module's programmatic auto-instrumentation runs, unconditionally at module
/// level, before byte `pos` (a function defined below it runs after it, too).
fn initialized_before(py: &PyFacts, pos: usize) -> bool {
    first_activation(py).is_some_and(|a| a.pos < pos && !a.call.is_some_and(|c| c.guarded))
}

/// Whether a launcher runs the module as `__main__` (`python app.py`, `python -m app`).
fn runs_as_main(b: &LaunchedBy) -> bool {
    b.target.is_app() && b.launcher.program.starts_with("python")
}

/// The conditions of the `if`/`elif`/`while`/conditional expressions around the call (an
/// `else` branch counts under its `if`'s condition).
fn conditions(call: Node) -> Vec<Node> {
    let mut out = Vec::new();
    let mut cur = call;
    while let Some(p) = cur.parent() {
        if matches!(
            p.kind(),
            "if_statement" | "elif_clause" | "conditional_expression" | "while_statement"
        ) {
            if let Some(c) = p.child_by_field_name("condition") {
                // Only when the call is in a branch, not in the condition itself.
                if !(c.start_byte() <= call.start_byte() && call.end_byte() <= c.end_byte()) {
                    out.push(c);
                }
            }
        }
        cur = p;
    }
    out
}

/// Whether the call is guarded by a look at the current provider
/// (`if isinstance(trace.get_tracer_provider(), ProxyTracerProvider):`): the setup that only
/// runs where nothing configured the process first.
fn checks_the_provider(m: &Match, call: Node) -> bool {
    conditions(call)
        .iter()
        .any(|c| m.text(*c).to_ascii_lowercase().contains("provider"))
}

/// Whether the call only runs when the module is `__main__`.
fn under_main_guard(m: &Match, call: Node) -> bool {
    conditions(call)
        .iter()
        .any(|c| m.text(*c).contains("__main__"))
}

/// The quick fix: delete the statement that is the call (its whole lines), or replace it by
/// `pass` when it is the only statement of its block. `None` when the call is part of a
/// larger expression or shares its line with other code.
fn removal(m: &Match, call: Node, setter: &str) -> Option<Fix> {
    let stmt = call
        .parent()
        .filter(|p| p.kind() == "expression_statement")?;
    if stmt.named_child_count() != 1 {
        return None;
    }
    let text = m.file_text();
    let s = m.span(stmt);
    let ls = line_start(text, s.start);
    if !text.get(ls..s.start)?.trim().is_empty() {
        return None;
    }
    let nl = text[s.end..]
        .find('\n')
        .map_or(text.len(), |n| s.end + n + 1);
    let tail = text[s.end..nl].trim();
    if !(tail.is_empty() || tail.starts_with('#')) {
        return None;
    }
    let alone = stmt.parent().is_some_and(|b| {
        b.kind() == "block" && {
            let mut c = b.walk();
            let n = b
                .named_children(&mut c)
                .filter(|x| x.kind() != "comment")
                .count();
            n == 1
        }
    });
    let edit = if alone {
        Edit::replace(s, "pass")
    } else {
        Edit::delete(Span::new(ls, nl))
    };
    Some(Fix::unsafe_(
        format!("Remove the manual `{setter}(...)` call (auto-instrumentation already set one)"),
        vec![edit],
    ))
}

const DOCS: &str = r#"## What it does
Flags `trace.set_tracer_provider(...)`, `metrics.set_meter_provider(...)` and
`_logs.set_logger_provider(...)` (also imported by name, under any alias, at module level or
inside a function such as a gunicorn `post_fork` hook) in a module whose process is already
configured by auto-instrumentation:

* (a) a launcher of the workspace starts it under `opentelemetry-instrument`: directly
  (`python app.py`), as the gunicorn / uvicorn / `flask run` / Celery target, as the gunicorn
  `-c`/`--config` module (or the default `gunicorn.conf.py`) of an instrumented gunicorn, or
  as the `module =` of a uWSGI ini file that an instrumented `uwsgi --ini` reads;
* (b) the module itself ran `initialize()` (or imported the auto-instrumentation
  `sitecustomize`) unconditionally at module level before the call;
* (c) the pod that runs it is injected by the OpenTelemetry Operator (a truthy
  `instrumentation.opentelemetry.io/inject-python` on a container's pod template, or on the
  pod of the image its Dockerfile builds, by the image-name heuristic).

Auto-instrumentation installs providers only through a configurator, which a distro
provides. So (a) and (b) count only when one is known to be there: a `pip install` list of
the launcher's Dockerfile or script (or of the image a compose service builds) names
`opentelemetry-distro` or a vendor distro, or — when the packages come from files otel-lsp
does not read, such as a requirements file — the launcher's environment sets
`OTEL_TRACES_EXPORTER`, `OTEL_METRICS_EXPORTER`, `OTEL_LOGS_EXPORTER`,
`OTEL_PYTHON_CONFIGURATOR` or `OTEL_PYTHON_DISTRO` (variables or `--flags`). An image whose
packages are all listed explicitly without a distro has no configurator (OTEL052 reports
that), and nothing is doubled. The Operator's image always carries `opentelemetry-distro`.

Not flagged: manual setup in a process no auto-instrumentation launcher starts; a gunicorn
`post_fork` setup when gunicorn is not wrapped by `opentelemetry-instrument` (the documented
pre-fork pattern); calls guarded by a look at the current provider
(`if isinstance(trace.get_tracer_provider(), ProxyTracerProvider):`); calls under
`if __name__ == "__main__":` when no launcher runs the module as a script; calls in modules
the launched module imports (the workspace does not follow Python imports).

## Why is this bad?
The SDK configurator (`_initialize_components`) installs a tracer provider and a meter
provider unconditionally, and a logger provider when logs are exported. A global provider
can be set once: the second call logs "Overriding of current TracerProvider is not allowed"
and does nothing, so the resource, exporters and processors the code configured are
silently ignored. Processors added to `get_tracer_provider()` instead export every span
twice.

## Example
```python
# gunicorn.conf.py, run by: opentelemetry-instrument gunicorn -c gunicorn.conf.py app:app
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider


def post_fork(server, worker):
    trace.set_tracer_provider(TracerProvider())
```

## Use instead
Either let auto-instrumentation configure the SDK (environment variables such as
`OTEL_SERVICE_NAME`, `OTEL_EXPORTER_OTLP_ENDPOINT`) and remove the manual setup, or keep the
manual (`post_fork`) setup and start the process without `opentelemetry-instrument`:

```dockerfile
CMD ["gunicorn", "-c", "gunicorn.conf.py", "app:app"]
```

## Fix safety
The fix deletes the `set_*_provider(...)` statement (or replaces it by `pass` when it is
the only statement of its block). It is unsafe: the configuration the code meant to apply
(resource attributes, exporters, samplers) has to be moved to `OTEL_*` environment variables
by hand. The other remedy — removing `opentelemetry-instrument` from the launcher — edits
another file (the message names it), so it is not offered as a fix here; for an injected pod
remove the `inject-python` annotation instead. There is no fix when the call is part of a
larger expression or shares its line with other code.

## Source
- opentelemetry-python `opentelemetry-api/src/opentelemetry/trace/__init__.py`
  ("Overriding of current TracerProvider is not allowed"), SDK
  `opentelemetry/sdk/_configuration/__init__.py` (`_initialize_components`)
- OpenTelemetry docs, Python zero-code troubleshooting, pre-fork servers (set up the SDK in
  `post_fork` "instead of with `opentelemetry-instrument`")
  <https://opentelemetry.io/docs/zero-code/python/troubleshooting/#pre-fork-server-issues>
- opentelemetry-python-contrib `opentelemetry-instrumentation/README.rst` (a distro is
  needed for auto-configuration)
"#;

//! OTEL023 `gunicorn-post-fork-missing-init`: a gunicorn config module that sets up
//! OpenTelemetry in the arbiter (before fork) or never calls its setup in a `post_fork`
//! hook, or names a hook so that gunicorn silently ignores it.

use crate::diagnostic::{Edit, Finding, Fix, Severity, Span};
use crate::language::Language;
use crate::launch::python::{GunicornFacts, HOOKS, SETTINGS};
use crate::launch::summary::is_otel_setup_call;
use crate::launch::Target;
use crate::rules::exporter::unknown_otel_component::distance;
use crate::rules::{Bytes, Context, Facts, FixKind, Pre, Rule, Topic};

/// The rule.
pub static RULE: Rule = Rule {
    code: "OTEL023",
    name: "gunicorn-post-fork-missing-init",
    topic: Topic::Prefork,
    language: Language::Python,
    also: &[],
    severity: Severity::Warning,
    summary: "gunicorn config sets up OpenTelemetry before fork, or without a `post_fork` hook",
    docs: DOCS,
    url: "https://opentelemetry.io/docs/zero-code/python/troubleshooting/#use-programmatic-auto-instrumentation",
    fix: FixKind::Unsafe,
    query: None,
    pre: &[
        Pre {
            langs: &[Language::Python],
            needles: &["fork", "worker", "bind", "gunicorn"],
            facts: Facts::All,
            file: &[],
            relevant,
        },
    ],
    gate,
    scan: Some(scan),
    scan_per_document: false,
    trees: crate::syntax::yaml::Classes::NONE,
};

/// A gunicorn config module: named `gunicorn*.py`, given to an instrumented or plain gunicorn
/// by `-c`, or assigning at least two gunicorn settings one of which is `bind`, `workers`
/// or `worker_class`.
fn is_config_module(ctx: &Context) -> bool {
    let g = &ctx.launch().gunicorn;
    let named = ctx
        .path
        .and_then(|p| p.file_name())
        .and_then(|n| n.to_str())
        .is_some_and(|n| {
            let n = n.to_ascii_lowercase();
            n.starts_with("gunicorn") && n.ends_with(".py")
        });
    let used = ctx.path.is_some_and(|p| {
        ctx.workspace
            .launched_by(p)
            .iter()
            .any(|b| matches!(b.target, Target::Config(_)) && b.launcher.program == "gunicorn")
    });
    let mut names: Vec<&str> = g
        .settings
        .iter()
        .map(|s| s.name.as_str())
        .filter(|n| SETTINGS.contains(n))
        .collect();
    names.sort_unstable();
    names.dedup();
    let looks = names.len() >= 2
        && names
            .iter()
            .any(|n| matches!(*n, "bind" | "workers" | "worker_class"));
    named || used || looks
}

/// [`is_config_module`] as bytes, the path and the workspace tell: named `gunicorn*.py`,
/// given to a gunicorn by `-c`, or assigning gunicorn settings at module level
/// (`launch::python::may_assign_settings`).
fn relevant(b: &Bytes) -> bool {
    let named = b
        .path
        .and_then(|p| p.file_name())
        .and_then(|n| n.to_str())
        .is_some_and(|n| {
            let n = n.to_ascii_lowercase();
            n.starts_with("gunicorn") && n.ends_with(".py")
        });
    named
        || b.path.is_some_and(|p| {
            b.workspace
                .launched_by(p)
                .iter()
                .any(|l| matches!(l.target, Target::Config(_)) && l.launcher.program == "gunicorn")
        })
        || crate::launch::python::may_assign_settings(b.text)
}

fn gate(ctx: &Context) -> bool {
    if !is_config_module(ctx) {
        return false;
    }
    // Under opentelemetry-instrument the SDK is set up before the config runs: OTEL020's case.
    !ctx.path.is_some_and(|p| {
        ctx.workspace.launched_by(p).iter().any(|b| {
            matches!(b.target, Target::Config(_))
                && ctx.workspace.runs_instrumented(b.file, b.launcher)
        })
    })
}

/// Whether a name is a typo of a gunicorn hook that gunicorn would ignore.
fn hook_typo(name: &str) -> Option<&'static str> {
    if HOOKS.contains(&name) || name.starts_with("__") {
        return None;
    }
    let norm = |s: &str| s.to_ascii_lowercase().replace('_', "");
    let n = norm(name);
    HOOKS.iter().copied().find(|h| {
        let nh = norm(h);
        n == nh
            || n.strip_suffix("hook") == Some(nh.as_str())
            || n.strip_prefix("on") == Some(nh.as_str())
            || (name.len() >= 6
                && distance(name, h) <= 2
                && !HOOKS.iter().any(|o| distance(name, o) < distance(name, h)))
    })
}

fn hook_call_fix(
    ctx: &Context,
    g: &GunicornFacts,
    call: &str,
    remove: Option<Span>,
) -> Option<Fix> {
    let mut edits = Vec::new();
    if let Some(r) = remove {
        edits.push(Edit::delete(r));
    }
    match g.function("post_fork") {
        Some(hook) if hook.params == 2 => {
            let end = hook.span.end;
            edits.push(Edit::insert(end, format!("\n{}{call}", hook.body_indent)));
        }
        Some(_) => return None,
        None => {
            let lead = if ctx.text.ends_with('\n') || ctx.text.is_empty() {
                "\n"
            } else {
                "\n\n"
            };
            edits.push(Edit::insert(
                ctx.text.len(),
                format!("{lead}\ndef post_fork(server, worker):\n    {call}\n"),
            ));
        }
    }
    Some(Fix::unsafe_(
        format!("Call `{call}` in a gunicorn `post_fork` hook"),
        edits,
    ))
}

fn scan(ctx: &Context) -> Vec<Finding> {
    let Some(py) = ctx.python() else {
        return Vec::new();
    };
    let g = &ctx.launch().gunicorn;
    let mut out = Vec::new();
    let hooked = |f: &str| -> bool {
        ["post_fork", "post_worker_init"].iter().any(|h| {
            g.function(h).is_some_and(|hook| {
                hook.params == if *h == "post_fork" { 2 } else { 1 }
                    && hook
                        .calls
                        .iter()
                        .any(|c| c == f || is_otel_setup_call(c, g))
            })
        })
    };
    // (a) set up at module level: runs in the arbiter, before fork.
    let mut top_level = false;
    for c in &py.calls {
        if !is_otel_setup_call(&c.callee, g) {
            continue;
        }
        top_level = true;
        let line = crate::launch::judge::line_span(ctx.text, Span::new(c.stmt_start, c.stmt_start));
        let stmt_text = ctx.text.get(line.start..line.end).unwrap_or("");
        // A one-line `setup()` statement (a trailing comment may follow): moved as is.
        let close = stmt_text.rfind(')');
        let after = close.map_or("", |i| stmt_text[i + 1..].trim());
        let simple = !c.guarded
            && c.assigned_to.is_none()
            && line.start == c.stmt_start
            && c.start == c.stmt_start
            && (after.is_empty() || after.starts_with('#'))
            && stmt_text.matches('(').count() == 1;
        let call_text = close.map_or("", |i| stmt_text[..=i].trim()).to_string();
        let mut f = Finding::new(Span::new(c.start, c.start + c.callee.len()), format!(
            "`{}()` runs in the gunicorn arbiter before the workers are forked; the SDK's threads and locks do not survive fork. Call it in a `post_fork(server, worker)` hook.",
            c.callee
        ));
        if simple {
            if let Some(fix) = hook_call_fix(ctx, g, &call_text, Some(line)) {
                f = f.with_fix(fix);
            }
        }
        out.push(f);
    }
    // (b) a setup function is available but no hook calls it.
    if !top_level {
        let setup_names: Vec<(String, Span)> = py
            .imports
            .iter()
            .filter(|i| {
                !i.type_checking
                    && i.name
                        .as_deref()
                        .is_some_and(|n| is_otel_setup_call(n, g) && n != "instrument")
            })
            .map(|i| (i.bound.clone(), Span::new(i.stmt_start, i.stmt_end)))
            .chain(
                g.functions
                    .iter()
                    .filter(|f| {
                        !HOOKS.contains(&f.name.as_str())
                            && is_otel_setup_call(&f.name, g)
                            && f.name != "instrument"
                            && f.calls.iter().any(|c| is_otel_setup_call(c, g))
                    })
                    .map(|f| (f.name.clone(), f.name_span)),
            )
            .collect();
        if let Some((name, span)) = setup_names.iter().find(|(n, _)| !hooked(n)) {
            if !setup_names.iter().any(|(n, _)| hooked(n)) {
                let mut f = Finding::new(*span, format!(
                    "`{name}` is imported or defined here but no `post_fork(server, worker)` hook calls it: the workers run without OpenTelemetry."
                ));
                if let Some(fix) = hook_call_fix(ctx, g, &format!("{name}()"), None) {
                    f = f.with_fix(fix);
                }
                out.push(f);
            }
        }
    }
    // (c) hook names gunicorn ignores, and a post_fork with the wrong arity.
    for func in &g.functions {
        if let Some(h) = hook_typo(&func.name) {
            out.push(Finding::new(func.name_span, format!("gunicorn has no hook `{}`; it silently ignores this function. Did you mean `{h}`?", func.name))
                .with_fix(Fix::unsafe_(format!("Rename to `{h}`"), vec![Edit::replace(func.name_span, h)])));
        } else if func.name == "post_fork" && func.params != 2 {
            out.push(Finding::new(func.name_span, "gunicorn calls `post_fork(server, worker)` with two arguments; with another signature the hook fails."));
        }
    }
    out
}

const DOCS: &str = r#"## What it does
In a gunicorn config module (`gunicorn*.py`, a module passed with `-c/--config`, or one
assigning gunicorn settings such as `bind`, `workers`, `worker_class`) that is not run under
`opentelemetry-instrument`, flags (a) OpenTelemetry set up at module level
(`initialize()`, `configure_opentelemetry()`, `set_tracer_provider(…)`, a local setup
function); (b) a setup function imported or defined but called by no `post_fork(server,
worker)` / `post_worker_init(worker)` hook; (c) hook names gunicorn silently ignores
(`postfork`, `post_fork_hook`, `on_post_fork`, … within two edits of a hook name) and a
`post_fork` that does not take two arguments.

## Why is this bad?
gunicorn executes the config module in the arbiter. An SDK set up there is forked into every
worker with dead export threads and possibly held locks; a setup nobody calls leaves the
workers uninstrumented; a misspelt hook never runs.

## Example
```python
# gunicorn.conf.py
from hyperdx.opentelemetry import configure_opentelemetry

workers = 4
configure_opentelemetry()
```

## Use instead
```python
from hyperdx.opentelemetry import configure_opentelemetry

workers = 4


def post_fork(server, worker):
    configure_opentelemetry()
```

## Fix safety
Unsafe: moving the setup into `post_fork` (or adding the hook, or renaming a misspelt one)
changes when and where code runs.

## Source
- Mackerel tracing guide ("Gunicornの設定": call the setup in `post_fork`)
- ClickStack Python guide (`post_fork` with `configure_opentelemetry()`)
- OpenTelemetry docs, Python zero-code troubleshooting (post-fork);
  opentelemetry-python `docs/examples/fork-process-model`; gunicorn settings (server hooks)
"#;

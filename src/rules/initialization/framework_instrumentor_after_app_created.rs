//! OTEL007 `framework-instrumentor-after-app-created`: a framework instrumentor applied where
//! it cannot reach the app. `FastAPIInstrumentor().instrument()` (likewise Flask's and
//! Starlette's) patches the class attribute (`fastapi.FastAPI = _InstrumentedFastAPI`), so an
//! app built from a name bound earlier, or built before the call, keeps the original class;
//! `FastAPIInstrumentor.instrument_app(app)` in a startup handler or lifespan comes after the
//! app built its middleware stack.
//!
//! Which bindings and app creations precede the call are module questions, answered from the
//! merged module facts (imports, module-level calls, the callees of module-level functions),
//! like OTEL002's.

use super::initialize_after_framework_import::whole_lines;
use crate::diagnostic::{Edit, Finding, Fix, Severity, Span};
use crate::language::Language;
use crate::rules::{always, Bytes, Facts, FixKind, Match, Pre, Query, Rule, Topic};
use crate::syntax::python::{Call, Import, PyFacts};
use tree_sitter::Node;

/// The rule.
pub static RULE: Rule = Rule {
    code: "OTEL007",
    name: "framework-instrumentor-after-app-created",
    topic: Topic::Initialization,
    language: Language::Python,
    also: &[],
    severity: Severity::Error,
    summary: "`FastAPIInstrumentor().instrument()` after the app class was imported or the app created, or `instrument_app` in a startup handler",
    docs: DOCS,
    url: "https://github.com/open-telemetry/opentelemetry-python-contrib/issues/3551",
    fix: FixKind::Unsafe,
    query: Some(Query {
        text: include_str!("framework_instrumentor_after_app_created.scm"),
        check,
    }),
    pre: &[Pre {
        langs: &[Language::Python],
        needles: &["instrument"],
        facts: Facts::All,
        file: &["Instrumentor", "fastapi", "flask", "starlette"],
        relevant,
    }],
    gate: always,
    scan: None,
    scan_per_document: false,
    trees: crate::syntax::yaml::Classes::NONE,
};

/// An instrumentor and the framework class it patches.
struct Instrumentor {
    /// The instrumentor class.
    class: &'static str,
    /// Its module.
    module: &'static str,
    /// The framework class whose module attribute `instrument()` replaces.
    framework: &'static str,
    /// The module holding that attribute.
    framework_module: &'static str,
    /// Other modules the class is imported from, whose attribute is never replaced.
    unpatched: &'static [&'static str],
    /// `instrument_app` adds ASGI middleware, which must come before the app starts.
    middleware: bool,
}

const INSTRUMENTORS: &[Instrumentor] = &[
    Instrumentor {
        class: "FastAPIInstrumentor",
        module: "opentelemetry.instrumentation.fastapi",
        framework: "FastAPI",
        framework_module: "fastapi",
        unpatched: &["fastapi.applications"],
        middleware: true,
    },
    Instrumentor {
        class: "FlaskInstrumentor",
        module: "opentelemetry.instrumentation.flask",
        framework: "Flask",
        framework_module: "flask",
        unpatched: &["flask.app"],
        middleware: false,
    },
    Instrumentor {
        class: "StarletteInstrumentor",
        module: "opentelemetry.instrumentation.starlette",
        framework: "Starlette",
        framework_module: "starlette.applications",
        unpatched: &[],
        middleware: true,
    },
];

/// A module naming an instrumentor and a framework.
fn relevant(b: &Bytes) -> bool {
    b.has("Instrumentor") && b.has_any(&["fastapi", "flask", "starlette"])
}

fn compact(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// What the receiver of `.instrument(...)` / `.instrument_app(...)` is.
struct Receiver {
    instrumentor: &'static Instrumentor,
    /// The class as the module names it (`FastAPIInstrumentor`, an alias, `fastapi_inst.X`).
    class_ref: String,
    /// An instance (`X()`, or a name bound from `X()`), not the class itself.
    instance: bool,
}

/// Resolves the receiver node against the module's imports of the instrumentors.
fn receiver(m: &Match, py: &PyFacts, obj: Node) -> Option<Receiver> {
    for inst in INSTRUMENTORS {
        let refs: Vec<String> = py
            .class_refs(inst.module, inst.class)
            .into_iter()
            .map(|(r, _)| r)
            .chain(
                py.names_bound_to(inst.module, inst.class)
                    .map(|i| i.bound.clone()),
            )
            .collect();
        let named = |s: &str| refs.iter().any(|r| r == s);
        let found = match obj.kind() {
            "call" => {
                let f = obj
                    .child_by_field_name("function")
                    .map(|f| compact(m.text(f)));
                f.filter(|f| named(f)).map(|f| (f, true))
            }
            _ => {
                let t = compact(m.text(obj));
                if named(&t) {
                    Some((t, false))
                } else if obj.kind() == "identifier" {
                    py.calls
                        .iter()
                        .find(|c| c.assigned_to.as_deref() == Some(t.as_str()) && named(&c.callee))
                        .map(|c| (c.callee.clone(), true))
                } else {
                    None
                }
            }
        };
        if let Some((class_ref, instance)) = found {
            return Some(Receiver {
                instrumentor: inst,
                class_ref,
                instance,
            });
        }
    }
    None
}

fn check(m: &Match) -> Option<Finding> {
    let call = m.get("call")?;
    if call.has_error() {
        return None;
    }
    let py = m.ctx.python()?;
    let method = m.text(
        call.child_by_field_name("function")?
            .child_by_field_name("attribute")?,
    );
    let recv = receiver(m, py, m.get("_obj")?)?;
    match method {
        "instrument" if recv.instance => global_patch(m, py, call, &recv),
        "instrument_app" if recv.instrumentor.middleware => in_startup(m, py, call, &recv),
        _ => None,
    }
}

// --- (a) the global patch after the class was bound or the app created --------------------

/// An app built from the original class.
struct Stale<'p> {
    /// The module-level call that builds it (`None`: in a function body).
    call: Option<&'p Call>,
}

/// The imports binding the framework class (`from fastapi import FastAPI [as F]`, `*`, and
/// the unpatched submodules): (local name, import, unpatched).
fn class_bindings<'p>(py: &'p PyFacts, inst: &Instrumentor) -> Vec<(String, &'p Import, bool)> {
    py.imports
        .iter()
        .filter(|i| i.is_executed())
        .filter_map(|i| {
            let unpatched = inst.unpatched.contains(&i.module.as_str());
            if i.module != inst.framework_module && !unpatched {
                return None;
            }
            match i.name.as_deref() {
                Some("*") => Some((inst.framework.to_string(), i, unpatched)),
                Some(n) if n == inst.framework => Some((i.bound.clone(), i, unpatched)),
                _ => None,
            }
        })
        .collect()
}

/// The apps of the module built from the original class, given the patch at byte `patch`:
/// through a name whose binding (in effect where the app is built) came before the patch
/// or from an unpatched module, or through the module attribute before the patch.
fn stale_apps<'p>(
    py: &'p PyFacts,
    functions: &[crate::launch::python::Function],
    inst: &Instrumentor,
    patch: usize,
) -> Vec<Stale<'p>> {
    let bindings = class_bindings(py, inst);
    let stale_binding = |name: &str, before: Option<usize>| {
        bindings
            .iter()
            .filter(|(n, i, _)| n == name && before.is_none_or(|b| i.stmt_end <= b))
            .max_by_key(|(_, i, _)| i.stmt_start)
            .is_some_and(|(_, i, unpatched)| *unpatched || i.stmt_start < patch)
    };
    let mut names: Vec<&str> = bindings.iter().map(|(n, _, _)| n.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    let mut out = Vec::new();
    for c in py.calls.iter().filter(|c| !c.type_checking) {
        if names.contains(&c.callee.as_str()) && stale_binding(&c.callee, Some(c.start)) {
            out.push(Stale { call: Some(c) });
        }
    }
    // A factory's body runs later, with the module's last binding of the name.
    for f in functions {
        if f.calls
            .iter()
            .any(|callee| names.contains(&callee.as_str()) && stale_binding(callee, None))
        {
            out.push(Stale { call: None });
        }
    }
    // `import fastapi` … `app = fastapi.FastAPI()` … `instrument()`.
    let ctors: Vec<(String, &Import)> = py
        .module_refs(inst.framework_module)
        .map(|(r, i)| (format!("{r}.{}", inst.framework), i))
        .collect();
    for c in py
        .calls
        .iter()
        .filter(|c| !c.type_checking && c.start < patch)
    {
        if ctors
            .iter()
            .any(|(r, i)| *r == c.callee && i.stmt_end <= c.start)
        {
            out.push(Stale { call: Some(c) });
        }
    }
    out
}

fn global_patch(m: &Match, py: &PyFacts, call: Node, recv: &Receiver) -> Option<Finding> {
    let span = m.span(call);
    // Module level only: in a function it runs at some later time we do not know.
    let here = py
        .calls
        .iter()
        .find(|c| c.start == span.start && !c.type_checking)?;
    let inst = recv.instrumentor;
    let functions = &m.ctx.launch().gunicorn.functions;
    let stale = stale_apps(py, functions, inst, span.start);
    if stale.is_empty() {
        return None;
    }
    let mut vars: Vec<&Call> = stale
        .iter()
        .filter_map(|s| s.call)
        .filter(|c| c.assigned_to.is_some())
        .collect();
    vars.dedup_by_key(|c| c.assigned_to.clone());
    let app = match vars.as_slice() {
        [one] => one.assigned_to.clone(),
        _ => None,
    };
    let shown = app.as_deref().unwrap_or("app");
    let (class, fw) = (inst.class, inst.framework);
    let message = format!(
        "`{class}().instrument()` only affects `{fw}` classes created after the patch; this app was created from the original class. Use `{class}.instrument_app({shown})`."
    );
    let mut finding = Finding::new(span, message);
    let only = stale.iter().all(|s| s.call.is_some()) && vars.len() == 1;
    if let (true, Some(app), [app_call]) = (only, app.as_deref(), vars.as_slice()) {
        if let Some(fix) = instrument_app_fix(m, here, app_call, &recv.class_ref, app) {
            finding = finding.with_fix(fix);
        }
    }
    Some(finding)
}

/// Replaces `X().instrument(kw…)` by `X.instrument_app(app, kw…)` after the app assignment:
/// in place when the app already exists, else moved to the line after it.
fn instrument_app_fix(
    m: &Match,
    here: &Call,
    app_call: &Call,
    class_ref: &str,
    app: &str,
) -> Option<Fix> {
    let text = m.file_text();
    if !here.is_whole_statement() || app_call.guarded {
        return None;
    }
    let args = m.get("args")?;
    let mut c = args.walk();
    let kept: Vec<&str> = args
        .named_children(&mut c)
        .filter(|a| a.kind() != "comment")
        .map(|a| m.text(a))
        .collect();
    let mut new = format!("{class_ref}.instrument_app({app}");
    for a in kept {
        new.push_str(", ");
        new.push_str(a);
    }
    new.push(')');
    let title = format!("Use `{class_ref}.instrument_app({app})` after the app is created");
    if app_call.stmt_end <= here.start {
        return Some(Fix::unsafe_(
            title,
            vec![Edit::replace(Span::new(here.start, here.end), new)],
        ));
    }
    let delete = whole_lines(text, here.stmt_start, here.stmt_end)?;
    let after = whole_lines(text, app_call.stmt_start, app_call.stmt_end)?;
    let newline = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let insert = if text[..after.end].ends_with('\n') {
        format!("{new}{newline}")
    } else {
        format!("{newline}{new}")
    };
    Some(Fix::unsafe_(
        title,
        vec![Edit::delete(delete), Edit::insert(after.end, insert)],
    ))
}

// --- (b) `instrument_app` in a startup handler or lifespan --------------------------------

/// The function around `node` when it is a module-level one, with its decorators' texts.
fn enclosing_function<'t>(m: &Match<'_, 't>, node: Node<'t>) -> Option<(Node<'t>, Vec<String>)> {
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
    let decorators = match parent.kind() {
        "module" => Vec::new(),
        "decorated_definition" if parent.parent().is_some_and(|g| g.kind() == "module") => {
            let mut c = parent.walk();
            let d: Vec<String> = parent
                .named_children(&mut c)
                .filter(|d| d.kind() == "decorator")
                .map(|d| compact(m.text(d).trim_start_matches('@')))
                .collect();
            d
        }
        _ => return None,
    };
    Some((f, decorators))
}

/// `@app.on_event("startup")`.
fn is_startup_handler(decorators: &[String]) -> bool {
    decorators
        .iter()
        .any(|d| d.contains(".on_event(") && (d.contains("\"startup\"") || d.contains("'startup'")))
}

/// An `@asynccontextmanager` function named `lifespan` or passed as `lifespan=<name>`.
fn is_lifespan(decorators: &[String], name: &str, text: &str) -> bool {
    let acm = decorators.iter().any(|d| {
        let head = d.split('(').next().unwrap_or(d);
        head.rsplit('.').next() == Some("asynccontextmanager")
    });
    acm && (name == "lifespan" || passed_as_lifespan(text, name))
}

/// Whether `text` has `lifespan=<name>` (spaces allowed around `=`).
fn passed_as_lifespan(text: &str, name: &str) -> bool {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    text.match_indices("lifespan").any(|(at, kw)| {
        let rest = text[at + kw.len()..].trim_start_matches([' ', '\t']);
        let Some(rest) = rest.strip_prefix('=') else {
            return false;
        };
        let rest = rest.trim_start_matches([' ', '\t']);
        rest.strip_prefix(name)
            .is_some_and(|after| !after.starts_with(ident))
    })
}

fn in_startup(m: &Match, py: &PyFacts, call: Node, recv: &Receiver) -> Option<Finding> {
    let (func, decorators) = enclosing_function(m, call)?;
    let name = m.text(func.child_by_field_name("name")?);
    let startup = is_startup_handler(&decorators);
    if !startup && !is_lifespan(&decorators, name, m.file_text()) {
        return None;
    }
    let class = recv.instrumentor.class;
    let fw = recv.instrumentor.framework;
    let args = m.get("args")?;
    let app = args
        .named_child(0)
        .filter(|a| a.kind() == "identifier")
        .map(|a| m.text(a));
    let shown = app.unwrap_or("app");
    let place = if startup {
        "a startup handler"
    } else {
        "the lifespan"
    };
    let message = format!(
        "`{class}.instrument_app({shown})` in {place} runs after the {fw} app built its middleware stack, so it adds no tracing. Call it at module level right after creating the app."
    );
    let mut finding = Finding::new(m.span(call), message);
    if let Some(fix) = app.and_then(|a| move_out_fix(m, py, call, a)) {
        finding = finding.with_fix(fix);
    }
    Some(finding)
}

/// Moves the `instrument_app` statement from the handler to the line after the module-level
/// app assignment (leaving `pass` when it was the handler's only statement).
fn move_out_fix(m: &Match, py: &PyFacts, call: Node, app: &str) -> Option<Fix> {
    let text = m.file_text();
    let stmt = call
        .parent()
        .filter(|s| s.kind() == "expression_statement")?;
    if stmt.named_child_count() != 1 || call.start_position().row != call.end_position().row {
        return None;
    }
    let span = m.span(stmt);
    let app_call = py
        .calls
        .iter()
        .filter(|c| c.assigned_to.as_deref() == Some(app) && !c.guarded && !c.type_checking)
        .max_by_key(|c| c.start)?;
    let after = whole_lines(text, app_call.stmt_start, app_call.stmt_end)?;
    let lines = whole_lines(text, span.start, span.end)?;
    let block = stmt.parent()?;
    let mut c = block.walk();
    let alone = block
        .named_children(&mut c)
        .filter(|s| s.kind() != "comment")
        .count()
        == 1;
    let removal = if alone {
        Edit::replace(span, "pass")
    } else {
        Edit::delete(lines)
    };
    // The app must be assigned outside the handler.
    if removal
        .span
        .intersects(Span::new(app_call.stmt_start, app_call.stmt_end))
        || (lines.start < after.end && after.start < lines.end)
    {
        return None;
    }
    let title = "Move `instrument_app` to module level, after the app is created";
    // Another handler's call was moved there already: only remove this one.
    let moved = m.text(call);
    let there = py.calls.iter().any(|c| {
        c.start >= app_call.stmt_end
            && !c.guarded
            && text
                .get(c.start..c.end)
                .is_some_and(|t| compact(t) == compact(moved))
    });
    if there {
        return Some(Fix::unsafe_(title, vec![removal]));
    }
    let newline = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let insert = if text[..after.end].ends_with('\n') {
        format!("{moved}{newline}")
    } else {
        format!("{newline}{moved}")
    };
    Some(Fix::unsafe_(
        title,
        vec![removal, Edit::insert(after.end, insert)],
    ))
}

const DOCS: &str = r#"## What it does
Flags a framework instrumentor applied where it cannot reach the application:

- `FastAPIInstrumentor().instrument()` (the global patch; also `FlaskInstrumentor` with
  `Flask` and `StarletteInstrumentor` with `Starlette`) run at module level when the module
  builds its app from a name bound *before* the call (`from fastapi import FastAPI` above
  it, or from `fastapi.applications`, which is never patched), or built the app before the
  call (`import fastapi` … `app = fastapi.FastAPI()` … `instrument()`). Apps built in a
  factory function count through the name's binding when the factory runs.
- `FastAPIInstrumentor.instrument_app(app)` / `StarletteInstrumentor.instrument_app(app)`
  inside an `@app.on_event("startup")` handler or an `@asynccontextmanager` lifespan
  (named `lifespan`, or passed as `lifespan=`).

## Why is this bad?
`instrument()` replaces the module attribute — `fastapi.FastAPI = _InstrumentedFastAPI`
(`flask.Flask`, `starlette.applications.Starlette` likewise). A name imported earlier still
points to the original class, and an app built earlier is already an instance of it: that app
serves requests without server spans or metrics, and nothing says so. `instrument_app`
wraps the app's middleware stack, which Starlette builds on the first ASGI call — the
lifespan startup — so inside a startup handler or lifespan it comes too late (older
versions raise "Cannot add middleware after an application has started").

## Example
```python
from fastapi import FastAPI
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

app = FastAPI()
FastAPIInstrumentor().instrument()
```

## Use instead
```python
from fastapi import FastAPI
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

app = FastAPI()
FastAPIInstrumentor.instrument_app(app)
```

## Fix safety
Unsafe. The fix replaces `X().instrument(…)` by `X.instrument_app(app, …)` (keyword
arguments kept) right after the app assignment, moving it there when the app is created
later; for a startup handler or lifespan it moves the `instrument_app` line out to just after
the app assignment (leaving `pass` if the handler is then empty). Dropping the global patch
also stops it from instrumenting apps that other modules create later, and moving the call
changes what its arguments see: review it. There is no fix when the module creates several
apps, creates the app in a function, or the call is not a statement of its own.

## Source
- opentelemetry-python-contrib: the FastAPI, Flask and Starlette instrumentors'
  `_instrument()` (`fastapi.FastAPI = _InstrumentedFastAPI`) and `instrument_app`
  (`build_middleware_stack` wrapping); issue #3551
  <https://github.com/open-telemetry/opentelemetry-python-contrib/issues/3551>
- prometheus-fastapi-instrumentator #292 (middleware added after the app started)
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifespans_and_startup_handlers() {
        assert!(passed_as_lifespan("app = FastAPI(lifespan=run)", "run"));
        assert!(passed_as_lifespan(
            "Starlette(routes=r, lifespan = run)\n",
            "run"
        ));
        assert!(!passed_as_lifespan("FastAPI(lifespan=runner)", "run"));
        assert!(!passed_as_lifespan("lifespan == run", "run"));
        let acm = ["contextlib.asynccontextmanager".to_string()];
        assert!(is_lifespan(&acm, "lifespan", ""));
        assert!(!is_lifespan(&[], "lifespan", ""));
        assert!(is_startup_handler(&[
            "app.on_event(\"startup\")".to_string()
        ]));
        assert!(is_startup_handler(&[
            "router.on_event('startup')".to_string()
        ]));
        assert!(!is_startup_handler(&[
            "app.on_event(\"shutdown\")".to_string()
        ]));
    }
}

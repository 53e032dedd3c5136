//! OTEL006 `flask-debug-reloader-config`: Flask debug mode turned on by configuration rather
//! than by `app.run(debug=True)` (OTEL001's case) — `app.debug = True` and friends in code,
//! `FLASK_DEBUG=1` in the environment of `flask run` or of a script calling `app.run()`, and
//! `flask run --debug` / `--reload` — starts Werkzeug's reloader, whose child process the
//! auto-instrumentation of the parent never reaches.

use crate::diagnostic::{Edit, Finding, Fix, Severity};
use crate::language::Language;
use crate::launch::{args, judge, normalize, summary, EnvVar, LaunchFacts, Launcher, Token};
use crate::rules::flask::flask_debug_reloader::{assigned_in_function, receiver_names};
use crate::rules::{anywhere, Bytes, Context, Facts, FixKind, Match, Pre, Query, Rule, Topic};
use crate::syntax::python::{PyFacts, RunCall};
use tree_sitter::Node;

/// The file kinds whose launchers and settings it judges.
const LAUNCH_KINDS: &[Language] = &[
    Language::Dockerfile,
    Language::Shell,
    Language::Procfile,
    Language::Yaml,
    Language::Makefile,
    Language::DotEnv,
];

/// The rule.
pub static RULE: Rule = Rule {
    code: "OTEL006",
    name: "flask-debug-reloader-config",
    topic: Topic::Flask,
    language: Language::Python,
    also: LAUNCH_KINDS,
    severity: Severity::Warning,
    summary: "Flask debug mode from `app.debug`/`app.config`, `FLASK_DEBUG` or `flask run --debug` starts the reloader, which breaks auto-instrumentation",
    docs: DOCS,
    url: "https://opentelemetry.io/docs/zero-code/python/troubleshooting/#flask-debug-mode-with-reloader-breaks-instrumentation",
    fix: FixKind::Sometimes,
    query: Some(Query {
        text: include_str!("flask_debug_reloader_config.scm"),
        check,
    }),
    pre: &[
        Pre {
            langs: &[Language::Python],
            needles: &["debug", "DEBUG"],
            facts: Facts::Named(FACT_NEEDLES, receiver_names),
            file: &["flask", "Flask"],
            relevant,
        },
        Pre {
            langs: LAUNCH_KINDS,
            needles: &[
                "FLASK_DEBUG",
                "FLASK_ENV",
                "FLASK_RUN_RELOAD",
                "--debug",
                "--reload",
            ],
            facts: Facts::NONE,
            file: &[],
            relevant: anywhere,
        },
    ],
    gate: crate::rules::always,
    scan: Some(scan),
    scan_per_document: true,
    trees: crate::syntax::yaml::Classes::NONE,
};

/// OTEL001's fact needles (the Flask constructor, its imports and the other frameworks'),
/// plus `run`: the chunks holding the `.run(...)` calls a setting reaches.
const FACT_NEEDLES: &[&str] = &[
    "flask",
    "Flask",
    "opentelemetry",
    "aiohttp",
    "bottle",
    "connexion",
    "django",
    "falcon",
    "fastapi",
    "litestar",
    "quart",
    "sanic",
    "socketio",
    "starlette",
    "tornado",
    "run",
];

const MESSAGE: &str =
    "Flask debug mode (`FLASK_DEBUG`/`--debug`) starts the reloader, which breaks OpenTelemetry auto-instrumentation.";

/// A Flask module in OpenTelemetry context.
fn relevant(b: &Bytes) -> bool {
    b.has_any(&["flask", "Flask"]) && b.otel_context()
}

// --- (a) debug mode set in code, then `app.run()` ---------------------------------------

/// Where a setting sits: at module level, or in the body of a module-level function.
enum Place {
    Module,
    Function(String),
}

/// The place of `node`; `None` inside a class, a lambda or a nested function.
fn place_of(m: &Match, node: Node) -> Option<Place> {
    let mut func: Option<Node> = None;
    let mut cur = node.parent();
    while let Some(n) = cur {
        match n.kind() {
            "class_definition" | "lambda" => return None,
            "function_definition" if func.is_some() => return None,
            "function_definition" => func = Some(n),
            _ => {}
        }
        cur = n.parent();
    }
    let Some(f) = func else {
        return Some(Place::Module);
    };
    let parent = f.parent()?;
    let top = match parent.kind() {
        "module" => true,
        "decorated_definition" => parent.parent().is_some_and(|g| g.kind() == "module"),
        _ => false,
    };
    if !top {
        return None;
    }
    let name = m.text(f.child_by_field_name("name")?);
    Some(Place::Function(name.to_string()))
}

/// The `True` debug setting of a match, as the node to report: the assignment, or the
/// `DEBUG=True` argument (`{"DEBUG": True}` pair) of `config.update`/`from_mapping`.
fn setting_anchor<'t>(m: &Match<'_, 't>) -> Option<Node<'t>> {
    let setting = m.get("setting")?;
    if let Some(key) = m.get("key") {
        let k = m.text(key);
        let unquoted = k.trim_matches(|c| c == '"' || c == '\'');
        return (unquoted == "DEBUG" && k.len() > unquoted.len()).then_some(setting);
    }
    let Some(args) = m.get("args") else {
        return Some(setting);
    };
    let mut c = args.walk();
    let list: Vec<Node> = args.named_children(&mut c).collect();
    for a in list {
        match a.kind() {
            "keyword_argument" => {
                let name = a.child_by_field_name("name").map(|n| m.text(n));
                let value = a.child_by_field_name("value");
                if name == Some("DEBUG") && value.is_some_and(|v| v.kind() == "true") {
                    return Some(a);
                }
            }
            "dictionary" => {
                let mut dc = a.walk();
                let pairs: Vec<Node> = a.named_children(&mut dc).collect();
                for p in pairs.into_iter().filter(|p| p.kind() == "pair") {
                    let key = p.child_by_field_name("key").map(|k| m.text(k));
                    let value = p.child_by_field_name("value");
                    let is_debug = key.is_some_and(|k| {
                        let u = k.trim_matches(|c| c == '"' || c == '\'');
                        u == "DEBUG" && k.len() > u.len()
                    });
                    if is_debug && value.is_some_and(|v| v.kind() == "true") {
                        return Some(p);
                    }
                }
            }
            _ => {}
        }
    }
    None
}

/// The `.run()` calls a debug setting on `recv` (at `at`, in `place`) reaches whose reloader
/// follows debug mode: after it in the same scope (module level, or the same function); for a
/// module-level app also in the functions using it; for a setting in an app factory, the
/// runs of the apps it builds.
fn reachable<'p>(
    py: &'p PyFacts,
    recv: &str,
    at: usize,
    place: &Place,
    factory: bool,
) -> Vec<&'p RunCall> {
    let built_by = |r: &RunCall, f: &str| {
        let call = r.receiver.strip_suffix(')').and_then(|c| c.split_once('('));
        call.is_some_and(|(callee, _)| callee == f)
            || r.local_ctor.as_deref() == Some(f)
            || (r.local_ctor.is_none()
                && !r.receiver.contains('(')
                && py.calls.iter().any(|c| {
                    c.assigned_to.as_deref() == Some(r.receiver.as_str()) && c.callee == f
                }))
    };
    py.runs
        .iter()
        .filter(|r| r.follows_config && py.is_flask_run(r))
        .filter(|r| match place {
            Place::Module => {
                r.receiver == recv
                    && match &r.function {
                        None => r.start > at,
                        Some(_) => r.local_ctor.is_none(),
                    }
            }
            Place::Function(f) => {
                let same =
                    r.function.as_deref() == Some(f.as_str()) && r.receiver == recv && r.start > at;
                same || (factory && r.function.as_deref() != Some(f.as_str()) && built_by(r, f))
            }
        })
        .collect()
}

fn check(m: &Match) -> Option<Finding> {
    let setting = m.get("setting")?;
    if setting.has_error() || !m.ctx.has_otel_context() {
        return None;
    }
    let py = m.ctx.python()?;
    let recv_node = m.get("_recv")?;
    let recv = m.text(recv_node);
    let anchor = setting_anchor(m)?;
    let place = place_of(m, setting)?;
    // In an app factory the setting configures the app it builds (`app = Flask(...)` in its
    // body); elsewhere in a function, or at module level, the runs name the same receiver.
    let factory = match &place {
        Place::Function(f) => {
            py.is_flask_factory(f)
                && assigned_in_function(m, setting, recv, &|c| py.is_flask_ctor(c))
        }
        Place::Module => false,
    };
    let at = m.span(setting).start;
    let runs = reachable(py, recv, at, &place, factory);
    if runs.is_empty() {
        return None;
    }
    let what = match (m.get("key"), m.get("args")) {
        (Some(_), _) => format!("`{recv}.config[\"DEBUG\"] = True`"),
        (None, Some(_)) => format!("`DEBUG=True` in `{recv}.config`"),
        (None, None) => format!("`{recv}.debug = True`"),
    };
    let message = format!(
        "Flask debug mode ({what}) makes `app.run()` start the reloader, which breaks OpenTelemetry auto-instrumentation. Pass `use_reloader=False` to `app.run()`."
    );
    let mut edits: Vec<Edit> = runs
        .iter()
        .map(|r| {
            let text = if r.has_args {
                ", use_reloader=False"
            } else {
                "use_reloader=False"
            };
            Edit::insert(r.insert_at, text)
        })
        .collect();
    edits.sort_by_key(|e| e.span.start);
    edits.dedup_by_key(|e| e.span.start);
    Some(
        Finding::new(m.span(anchor), message)
            .with_fix(Fix::safe("Add `use_reloader=False` to `app.run()`", edits)),
    )
}

// --- (b) and (c): the launchers -----------------------------------------------------------

/// Flask's `get_debug_flag`: set, and not `0`, `false` or `no` (any case).
fn debug_flag(v: &str) -> bool {
    let v = v.trim();
    !v.is_empty() && !matches!(v.to_ascii_lowercase().as_str(), "0" | "false" | "no")
}

/// A click boolean (`FLASK_RUN_RELOAD`): `Some(true)`/`Some(false)`, `None` when neither.
fn click_bool(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "t" | "yes" | "y" | "on" => Some(true),
        "0" | "false" | "f" | "no" | "n" | "off" => Some(false),
        _ => None,
    }
}

/// The setting that turns debug mode on for a launcher's scope: `FLASK_DEBUG` when set (a
/// known truthy value), else `FLASK_ENV=development` (Flask < 2.3). `None` when debug mode is
/// off or unknown.
fn debug_setting(f: &LaunchFacts, scope: usize) -> Option<&EnvVar> {
    match f.lookup(scope, "FLASK_DEBUG") {
        Some(v) => v.known().filter(|s| debug_flag(s)).map(|_| v),
        None => f
            .lookup(scope, "FLASK_ENV")
            .filter(|v| v.known().is_some_and(|s| s.trim() == "development")),
    }
}

/// `flask … run …`: the `run` word, after the group's options (`--app X`, `--env-file F`).
fn run_word(a: &[Token]) -> Option<&Token> {
    args::positionals(a, &["-A", "--app", "-e", "--env-file"])
        .first()
        .copied()
        .filter(|t| t.known() == Some("run"))
}

/// Whether the launcher has OpenTelemetry context: it runs under `opentelemetry-instrument`
/// (its own, or its image's `ENTRYPOINT`), in an Operator-injected pod, or starts a module
/// that uses OpenTelemetry itself. Also returns the app modules' "calls `app.run()` whose
/// reloader follows `FLASK_DEBUG`".
fn context(ctx: &Context, f: &LaunchFacts, l: &Launcher) -> (bool, bool) {
    let Some(lref) = summary::launch_ref(l, f) else {
        return (false, false);
    };
    let zero_code = l.instrumented()
        || f.operator_injected(l.scope)
        || ctx.path.is_some_and(|p| {
            ctx.workspace.runs_instrumented(p, &lref) || ctx.workspace.image_injected(p)
        });
    let targets = ctx
        .path
        .map(|p| ctx.workspace.targets_of(p, &lref))
        .unwrap_or_default();
    let module_otel = targets
        .iter()
        .any(|(_, s)| s.launch.uses_otel || s.launch.initializes_otel);
    let runs = targets.iter().any(|(_, s)| s.launch.flask_run_env_debug);
    (zero_code || module_otel, runs)
}

/// The finding on an environment value that turns debug mode (or the reloader) on, with its
/// fixes: `--no-reload` after `run` (when `run` is written here), and the value turned off.
fn env_finding(ctx: &Context, v: &EnvVar, run: Option<&Token>) -> Option<Finding> {
    let value = v.value.as_ref().filter(|t| judge::is_here(t))?;
    let (message, off, title) = match v.name.as_str() {
        "FLASK_ENV" => (
            "`FLASK_ENV=development` turns on Flask debug mode (Flask < 2.3), which starts the reloader and breaks OpenTelemetry auto-instrumentation.",
            "production",
            "Set `FLASK_ENV=production`",
        ),
        "FLASK_RUN_RELOAD" => (
            "`FLASK_RUN_RELOAD` turns on the reloader of `flask run`, which breaks OpenTelemetry auto-instrumentation.",
            "false",
            "Set `FLASK_RUN_RELOAD=false`",
        ),
        _ => (MESSAGE, "0", "Set `FLASK_DEBUG=0`"),
    };
    let mut finding = Finding::new(value.best_span(), message);
    if let Some(run) = run.filter(|t| judge::is_here(t)) {
        finding = finding.with_fix(Fix::safe(
            "Add `--no-reload` to `flask run`",
            vec![judge::insert_words_after(ctx.text, run, &["--no-reload"])],
        ));
    }
    if let Some(e) = judge::replace_value(value, off) {
        // Turning `FLASK_RUN_RELOAD` off stops the reloader only; debug mode (the debugger)
        // going off is a change of behaviour.
        finding = finding.with_fix(if v.name == "FLASK_RUN_RELOAD" {
            Fix::safe(title, vec![e])
        } else {
            Fix::unsafe_(title, vec![e])
        });
    }
    Some(finding)
}

/// `flask run` with debug mode from its flags or environment.
fn flask_run(ctx: &Context, f: &LaunchFacts, l: &Launcher) -> Option<Finding> {
    let a = l.args();
    let run = run_word(a)?;
    match args::flag(a, &["--reload", "--no-reload"]) {
        Some((_, t)) if t.text == "--no-reload" => return None,
        // An explicit `--reload` reloads whatever the debug mode.
        Some((_, t)) => {
            if !judge::is_here(&t) {
                return None;
            }
            let mut finding = Finding::new(
                t.span,
                "`flask run --reload` starts the reloader, which breaks OpenTelemetry auto-instrumentation. Use `--no-reload`.",
            );
            if let Some(e) = judge::replace_value(&t, "--no-reload") {
                finding = finding.with_fix(Fix::safe("Use `--no-reload`", vec![e]));
            }
            return Some(finding);
        }
        None => {}
    }
    match args::flag(a, &["--debug", "--no-debug"]) {
        Some((_, t)) if t.text == "--no-debug" => return None,
        Some((_, t)) => {
            if !judge::is_here(&t) {
                return None;
            }
            let mut finding = Finding::new(
                t.span,
                "`flask --debug` starts the reloader, which breaks OpenTelemetry auto-instrumentation. Add `--no-reload`.",
            );
            if judge::is_here(run) {
                finding = finding.with_fix(Fix::safe(
                    "Add `--no-reload` to `flask run`",
                    vec![judge::insert_words_after(ctx.text, run, &["--no-reload"])],
                ));
            }
            return Some(finding);
        }
        None => {}
    }
    // `run --reload/--no-reload` reads `FLASK_RUN_RELOAD` before it defaults to debug mode.
    if let Some(v) = f.lookup(l.scope, "FLASK_RUN_RELOAD") {
        return match v.known().and_then(click_bool) {
            Some(true) => env_finding(ctx, v, Some(run)),
            _ => None,
        };
    }
    env_finding(ctx, debug_setting(f, l.scope)?, Some(run))
}

fn scan(ctx: &Context) -> Vec<Finding> {
    if ctx.python().is_some() {
        return Vec::new();
    }
    let f = ctx.effective();
    let mut out = Vec::new();
    for l in f.launchers.iter().filter(|l| l.runtime) {
        let Some(prog) = l.program() else {
            continue;
        };
        let flask = prog == "flask";
        if !flask && !normalize::is_python(&prog) {
            continue;
        }
        let (otel, runs_app) = context(ctx, f, l);
        if !otel {
            continue;
        }
        let found = if flask {
            flask_run(ctx, f, l)
        } else if runs_app {
            // `python app.py`: `app.run()` reads `FLASK_DEBUG` (it overrides the config).
            debug_setting(f, l.scope).and_then(|v| env_finding(ctx, v, None))
        } else {
            None
        };
        out.extend(found);
    }
    out
}

const DOCS: &str = r#"## What it does
Flags Flask debug mode turned on by configuration where OpenTelemetry is in use, because debug
mode starts Werkzeug's reloader:

- in code: `app.debug = True`, `app.config["DEBUG"] = True`,
  `app.config.update(DEBUG=True)` or `app.config.from_mapping(DEBUG=True)` (also the
  `{"DEBUG": True}` form) on a Flask app, when an `app.run(...)` that leaves the reloader to
  debug mode (no `debug=`, `use_reloader=` or `**options`) is reachable: later in the same
  scope, in a function using the module-level app, or — for a setting in an app factory —
  on the app the factory builds;
- in the environment: `FLASK_DEBUG` set to a true value (anything but empty, `0`, `false`,
  `no`, as Flask reads it) — or, without `FLASK_DEBUG`, `FLASK_ENV=development` (Flask < 2.3)
  — in the scope of a launcher that runs the development server: `flask run` (unless
  `--no-reload`, `--no-debug` or `FLASK_RUN_RELOAD=false`), or `python <file>` whose module
  calls such an `app.run()`; `FLASK_RUN_RELOAD=true` for `flask run` too;
- on the command line: `flask run --debug`, `flask --debug run`, `flask run --reload`.

The launcher must have OpenTelemetry context: `opentelemetry-instrument` (its own, or the
`ENTRYPOINT` of the image it runs), an Operator-injected pod, or an app module that imports
OpenTelemetry. `app.run(debug=True)` is OTEL001's; apps served by gunicorn, uWSGI or waitress
are never flagged (they have no reloader).

## Why is this bad?
With the reloader on, the process that serves requests is a child that Werkzeug re-executes
whenever a file changes; the instrumentation that `opentelemetry-instrument` (or the
Operator's injection) applied to the parent is not what serves the app, so spans, metrics
and logs go missing — silently. `app.run()` and `flask run` both honour `FLASK_DEBUG`
(`app.run()` lets it override `app.config["DEBUG"]`), and `use_reloader` defaults to the
debug mode.

## Example
```dockerfile
ENV FLASK_DEBUG=1
CMD ["opentelemetry-instrument", "flask", "run", "--host=0.0.0.0"]
```

```python
app.config["DEBUG"] = True

if __name__ == "__main__":
    app.run(port=8080)
```

## Use instead
```dockerfile
ENV FLASK_DEBUG=1
CMD ["opentelemetry-instrument", "flask", "run", "--no-reload", "--host=0.0.0.0"]
```

```python
app.config["DEBUG"] = True

if __name__ == "__main__":
    app.run(port=8080, use_reloader=False)
```

## Fix safety
Safe: adding `use_reloader=False` to the reachable `app.run()` calls, adding `--no-reload`
after `flask run` (or turning `--reload` into `--no-reload`), and `FLASK_RUN_RELOAD=false`:
the debugger stays on, only reloading on code changes stops. Unsafe: `FLASK_DEBUG=0` and
`FLASK_ENV=production`, which also turn the interactive debugger off.

## Source
- OpenTelemetry docs, Python zero-code troubleshooting: "Flask debug mode with reloader breaks instrumentation"
  <https://opentelemetry.io/docs/zero-code/python/troubleshooting/#flask-debug-mode-with-reloader-breaks-instrumentation>
- opentelemetry-python-contrib issues #477 and #546
- Flask `app.run()` and `flask run` (`get_debug_flag`, `--reload/--no-reload` defaulting to
  the debug mode)
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;
    use crate::engine::check_text;

    #[test]
    fn flask_reads_debug_and_reload_values_as_flask_and_click_do() {
        for v in ["1", "true", "True", "yes", "on", "2"] {
            assert!(debug_flag(v), "{v}");
        }
        for v in ["", "0", "false", "FALSE", "no", "No"] {
            assert!(!debug_flag(v), "{v}");
        }
        assert_eq!(click_bool("On"), Some(true));
        assert_eq!(click_bool("off"), Some(false));
        assert_eq!(click_bool("maybe"), None);
    }

    fn lines(lang: Language, src: &str) -> Vec<usize> {
        check_text(lang, src, &Settings::default())
            .into_iter()
            .filter(|d| d.code == "OTEL006")
            .map(|d| src[..d.span.start].matches('\n').count() + 1)
            .collect()
    }

    #[test]
    fn settings_reach_only_the_runs_after_them() {
        let head = "from flask import Flask\nimport opentelemetry\napp = Flask(__name__)\n";
        assert_eq!(
            lines(
                Language::Python,
                &format!("{head}app.debug = True\napp.run()\n")
            ),
            [4]
        );
        assert!(lines(
            Language::Python,
            &format!("{head}app.run()\napp.debug = True\n")
        )
        .is_empty());
        // A function using the module-level app runs whenever it is called.
        let later = format!("{head}def serve():\n    app.run()\napp.debug = True\n");
        assert_eq!(lines(Language::Python, &later), [6]);
        // A local app of another function is another app.
        let local =
            format!("{head}def serve():\n    app = Flask('x')\n    app.run()\napp.debug = True\n");
        assert!(lines(Language::Python, &local).is_empty());
    }

    #[test]
    fn a_launcher_without_opentelemetry_context_is_not_judged() {
        assert!(lines(Language::Shell, "export FLASK_DEBUG=1\nflask run\n").is_empty());
        assert_eq!(
            lines(
                Language::Shell,
                "export FLASK_DEBUG=1\nopentelemetry-instrument flask run\n"
            ),
            [1]
        );
        // Build steps are not the service.
        assert!(lines(
            Language::Dockerfile,
            "FROM python:3.12\nENV FLASK_DEBUG=1\nRUN opentelemetry-instrument flask run\n"
        )
        .is_empty());
    }
}

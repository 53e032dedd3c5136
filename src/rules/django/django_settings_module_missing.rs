//! OTEL010 `django-settings-module-missing`: a Django app under zero-code instrumentation
//! whose environment lacks `DJANGO_SETTINGS_MODULE` — sitecustomize instruments Django before
//! `manage.py`/`wsgi.py` can `setdefault` it, and the instrumentor then configures empty
//! settings.

use super::{is_service, manage_scripts, management};
use crate::diagnostic::{Edit, Finding, Fix, Severity, Span};
use crate::language::Language;
use crate::launch::imports::{self, Source};
use crate::launch::summary::{self, Target, GUNICORN_VALUE_OPTS, UVICORN_VALUE_OPTS};
use crate::launch::{args, EnvOrigin, LaunchFacts, Launcher, ScopeKind};
use crate::rules::{always, anywhere, Context, Facts, FixKind, Pre, Rule, Topic};
use crate::workspace::clean;

/// The file kinds it reads.
const KINDS: &[Language] = &[Language::Dockerfile, Language::Shell, Language::Yaml];

/// The rule.
pub static RULE: Rule = Rule {
    code: "OTEL010",
    name: "django-settings-module-missing",
    topic: Topic::Django,
    language: Language::Dockerfile,
    also: &[Language::Shell, Language::Yaml],
    severity: Severity::Warning,
    summary:
        "Django under zero-code instrumentation without `DJANGO_SETTINGS_MODULE` in its environment",
    docs: DOCS,
    url: "https://opentelemetry.io/docs/zero-code/python/operator/#django-applications",
    fix: FixKind::Sometimes,
    query: None,
    pre: &[Pre {
        langs: KINDS,
        needles: &["manage.py", "django", "wsgi", "asgi"],
        facts: Facts::NONE,
        file: &[],
        relevant: anywhere,
    }],
    gate: always,
    scan: Some(scan),
    scan_per_document: true,
    trees: crate::syntax::yaml::Classes::NONE,
};

const MESSAGE: &str = "Django zero-code instrumentation needs DJANGO_SETTINGS_MODULE in the environment before Python starts.";

const VAR: &str = "DJANGO_SETTINGS_MODULE";

/// The settings module of a Django launcher, when known, and whether it is certain (the
/// app's own `setdefault`) rather than guessed from the package.
struct Django {
    settings: Option<(String, bool)>,
}

/// Whether a launcher runs a Django app, and its settings module.
fn django_app(ctx: &Context, l: &Launcher, f: &LaunchFacts) -> Option<Django> {
    let ws = ctx.workspace;
    if let Some(m) = management(l) {
        let from_script = m
            .script
            .and_then(|_| {
                manage_scripts(ws, ctx.path, l, f)
                    .iter()
                    .find_map(|(_, s)| s.launch.django_settings.clone())
            })
            .map(|s| (s, true));
        return Some(Django {
            settings: from_script.or_else(|| only_setdefault(ctx)),
        });
    }
    let prog = l.program()?;
    let value_opts = match prog.as_str() {
        "gunicorn" => GUNICORN_VALUE_OPTS,
        "uvicorn" | "hypercorn" | "daphne" | "granian" => UVICORN_VALUE_OPTS,
        "uwsgi" => &[],
        _ => return None,
    };
    // The app spec as written (`mysite.wsgi:application`).
    let spec = if prog == "uwsgi" {
        args::find(l.args(), &["-w"], &["--module"]).and_then(|o| o.value)?
    } else {
        (*args::positionals(l.args(), value_opts).last()?).clone()
    };
    let spec = spec.known()?.to_string();
    let module = summary::module_of_app_spec(&spec)?;
    let (pkg, tail) = module.rsplit_once('.')?;
    if !matches!(tail, "wsgi" | "asgi") {
        return None;
    }
    let attr = spec.split_once(':').map(|(_, a)| a);
    let lref = summary::launch_ref(l, f);
    let found = ctx
        .path
        .zip(lref.as_ref())
        .map(|(p, r)| {
            let t = Target::Module(module.clone());
            ws.targets_of(p, r)
                .into_iter()
                .filter(|_| r.targets.contains(&t))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    if found.is_empty() {
        // Not in the workspace: Django's own layout (`<pkg>.wsgi[:application]`).
        if attr.is_some_and(|a| a != "application") {
            return None;
        }
    } else if !found.iter().any(|(_, s)| s.launch.django) {
        return None;
    }
    let own = found
        .iter()
        .find_map(|(_, s)| s.launch.django_settings.clone())
        .map(|s| (s, true));
    Some(Django {
        settings: own
            .or_else(|| only_setdefault(ctx))
            .or_else(|| Some((format!("{pkg}.settings"), false))),
    })
}

/// The workspace's settings module when all its `setdefault` calls agree on one.
fn only_setdefault(ctx: &Context) -> Option<(String, bool)> {
    match ctx.workspace.django_settings_modules()[..] {
        [one] => Some((one.to_string(), true)),
        _ => None,
    }
}

/// Whether something outside the launcher's own scopes sets the variable for it: an
/// Instrumentation's `spec.python.env`/`spec.env` (injected pods), or a compose service that
/// builds this Dockerfile.
fn set_elsewhere(ctx: &Context, l: &Launcher, f: &LaunchFacts) -> bool {
    let ws = ctx.workspace;
    if f.operator_injected(l.scope)
        && ws.instrumentations().any(|i| {
            i.instrumentation
                .as_ref()
                .is_some_and(|s| s.python_env.iter().chain(&s.env).any(|(n, _)| n == VAR))
        })
    {
        return true;
    }
    let Some(me) = ctx
        .path
        .filter(|_| ctx.file.language() == Language::Dockerfile)
    else {
        return false;
    };
    let me = clean(me);
    ws.shared_facts().any(|(p, facts)| {
        facts.imports.iter().any(|i| {
            let Source::Image { dockerfile, .. } = &i.source else {
                return false;
            };
            if clean(&imports::resolve_path(p, dockerfile)) != me {
                return false;
            }
            let eff = imports::effective(facts, Some(p), ws);
            eff.lookup(i.owner, VAR).is_some()
        })
    })
}

fn scan(ctx: &Context) -> Vec<Finding> {
    let f = ctx.effective();
    let mut out = Vec::new();
    for l in f.own_launchers().filter(|l| is_service(l) && l.runtime) {
        let injected = f.operator_injected(l.scope);
        let Some(lref) = summary::launch_ref(l, f) else {
            continue;
        };
        let instrumented = l.instrumented()
            || injected
            || ctx
                .path
                .is_some_and(|p| ctx.workspace.runs_instrumented(p, &lref));
        if !instrumented {
            continue;
        }
        if f.lookup(l.scope, VAR).is_some() {
            continue;
        }
        // The instrumentor is switched off: nothing reads the settings early.
        if f.lookup(l.scope, "OTEL_PYTHON_DJANGO_INSTRUMENT")
            .and_then(|v| v.known())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("false"))
        {
            continue;
        }
        let Some(app) = django_app(ctx, l, f) else {
            continue;
        };
        if set_elsewhere(ctx, l, f) {
            continue;
        }
        let Some(anchor) = anchor(ctx, l) else {
            continue;
        };
        let mut finding = Finding::new(anchor, MESSAGE);
        if let Some((module, sure)) = &app.settings {
            if let Some(fix) = fix(ctx, l, f, module, *sure) {
                finding = finding.with_fix(fix);
            }
        }
        out.push(finding);
    }
    out
}

/// The launcher's first line: from the instruction (Dockerfile) or the command's start to
/// the end of that line.
fn anchor(ctx: &Context, l: &Launcher) -> Option<Span> {
    let start = if ctx.file.language() == Language::Dockerfile {
        l.stmt.start
    } else {
        l.span.start
    };
    if l.span.end <= l.span.start {
        return None;
    }
    let end = ctx.text[start..]
        .find(['\n', '\r'])
        .map_or(ctx.text.len(), |n| start + n)
        .min(l.span.end.max(l.stmt.end))
        .max(start + 1);
    Some(Span::new(start, end.min(ctx.text.len())))
}

fn line_start(text: &str, at: usize) -> usize {
    text[..at.min(text.len())].rfind('\n').map_or(0, |i| i + 1)
}

fn line_end_after(text: &str, at: usize) -> usize {
    text[at.min(text.len())..]
        .find('\n')
        .map_or(text.len(), |n| at + n + 1)
}

fn indent_of(text: &str, at: usize) -> &str {
    let ls = line_start(text, at);
    let line = &text[ls..];
    &line[..line.len() - line.trim_start_matches([' ', '\t']).len()]
}

fn make(title: String, edit: Edit, sure: bool) -> Fix {
    if sure {
        Fix::safe(title, vec![edit])
    } else {
        Fix::unsafe_(title, vec![edit])
    }
}

fn fix(ctx: &Context, l: &Launcher, f: &LaunchFacts, module: &str, sure: bool) -> Option<Fix> {
    let text = ctx.text;
    let nl = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let title = format!("Set `{VAR}={module}`");
    match ctx.file.language() {
        Language::Dockerfile => {
            let at = line_start(text, l.stmt.start);
            let indent = indent_of(text, l.stmt.start);
            let line = format!("{indent}ENV {VAR}={module}{nl}");
            Some(make(title, Edit::insert(at, line), sure))
        }
        Language::Shell => {
            let at = line_start(text, l.span.start);
            // Only where the command starts its line: a new line there runs first.
            if text[at..l.span.start].trim().is_empty() {
                let indent = indent_of(text, l.span.start);
                let line = format!("{indent}export {VAR}={module}{nl}");
                return Some(make(title, Edit::insert(at, line), sure));
            }
            None
        }
        Language::Yaml => {
            // Beside the service's or container's last own setting, in its style.
            let owner = f.scopes.get(l.scope).and_then(|s| s.parent).filter(|&p| {
                f.scopes
                    .get(p)
                    .is_some_and(|s| matches!(s.kind, ScopeKind::Service | ScopeKind::Container))
            })?;
            let last = f
                .own_env()
                .filter(|v| v.scope == owner && v.origin == EnvOrigin::Scope)
                .last()?;
            let ls = line_start(text, last.span.start);
            let prefix = &text[ls..last.span.start];
            let indent = indent_of(text, last.span.start);
            let item = prefix.trim_start().starts_with('-');
            let line = if f.compose {
                if item {
                    format!("{indent}- {VAR}={module}{nl}")
                } else {
                    format!("{indent}{VAR}: {module}{nl}")
                }
            } else {
                if !item {
                    return None;
                }
                let inner = " ".repeat(prefix.len() - indent.len());
                format!("{indent}- name: {VAR}{nl}{indent}{inner}value: {module}{nl}")
            };
            let at = line_end_after(text, last.span.end.saturating_sub(1).max(last.span.start));
            let edit = if at == text.len() && !text.ends_with('\n') {
                Edit::insert(at, format!("{nl}{}", line.trim_end_matches(nl)))
            } else {
                Edit::insert(at, line)
            };
            // The new entry must keep its document valid YAML (judged on the document alone,
            // as the scan is).
            let doc = ctx
                .file
                .chunks()
                .iter()
                .find(|c| c.start <= l.span.start && l.span.start < c.start + c.len)?;
            let end = doc.start + doc.len;
            if edit.span.start < doc.start || edit.span.start > end {
                return None;
            }
            let mut fixed = text[doc.start..end].to_string();
            fixed.insert_str(edit.span.start - doc.start, &edit.new_text);
            if crate::engine::parse(Language::Yaml, fixed).has_syntax_error() {
                return None;
            }
            Some(make(title, edit, sure))
        }
        _ => None,
    }
}

const DOCS: &str = r#"## What it does
Flags a Django app started under zero-code instrumentation — by `opentelemetry-instrument`
(also through the exec-form `ENTRYPOINT` of the image a compose service builds) or in a pod
the OpenTelemetry Operator injects (`inject-python`) — when `DJANGO_SETTINGS_MODULE` is in
none of the environments it gets: the Dockerfile's `ENV` of its stage, compose
`environment:`/`env_file:`, Kubernetes `env:`/`envFrom:` ConfigMaps of the workspace, an
Instrumentation's `spec.python.env`/`spec.env` (any Instrumentation of the workspace setting
it silences injected pods), shell `export`s and `VAR=value` prefixes; for a Dockerfile also a
compose service of the workspace that builds it.

A launcher is a Django app when it runs a management command (`python manage.py …`,
`./manage.py`, `django-admin`, `python -m django`) or serves `<pkg>.wsgi` / `<pkg>.asgi`
with gunicorn, uvicorn, hypercorn, daphne, granian or uWSGI (`--module`). When the served
module is in the workspace it must import `django`; when it is not, the attribute must be
Django's `application` (or absent): `wsgi:app` is Flask's habit.

Not flagged: the variable set in any of those scopes; non-Django apps; Django without
zero-code instrumentation (programmatic setup in `manage.py` or a `post_fork` hook);
`OTEL_PYTHON_DJANGO_INSTRUMENT=false`; image build steps (`RUN`). Procfiles and Makefiles are
not read: their environment usually comes from the platform. An image only injected by the
Operator (no `opentelemetry-instrument` in the Dockerfile) is judged in the Kubernetes
manifest, where its environment is.

## Why is this bad?
`opentelemetry-instrument` (and the Operator's injected `sitecustomize`) instrument Django
when the interpreter starts, before `manage.py` or `wsgi.py` runs
`os.environ.setdefault("DJANGO_SETTINGS_MODULE", …)`. The Django instrumentor reads
`settings.MIDDLEWARE` then; without the variable it calls `settings.configure()` with empty
settings (contrib #1369), so the app's own settings never load or the middleware is never
inserted. A setdefault in the code, gunicorn's `--env` and `manage.py --settings` all come too
late.

## Example
```dockerfile
FROM python:3.12-slim
WORKDIR /app
CMD ["opentelemetry-instrument", "gunicorn", "mysite.wsgi:application"]
```

## Use instead
```dockerfile
FROM python:3.12-slim
WORKDIR /app
ENV DJANGO_SETTINGS_MODULE=mysite.settings
CMD ["opentelemetry-instrument", "gunicorn", "mysite.wsgi:application"]
```

## Fix safety
The fix inserts `ENV DJANGO_SETTINGS_MODULE=<module>` before the launcher (Dockerfile), an
`export` line before the command (shell), or an entry beside the service's or container's
last setting, in its style (compose, Kubernetes; none when it sets nothing yet). It is safe
when the module comes from the app's own `setdefault` call (found in the launcher's
`manage.py` or served module, or the only one of the workspace): the app then runs with the
settings it asks for. It is unsafe when the module is guessed as `<pkg>.settings` from the
`<pkg>.wsgi` target: review it. No fix when the module is unknown.

## Source
- https://opentelemetry.io/docs/zero-code/python/operator/#django-applications
- opentelemetry-python `docs/examples/django/README.rst`
- opentelemetry-operator #2302; opentelemetry-python-contrib #1369
"#;

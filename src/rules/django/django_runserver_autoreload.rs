//! OTEL009 `django-runserver-autoreload`: `manage.py runserver` with its autoreloader on
//! where OpenTelemetry instruments the process — the served code runs in a child process the
//! instrumentation never reached (or that runs `main` a second time).

use super::{is_service, manage_scripts, management};
use crate::diagnostic::{Finding, Fix, Severity};
use crate::language::Language;
use crate::launch::{args, judge};
use crate::rules::{always, anywhere, Context, Facts, FixKind, Pre, Rule, Topic};

/// The file kinds whose command lines it reads.
const KINDS: &[Language] = &[
    Language::Dockerfile,
    Language::Shell,
    Language::Procfile,
    Language::Yaml,
    Language::Makefile,
];

/// The rule.
pub static RULE: Rule = Rule {
    code: "OTEL009",
    name: "django-runserver-autoreload",
    topic: Topic::Django,
    language: Language::Dockerfile,
    also: &[
        Language::Shell,
        Language::Procfile,
        Language::Yaml,
        Language::Makefile,
    ],
    severity: Severity::Warning,
    summary: "`manage.py runserver` without `--noreload` under OpenTelemetry instrumentation",
    docs: DOCS,
    url: "https://github.com/open-telemetry/opentelemetry-python/blob/main/docs/examples/django/README.rst",
    fix: FixKind::Safe,
    query: None,
    pre: &[Pre {
        langs: KINDS,
        needles: &["runserver"],
        facts: Facts::NONE,
        file: &[],
        relevant: anywhere,
    }],
    gate: always,
    scan: Some(scan),
    scan_per_document: true,
    trees: crate::syntax::yaml::Classes::NONE,
};

const MESSAGE: &str =
    "Django's autoreloader runs `main` twice and breaks auto-instrumentation; add `--noreload`.";

fn scan(ctx: &Context) -> Vec<Finding> {
    let f = ctx.effective();
    let mut out = Vec::new();
    for l in f.launchers.iter().filter(|l| is_service(l)) {
        let Some(m) = management(l) else {
            continue;
        };
        let Some(cmd) = l.argv.get(m.command) else {
            continue;
        };
        if cmd.text != "runserver" || !judge::is_here(cmd) {
            continue;
        }
        let rest = &l.argv[m.command + 1..];
        // A word that is an expansion may hold the flag (`runserver $ARGS`, `"$@"`); one
        // that only contains one (`0.0.0.0:$PORT`) does not.
        let expansion = |t: &&crate::launch::Token| t.dynamic && t.text.starts_with('$');
        if args::flag(rest, &["--noreload"]).is_some() || rest.iter().any(|t| expansion(&t)) {
            continue;
        }
        let otel = l.instrumented()
            || f.operator_injected(l.scope)
            || (m.script.is_some()
                && manage_scripts(ctx.workspace, ctx.path, l, f)
                    .iter()
                    .any(|(_, s)| s.launch.instruments_itself));
        if !otel {
            continue;
        }
        let mut finding = Finding::new(cmd.span, MESSAGE);
        let last = l.argv.last().unwrap_or(cmd);
        if judge::is_here(last) {
            finding = finding.with_fix(Fix::safe(
                "Add `--noreload`",
                vec![judge::insert_words_after(ctx.text, last, &["--noreload"])],
            ));
        }
        out.push(finding);
    }
    out
}

const DOCS: &str = r#"## What it does
Flags `python manage.py runserver [addr]` (also `./manage.py`, `django-admin`,
`python -m django`) without `--noreload` when OpenTelemetry instruments the process: the
command runs under `opentelemetry-instrument`, in a container the OpenTelemetry Operator
injects (`inject-python`), or the workspace's `manage.py` instruments itself
(`DjangoInstrumentor().instrument()` or programmatic `initialize()`, in `main()` or at module
level). The launcher's `manage.py` is found by the launch association of the workspace; when
none is named, the workspace's only `manage.py` counts.

Not flagged: `--noreload` anywhere after `runserver`; arguments built from variables
(`runserver $ARGS` may hold it); `runserver` without any OpenTelemetry involvement;
commented-out commands and image build steps (`RUN`).

## Why is this bad?
Django's autoreloader starts the server in a child process and restarts it on every code
change, running `manage.py`'s `main` again there. Instrumentation set up by
`opentelemetry-instrument` in the parent, or applied twice by `main`, breaks: requests are
served without spans, or the instrumentation warns that it is already applied and the
middleware misbehaves.

## Example
```dockerfile
CMD ["opentelemetry-instrument", "python", "manage.py", "runserver", "0.0.0.0:8000"]
```

## Use instead
```dockerfile
CMD ["opentelemetry-instrument", "python", "manage.py", "runserver", "0.0.0.0:8000", "--noreload"]
```

## Fix safety
Safe: it appends ` --noreload` to the command (in an exec-form list, a `"--noreload"` item
after the last argument); the same server runs, only without reloading on code changes.

## Source
- opentelemetry-python #1794 / PR #1795 and `docs/examples/django/README.rst`
  ("runserver --noreload")
- opentelemetry-python #4197
- Honeycomb Django docs, quoted in honeycomb-opentelemetry-python #95
"#;

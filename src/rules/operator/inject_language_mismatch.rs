//! OTEL035 `inject-language-mismatch`: an `inject-<lang>` annotation whose language is not
//! what the targeted container runs — a JVM, Node.js or .NET agent injected into a Python app
//! (which then runs uninstrumented), or Python injected into a JVM / Node.js / .NET container.

use super::model::{self, AnnotationKey, Evidence, Place};
use crate::diagnostic::{Edit, Finding, Fix, Severity, Span};
use crate::language::Language;
use crate::rules::{always, anywhere, Facts, FixKind, Match, Pre, Query, Rule, Topic};
use crate::syntax::yaml::{scalar, OPERATOR_PREFIX};
use crate::workspace::INJECT_PYTHON;
use tree_sitter::Node;

/// The rule.
pub static RULE: Rule = Rule {
    code: "OTEL035",
    name: "inject-language-mismatch",
    topic: Topic::Operator,
    language: Language::Yaml,
    also: &[],
    severity: Severity::Warning,
    summary: "Inject annotation for another language on a Python container, or inject-python on a JVM/Node.js/.NET container",
    docs: DOCS,
    url: "https://opentelemetry.io/docs/platforms/kubernetes/operator/troubleshooting/automatic/#check-auto-instrumentation-configuration",
    fix: FixKind::Unsafe,
    query: Some(Query {
        text: include_str!("inject_language_mismatch.scm"),
        check,
    }),
    pre: &[Pre {
        langs: &[Language::Yaml],
        needles: &[OPERATOR_PREFIX],
        facts: Facts::NONE,
        file: &[],
        relevant: anywhere,
    }],
    gate: always,
    scan: None,
    scan_per_document: false,
    trees: crate::syntax::yaml::Classes::PODS.or(crate::syntax::yaml::Classes::NAMESPACE),
};

/// The languages whose injection into a Python container is judged (case A).
const OTHER_RUNTIMES: &[&str] = &["java", "nodejs", "dotnet", "go", "apache-httpd", "nginx"];

fn runtime_name(lang: &str) -> &'static str {
    match lang {
        "java" => "Java",
        "nodejs" => "Node.js",
        "dotnet" => ".NET",
        "go" => "Go",
        "apache-httpd" => "Apache httpd",
        "nginx" => "nginx",
        _ => "Python",
    }
}

/// The containers `inject-<lang>` instruments: those its container-names lists name (in
/// `containers` or `initContainers`), else the first of `containers`.
pub(super) fn targets<'t>(
    m: &Match<'_, 't>,
    root: Node<'t>,
    site: &model::Site<'t>,
    lang: &str,
) -> Vec<(Option<String>, Node<'t>)> {
    let src = m.chunk;
    let Some((containers, inits)) = model::pod_containers(root, &site.shape, src) else {
        return Vec::new();
    };
    match model::container_names_for(m.ctx.workspace, &site.obj, lang) {
        None => containers
            .first()
            .map(|c| (model::container_name(*c, src), *c))
            .into_iter()
            .collect(),
        Some(names) => containers
            .iter()
            .chain(&inits)
            .map(|c| (model::container_name(*c, src), *c))
            .filter(|(n, _)| n.as_ref().is_some_and(|n| names.contains(n)))
            .collect(),
    }
}

fn check(m: &Match) -> Option<Finding> {
    if !model::holder_is(m, &[]) {
        return None;
    }
    let src = m.chunk;
    let site = model::site(m, m.get("pair")?)?;
    let AnnotationKey::Inject(lang) = site.annotation else {
        return None;
    };
    if site.place != Place::Pod || site.is_off(src) {
        return None;
    }
    // Values the API server rejects or the Operator cannot resolve are OTEL004's.
    let own = site.value(src)?;
    if (own.is_plain() && model::yaml11_bool(&own.value).is_some())
        || !model::selects_instrumentation(&own.value)
    {
        return None;
    }
    let python = lang == "python";
    if !python && !OTHER_RUNTIMES.contains(&lang) {
        return None;
    }
    let targets = targets(m, site.root, &site, lang);
    let key_span = m.span(site.key_node);
    if python {
        // Only the first container is targeted while another one is the Python app: that
        // is OTEL038's finding (add `container-names`), not a language mistake.
        if model::container_names_for(m.ctx.workspace, &site.obj, "python").is_none() {
            let (containers, _) = model::pod_containers(site.root, &site.shape, src)?;
            if containers
                .iter()
                .skip(1)
                .any(|c| Evidence::of_container(*c, src).python)
            {
                return None;
            }
        }
        let (name, ev) = targets.iter().find_map(|(n, c)| {
            let ev = Evidence::of_container(*c, src);
            ev.only_non_python().then_some((n.clone(), ev))
        })?;
        let runtime = if ev.java {
            "a JVM"
        } else if ev.node {
            "Node.js"
        } else {
            ".NET"
        };
        let who = name.map_or("The targeted container".to_string(), |n| {
            format!("Container `{n}`")
        });
        return Some(Finding::new(
            key_span,
            format!(
                "{who} runs {runtime}, not Python: the Operator's Python auto-instrumentation (PYTHONPATH and `sitecustomize`) does nothing there. Use the annotation of its language (`inject-java`, `inject-nodejs`, `inject-dotnet`) or target the Python container."
            ),
        ));
    }
    let name = targets.iter().find_map(|(n, c)| {
        let ev = Evidence::of_container(*c, src);
        (ev.python && !ev.runs(lang)).then(|| n.clone())
    })?;
    let who = name.map_or("the targeted container".to_string(), |n| {
        format!("container `{n}`")
    });
    let rt = runtime_name(lang);
    let finding = Finding::new(
        key_span,
        format!(
            "`inject-{lang}` injects the {rt} auto-instrumentation, but {who} runs Python: the app starts uninstrumented. Use `{INJECT_PYTHON}`."
        ),
    );
    Some(match rename(m, &site, lang) {
        Some(f) => finding.with_fix(f),
        None => finding,
    })
}

/// Renames the key to `inject-python`, unless the pod already has one or a
/// `<lang>-container-names` list that would then point nowhere.
fn rename(m: &Match, site: &model::Site, lang: &str) -> Option<Fix> {
    let src = m.chunk;
    if site.obj.pod_annotation(INJECT_PYTHON).is_some()
        || site
            .obj
            .pod_annotation(&model::container_names_key(lang))
            .is_some()
    {
        return None;
    }
    let s = scalar(site.key_node, src)?;
    let q = usize::from(s.quote.is_some());
    let span = Span::new(s.span.start + q, s.span.end - q);
    Some(Fix::unsafe_(
        "Rename to `inject-python`",
        vec![Edit::replace(m.abs(span), INJECT_PYTHON)],
    ))
}

const DOCS: &str = r#"## What it does
Flags an OpenTelemetry Operator `inject-<lang>` pod annotation whose language does not match
what the container it targets runs:

- (A) `inject-java`, `inject-nodejs`, `inject-dotnet`, `inject-go`, `inject-apache-httpd` or
  `inject-nginx` on a pod whose targeted container shows Python — an image path containing
  `python`, a program such as `python3`, `gunicorn`, `uvicorn`, `hypercorn`, `daphne`, `flask`,
  `celery`, `uwsgi`, `fastapi` or `opentelemetry-instrument` (as `command[0]`, `args[0]`, or
  the program of a `sh -c` script), or a `*.py` / `manage.py` argument — and no evidence of
  the annotated runtime;
- (B) `inject-python` on a targeted container with strong evidence of a JVM, Node.js or .NET
  (`java -jar`, `node`, `npm`, `dotnet`; `eclipse-temurin`, `openjdk`, `amazoncorretto`,
  `node:*`, `mcr.microsoft.com/dotnet/*` images) and none of Python.

The targeted containers are those the `<lang>-container-names` and `container-names`
annotations name, else the first of `containers` (as the Operator picks them).

Not flagged: `inject-sdk` (language-agnostic: it only sets the SDK environment);
multi-instrumentation pods whose per-language container lists target the right containers;
images and commands that show nothing either way (`registry.example.com/api:1.4` running its
own entrypoint). An `inject-python` pod whose first container is not the Python app while
another one is reports as `operator-container-selection` (OTEL038), whose fix names the
Python container.

## Why is this bad?
Each `inject-<lang>` annotation injects that language's agent only: `JAVA_TOOL_OPTIONS`,
`NODE_OPTIONS`, the .NET profiler, or Python's `PYTHONPATH` with `sitecustomize`. The wrong
one is silently ignored by the runtime that actually runs, and the pod produces no telemetry —
the troubleshooting guide's "did you add the JavaScript annotation to a Python application?".

## Example
```yaml
spec:
  template:
    metadata:
      annotations:
        instrumentation.opentelemetry.io/inject-nodejs: "true"
    spec:
      containers:
        - name: api
          image: python:3.12-slim
          command: ["gunicorn", "app:app"]
```

## Use instead
```yaml
      annotations:
        instrumentation.opentelemetry.io/inject-python: "true"
```

## Fix safety
For (A) the fix renames the key to `instrumentation.opentelemetry.io/inject-python`, keeping
the value (an Instrumentation may configure several languages). It is unsafe: the evidence is
a heuristic, and the Instrumentation the value names must have a Python configuration you
want. No fix is offered when the pod already has `inject-python` or a `<lang>-container-names`
list, nor for (B) (which language the container needs is yours to say).

## Source
- https://opentelemetry.io/docs/platforms/kubernetes/operator/troubleshooting/automatic/#check-auto-instrumentation-configuration
  ("Is the auto-instrumentation for the right language?").
- Operator `internal/instrumentation/podmutator.go`, `sdk.go` (one agent per annotation,
  first container by default).
"#;

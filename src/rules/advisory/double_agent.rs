//! OTEL064 `double-agent` (info): a container that the OpenTelemetry Operator injects with
//! Python auto-instrumentation and that also runs `opentelemetry-instrument` — in its own
//! `command:`/`args:`, or in the `CMD`/`ENTRYPOINT` of the image it runs — or whose app calls
//! `initialize()` itself. Two copies of the SDK and the instrumentations end up on
//! `PYTHONPATH`, and the process is configured twice.
//!
//! Advisory, so quiet where unsure: a Dockerfile counts only when an injected container runs
//! its image as built (no `command:`/`args:` of its own), by the workspace's image-name
//! heuristic; a Python module only when such a launcher starts it.

use crate::diagnostic::{Edit, Finding, Fix, Severity, Span};
use crate::language::Language;
use crate::launch::{LaunchKind, Launcher};
use crate::rules::initialization::initialize_after_framework_import::first_activation;
use crate::rules::{always, anywhere, launched, Bytes, Context, Facts, FixKind, Pre, Rule, Topic};
use crate::source::FileFacts;
use crate::workspace::INJECT_PYTHON;

/// The rule.
pub static RULE: Rule = Rule {
    code: "OTEL064",
    name: "double-agent",
    topic: Topic::Advisory,
    language: Language::Yaml,
    also: &[Language::Dockerfile, Language::Python],
    severity: Severity::Info,
    summary: "Operator-injected container also runs `opentelemetry-instrument` or `initialize()`",
    docs: DOCS,
    url: "https://opentelemetry.io/docs/platforms/kubernetes/operator/automatic/#python",
    fix: FixKind::Unsafe,
    query: None,
    pre: &[
        Pre {
            langs: &[Language::Yaml],
            needles: &["opentelemetry-instrument"],
            facts: Facts::NONE,
            file: &[],
            relevant: anywhere,
        },
        Pre {
            langs: &[Language::Dockerfile],
            needles: &["opentelemetry-instrument"],
            facts: Facts::NONE,
            file: &[],
            relevant: injected_image,
        },
        Pre {
            langs: &[Language::Python],
            // Every form of programmatic auto-instrumentation imports this module by name.
            needles: &["auto_instrumentation"],
            facts: Facts::All,
            file: &[],
            relevant: launched,
        },
    ],
    gate: always,
    scan: Some(scan),
    scan_per_document: true,
    trees: crate::syntax::yaml::Classes::NONE,
};

const MESSAGE: &str = "The OpenTelemetry Operator injects Python auto-instrumentation into this container (`inject-python`), and it is also started with `opentelemetry-instrument`: two copies of the SDK and instrumentations on `PYTHONPATH`, configured twice. Keep one: remove `opentelemetry-instrument`, or the annotation.";

const INIT_MESSAGE: &str = "The OpenTelemetry Operator injects Python auto-instrumentation into the container that runs this module (`inject-python`), and the module calls `initialize()` as well: auto-instrumentation is set up twice, from two copies on `PYTHONPATH`. Keep one: remove `initialize()`, or the annotation.";

/// A Dockerfile whose image an injected container runs as built.
fn injected_image(b: &Bytes) -> bool {
    b.path
        .is_some_and(|p| b.workspace.image_injected_as_built(p))
}

fn scan(ctx: &Context) -> Vec<Finding> {
    match ctx.file.language() {
        Language::Yaml => containers(ctx),
        Language::Dockerfile => image(ctx),
        Language::Python => module(ctx).into_iter().collect(),
        _ => Vec::new(),
    }
}

/// The fix that deletes the `opentelemetry-instrument` wrapper (its flags included), when
/// it lies within the command and within one list.
fn unwrap_fix(text: &str, l: &Launcher, one_line: bool) -> Option<Fix> {
    let p = l
        .instrument_prefix
        .filter(|p| p.start >= l.span.start && p.end <= l.span.end && p.end > p.start)?;
    let gone = text.get(p.start..p.end)?;
    if (one_line && gone.contains('\n')) || gone.contains("args:") || gone.contains("command:") {
        return None;
    }
    Some(Fix::unsafe_(
        "Remove `opentelemetry-instrument` (the Operator's injection instruments the app)",
        vec![Edit::delete(p)],
    ))
}

/// The `command:`/`args:` key of the list that starts at `value`: the word before the `:`
/// that precedes it.
fn key_before(text: &str, value: usize) -> Option<Span> {
    let mut head = text.get(..value)?.trim_end();
    // A comment after the key (`command:  # why`) sits between it and a block list.
    let line = head.rfind('\n').map_or(0, |i| i + 1);
    if let Some(c) = head[line..].find(" #") {
        head = head[..line + c].trim_end();
    }
    let head = head.strip_suffix(':')?;
    let start = head
        .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '"' || c == '\''))
        .map_or(0, |i| i + 1);
    let key = head[start..].trim_matches(['"', '\'']);
    matches!(key, "command" | "args").then(|| Span::new(start, head.len()))
}

/// Kubernetes containers of injected pods whose own command runs `opentelemetry-instrument`.
fn containers(ctx: &Context) -> Vec<Finding> {
    let f = ctx.launch();
    let objects = match ctx.facts() {
        FileFacts::Yaml(d) => d.as_slice(),
        _ => &[],
    };
    let mut out = Vec::new();
    for l in f.launchers.iter().filter(|l| {
        l.kind == LaunchKind::Kubernetes && l.runtime && l.instrumented() && !l.is_imported()
    }) {
        let injected = f.operator_injected(l.scope) || {
            // The namespace's annotation, as the Operator combines it with the pod's.
            let doc = objects
                .iter()
                .filter(|(start, _)| *start <= l.span.start)
                .max_by_key(|(start, _)| *start)
                .and_then(|(_, o)| o.as_deref());
            doc.and_then(|o| {
                let ns = ctx.workspace.pod_namespace(ctx.path, o);
                ctx.workspace
                    .effective_annotation(
                        o.pod_annotation(INJECT_PYTHON),
                        ns.as_deref(),
                        INJECT_PYTHON,
                    )
                    .map(str::to_string)
            })
            .is_some_and(|v| !v.trim().is_empty() && !v.trim().eq_ignore_ascii_case("false"))
        };
        if !injected {
            continue;
        }
        let Some(word) = l.instrument else {
            continue;
        };
        let anchor = key_before(ctx.text, l.span.start).unwrap_or(word);
        let mut finding = Finding::new(anchor, MESSAGE);
        if let Some(fix) = unwrap_fix(ctx.text, l, false) {
            finding = finding.with_fix(fix);
        }
        out.push(finding);
    }
    out
}

/// The `CMD`/`ENTRYPOINT` of an image that an injected container runs as built.
fn image(ctx: &Context) -> Vec<Finding> {
    let Some(path) = ctx.path else {
        return Vec::new();
    };
    if !ctx.workspace.image_injected_as_built(path) {
        return Vec::new();
    }
    let f = ctx.launch();
    f.launchers
        .iter()
        .filter(|l| {
            matches!(l.kind, LaunchKind::Cmd | LaunchKind::Entrypoint)
                && l.runtime
                && !l.is_imported()
        })
        .filter_map(|l| {
            let word = l.instrument?;
            let finding = Finding::new(word, MESSAGE);
            Some(match unwrap_fix(ctx.text, l, true) {
                Some(fix) => finding.with_fix(fix),
                None => finding,
            })
        })
        .collect()
}

/// A module that an injected container starts (by its own command, or as the image's
/// `CMD` when it runs the image as built) and that runs `initialize()` at import.
fn module(ctx: &Context) -> Option<Finding> {
    let py = ctx.python()?;
    let path = ctx.path?;
    let ws = ctx.workspace;
    let act = first_activation(py)?;
    if act.call.is_some_and(|c| c.guarded) {
        return None;
    }
    let injected = ws.launched_by(path).iter().any(|b| {
        b.launcher.runtime && (b.launcher.operator_injected || ws.image_injected_as_built(b.file))
    });
    injected.then(|| Finding::new(act.anchor, INIT_MESSAGE))
}

const DOCS: &str = r#"## What it does
Hints at a container that gets Python auto-instrumentation twice:

* its pod is injected by the OpenTelemetry Operator — a truthy
  `instrumentation.opentelemetry.io/inject-python` annotation on the pod template, or on its
  Namespace (combined with the pod's as the Operator does) — **and**
* its own `command:`/`args:` start `opentelemetry-instrument` (reported on the `command:` key
  of the container), or the image it runs as built (no `command:`/`args:` of its own; the
  image is matched to a Dockerfile of the workspace by name, like the other Operator rules)
  has `opentelemetry-instrument` in its `CMD`/`ENTRYPOINT` (reported on that word), or the
  module such a container starts calls `initialize()` (or imports the auto-instrumentation
  `sitecustomize`) at module level (reported on that call).

It stays quiet when the association is not certain: an image the workspace does not build,
an injected container that replaces the image's command, a pod whose injection is `"false"`,
an `initialize()` under a condition.

## Why is this bad?
The Operator's init container copies its own SDK, distro and instrumentations into the pod
and prepends them to `PYTHONPATH`; its `sitecustomize` runs auto-instrumentation before the
app starts. `opentelemetry-instrument` (or `initialize()`) then does it again, with the
packages of the image: two versions of the same packages on the path, instrumentors applied
twice or skipped with warnings, the SDK configured from two sets of settings. The app still
exports, which is why this is a hint — but which configuration wins is hard to tell.

## Example
```yaml
spec:
  template:
    metadata:
      annotations:
        instrumentation.opentelemetry.io/inject-python: "true"
    spec:
      containers:
        - name: orders
          image: registry.example.com/orders:1.4
          command: ["opentelemetry-instrument", "gunicorn", "app:app"]
```

## Use instead
```yaml
          command: ["gunicorn", "app:app"]
```
or keep `opentelemetry-instrument` in the image and drop the `inject-python` annotation.

## Fix safety
The fix removes `opentelemetry-instrument` and its flags from the container's command or the
Dockerfile's exec-form `CMD`/`ENTRYPOINT` (not when the wrapper and the program sit in two
lists or two instructions). It is unsafe: settings passed as `opentelemetry-instrument` flags
are lost and must move to the container's `env:` or the Instrumentation. There is no fix for
`initialize()`: remove it, or the annotation, by hand.

## Source
- OpenTelemetry Operator, Python auto-instrumentation injection (`inject-python`; the
  injected `PYTHONPATH` and `sitecustomize`)
  <https://opentelemetry.io/docs/platforms/kubernetes/operator/automatic/#python>
- opentelemetry-operator `internal/instrumentation/python.go`
- rules.md §7 (OTEL064)
"#;

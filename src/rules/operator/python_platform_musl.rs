//! OTEL037 `python-platform-musl`: the Operator's Python platform annotation set to a value it
//! does not know (it then skips Python injection), or an Alpine (musl) image injected with the
//! default glibc build, whose compiled wheels cannot load there.

use super::edit::{self, Leaf};
use super::model::{self, Place};
use crate::diagnostic::{Edit, Finding, Fix, Severity, Span};
use crate::language::Language;
use crate::rules::{always, anywhere, Facts, FixKind, Match, Pre, Query, Rule, Topic};
use crate::syntax::yaml::{get_path, pair, pod_shape, scalar};
use crate::workspace::INJECT_PYTHON;

/// The rule.
pub static RULE: Rule = Rule {
    code: "OTEL037",
    name: "python-platform-musl",
    topic: Topic::Operator,
    language: Language::Yaml,
    also: &[],
    severity: Severity::Error,
    summary: "otel-python-platform is not glibc/musl, or an Alpine image is injected with the glibc Python build",
    docs: DOCS,
    url: "https://opentelemetry.io/docs/zero-code/python/operator/#libraries-with-binary-wheels",
    fix: FixKind::Sometimes,
    query: Some(Query {
        text: include_str!("python_platform_musl.scm"),
        check,
    }),
    pre: &[Pre {
        langs: &[Language::Yaml],
        needles: &["otel-python-platform", "alpine"],
        facts: Facts::NONE,
        file: &[],
        relevant: anywhere,
    }],
    gate: always,
    scan: None,
    scan_per_document: false,
    trees: crate::syntax::yaml::Classes::PODS.or(crate::syntax::yaml::Classes::NAMESPACE),
};

/// The annotation that picks the build the Operator copies into the pod.
pub const PLATFORM: &str = "instrumentation.opentelemetry.io/otel-python-platform";

fn check(m: &Match) -> Option<Finding> {
    if let Some(p) = m.get("platform") {
        return platform(m, p);
    }
    image(m, m.get("image")?, m.get("value")?)
}

/// (a) A platform value the Operator does not know.
fn platform(m: &Match, pair_node: tree_sitter::Node) -> Option<Finding> {
    let src = m.chunk;
    let site = model::site(m, pair_node)?;
    if site.key != PLATFORM {
        return None;
    }
    match site.place {
        Place::Namespace => {}
        Place::Pod => {
            let ws = m.ctx.workspace;
            let obj = &site.obj;
            let inject = ws.effective_annotation(
                obj.pod_annotation(INJECT_PYTHON),
                obj.pod_namespace(),
                INJECT_PYTHON,
            );
            if !model::is_truthy(inject) {
                return None;
            }
        }
        _ => return None,
    }
    let s = site.value(src)?;
    let v = s.value.as_str();
    if v.is_empty() || v == "glibc" || v == "musl" || v.contains("{{") {
        return None;
    }
    let finding = Finding::new(
        m.abs(s.span),
        format!(
            "`otel-python-platform: \"{v}\"` is not `glibc` or `musl`: the Operator rejects the value and skips Python auto-instrumentation for the pod."
        ),
    );
    let fixed = v.trim().to_ascii_lowercase();
    if fixed != "glibc" && fixed != "musl" {
        return Some(finding);
    }
    let q = usize::from(s.quote.is_some());
    let inner = Span::new(s.span.start + q, s.span.end - q);
    Some(finding.with_fix(Fix::safe(
        format!("Use `{fixed}`"),
        vec![Edit::replace(m.abs(inner), fixed)],
    )))
}

/// (b) An Alpine image in a container injected with the glibc build.
fn image(m: &Match, pair_node: tree_sitter::Node, value: tree_sitter::Node) -> Option<Finding> {
    let src = m.chunk;
    let s = scalar(value, src)?;
    let lower = s.value.to_ascii_lowercase();
    // `alpine-glibc` images carry glibc.
    if !lower.contains("alpine") || lower.contains("glibc") || lower.contains("{{") {
        return None;
    }
    let (root, clean) = model::document_in(m, pair_node)?;
    if !clean {
        return None;
    }
    let obj = model::object(m, root)?;
    let shape = pod_shape(&obj.api_version, &obj.kind)?;
    if shape.namespace {
        return None;
    }
    let path = m.key_path(pair_node);
    let pod_spec: Vec<&str> = shape.template().iter().copied().chain(["spec"]).collect();
    let n = pod_spec.len();
    if path.len() != n + 3
        || path[..n] != pod_spec[..]
        || !matches!(path[n].as_str(), "containers" | "initContainers")
        || path[n + 1] != "-"
    {
        return None;
    }
    let ws = m.ctx.workspace;
    let ns = obj.pod_namespace();
    let inject = ws.effective_annotation(obj.pod_annotation(INJECT_PYTHON), ns, INJECT_PYTHON);
    if !model::is_truthy(inject) {
        return None;
    }
    let container = pair_node.parent()?;
    let name = model::container_name(container, src);
    if !model::targeted(&obj, container, name.as_deref(), &path[n]) {
        return None;
    }
    let platform = ws.effective_annotation(obj.pod_annotation(PLATFORM), ns, PLATFORM);
    let explicit_glibc = match platform {
        None | Some("") => false,
        Some("glibc") => true,
        // `musl` is right; anything else is case (a).
        Some(_) => return None,
    };
    let why = if explicit_glibc {
        "but `otel-python-platform` says `glibc`"
    } else {
        "but the Operator copies its default glibc build"
    };
    let mut finding = Finding::new(
        m.abs(s.span),
        format!(
            "`{}` is an Alpine (musl) image, {why} of the Python auto-instrumentation: its compiled wheels (wrapt, psutil, grpcio…) fail to import and the app runs uninstrumented. Add `{PLATFORM}: \"musl\"` to the pod.",
            s.value
        ),
    )
    .with_severity(Severity::Warning);
    if obj.pod_annotation(PLATFORM).is_none() {
        if let Some(f) = add_musl(root, &shape, src) {
            finding = finding.with_fix(f.shifted(m.offset));
        }
    }
    Some(finding)
}

/// Adds `otel-python-platform: "musl"` to the pod's annotations (after `inject-python` when it
/// is the last of them, else at their end).
fn add_musl(
    root: tree_sitter::Node,
    shape: &crate::syntax::yaml::PodShape,
    src: &str,
) -> Option<Fix> {
    let mut target: Vec<&str> = shape.pod_meta.to_vec();
    target.push("annotations");
    let line = format!("{PLATFORM}: \"musl\"");
    let e = edit::add_under(root, src, &target, Leaf::Mapping, &[line])?;
    let edits = vec![e];
    edit::verified(src, &edits, |root, out| {
        get_path(root, &target, out).is_some_and(|a| pair(a, PLATFORM, out).is_some())
    })?;
    Some(Fix::safe("Add `otel-python-platform: \"musl\"`", edits))
}

const DOCS: &str = r#"## What it does
- (a) Flags `instrumentation.opentelemetry.io/otel-python-platform` on a pod that the Operator
  injects Python into (or on a Namespace) when its value is neither `glibc` nor `musl`
  (the comparison is exact: `Musl` and `" musl"` are rejected too).
- (b) Flags the `image:` of a container the Operator injects Python into (its
  `python-container-names`/`container-names`, else the first container; `inject-python` on the
  pod or its Namespace) when the image reference contains `alpine` (name or tag) and neither
  the pod nor its Namespace sets `otel-python-platform: "musl"`.

Not flagged: `"musl"` present (the Operator's e2e musl test); images without an `alpine`
marker (no guessing from other musl distributions); `alpine-glibc` images; containers the
Operator does not inject.

## Why is this bad?
The Operator copies one of two builds of the Python auto-instrumentation into the pod:
glibc (the default) or musl. With an unknown platform value it refuses and skips Python
injection for the container (error in the Operator's log only). On an Alpine image, the glibc
build's compiled wheels — `wrapt`, `psutil`, `grpcio`, `charset-normalizer` — fail to import,
`sitecustomize` aborts and the app runs without telemetry.

## Example
```yaml
      annotations:
        instrumentation.opentelemetry.io/inject-python: "true"
    spec:
      containers:
        - name: api
          image: python:3.12-alpine
```

## Use instead
```yaml
      annotations:
        instrumentation.opentelemetry.io/inject-python: "true"
        instrumentation.opentelemetry.io/otel-python-platform: "musl"
```

## Fix safety
(b) adds `instrumentation.opentelemetry.io/otel-python-platform: "musl"` to the pod's
annotations; it is safe, since an Alpine image needs the musl build (it is not offered when
the pod already sets the annotation, e.g. to `glibc`: changing it is yours to decide). (a)
is fixed only when the value is `glibc` or `musl` up to case and spaces (lower-cased and
trimmed, safe); other values get no fix.

## Source
- https://opentelemetry.io/docs/zero-code/python/operator/#libraries-with-binary-wheels
- Operator `docs/auto-instrumentation/languages/python.md`;
  `internal/instrumentation/python.go` (`injectPythonSDK`: `glibc`, `musl`, else an error).
"#;

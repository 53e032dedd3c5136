//! OTEL004 `inject-annotation-invalid-value`: an `instrumentation.opentelemetry.io/inject-*`
//! value that is not a string (the API server rejects the object), not one of `"true"`,
//! `"false"`, `"<name>"`, `"<namespace>/<name>"` (the Operator looks for an Instrumentation
//! literally named so), or a name no Instrumentation of the workspace has.
//!
//! Which annotations are judged: every case at the places the Operator reads (the pods'
//! annotations, a Namespace's annotations). Elsewhere in a real `ObjectMeta` map (the
//! workload's own annotations or labels) only the type check runs, and only when OTEL003 does
//! not already report the key there: OTEL003's fix moves the line to the pods, where this rule
//! then judges the value — so one mistake never gets two diagnostics on the same line. In Helm
//! values files, `podAnnotations:` is judged for the type and the string cases (there is no
//! namespace to resolve names in).

use super::model::{self, is_dns_label, is_dns_subdomain, yaml11_bool, AnnotationKey, Place};
use super::namespaces::quoted;
use crate::diagnostic::{Edit, Finding, Fix, Severity, Span};
use crate::language::Language;
use crate::rules::{always, anywhere, Facts, FixKind, Match, Pre, Query, Rule, Topic};
use crate::syntax::yaml::{content, scalar, Scalar, OPERATOR_PREFIX};
use crate::workspace::Workspace;
use tree_sitter::Node;

/// The rule.
pub static RULE: Rule = Rule {
    code: "OTEL004",
    name: "inject-annotation-invalid-value",
    topic: Topic::Operator,
    language: Language::Yaml,
    also: &[],
    severity: Severity::Error,
    summary: "Operator inject annotation value is not a string, not true/false/<name>/<ns>/<name>, or names no Instrumentation",
    docs: DOCS,
    url: "https://opentelemetry.io/docs/platforms/kubernetes/operator/troubleshooting/automatic/#check-the-auto-instrumentation-annotation",
    fix: FixKind::Sometimes,
    query: Some(Query {
        text: include_str!("inject_annotation_invalid_value.scm"),
        check,
    }),
    // `Instrumentation`: the value check needs the workspace's Instrumentation documents, so
    // a walker that skips files by needle must still read those.
    pre: &[
        Pre {
            langs: &[Language::Yaml],
            needles: &[OPERATOR_PREFIX, "Instrumentation"],
            facts: Facts::NONE,
            file: &[],
            relevant: anywhere,
        },
    ],
    gate: always,
    scan: None,
    scan_per_document: false,
    trees: crate::syntax::yaml::Classes::PODS.or(crate::syntax::yaml::Classes::NAMESPACE),
};

/// Words people write for "on".
const TRUTHY: &[&str] = &["yes", "y", "on", "enabled", "enable", "1"];
/// Words people write for "off": the Operator finds no Instrumentation of that name and
/// injects nothing, which is what they meant, so these are left alone.
const FALSY: &[&str] = &["no", "n", "off", "disabled", "disable", "0"];
/// Language names written as the value (`inject-python: "python"`).
const LANGUAGES: &[&str] = &[
    "python",
    "java",
    "nodejs",
    "node",
    "javascript",
    "dotnet",
    "go",
    "golang",
    "sdk",
    "apache-httpd",
    "nginx",
    "php",
    "ruby",
];

/// What is known about where a judged annotation sits.
pub(super) struct Where<'t> {
    pub(super) key_node: Node<'t>,
    pub(super) value_node: Option<Node<'t>>,
    /// All cases are judged (the Operator reads it there), not only the type.
    pub(super) full: bool,
    /// For case 3: the pod's namespace (`Some(None)` when unknown); `None` skips case 3.
    pub(super) pod_ns: Option<Option<String>>,
}

/// Where an inject annotation pair sits, if it is one the Operator (or the API server) reads.
pub(super) fn locate<'t>(m: &Match<'_, 't>, pair: Node<'t>) -> Option<Where<'t>> {
    let src = m.chunk;
    if let Some(site) = model::site(m, pair) {
        if !matches!(site.annotation, AnnotationKey::Inject(_)) {
            return None;
        }
        let full = matches!(site.place, Place::Pod | Place::Namespace);
        if !full && (!site.in_object_meta() || site.is_misplaced(src)) {
            return None;
        }
        return Some(Where {
            key_node: site.key_node,
            value_node: site.value_node,
            full,
            pod_ns: Some(m.ctx.workspace.pod_namespace(m.ctx.path, &site.obj)),
        });
    }
    let (annotation, value_node) = model::values_pod_annotation(m, pair)?;
    if !matches!(annotation, AnnotationKey::Inject(_)) {
        return None;
    }
    Some(Where {
        key_node: pair.child_by_field_name("key")?,
        value_node,
        full: true,
        pod_ns: None,
    })
}

fn check(m: &Match) -> Option<Finding> {
    if !model::holder_is(m, &["podAnnotations"]) {
        return None;
    }
    let src = m.chunk;
    let at = locate(m, m.get("pair")?)?;
    let Some(vnode) = at.value_node else {
        return at.full.then(|| empty_value(m, m.span(at.key_node), None));
    };
    let v = content(vnode);
    let raw = m.text(v);
    if raw.contains("{{") {
        return None;
    }
    let scalar = scalar(vnode, src)?;
    if scalar.is_plain() {
        let typed = v.named_child(0).map(|c| c.kind()).unwrap_or("");
        if typed == "null_scalar" {
            return at.full.then(|| empty_value(m, m.span(vnode), None));
        }
        let number = matches!(typed, "integer_scalar" | "float_scalar");
        if number || yaml11_bool(&scalar.value).is_some() {
            return Some(not_a_string(m, &scalar));
        }
    }
    if !at.full {
        return None;
    }
    judge_string(m, at.pod_ns.as_ref().map(|o| o.as_deref()), &scalar)
}

/// Case 1: a YAML boolean or number where Kubernetes wants a string.
fn not_a_string(m: &Match, s: &Scalar) -> Finding {
    let v = s.value.as_str();
    let fixed = match yaml11_bool(v) {
        Some(true) if v.eq_ignore_ascii_case("true") => format!("\"{v}\""),
        Some(true) => "\"true\"".to_string(),
        Some(false) if v.eq_ignore_ascii_case("false") => format!("\"{v}\""),
        Some(false) => "\"false\"".to_string(),
        None if v == "1" => "\"true\"".to_string(),
        None if v == "0" => "\"false\"".to_string(),
        None => format!("\"{v}\""),
    };
    let span = m.abs(s.span);
    Finding::new(
        span,
        format!("Annotation values must be strings; quote it: `{fixed}`."),
    )
    .with_severity(Severity::Error)
    .with_fix(Fix::safe(
        format!("Replace with `{fixed}`"),
        vec![Edit::replace(span, fixed)],
    ))
}

fn empty_value(m: &Match, span: Span, s: Option<&Scalar>) -> Finding {
    let mut f = Finding::new(
        span,
        "An empty value turns injection off for this pod (only a Namespace annotation could turn it on); write `\"true\"`, `\"false\"`, `\"<name>\"` or `\"<namespace>/<name>\"`.",
    )
    .with_severity(Severity::Warning);
    if let Some(s) = s {
        f = f.with_fix(Fix::unsafe_(
            "Replace with `\"true\"`",
            vec![Edit::replace(m.abs(s.span), quoted(s, "true"))],
        ));
    }
    f
}

fn named(ws: &Workspace, name: &str) -> bool {
    ws.has_instrumentation_named(name)
}

/// Cases 2 and 3 on a string value at a place the Operator reads.
/// `pod_ns`: the pod's namespace for case 3 (`None`: case 3 is not judged).
fn judge_string(m: &Match, pod_ns: Option<Option<&str>>, s: &Scalar) -> Option<Finding> {
    let v = s.value.as_str();
    let ws = m.ctx.workspace;
    // Substitutions of other tools (`${NS}`, kustomize/chainsaw `($ns)`): unknown values.
    if v.contains('$') || (v.starts_with('(') && v.ends_with(')')) {
        return None;
    }
    if v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false") {
        return None;
    }
    if v.is_empty() {
        return Some(empty_value(m, m.abs(s.span), Some(s)));
    }
    let span = m.abs(s.span);
    let literal = format!(
        "Value `{v}` is not `\"true\"`, `\"false\"`, `\"<name>\"` or `\"<namespace>/<name>\"`; the Operator will look for an Instrumentation literally named `{v}`."
    );
    let warn = |msg: String| Finding::new(span, msg).with_severity(Severity::Warning);
    let replace = |to: &str, safe: bool| {
        let title = format!("Replace with `{}`", quoted(s, to));
        let edits = vec![Edit::replace(span, quoted(s, to))];
        if safe {
            Fix::safe(title, edits)
        } else {
            Fix::unsafe_(title, edits)
        }
    };
    let trimmed = v.trim();
    if trimmed != v {
        let f = warn(literal);
        return Some(if trimmed.is_empty() {
            f
        } else {
            f.with_fix(replace(trimmed, true))
        });
    }
    let lower = v.to_ascii_lowercase();
    if named(ws, v) {
        return None;
    }
    if TRUTHY.contains(&lower.as_str()) || LANGUAGES.contains(&lower.as_str()) {
        return Some(warn(literal).with_fix(replace("true", true)));
    }
    if FALSY.contains(&lower.as_str()) {
        return None;
    }
    match v.split_once('/') {
        Some((ns, name)) => {
            if !is_dns_label(ns) || !is_dns_subdomain(name) {
                let mut f = warn(literal);
                if ns.is_empty() && is_dns_subdomain(name) {
                    f = f.with_fix(replace(name, false));
                }
                for cand in normalized_candidates(ws, v) {
                    f = f.with_fix(replace(&cand, false));
                }
                return Some(f);
            }
            unknown_reference(m, pod_ns?, s, Some(ns), name)
        }
        None => {
            if !is_dns_subdomain(v) {
                let mut f = warn(literal);
                for cand in normalized_candidates(ws, v) {
                    f = f.with_fix(replace(&cand, false));
                }
                return Some(f);
            }
            unknown_reference(m, pod_ns?, s, None, v)
        }
    }
}

/// Instrumentation references of the workspace that a malformed value probably meant
/// (`My_Instr` → `my-instr`).
fn normalized_candidates(ws: &Workspace, v: &str) -> Vec<String> {
    let norm = |x: &str| x.to_ascii_lowercase().replace('_', "-");
    let want = norm(v);
    let mut out: Vec<String> = Vec::new();
    for (i, ns) in ws.instrumentations_with_namespace().iter() {
        let Some(name) = i.name.as_deref() else {
            continue;
        };
        let full = ns.as_deref().map(|ns| format!("{ns}/{name}"));
        let cand = if norm(name) == want {
            name.to_string()
        } else if full.as_deref().is_some_and(|f| norm(f) == want) {
            full.unwrap_or_default()
        } else {
            continue;
        };
        if cand != v && !out.contains(&cand) {
            out.push(cand);
        }
    }
    out
}

/// Case 3: a well-formed reference that matches no Instrumentation of a workspace whose
/// Instrumentations name their namespaces.
fn unknown_reference(
    m: &Match,
    pod_ns: Option<&str>,
    s: &Scalar,
    ns: Option<&str>,
    name: &str,
) -> Option<Finding> {
    let ws = m.ctx.workspace;
    // No Instrumentation names a namespace (or there is none): the workspace may not be
    // complete. A templated name could be anything.
    let (namespaced, unnamed) = ws.instrumentation_shape();
    if !namespaced || unnamed {
        return None;
    }
    if ws.has_instrumentation(name, ns) {
        return None;
    }
    // A name that only Instrumentations of other namespaces have is the more specific
    // `annotation-namespace-mismatch` (OTEL032).
    if ns.is_none() && pod_ns.is_some() && !ws.instrumentations_named(name).is_empty() {
        return None;
    }
    // The first references, as many as the message and the fixes show (and one more, to
    // know there are more).
    let mut refs: Vec<String> = Vec::new();
    for (i, ins) in ws.instrumentations_with_namespace().iter() {
        if refs.len() > 8 {
            break;
        }
        let Some(iname) = i.name.as_deref() else {
            continue;
        };
        let r = match ins.as_deref() {
            Some(ins) if Some(ins) != pod_ns => format!("{ins}/{iname}"),
            _ => iname.to_string(),
        };
        if !refs.contains(&r) {
            refs.push(r);
        }
    }
    let v = s.value.as_str();
    let mut known = refs
        .iter()
        .take(5)
        .map(|r| format!("`{r}`"))
        .collect::<Vec<_>>()
        .join(", ");
    if refs.len() > 5 {
        known.push_str(", …");
    }
    let span = m.abs(s.span);
    let mut f = Finding::new(
        span,
        format!(
            "No Instrumentation `{v}` is defined in this workspace (it has {known}); the Operator will not find it and the pod starts without auto-instrumentation."
        ),
    )
    .with_severity(Severity::Warning);
    for r in refs.iter().take(8) {
        f = f.with_fix(Fix::unsafe_(
            format!("Use Instrumentation `{r}`"),
            vec![Edit::replace(span, quoted(s, r))],
        ));
    }
    Some(f)
}

const DOCS: &str = r#"## What it does
Checks the value of `instrumentation.opentelemetry.io/inject-<lang>` annotations:

1. **Not a string** (error): an unquoted `true`, `false`, `yes`, `no`, `on`, `off`, `y`, `n`,
   `1`, `0` or other number. Kubernetes reads YAML 1.1, where these are booleans and numbers.
2. **Not a value the Operator understands** (warning): a string that is neither `"true"` /
   `"false"` (any case) nor a valid reference — boolean-ish words (`"yes"`, `"y"`, `"on"`,
   `"enabled"`, `"enable"`, `"1"`), surrounding white space (`" true"`), an empty string, a
   language name (`"python"`), a name that is not DNS-1123 (`"My_Instr"`), or a malformed
   reference (`"ns/"`, `"/name"`, `"a/b/c"`).
3. **Names no Instrumentation** (warning): a well-formed `"name"` or `"namespace/name"` that
   no Instrumentation of the workspace matches, when the workspace's Instrumentations name
   their namespaces (so the workspace looks complete).

All cases are judged where the Operator reads the annotation: the pod template's (or Pod's)
annotations and a Namespace's annotations. On the workload's own metadata only case 1 is
checked (the API server rejects the object wherever the map is), and only when
`inject-annotation-wrong-location` (OTEL003) is not already reporting that key. In a Helm
values file (a document with no `apiVersion`/`kind`), the `podAnnotations:` map is judged for
cases 1 and 2: charts render it into the pod template with `toYaml`, types included.

Not flagged: `"true"`, `"True"`, `"false"`, `"my-instrumentation"`,
`"opentelemetry/my-instrumentation"`, values naming an Instrumentation of the workspace (even
`"python"` when one is named so), off-words such as `"no"` (nothing is injected, as meant),
Helm `{{ … }}` expressions and `${…}` substitutions, and case 3 in a workspace without
Instrumentation objects or without explicit namespaces.

## Why is this bad?
Annotations are `map[string]string`: an unquoted `true` makes the API server reject the whole
object ("cannot unmarshal bool into Go struct field ObjectMeta.metadata.annotations of type
string"). Any string other than `true`/`false` is taken as an Instrumentation name: the Operator
looks it up, finds nothing, logs an error in its own pod and admits the pod uninstrumented —
the application runs with no telemetry and no visible error.

## Example
```yaml
spec:
  template:
    metadata:
      annotations:
        instrumentation.opentelemetry.io/inject-python: true
        instrumentation.opentelemetry.io/inject-java: "yes"
```

## Use instead
```yaml
spec:
  template:
    metadata:
      annotations:
        instrumentation.opentelemetry.io/inject-python: "true"
        instrumentation.opentelemetry.io/inject-java: "true"
```

## Fix safety
Case 1 is safe: the scalar is quoted (`true` → `"true"`; YAML 1.1 words become `"true"` or
`"false"` as Kubernetes would read them; `1`/`0` become `"true"`/`"false"`). Case 2 is safe
for white space (the value is trimmed) and boolean-ish words or language names (replaced by
`"true"`). Replacing an empty value, dropping a leading `/`, or choosing among the
workspace's Instrumentations (case 3: one action each, `"name"` in the pod's namespace,
`"namespace/name"` otherwise) is unsafe: it picks what gets injected.

## Source
- OpenTelemetry docs, Operator troubleshooting: "Check the auto-instrumentation annotation"
  <https://opentelemetry.io/docs/platforms/kubernetes/operator/troubleshooting/automatic/#check-the-auto-instrumentation-annotation>
- opentelemetry-operator `docs/auto-instrumentation/README.md` (the accepted values)
  <https://github.com/open-telemetry/opentelemetry-operator/blob/main/README.md>
- opentelemetry-operator `internal/instrumentation/podmutator.go` (`getInstrumentationInstance`)
  <https://github.com/open-telemetry/opentelemetry-operator/blob/main/internal/instrumentation/podmutator.go>
"#;

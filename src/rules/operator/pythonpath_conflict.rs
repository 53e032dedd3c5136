//! OTEL036 `pythonpath-conflict`: a container the Operator injects Python into sets
//! `PYTHONPATH` in a way the injection breaks on — with `valueFrom` (the Operator then skips
//! Python for the container) or from an `envFrom:` ConfigMap (the Operator's own `PYTHONPATH`
//! entry replaces it, and the app's import path is lost).

use super::edit::{self, Leaf};
use super::model;
use crate::diagnostic::{Finding, Fix, Severity};
use crate::language::Language;
use crate::launch::imports::resolve_config_map;
use crate::rules::{
    always, anywhere, Bytes, Context, Facts, FixKind, Match, Pre, Query, Rule, Topic,
};
use crate::syntax::yaml::{env_vars, get, items, pod_shape, scalar, K8sObject};
use crate::workspace::INJECT_PYTHON;
use std::sync::Arc;
use tree_sitter::Node;

/// The rule.
pub static RULE: Rule = Rule {
    code: "OTEL036",
    name: "pythonpath-conflict",
    topic: Topic::Operator,
    language: Language::Yaml,
    also: &[Language::Dockerfile],
    severity: Severity::Error,
    summary: "PYTHONPATH from valueFrom, an envFrom ConfigMap or the image in a container the Operator injects Python into",
    docs: DOCS,
    url: "https://opentelemetry.io/docs/platforms/kubernetes/operator/troubleshooting/automatic/#check-configuration-sources",
    fix: FixKind::Unsafe,
    query: Some(Query {
        text: include_str!("pythonpath_conflict.scm"),
        check,
    }),
    pre: &[
        Pre {
            langs: &[Language::Yaml],
            needles: &["PYTHONPATH", "configMapRef"],
            facts: Facts::NONE,
            file: &[],
            relevant: anywhere,
        },
        Pre {
            langs: &[Language::Dockerfile],
            needles: &["PYTHONPATH"],
            facts: Facts::NONE,
            file: &[],
            relevant: injected_image,
        },
    ],
    gate: always,
    scan: Some(scan),
    // YAML is judged by the query; the scan reads Dockerfiles only.
    scan_per_document: true,
    trees: crate::syntax::yaml::Classes::PODS.or(crate::syntax::yaml::Classes::INSTRUMENTATION),
};

/// A Dockerfile whose image a pod injected with Python runs (by the workspace's image name
/// heuristic).
fn injected_image(b: &Bytes) -> bool {
    b.path.is_some_and(|p| b.workspace.image_injected(p))
}

/// (c) The runtime stage of an injected image sets `PYTHONPATH`.
fn scan(ctx: &Context) -> Vec<Finding> {
    if ctx.file.language() != Language::Dockerfile {
        return Vec::new();
    }
    let Some(path) = ctx.path else {
        return Vec::new();
    };
    if !ctx.workspace.image_injected(path) {
        return Vec::new();
    }
    let f = ctx.launch();
    let Some(image) = f.images.last() else {
        return Vec::new();
    };
    let Some(v) = f.lookup(image.scope, PYTHONPATH) else {
        return Vec::new();
    };
    if v.span.start == v.span.end {
        return Vec::new();
    }
    vec![Finding::new(
        v.span,
        "The image sets `PYTHONPATH`, and a pod the Operator injects Python into runs it: the Operator adds its own `PYTHONPATH` to the container's `env`, which replaces the image's, so these paths are lost. Set `PYTHONPATH` in the container's `env:` (the Operator merges it) or install the app as a package.",
    )
    .with_severity(Severity::Warning)]
}

const PYTHONPATH: &str = "PYTHONPATH";

/// The container mapping that holds `node` at `rest` below it (`env`, `-`, `name`), with its
/// object, when the Operator injects Python into that container.
fn injected_container<'t>(
    m: &Match<'_, 't>,
    node: Node<'t>,
    rest: &[&str],
) -> Option<(Arc<K8sObject>, Node<'t>)> {
    let src = m.chunk;
    let (root, clean) = model::document_in(m, node)?;
    if !clean {
        return None;
    }
    let obj = model::object(m, root)?;
    let shape = pod_shape(&obj.api_version, &obj.kind)?;
    if shape.namespace {
        return None;
    }
    let path = m.key_path(node);
    let pod_spec: Vec<&str> = shape.template().iter().copied().chain(["spec"]).collect();
    let n = pod_spec.len();
    if path.len() != n + 2 + rest.len()
        || path[..n] != pod_spec[..]
        || !matches!(path[n].as_str(), "containers" | "initContainers")
        || path[n + 1] != "-"
        || path[n + 2..] != *rest
    {
        return None;
    }
    let ws = m.ctx.workspace;
    let inject = ws.effective_annotation(
        obj.pod_annotation(INJECT_PYTHON),
        obj.pod_namespace(),
        INJECT_PYTHON,
    );
    if !model::is_truthy(inject) {
        return None;
    }
    let container = model::climb_to_mapping_with(node, rest[0], src)?;
    let name = model::container_name(container, src);
    model::targeted(&obj, container, name.as_deref(), &path[n]).then_some((obj, container))
}

fn check(m: &Match) -> Option<Finding> {
    if let Some(p) = m.get("name") {
        return value_from(m, p);
    }
    from_config_map(m, m.get("ref")?)
}

/// (a) `- name: PYTHONPATH` with `valueFrom:`.
fn value_from(m: &Match, name_pair: Node) -> Option<Finding> {
    let src = m.chunk;
    let v = scalar(name_pair.child_by_field_name("value")?, src)?;
    if v.value != PYTHONPATH {
        return None;
    }
    let item = name_pair.parent()?;
    if get(item, "valueFrom", src).is_none() || get(item, "value", src).is_some() {
        return None;
    }
    let (obj, container) = injected_container(m, name_pair, &["env", "-", "name"])?;
    let who = model::container_name(container, src)
        .map_or("this container".to_string(), |n| format!("container `{n}`"));
    let finding = Finding::new(
        m.span(name_pair),
        format!(
            "`PYTHONPATH` is set with `valueFrom`: the Operator refuses to merge its auto-instrumentation path into a value it cannot read and skips Python injection for {who}. Set it with a literal `value:`."
        ),
    );
    Some(match literal_fix(m, &obj, item) {
        Some(f) => finding.with_fix(f.shifted(m.offset)),
        None => finding,
    })
}

/// Replaces `valueFrom: {configMapKeyRef: …}` by the literal `value:` the workspace's
/// ConfigMap holds.
fn literal_fix(m: &Match, obj: &K8sObject, item: Node) -> Option<Fix> {
    let src = m.chunk;
    let vf = crate::syntax::yaml::pair(item, "valueFrom", src)?;
    let r = get(vf.child_by_field_name("value")?, "configMapKeyRef", src)?;
    let name = scalar(get(r, "name", src)?, src)?.value;
    let key = scalar(get(r, "key", src)?, src)?.value;
    let (_, cm) = resolve_config_map(m.ctx.workspace, &name, obj.pod_namespace())?;
    let value = cm.data.iter().rev().find(|e| e.name == key)?.known()?;
    if value.is_empty() || value.contains(['"', '\\', '\n', '\r']) {
        return None;
    }
    // The whole `valueFrom:` block, up to the end of its last line (its line break kept).
    let start = vf.start_byte();
    let mut end = crate::syntax::yaml::line_after_node(src, vf);
    for b in [b'\n', b'\r'] {
        if end > start && src.as_bytes().get(end - 1) == Some(&b) {
            end -= 1;
        }
    }
    if src.get(start..end)?.contains('#') {
        return None;
    }
    let edits = vec![crate::diagnostic::Edit::replace(
        crate::diagnostic::Span::new(start, end),
        format!("value: \"{value}\""),
    )];
    edit::verified(src, &edits, |_, _| true)?;
    Some(Fix::unsafe_(
        format!("Use the literal value of ConfigMap `{name}`"),
        edits,
    ))
}

/// The value a container's `envFrom:` ConfigMap item gives `PYTHONPATH`, if the workspace
/// has that ConfigMap and it does.
fn supplied(m: &Match, obj: &K8sObject, item: Node) -> Option<Option<String>> {
    let src = m.chunk;
    let r = get(item, "configMapRef", src)?;
    let name = scalar(get(r, "name", src)?, src)?.value;
    if name.contains("{{") || name.contains('$') {
        return None;
    }
    let prefix = get(item, "prefix", src)
        .and_then(|p| scalar(p, src))
        .map(|s| s.value)
        .unwrap_or_default();
    let key = PYTHONPATH.strip_prefix(prefix.as_str())?;
    let (_, cm) = resolve_config_map(m.ctx.workspace, &name, obj.pod_namespace())?;
    let entry = cm.data.iter().rev().find(|e| e.name == key)?;
    Some(entry.known().map(str::to_string))
}

/// (b) An `envFrom:` ConfigMap that supplies `PYTHONPATH`.
fn from_config_map(m: &Match, ref_pair: Node) -> Option<Finding> {
    let src = m.chunk;
    let (obj, container) = injected_container(m, ref_pair, &["envFrom", "-", "configMapRef"])?;
    let item = ref_pair.parent()?;
    // The container's own entry wins over every envFrom source (a literal one is merged by
    // the Operator; `valueFrom` is case (a)).
    let env = get(container, "env", src)
        .map(|l| env_vars(l, src))
        .unwrap_or_default();
    if env.iter().any(|e| e.name == PYTHONPATH) {
        return None;
    }
    // Of several sources, the last one that has the key is the one the app would see.
    let sources = items(get(container, "envFrom", src)?);
    let (last, value) = sources.iter().rev().find_map(|i| {
        let i = crate::syntax::yaml::content(*i);
        supplied(m, &obj, i).map(|v| (i, v))
    })?;
    if last.id() != item.id() {
        return None;
    }
    let cm = get(ref_pair.child_by_field_name("value")?, "name", src)
        .and_then(|n| scalar(n, src))
        .map(|s| s.value)
        .unwrap_or_default();
    let finding = Finding::new(
        m.span(ref_pair.child_by_field_name("key")?),
        format!(
            "ConfigMap `{cm}` supplies `PYTHONPATH` through `envFrom`, but the Operator adds its own `PYTHONPATH` entry to the container's `env`, which wins: the app's import path is lost. Set `PYTHONPATH` in the container's `env:` instead, where the Operator keeps it."
        ),
    )
    .with_severity(Severity::Warning);
    let fix = value.and_then(|v| move_to_env(container, src, &v));
    Some(match fix {
        Some(f) => finding.with_fix(f.shifted(m.offset)),
        None => finding,
    })
}

/// Adds `- name: PYTHONPATH` / `value: "<v>"` to the container's `env:`.
fn move_to_env(container: Node, src: &str, value: &str) -> Option<Fix> {
    if value.is_empty() || value.contains(['"', '\\', '\n', '\r']) {
        return None;
    }
    let entry = [
        format!("- name: {PYTHONPATH}"),
        format!("  value: \"{value}\""),
    ];
    let e = edit::add_under(container, src, &["env"], Leaf::Sequence, &entry)?;
    let edits = vec![e];
    edit::verified(src, &edits, |_, _| true)?;
    Some(Fix::unsafe_(
        "Set `PYTHONPATH` in the container's `env:`",
        edits,
    ))
}

const DOCS: &str = r#"## What it does
In a container the OpenTelemetry Operator injects Python into (`inject-python` on the pod or
its Namespace; the container its `python-container-names`/`container-names` name, else the
first one), flags:

- (a) an `env:` entry `PYTHONPATH` defined with `valueFrom:` (error, on its `- name:` line);
- (b) an `envFrom:` ConfigMap of the workspace that supplies `PYTHONPATH` (its `prefix:`
  included), when the container's own `env:` does not set it (warning, on the
  `- configMapRef:` item; of several sources, the last one that has the key).

Not flagged: `PYTHONPATH` with a literal `value:` in the container's `env:` — the Operator
merges it (`<its path>:<your value>:<its path>`); containers the Operator does not inject;
ConfigMaps the workspace does not define (or defines more than once); Secrets
(`secretRef`), whose keys the workspace model does not read.

- (c) In a Dockerfile whose image an injected pod runs (the workspace's heuristic: the image
  name is the Dockerfile's directory name, or `<name>` of `<name>.Dockerfile`), an `ENV
  PYTHONPATH=…` that the runtime (last) stage sees (warning, low confidence: the association
  is a guess, and a container that sets `PYTHONPATH` itself has it merged instead).

## Why is this bad?
The Operator makes Python auto-instrumentation work by putting its own directories on
`PYTHONPATH` (`sitecustomize` loads the SDK from there):

- with `valueFrom`, it cannot merge the value and skips injection for the container ("the
  container defines env var value via ValueFrom") — no telemetry;
- from `envFrom` (or the image's `ENV`), its explicit `env:` entry wins over the ConfigMap's,
  so the app's own import path disappears and imports fail or pick other modules (a known
  Operator issue, #1884).

## Example
```yaml
      containers:
        - name: api
          image: registry.example.com/api:1.4
          env:
            - name: PYTHONPATH
              valueFrom:
                configMapKeyRef: {name: api-config, key: PYTHONPATH}
```

## Use instead
```yaml
          env:
            - name: PYTHONPATH
              value: /app/src
```

## Fix safety
(b) adds `- name: PYTHONPATH` with the ConfigMap's literal value to the container's `env:`,
where the Operator merges it. It is unsafe: the value is then written twice, and a later
change to the ConfigMap no longer reaches the container. For (a), when `valueFrom` is a
`configMapKeyRef` to a ConfigMap of the workspace with a literal value, the fix replaces it by
that `value:` — unsafe for the same reason; other sources (Secrets, field references) get no
fix. (c) gets no fix.

## Source
- https://opentelemetry.io/docs/platforms/kubernetes/operator/troubleshooting/automatic/#check-configuration-sources
- opentelemetry-operator issues #1884, #2302; `internal/instrumentation/python.go`
  (`injectPythonSDK`), `sdk.go`/`helper.go` (`validateContainerEnv`).
"#;

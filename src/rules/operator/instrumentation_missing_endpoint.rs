//! OTEL030 `instrumentation-missing-endpoint`: an Instrumentation that tells the injected SDKs
//! no OTLP endpoint. They then export to their default, `localhost`, inside the application
//! pod — where nothing listens unless a sidecar collector runs — and the data is dropped.

use super::model::{annotation_key, AnnotationKey};
use crate::diagnostic::{Edit, Finding, Fix, Severity, Span};
use crate::language::Language;
use crate::rules::{always, anywhere, Context, Facts, FixKind, Pre, Rule, Topic};
use crate::source::ChunkFacts;
use crate::syntax::yaml::{self, key_of, pair, pairs, K8sObject, ENDPOINT_VARS};

/// The rule.
pub static RULE: Rule = Rule {
    code: "OTEL030",
    name: "instrumentation-missing-endpoint",
    topic: Topic::Operator,
    language: Language::Yaml,
    also: &[],
    severity: Severity::Warning,
    summary: "Instrumentation sets no exporter endpoint: injected SDKs export to localhost and the data is dropped",
    docs: DOCS,
    url: "https://opentelemetry.io/docs/platforms/kubernetes/operator/troubleshooting/automatic/#check-auto-instrumentation-endpoint-configuration",
    fix: FixKind::Unsafe,
    query: None,
    pre: &[Pre {
        langs: &[Language::Yaml],
        needles: &["Instrumentation"],
        facts: Facts::NONE,
        file: &[],
        relevant: anywhere,
    }],
    gate: always,
    scan: Some(scan),
    scan_per_document: false,
    trees: crate::syntax::yaml::Classes::INSTRUMENTATION,
};

/// Whether an Instrumentation sets an endpoint for the SDKs it configures: `spec.exporter
/// .endpoint`, or the endpoint variables in `spec.env` / `spec.python.env`. When only other
/// languages' sections set one, it is missing only for Python pods that use it.
fn sets_endpoint(ws: &crate::workspace::Workspace, inst: &K8sObject) -> bool {
    let Some(spec) = &inst.instrumentation else {
        return true;
    };
    if spec
        .exporter_endpoint
        .as_deref()
        .is_some_and(|e| !e.trim().is_empty())
    {
        return true;
    }
    let set = |env: &[(String, Option<String>)]| {
        env.iter().any(|(n, _)| ENDPOINT_VARS.contains(&n.as_str()))
    };
    if set(&spec.env) || set(&spec.python_env) {
        return true;
    }
    !spec.language_endpoints.is_empty() && !ws.is_python_target(inst)
}

/// Whether every pod that resolves to `inst` brings its own destination (a sidecar
/// collector, or its instrumented containers' own endpoint) — and there is at least one.
/// A Namespace that resolves to it stands for pods the files do not show.
fn pods_bring_their_own(ctx: &Context, inst: &K8sObject) -> bool {
    let ws = ctx.workspace;
    let mut any = false;
    for (path, o) in ws.injectors_at() {
        let ns = ws.pod_namespace(Some(path), o);
        for (key, value) in &o.pod_annotations {
            if !matches!(annotation_key(key), Some(AnnotationKey::Inject(_))) {
                continue;
            }
            let namespace_kind = o.kind == "Namespace" && o.group().is_empty();
            let v = if namespace_kind {
                Some(value.as_str())
            } else {
                ws.effective_annotation(Some(value.as_str()), ns.as_deref(), key)
            };
            let Some(v) = v.map(str::trim) else {
                continue;
            };
            if ws.resolve(v, ns.as_deref()).is_none_or(|r| r != inst) {
                continue;
            }
            if namespace_kind || !(o.sidecar || o.own_endpoint) {
                return false;
            }
            any = true;
        }
    }
    any
}

fn scan(ctx: &Context) -> Vec<Finding> {
    let mut out = Vec::new();
    if super::model::is_test_assertion(ctx.path) {
        return out;
    }
    for c in ctx.file.chunks() {
        let ChunkFacts::Yaml(Some(inst)) = &c.facts else {
            continue;
        };
        if !inst.is_instrumentation() || sets_endpoint(ctx.workspace, inst) {
            continue;
        }
        let Some(tree) = c.tree() else {
            continue;
        };
        if inst.instrumentation.as_ref().is_some_and(|s| s.unsure) {
            continue;
        }
        let Some(root) = yaml::document_root(tree.root_node()) else {
            continue;
        };
        if pods_bring_their_own(ctx, inst) {
            continue;
        }
        let src = &ctx.text[c.start..c.start + c.len];
        let spec = pair(root, "spec", src);
        let Some(anchor) = spec.or_else(|| pair(root, "kind", src)).and_then(key_of) else {
            continue;
        };
        let name = inst.name.as_deref().unwrap_or("this Instrumentation");
        let message = format!(
            "Instrumentation `{name}` sets no `spec.exporter.endpoint` (nor `OTEL_EXPORTER_OTLP_ENDPOINT` in `spec.env`/`spec.python.env`): the injected SDKs export to `localhost` inside the application pod, where no collector listens, and the data is dropped. Point it at your collector's Service."
        );
        let span = Span::new(c.start + anchor.start_byte(), c.start + anchor.end_byte());
        let mut f = Finding::new(span, message);
        if let Some(fix) = spec.and_then(|s| insert_endpoint(ctx, c.start, s, src)) {
            f = f.with_fix(fix);
        }
        out.push(f);
    }
    out
}

/// `exporter:\n  endpoint: …` as the first key of a block `spec:` without `exporter:`, for
/// the one OpenTelemetryCollector of the workspace that has a Service and a known namespace.
fn insert_endpoint(ctx: &Context, base: usize, spec: tree_sitter::Node, src: &str) -> Option<Fix> {
    let value = yaml::value_of(spec)?;
    if pair(value, "exporter", src).is_some() {
        return None;
    }
    let first = *pairs(value).first()?;
    if yaml::kind(yaml::content(value)) != "block_mapping" {
        return None;
    }
    let indent = yaml::indent_at(src, first.start_byte())?;
    let collectors: Vec<(&K8sObject, Option<String>)> = ctx
        .workspace
        .collectors_with_namespace()
        .into_iter()
        .filter(|(c, _)| c.collector_mode.as_deref() != Some("sidecar"))
        .collect();
    let [(collector, Some(ns))] = &collectors[..] else {
        return None;
    };
    let cname = collector.name.as_deref()?;
    let url = format!("http://{cname}-collector.{ns}.svc.cluster.local:4318");
    let pad = " ".repeat(indent);
    let nl = yaml::newline_of(src);
    let at = base + yaml::line_start(src, first.start_byte());
    Some(Fix::unsafe_(
        format!("Export to `{url}`"),
        vec![Edit::insert(
            at,
            format!("{pad}exporter:{nl}{pad}  endpoint: {url}{nl}"),
        )],
    ))
}

const DOCS: &str = r#"## What it does
Flags an OpenTelemetry Operator `Instrumentation` (`opentelemetry.io`) that sets no
`spec.exporter.endpoint` and no `OTEL_EXPORTER_OTLP_ENDPOINT` /
`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` in `spec.env` or `spec.python.env`. Reported on the
`spec:` line (`kind:` when there is no spec).

Not flagged: when every pod of the workspace that resolves to it (at least one, and no
Namespace-wide annotation) runs a sidecar collector (`sidecar.opentelemetry.io/inject`) or sets
the endpoint in all its instrumented containers; an endpoint set only in another language's
section (`spec.java.env`) unless Python pods use the Instrumentation; same-named kinds of other
API groups (`newrelic.com/v1beta2 Instrumentation`); documents that do not parse or are
templates (Helm); chainsaw/kuttl assertion files (`00-assert.yaml`, `01-error.yaml`), whose
objects are partial on purpose.

## Why is this bad?
Without an endpoint the injected SDKs use their default, `http://localhost:4317` (or `:4318`),
inside the application pod. Nothing listens there unless a sidecar collector runs, so every
span is dropped — quietly.

## Example
```yaml
apiVersion: opentelemetry.io/v1alpha1
kind: Instrumentation
metadata:
  name: python
spec:
  python: {}
```

## Use instead
```yaml
spec:
  exporter:
    endpoint: http://otel-collector.opentelemetry.svc.cluster.local:4318
  python: {}
```

## Fix safety
With exactly one OpenTelemetryCollector in the workspace (not in sidecar mode, namespace
known), the fix inserts `exporter.endpoint` pointing at its Service
(`<name>-collector.<namespace>.svc.cluster.local:4318`, the OTLP/HTTP port Python's
auto-instrumentation uses). It is unsafe: that collector may not be the one you mean. Without
exactly one such collector there is no fix.

## Source
- https://opentelemetry.io/docs/platforms/kubernetes/operator/troubleshooting/automatic/#check-auto-instrumentation-endpoint-configuration
  ("if omitted, it defaults to `http://localhost:4317`, and the data is dropped").
- openshift-docs PR #82280 (localhost is only right with a sidecar collector).
"#;

//! OTEL005 `python-operator-endpoint-4317`: the OTLP endpoint an Operator-injected Python
//! process ends up with points at port 4317 (gRPC) while it exports over HTTP — the Operator's
//! Python image ships only the HTTP exporter and defaults `OTEL_EXPORTER_OTLP_PROTOCOL` to
//! `http/protobuf` — so every export fails.
//!
//! Judged (a) on a Python-relevant Instrumentation (it has `spec.python`, or an inject-python
//! annotation of the workspace resolves to it), at the value that wins for Python:
//! `spec.python.env` > `spec.env` > `spec.exporter.endpoint`, per signal; and (b) on the env of
//! a container the Operator injects Python into, when it sets the endpoint itself.

use super::edit::{self, Leaf};
use super::model::{self, explicit_port, language_sections, PythonEnv};
use crate::diagnostic::{Edit, Finding, Fix, Severity, Span};
use crate::language::Language;
use crate::rules::{always, anywhere, Facts, FixKind, Match, Pre, Query, Rule, Topic};
use crate::syntax::yaml::{get, get_path, pair, scalar, K8sObject, Scalar};
use tree_sitter::Node;

/// The rule.
pub static RULE: Rule = Rule {
    code: "OTEL005",
    name: "python-operator-endpoint-4317",
    topic: Topic::Operator,
    language: Language::Yaml,
    also: &[],
    severity: Severity::Error,
    summary:
        "Operator-injected Python exports OTLP over HTTP, but the endpoint uses the gRPC port 4317",
    docs: DOCS,
    url: "https://opentelemetry.io/docs/platforms/kubernetes/operator/automatic/#python",
    fix: FixKind::Safe,
    query: Some(Query {
        text: include_str!("python_operator_endpoint_4317.scm"),
        check,
    }),
    pre: &[Pre {
        langs: &[Language::Yaml],
        needles: &["4317"],
        facts: Facts::NONE,
        file: &[],
        relevant: anywhere,
    }],
    gate: always,
    scan: None,
    scan_per_document: false,
    trees: crate::syntax::yaml::Classes::PODS.or(crate::syntax::yaml::Classes::INSTRUMENTATION),
};

const MESSAGE: &str = "Python auto-instrumentation injected by the Operator exports OTLP over HTTP (http/protobuf); port 4317 is the gRPC port. Use the collector's 4318 port.";

fn check(m: &Match) -> Option<Finding> {
    let pair_node = m.get("pair")?;
    let value = m.get("value")?;
    let (root, clean) = model::document_in(m, pair_node)?;
    if !clean {
        return None;
    }
    let path = m.key_path(pair_node);
    let path: Vec<&str> = path.iter().map(String::as_str).collect();
    let Some(obj) = model::object(m, root) else {
        // A Helm values file: the env of the chart's injected container.
        let v = model::values_python_env(m, root, &path)?;
        return judge_env(m, v.env_list, &v.inject, None, value);
    };
    if obj.is_instrumentation() {
        return instrumentation(m, root, &obj, &path, value);
    }
    container(m, &obj, &path, pair_node, value)
}

/// Where a value of an Instrumentation sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    PythonEnv(usize),
    Env(usize),
    Exporter,
}

/// Case (a): the effective endpoint of a Python-relevant Instrumentation.
fn instrumentation(
    m: &Match,
    root: Node,
    obj: &K8sObject,
    path: &[&str],
    value: Node,
) -> Option<Finding> {
    let src = m.chunk;
    let here = match path {
        ["spec", "exporter", "endpoint"] => Origin::Exporter,
        ["spec", "env", "-", "value"] => Origin::Env(value.id()),
        ["spec", "python", "env", "-", "value"] => Origin::PythonEnv(value.id()),
        _ => return None,
    };
    let spec = get(root, "spec", src)?;
    let python_section = pair(spec, "python", src).is_some();
    if !python_section && !m.ctx.workspace.is_python_target(obj) {
        return None;
    }
    let py = model::env_layer(get_path(spec, &["python", "env"], src), src);
    let env = model::env_layer(get(spec, "env", src), src);
    let exporter = get_path(spec, &["exporter", "endpoint"], src).and_then(|v| scalar(v, src));
    let model = PythonEnv {
        layers: vec![layer(&py, Origin::PythonEnv), layer(&env, Origin::Env)],
        exporter: exporter
            .as_ref()
            .map(|s| (s.value.as_str(), Some(Origin::Exporter))),
    };
    if !model.http_on_4317().iter().any(|(_, o)| *o == Some(here)) {
        return None;
    }
    let s = scalar(value, src)?;
    let span = m.abs(s.span);
    let finding = Finding::new(span, MESSAGE);
    let others = language_sections(spec, src).iter().any(|l| l != "python");
    let fix = match here {
        Origin::PythonEnv(_) => replace_port(m, &s),
        _ if !others => replace_port(m, &s),
        _ => {
            let name = match here {
                Origin::Env(id) => env
                    .iter()
                    .find(|(_, _, n)| n.is_some_and(|n| n.id() == id))
                    .map(|(n, _, _)| n.clone())?,
                _ => "OTEL_EXPORTER_OTLP_ENDPOINT".to_string(),
            };
            python_override(root, src, &name, &s).map(|f| f.shifted(m.offset))
        }
    };
    Some(match fix {
        Some(f) => finding.with_fix(f),
        None => finding,
    })
}

type EnvEntry<'t> = (String, Option<String>, Option<Node<'t>>);

/// An env layer of the model, each value tagged with where it is written.
fn layer<'a>(
    l: &'a [EnvEntry],
    mk: fn(usize) -> Origin,
) -> Vec<(&'a str, Option<&'a str>, Option<Origin>)> {
    l.iter()
        .map(|(n, v, node)| (n.as_str(), v.as_deref(), node.map(|x| mk(x.id()))))
        .collect()
}

/// The value with its port 4317 replaced, in its own quoting.
fn with_4318(s: &Scalar) -> Option<String> {
    let (_, r) = explicit_port(&s.value)?;
    let mut v = s.value.clone();
    v.replace_range(r, "4318");
    Some(match s.quote {
        Some(q) => format!("{q}{v}{q}"),
        None => v,
    })
}

/// Replaces the port inside the scalar.
fn replace_port(m: &Match, s: &Scalar) -> Option<Fix> {
    let (_, r) = explicit_port(&s.value)?;
    let inner = s.span.start + usize::from(s.quote.is_some());
    let span = m.abs(Span::new(inner + r.start, inner + r.end));
    Some(Fix::safe(
        "Use port 4318 (OTLP/HTTP)",
        vec![Edit::replace(span, "4318")],
    ))
}

/// Adds `- name: <name>` / `value: <url with :4318>` under `spec.python.env` (chunk-relative),
/// leaving the endpoint the other languages use alone.
fn python_override(root: Node, src: &str, name: &str, s: &Scalar) -> Option<Fix> {
    let url = with_4318(s)?;
    let entry = [format!("- name: {name}"), format!("  value: {url}")];
    let e = edit::add_under(
        root,
        src,
        &["spec", "python", "env"],
        Leaf::Sequence,
        &entry,
    )?;
    let edits = vec![e];
    edit::verified(src, &edits, |root, out| {
        get_path(root, &["spec", "python", "env"], out).is_some_and(|l| {
            crate::syntax::yaml::env_vars(l, out).iter().any(|v| {
                v.name == name
                    && v.value
                        .as_ref()
                        .is_some_and(|x| explicit_port(&x.value).is_some_and(|(p, _)| p == 4318))
            })
        })
    })?;
    Some(Fix::safe(
        format!("Override `{name}` for Python in `spec.python.env` with port 4318"),
        edits,
    ))
}

/// Case (b): a container the Operator injects Python into sets the endpoint itself.
fn container(
    m: &Match,
    obj: &K8sObject,
    path: &[&str],
    pair_node: Node,
    value: Node,
) -> Option<Finding> {
    let src = m.chunk;
    // The container: env item mapping → env list → container mapping.
    let env_item = pair_node.parent()?;
    let model::PythonContainer {
        container: container_map,
        inject,
        pod_ns,
    } = model::python_container(m, obj, path, env_item)?;
    let env_list = get(container_map, "env", src)?;
    judge_env(m, env_list, &inject, pod_ns.as_deref(), value)
}

/// Whether the env entry `value` of an injected container's env list (`env_list`) is the
/// effective endpoint, with port 4317, of the Python process the Operator instruments.
fn judge_env(
    m: &Match,
    env_list: Node,
    inject: &str,
    pod_ns: Option<&str>,
    value: Node,
) -> Option<Finding> {
    let src = m.chunk;
    let ws = m.ctx.workspace;
    let own: Vec<EnvEntry> = model::env_layer(Some(env_list), src);
    let inst = ws
        .resolve(inject, pod_ns)
        .and_then(|i| i.instrumentation.as_ref());
    let mut layers = vec![own
        .iter()
        .map(|(k, v, node)| (k.as_str(), v.as_deref(), node.map(|x| x.id())))
        .collect::<Vec<_>>()];
    if let Some(spec) = inst {
        for l in [&spec.python_env, &spec.env] {
            layers.push(
                l.iter()
                    .map(|(k, v)| (k.as_str(), v.as_deref(), None))
                    .collect(),
            );
        }
    }
    let model = PythonEnv {
        layers,
        exporter: inst
            .and_then(|s| s.exporter_endpoint.as_deref())
            .map(|e| (e, None)),
    };
    if !model
        .http_on_4317()
        .iter()
        .any(|(_, o)| *o == Some(value.id()))
    {
        return None;
    }
    let s = scalar(value, src)?;
    let finding = Finding::new(m.abs(s.span), MESSAGE);
    Some(match replace_port(m, &s) {
        Some(f) => finding.with_fix(f),
        None => finding,
    })
}

const DOCS: &str = r#"## What it does
Flags an OTLP endpoint with the explicit port **4317** that an OpenTelemetry Operator-injected
Python process would use while exporting over HTTP:

- (a) on an `Instrumentation` that concerns Python — it has a `spec.python` section (even
  `python: {}`), or an `instrumentation.opentelemetry.io/inject-python` annotation of the
  workspace resolves to it — at the value that wins for Python: `spec.python.env` over
  `spec.env` over `spec.exporter.endpoint`, for `OTEL_EXPORTER_OTLP_ENDPOINT` and the
  per-signal `OTEL_EXPORTER_OTLP_{TRACES,METRICS,LOGS}_ENDPOINT`;
- (b) in the `env` of a container the Operator injects Python into (the pod's
  `python-container-names`/`container-names`, else its first container) that sets the
  endpoint itself — and in a Helm values file (`values.yaml`, `values-<env>.yaml`, …), in
  the `env:`/`extraEnv:`/`extraEnvVars:` list beside a `podAnnotations:` with
  `inject-python` (top-level or under a component key): charts render it into the main
  container's env.

Not flagged: a 4317 exporter endpoint overridden by `spec.python.env` with 4318 (the operator
e2e `instrumentation-python-specenv` pattern); Instrumentations only Java, .NET or `inject-sdk`
pods use; other ports and endpoints without an explicit port (`$(OTEL_NODE_IP)` hosts
included); signals whose protocol is explicitly gRPC (`OTEL_EXPORTER_OTLP_PROTOCOL=grpc`,
`otlp_proto_grpc` — that is `python-operator-grpc-protocol`, OTEL031); signals not exported
with OTLP; values set with `valueFrom`.

## Why is this bad?
The Operator's Python image ships only the OTLP/HTTP exporter and sets
`OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf` (since v0.108.0). Port 4317 is the collector's
gRPC receiver: HTTP requests to it fail, and every span, metric and log is dropped while the
application runs normally.

## Example
```yaml
apiVersion: opentelemetry.io/v1alpha1
kind: Instrumentation
metadata:
  name: python
spec:
  exporter:
    endpoint: http://otel-collector:4317
  python: {}
```

## Use instead
```yaml
apiVersion: opentelemetry.io/v1alpha1
kind: Instrumentation
metadata:
  name: python
spec:
  exporter:
    endpoint: http://otel-collector:4318
  python: {}
```

When the Instrumentation also serves other languages, keep their endpoint and override it for
Python only (the operator README's snippet):

```yaml
spec:
  exporter:
    endpoint: http://otel-collector:4317
  java: {}
  python:
    env:
      - name: OTEL_EXPORTER_OTLP_ENDPOINT
        value: http://otel-collector:4318
```

## Fix safety
Safe. When the value is Python's own (`spec.python.env`, a container's env) or the
Instrumentation has no other language section, the fix replaces `:4317` with `:4318` in place;
otherwise it adds the override above under `spec.python.env` (creating `python:` and `env:` as
needed) and leaves the shared endpoint to the other languages. Port 4318 is the collector's
default OTLP/HTTP receiver; a collector that does not listen there was unreachable for Python
before the fix too.

## Source
- OpenTelemetry docs, Operator auto-instrumentation, Python
  <https://opentelemetry.io/docs/platforms/kubernetes/operator/automatic/#python>
- OpenTelemetry docs, Operator troubleshooting: "Check auto-instrumentation endpoint configuration"
  <https://opentelemetry.io/docs/platforms/kubernetes/operator/troubleshooting/automatic/#check-auto-instrumentation-endpoint-configuration>
- opentelemetry-operator `internal/instrumentation/python.go` (`getDefaultPythonEnvVars`)
  <https://github.com/open-telemetry/opentelemetry-operator/blob/main/internal/instrumentation/python.go>
- opentelemetry-operator `autoinstrumentation/python/requirements.txt` ("gRPC is not appropriate")
  <https://github.com/open-telemetry/opentelemetry-operator/blob/main/autoinstrumentation/python/requirements.txt>
"#;

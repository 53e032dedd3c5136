//! OTEL031 `python-operator-grpc-protocol`: an Operator-injected Python process told to export
//! with gRPC. The Operator's Python image installs only the OTLP/HTTP exporter, so the SDK
//! configurator fails to load the gRPC exporter and all auto-instrumentation is disabled.

use super::model;
use crate::diagnostic::{Edit, Finding, Fix, Severity, Span};
use crate::language::Language;
use crate::rules::{always, anywhere, Facts, FixKind, Match, Pre, Query, Rule, Topic};
use crate::syntax::yaml::{get, get_path, scalar, Scalar};

/// The rule.
pub static RULE: Rule = Rule {
    code: "OTEL031",
    name: "python-operator-grpc-protocol",
    topic: Topic::Operator,
    language: Language::Yaml,
    also: &[],
    severity: Severity::Error,
    summary: "Operator-injected Python is configured for OTLP/gRPC, which the Operator's Python image cannot load",
    docs: DOCS,
    url: "https://opentelemetry.io/docs/platforms/kubernetes/operator/automatic/#python",
    fix: FixKind::Safe,
    query: Some(Query {
        text: include_str!("python_operator_grpc_protocol.scm"),
        check,
    }),
    pre: &[Pre {
        langs: &[Language::Yaml],
        needles: &["grpc"],
        facts: Facts::NONE,
        file: &[],
        relevant: anywhere,
    }],
    gate: always,
    scan: None,
    scan_per_document: false,
    trees: crate::syntax::yaml::Classes::PODS.or(crate::syntax::yaml::Classes::INSTRUMENTATION),
};

/// What a gRPC setting is.
enum Grpc {
    /// `OTEL_EXPORTER_OTLP_[SIGNAL_]PROTOCOL=grpc`.
    Protocol,
    /// `OTEL_<SIGNAL>_EXPORTER` naming `otlp_proto_grpc`, at this byte range of the value.
    Exporter(std::ops::Range<usize>),
}

/// Whether the env entry `name=value` asks for gRPC.
fn grpc_setting(name: &str, value: &str) -> Option<Grpc> {
    let protocol = name == "OTEL_EXPORTER_OTLP_PROTOCOL"
        || model::SIGNALS
            .iter()
            .any(|s| name == format!("OTEL_EXPORTER_OTLP_{s}_PROTOCOL"));
    if protocol {
        return value
            .trim()
            .eq_ignore_ascii_case("grpc")
            .then_some(Grpc::Protocol);
    }
    let exporter = model::SIGNALS
        .iter()
        .any(|s| name == format!("OTEL_{s}_EXPORTER"));
    if !exporter {
        return None;
    }
    let mut at = 0;
    for item in value.split(',') {
        let lead = item.len() - item.trim_start().len();
        if item.trim() == "otlp_proto_grpc" {
            let start = at + lead;
            return Some(Grpc::Exporter(start..start + "otlp_proto_grpc".len()));
        }
        at += item.len() + 1;
    }
    None
}

fn check(m: &Match) -> Option<Finding> {
    let src = m.chunk;
    let pair_node = m.get("pair")?;
    let value = m.get("value")?;
    let (root, clean) = model::document_in(m, pair_node)?;
    if !clean {
        return None;
    }
    let obj = model::object(m, root);
    let path = m.key_path(pair_node);
    let path: Vec<&str> = path.iter().map(String::as_str).collect();
    let env_item = pair_node.parent()?;
    let name = get(env_item, "name", src)
        .and_then(|v| scalar(v, src))?
        .value;
    let s = scalar(value, src)?;
    let setting = grpc_setting(&name, &s.value)?;
    let mut severity = None;
    let Some(obj) = obj else {
        // A Helm values file: the env of the chart's injected container.
        model::values_python_env(m, root, &path)?;
        return Some(finding(m, &name, &s, &setting, None));
    };
    if obj.is_instrumentation() {
        let spec = get(root, "spec", src)?;
        match path[..] {
            ["spec", "python", "env", "-", "value"] => {}
            ["spec", "env", "-", "value"] => {
                let python = get(spec, "python", src).is_some();
                if !python && !m.ctx.workspace.is_python_target(&obj) {
                    return None;
                }
                // `spec.python.env` wins for Python.
                let py = model::env_layer(get_path(spec, &["python", "env"], src), src);
                if py.iter().any(|(n, _, _)| *n == name) {
                    return None;
                }
            }
            _ => return None,
        }
        // A custom Python image may carry the gRPC exporter.
        if get_path(spec, &["python", "image"], src).is_some() {
            severity = Some(Severity::Info);
        }
    } else {
        model::python_container(m, &obj, &path, env_item)?;
    }
    Some(finding(m, &name, &s, &setting, severity))
}

fn finding(
    m: &Match,
    name: &str,
    s: &Scalar,
    setting: &Grpc,
    severity: Option<Severity>,
) -> Finding {
    let message = match setting {
        Grpc::Protocol => format!(
            "`{name}=grpc`: the Operator's Python auto-instrumentation ships only the OTLP/HTTP exporter, so the SDK cannot load a gRPC exporter and auto-instrumentation is disabled. Use `http/protobuf` (port 4318)."
        ),
        Grpc::Exporter(_) => format!(
            "`{name}` names `otlp_proto_grpc`: the Operator's Python auto-instrumentation ships only the OTLP/HTTP exporter, so the SDK cannot load it and auto-instrumentation is disabled. Use `otlp_proto_http` (port 4318)."
        ),
    };
    let mut finding = Finding::new(m.abs(s.span), message);
    finding.severity = severity;
    finding.with_fix(fix(m, s, setting))
}

fn fix(m: &Match, s: &Scalar, setting: &Grpc) -> Fix {
    let inner = s.span.start + usize::from(s.quote.is_some());
    match setting {
        Grpc::Protocol => {
            let end = s.span.end - usize::from(s.quote.is_some());
            let span = m.abs(Span::new(inner, end));
            // A plain `http/protobuf` is a valid plain scalar.
            Fix::safe(
                "Use `http/protobuf`",
                vec![Edit::replace(span, "http/protobuf")],
            )
        }
        Grpc::Exporter(r) => {
            let span = m.abs(Span::new(inner + r.start, inner + r.end));
            Fix::safe(
                "Use `otlp_proto_http`",
                vec![Edit::replace(span, "otlp_proto_http")],
            )
        }
    }
}

const DOCS: &str = r#"## What it does
Flags a gRPC setting an OpenTelemetry Operator-injected Python process would use:
`OTEL_EXPORTER_OTLP_PROTOCOL` or `OTEL_EXPORTER_OTLP_{TRACES,METRICS,LOGS}_PROTOCOL` set to
`grpc`, or `OTEL_{TRACES,METRICS,LOGS}_EXPORTER` naming `otlp_proto_grpc` —

- in an `Instrumentation` that concerns Python: in `spec.python.env`, or in `spec.env` when
  `spec.python.env` does not set the same variable and the Instrumentation has a `spec.python`
  section or an `inject-python` annotation of the workspace resolves to it;
- in the `env` of a container the Operator injects Python into (the pod's
  `python-container-names`/`container-names`, else its first container).
- in a Helm values file (`values.yaml`, `values-<env>.yaml`, …), in the `env:`/`extraEnv:`/
  `extraEnvVars:` list beside a `podAnnotations:` with `inject-python` (top-level or under a
  component key), which charts render into the main container's env.

Not flagged: gRPC settings in `spec.java.env`, `spec.dotnet.env` and the other language
sections, or in `spec.env` when `spec.python.env` overrides them; Instrumentations only other
languages use. With a custom `spec.python.image` (which may carry the gRPC exporter) the
finding is downgraded to info.

## Why is this bad?
The Operator's Python auto-instrumentation image installs
`opentelemetry-exporter-otlp-proto-http` only. With gRPC requested, the SDK configurator
cannot load the exporter, `initialize()` logs "Failed to auto initialize OpenTelemetry" and
**all** auto-instrumentation of the pod is disabled — no traces, metrics or logs, and nothing
in the pod's events.

## Example
```yaml
apiVersion: opentelemetry.io/v1alpha1
kind: Instrumentation
metadata:
  name: python
spec:
  exporter:
    endpoint: http://otel-collector:4317
  env:
    - name: OTEL_EXPORTER_OTLP_PROTOCOL
      value: grpc
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
  env:
    - name: OTEL_EXPORTER_OTLP_PROTOCOL
      value: http/protobuf
  python: {}
```

## Fix safety
Replacing `grpc` with `http/protobuf` (or `otlp_proto_grpc` with `otlp_proto_http`) is safe:
it is the only protocol the injected SDK can export with. An endpoint on the gRPC port 4317
must then move to 4318 as well (`python-operator-endpoint-4317`, OTEL005, reports and fixes
it). When other languages need gRPC, move the entry into their own section instead
(`spec.java.env`…); that edit is left to you.

## Source
- Operator `autoinstrumentation/python/requirements.txt` (only the HTTP exporter).
- https://opentelemetry.io/docs/platforms/kubernetes/operator/automatic/#python ("gRPC is not
  supported at this time").
- https://opentelemetry.io/docs/zero-code/python/troubleshooting/ (Operator checks).
"#;

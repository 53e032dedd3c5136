//! OTEL042 `otlp-http-endpoint-path`: OTLP/HTTP endpoint paths the SDK gets wrong — a
//! generic endpoint ending in `/v1/traces` (the SDK appends it again), a signal endpoint or
//! exporter constructor without it (used verbatim).

use super::otlp_port_protocol_mismatch::{
    effective_protocol, endpoint_vars, exporter_call, Transport,
};
use crate::diagnostic::{Edit, Finding, Fix, Severity, Span};
use crate::language::Language;
use crate::launch::{endpoint, judge, Token};
use crate::rules::{
    self, always, anywhere, Context, Facts, FixKind, Match, Pre, Query, Rule, Topic,
};

/// The rule.
pub static RULE: Rule = Rule {
    code: "OTEL042",
    name: "otlp-http-endpoint-path",
    topic: Topic::Exporter,
    language: Language::Python,
    also: rules::ENV_KINDS,
    severity: Severity::Error,
    summary: "OTLP/HTTP endpoint path: `/v1/<signal>` doubled on the generic endpoint, or missing on a signal endpoint",
    docs: DOCS,
    url: "https://opentelemetry.io/docs/specs/otel/protocol/exporter/#endpoint-urls-for-otlphttp",
    fix: FixKind::Safe,
    query: Some(Query {
        text: include_str!("otlp_http_endpoint_path.scm"),
        check,
    }),
    pre: &[
        Pre {
            langs: &[Language::Python],
            needles: &["endpoint"],
            facts: Facts::All,
            file: super::otlp_port_protocol_mismatch::EXPORTER_FILE,
            relevant: super::otlp_port_protocol_mismatch::exporter_module,
        },
        Pre {
            langs: rules::ENV_KINDS,
            needles: &["ENDPOINT", "endpoint", "OTLP"],
            facts: Facts::NONE,
            file: &[],
            relevant: anywhere,
        },
    ],
    gate: always,
    scan: Some(scan),
    scan_per_document: true,
    trees: crate::syntax::yaml::Classes::NONE,
};

const SIGNAL_PATHS: &[&str] = &["/v1/traces", "/v1/metrics", "/v1/logs"];

/// Appends `/v1/<signal>` to an endpoint whose path is empty or `/`.
fn append_fix(val: &Token, ep: &endpoint::Endpoint, signal: &str) -> Option<Fix> {
    let path_end = ep.path_start + ep.path.len();
    let sp = val.sub_span(ep.path_start, path_end)?;
    Some(Fix::safe(
        format!("Append `/v1/{signal}`"),
        vec![Edit::replace(sp, format!("/v1/{signal}"))],
    ))
}

fn check(m: &Match) -> Option<Finding> {
    let call = exporter_call(m)?;
    if call.transport != Transport::Http {
        return None;
    }
    let ep = endpoint::parse(&call.endpoint.text)?;
    if !(ep.path.is_empty() || ep.path == "/") || ep.scheme.is_none() {
        return None;
    }
    let msg = format!(
        "An OTLP/HTTP exporter's `endpoint=` is used verbatim: without `/v1/{}` the collector answers 404. Append the signal path.",
        call.signal
    );
    let mut f = Finding::new(call.endpoint.best_span(), msg);
    if let Some(fix) = append_fix(&call.endpoint, &ep, call.signal) {
        f = f.with_fix(fix);
    }
    Some(f)
}

fn scan(ctx: &Context) -> Vec<Finding> {
    if ctx.python().is_some() {
        return Vec::new();
    }
    let eff = ctx.effective();
    let f = eff;
    let mut out = Vec::new();
    for (v, sig, val) in endpoint_vars(f) {
        let Some(ep) = endpoint::parse(&val.text) else {
            continue;
        };
        if ep.scheme.is_none() {
            continue;
        }
        let http = judge::visible_contexts(f, v).into_iter().any(|c| {
            effective_protocol(f, c, sig, false).is_some_and(|(p, _)| p.starts_with("http"))
        });
        if !http {
            continue;
        }
        match sig {
            None => {
                let path = ep.path.trim_end_matches('/');
                let Some(suffix) = SIGNAL_PATHS.iter().find(|s| path.ends_with(*s)) else {
                    continue;
                };
                let msg = format!("The SDK appends `/v1/<signal>` to `OTEL_EXPORTER_OTLP_ENDPOINT`; ending it in `{suffix}` sends to `{suffix}{suffix}`. Remove the signal path (or use `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`).");
                let mut finding = Finding::new(val.best_span(), msg);
                let cut = ep.path_start + path.len() - suffix.len();
                if let Some(sp) = val.sub_span(cut, ep.path_start + ep.path.len()) {
                    finding = finding.with_fix(Fix::safe(
                        format!("Remove `{suffix}`"),
                        vec![Edit::delete(Span::new(sp.start, sp.end))],
                    ));
                }
                out.push(finding);
            }
            Some(signal) => {
                if !(ep.path.is_empty() || ep.path == "/") {
                    continue;
                }
                let lower = signal.to_ascii_lowercase();
                let msg = format!("`{}` is used verbatim: without `/v1/{lower}` the collector answers 404. Append the signal path.", v.name);
                let mut finding = Finding::new(val.best_span(), msg);
                if let Some(fix) = append_fix(val, &ep, &lower) {
                    finding = finding.with_fix(fix);
                }
                out.push(finding);
            }
        }
    }
    out
}

const DOCS: &str = r#"## What it does
When the effective OTLP protocol is HTTP (`OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf`, or an
Operator-injected Python container), flags (a) a generic `OTEL_EXPORTER_OTLP_ENDPOINT` (or
`--exporter_otlp_endpoint`) whose path ends in `/v1/traces`, `/v1/metrics` or `/v1/logs`;
(b) a signal-specific `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (metrics, logs) with an empty or
`/` path; (c) an HTTP exporter constructor `OTLPSpanExporter(endpoint="http://h:4318")`
(`…proto.http…`) whose literal endpoint has an empty or `/` path.

## Why is this bad?
The SDK appends `/v1/<signal>` to the generic endpoint, so `…/v1/traces` becomes
`…/v1/traces/v1/traces`; signal endpoints and constructor arguments are used verbatim, so
`http://collector:4318` posts to `/`. Either way the collector answers 404 and every export
fails.

## Example
```python
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
exporter = OTLPSpanExporter(endpoint="http://collector:4318")
```

## Use instead
```python
exporter = OTLPSpanExporter(endpoint="http://collector:4318/v1/traces")
```

## Fix safety
Safe: removes the doubled signal path, or appends the one the exporter needs.

## Source
- opentelemetry-python `exporter/otlp/proto/http/_common._resolve_endpoint` and the trace
  exporter (`self._endpoint = endpoint or …`)
- Mackerel tracing guide (`https://otlp-vaxila.mackerelio.com/v1/traces`); SigNoz #1936
"#;

//! OTEL041 `otlp-port-protocol-mismatch`: OTLP/HTTP on the gRPC port 4317, or gRPC on the
//! HTTP port 4318 — in environment settings, opentelemetry-instrument flags and exporter
//! constructors. Also home of the OTLP helpers OTEL042/OTEL043 share.

use crate::diagnostic::{Edit, Finding, Fix, Severity};
use crate::language::Language;
use crate::launch::{endpoint, judge, EnvVar, LaunchFacts, Token};
use crate::rules::{
    self, always, anywhere, Bytes, Context, Facts, FixKind, Match, Pre, Query, Rule, Topic,
};

/// The rule.
pub static RULE: Rule = Rule {
    code: "OTEL041",
    name: "otlp-port-protocol-mismatch",
    topic: Topic::Exporter,
    language: Language::Python,
    also: rules::ENV_KINDS,
    severity: Severity::Error,
    summary: "OTLP endpoint port and protocol disagree (HTTP on 4317, gRPC on 4318)",
    docs: DOCS,
    url: "https://opentelemetry.io/docs/specs/otel/protocol/exporter/",
    fix: FixKind::Unsafe,
    query: Some(Query {
        text: include_str!("otlp_port_protocol_mismatch.scm"),
        check,
    }),
    pre: &[
        Pre {
            langs: &[Language::Python],
            needles: &["4317", "4318"],
            facts: Facts::All,
            file: EXPORTER_FILE,
            relevant: exporter_module,
        },
        Pre {
            langs: rules::ENV_KINDS,
            needles: &["4317", "4318"],
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

/// What a Python file must name for an OTLP exporter call to be judged: the class (its name
/// ends in `Exporter`) resolves only through an `opentelemetry` import or path.
pub const EXPORTER_FILE: &[&str] = &["opentelemetry", "Exporter"];

/// [`Pre::relevant`] of the Python exporter-call rules (OTEL041-043).
pub fn exporter_module(b: &Bytes) -> bool {
    b.has("opentelemetry") && b.has("Exporter")
}

const MESSAGE: &str =
    "OTLP/HTTP uses port 4318, OTLP/gRPC uses 4317; this endpoint and protocol disagree.";

/// The transport of an exporter class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// `opentelemetry.exporter.otlp.proto.grpc…`
    Grpc,
    /// `opentelemetry.exporter.otlp.proto.http…`
    Http,
}

/// An OTLP exporter constructor call with a literal endpoint.
pub struct ExporterCall {
    /// gRPC or HTTP, from the import.
    pub transport: Transport,
    /// `traces`, `metrics` or `logs`.
    pub signal: &'static str,
    /// The endpoint literal's text (inside the quotes) as a token with exact spans.
    pub endpoint: Token,
    /// `insecure=True` is passed.
    pub insecure: bool,
}

/// Reads an OTLP exporter call matched by the shared query.
pub fn exporter_call(m: &Match) -> Option<ExporterCall> {
    let func = m.get("func")?;
    let args = m.get("args")?;
    let callee: String = m
        .text(func)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let py = m.ctx.python()?;
    let head = callee.split('.').next().unwrap_or("");
    // The module path and the class's real name (through `import … as …`).
    let (module, class) = if callee.starts_with("opentelemetry.") {
        (
            callee.clone(),
            callee.rsplit('.').next().unwrap_or("").to_string(),
        )
    } else {
        let imp = py
            .imports
            .iter()
            .find(|i| i.bound == head && !i.type_checking)?;
        match (&imp.name, callee.split_once('.')) {
            (Some(n), Some((_, rest))) => (
                format!("{}.{n}.{rest}", imp.module),
                rest.rsplit('.').next().unwrap_or("").to_string(),
            ),
            (None, Some((_, rest))) => (
                format!("{}.{rest}", imp.module),
                rest.rsplit('.').next().unwrap_or("").to_string(),
            ),
            (Some(n), None) => (imp.module.clone(), n.clone()),
            (None, None) => return None,
        }
    };
    let transport = if module.contains(".proto.grpc") {
        Transport::Grpc
    } else if module.contains(".proto.http") {
        Transport::Http
    } else {
        return None;
    };
    let signal = match class.as_str() {
        "OTLPSpanExporter" => "traces",
        "OTLPMetricExporter" => "metrics",
        "OTLPLogExporter" => "logs",
        _ => return None,
    };
    let mut endpoint = None;
    let mut insecure = false;
    let mut c = args.walk();
    for a in args.named_children(&mut c) {
        if a.kind() == "dictionary_splat" {
            return None;
        }
        if a.kind() != "keyword_argument" {
            continue;
        }
        let name = a
            .child_by_field_name("name")
            .map(|n| m.text(n))
            .unwrap_or("");
        let Some(v) = a.child_by_field_name("value") else {
            continue;
        };
        match name {
            "endpoint" => endpoint = string_literal(m, v),
            "insecure" => insecure = v.kind() == "true",
            _ => {}
        }
    }
    Some(ExporterCall {
        transport,
        signal,
        endpoint: endpoint?,
        insecure,
    })
}

/// A plain string literal (no f-string interpolation, no escapes) as a token.
fn string_literal(m: &Match, v: tree_sitter::Node) -> Option<Token> {
    if v.kind() != "string" {
        return None;
    }
    let mut c = v.walk();
    if v.named_children(&mut c)
        .any(|n| n.kind() == "interpolation" || n.kind() == "escape_sequence")
    {
        return None;
    }
    let t = m.text(v);
    let q = t.find(['"', '\''])?;
    let prefix = &t[..q];
    if prefix.to_ascii_lowercase().contains('f') || prefix.to_ascii_lowercase().contains('b') {
        return None;
    }
    let quote = &t[q..q + 1];
    let ql = if t[q..].starts_with(&quote.repeat(3)) {
        3
    } else {
        1
    };
    let inner = t.get(q + ql..t.len().saturating_sub(ql))?;
    let span = m.span(v);
    Some(Token {
        text: inner.to_string(),
        span,
        raw: Some(span.start + q + ql),
        dynamic: false,
    })
}

/// The protocol in effect for an endpoint setting in one context: the exporter's name when
/// it says (`otlp_proto_http` / `otlp_proto_grpc` in `OTEL_<SIGNAL>_EXPORTER` or
/// `--<signal>_exporter`: the SDK loads that class whatever the protocol variable says),
/// else explicit, else the Operator default (http/protobuf for injected containers) or, when
/// `distro_default` and the context's launcher runs under opentelemetry-instrument, the
/// opentelemetry-distro default `grpc`. Returns the lower-cased protocol and the setting
/// that gave it, if any.
pub fn effective_protocol<'f>(
    f: &'f LaunchFacts,
    ctx_scope: usize,
    signal: Option<&str>,
    distro_default: bool,
) -> Option<(String, Option<Setting<'f>>)> {
    if let Some((proto, var)) = exporter_protocol(f, ctx_scope, signal) {
        return Some((proto.into(), Some(Setting::Exporter(var))));
    }
    match judge::protocol(f, ctx_scope, signal) {
        Some(p) => p
            .known()
            .map(|v| (v.trim().to_ascii_lowercase(), Some(Setting::Protocol(p)))),
        None if f.operator_injected(ctx_scope) => Some(("http/protobuf".into(), None)),
        None if distro_default && judge::instrumented_at(f, ctx_scope) => {
            Some(("grpc".into(), None))
        }
        None => None,
    }
}

/// The setting that decided a protocol.
#[derive(Clone, Copy)]
pub enum Setting<'f> {
    /// `OTEL_EXPORTER_OTLP_[SIGNAL_]PROTOCOL` (or `--exporter_otlp_protocol`).
    Protocol(&'f EnvVar),
    /// `OTEL_<SIGNAL>_EXPORTER` naming `otlp_proto_http` or `otlp_proto_grpc`.
    Exporter(&'f EnvVar),
}

/// The protocol an exporter name fixes for `signal` (`TRACES`, …), or for the generic
/// endpoint every signal whose exporter names one: `http/protobuf` for `otlp_proto_http`,
/// `grpc` for `otlp_proto_grpc`. `None` when no exporter names one, or (generic endpoint)
/// the signals' names disagree.
pub fn exporter_protocol<'f>(
    f: &'f LaunchFacts,
    scope: usize,
    signal: Option<&str>,
) -> Option<(&'static str, &'f EnvVar)> {
    let named = |s: &str| -> Option<(&'static str, &'f EnvVar)> {
        let var = f.lookup(scope, &format!("OTEL_{s}_EXPORTER"))?;
        let value = var.known()?;
        let mut protos = value.split(',').filter_map(|n| match n.trim() {
            "otlp_proto_http" => Some("http/protobuf"),
            "otlp_proto_grpc" => Some("grpc"),
            _ => None,
        });
        let first = protos.next()?;
        protos.all(|p| p == first).then_some((first, var))
    };
    match signal {
        Some(s) => named(s),
        None => {
            let all: Vec<_> = ["TRACES", "METRICS", "LOGS"]
                .iter()
                .filter_map(|s| named(s))
                .collect();
            let (first, var) = *all.first()?;
            all.iter().all(|(p, _)| *p == first).then_some((first, var))
        }
    }
}

/// Endpoint settings made in the file (not imported) with their signal and parsed value.
pub fn endpoint_vars(
    f: &LaunchFacts,
) -> impl Iterator<Item = (&EnvVar, Option<&'static str>, &Token)> {
    f.own_env().filter_map(|v| {
        let sig = match judge::endpoint_var(&v.name)? {
            judge::EndpointVar::Generic => None,
            judge::EndpointVar::Signal(s) => Some(s),
        };
        let val = v.value.as_ref()?;
        (!val.dynamic).then_some((v, sig, val))
    })
}

fn port_fix(val: &Token, ep: &endpoint::Endpoint, to: u16) -> Option<Fix> {
    let (a, b) = ep.port_range?;
    let sp = val.sub_span(a, b)?;
    Some(Fix::unsafe_(
        format!("Use port {to}"),
        vec![Edit::replace(sp, to.to_string())],
    ))
}

fn check(m: &Match) -> Option<Finding> {
    let call = exporter_call(m)?;
    let ep = endpoint::parse(&call.endpoint.text)?;
    let to = match (call.transport, ep.port?) {
        (Transport::Http, 4317) => 4318,
        (Transport::Grpc, 4318) => 4317,
        _ => return None,
    };
    let mut f = Finding::new(call.endpoint.best_span(), MESSAGE);
    if let Some(fix) = port_fix(&call.endpoint, &ep, to) {
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
    let distro_default = !ctx.file.mentions_vendor_distro();
    let mut out = Vec::new();
    for (v, sig, val) in endpoint_vars(f) {
        if f.operator_injected(v.scope) {
            continue;
        }
        let Some(ep) = endpoint::parse(&val.text) else {
            continue;
        };
        let Some(port) = ep.port.filter(|p| *p == 4317 || *p == 4318) else {
            continue;
        };
        for c in judge::visible_contexts(f, v) {
            let Some((proto, setting)) = effective_protocol(f, c, sig, distro_default) else {
                continue;
            };
            let http = proto.starts_with("http");
            let (to, right_proto) = match (http, proto == "grpc", port) {
                (true, _, 4317) => (4318, "grpc"),
                (_, true, 4318) => (4317, "http/protobuf"),
                _ => continue,
            };
            let mut finding = Finding::new(val.best_span(), MESSAGE);
            if let Some(fix) = port_fix(val, &ep, to) {
                finding = finding.with_fix(fix);
            }
            // The protocol's own setting is changed; an exporter name only when it is the
            // variable's whole value (`otlp_proto_http` → `otlp_proto_grpc`).
            let (value, replacement, title) = match setting {
                Some(Setting::Protocol(p)) => (
                    p.value.as_ref(),
                    right_proto,
                    format!("Use protocol `{right_proto}`"),
                ),
                Some(Setting::Exporter(e)) => {
                    let name = if right_proto == "grpc" {
                        "otlp_proto_grpc"
                    } else {
                        "otlp_proto_http"
                    };
                    let whole = e.known().is_some_and(|v| !v.contains(','));
                    (
                        e.value.as_ref().filter(|_| whole),
                        name,
                        format!("Use exporter `{name}`"),
                    )
                }
                None => (None, right_proto, String::new()),
            };
            if let Some(e) = value.and_then(|t| judge::replace_value(t, replacement)) {
                finding = finding.with_fix(Fix::unsafe_(title, vec![e]));
            }
            out.push(finding);
            break;
        }
    }
    out
}

const DOCS: &str = r#"## What it does
Compares each OTLP endpoint's explicit port with the protocol in effect for it: in
environment scopes without Operator injection (Dockerfile `ENV`, shell `export`, compose
`environment:`, Kubernetes containers), in `opentelemetry-instrument --exporter_otlp_endpoint`
flags, and in exporter constructors (`opentelemetry.exporter.otlp.proto.grpc…` vs
`…proto.http…` `OTLPSpanExporter(endpoint=…)`). `http/protobuf` or `http/json` with `:4317`,
and `grpc` with `:4318`, are errors. The protocol is the exporter's name when it says —
`otlp_proto_http` or `otlp_proto_grpc` in `OTEL_<SIGNAL>_EXPORTER` or `--<signal>_exporter`
(the SDK loads that class whatever the protocol variable says; for the generic endpoint, the
signals whose exporters name one must agree) — else the explicit
`OTEL_EXPORTER_OTLP_[SIGNAL_]PROTOCOL`, or `grpc` — opentelemetry-distro's default — when the
command runs under `opentelemetry-instrument` and no other vendor distro is visible.

## Why is this bad?
The collector serves OTLP/gRPC on 4317 and OTLP/HTTP on 4318. Speaking one protocol to the
other port fails every export; the SDK logs the failure and telemetry is lost.

## Example
```dockerfile
ENV OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf \
    OTEL_EXPORTER_OTLP_ENDPOINT=http://collector:4317
```

## Use instead
```dockerfile
ENV OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf \
    OTEL_EXPORTER_OTLP_ENDPOINT=http://collector:4318
```

## Fix safety
Two unsafe code actions: change the port, or change the protocol setting to match. Which one
is right depends on how the collector is exposed, so neither is applied automatically.

## Source
- opentelemetry-distro `_configure` (`OTEL_EXPORTER_OTLP_PROTOCOL` defaults to `grpc`);
  contrib instrumentation README ("The default transport protocol for otlp is gRPC")
- OpenTelemetry Operator docs (4318 for Python); ClickStack Python guide (`:4318`)
"#;

//! OTEL043 `otlp-endpoint-scheme`: a schemeless OTLP endpoint — with HTTP, `requests` cannot
//! send to it; with gRPC, the exporter opens TLS to a plaintext local collector.

use super::otlp_port_protocol_mismatch::{
    effective_protocol, endpoint_vars, exporter_call, Transport,
};
use crate::diagnostic::{Edit, Finding, Fix, Severity};
use crate::language::Language;
use crate::launch::{endpoint, judge, LaunchFacts, Token};
use crate::rules::{
    self, always, anywhere, Context, Facts, FixKind, Match, Pre, Query, Rule, Topic,
};

/// The rule.
pub static RULE: Rule = Rule {
    code: "OTEL043",
    name: "otlp-endpoint-scheme",
    topic: Topic::Exporter,
    language: Language::Python,
    also: rules::ENV_KINDS,
    severity: Severity::Error,
    summary: "OTLP endpoint without `http://`/`https://`",
    docs: DOCS,
    url: "https://opentelemetry.io/docs/languages/sdk-configuration/otlp-exporter/",
    fix: FixKind::Sometimes,
    query: Some(Query {
        text: include_str!("otlp_endpoint_scheme.scm"),
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

const HTTP_MESSAGE: &str = "OTLP/HTTP endpoints need a scheme: without `http://` the exporter fails (\"No connection adapters were found\"). Prefix `http://`.";
const GRPC_MESSAGE: &str = "A schemeless gRPC endpoint opens a TLS channel; this local collector speaks plaintext on 4317. Prefix `http://` (or set `OTEL_EXPORTER_OTLP_INSECURE=true`).";

fn prefix_fix(val: &Token, host_local: bool) -> Option<Fix> {
    let lead = val.text.len() - val.text.trim_start().len();
    let at = val.sub_span(lead, lead)?;
    let edit = vec![Edit::insert(at.start, "http://")];
    Some(if host_local {
        Fix::safe("Prefix `http://`", edit)
    } else {
        Fix::unsafe_("Prefix `http://`", edit)
    })
}

fn check(m: &Match) -> Option<Finding> {
    let call = exporter_call(m)?;
    let ep = endpoint::parse(&call.endpoint.text)?;
    if ep.scheme.is_some() {
        return None;
    }
    let local = endpoint::is_local_host(ep.host);
    match call.transport {
        Transport::Http => {
            let mut f = Finding::new(call.endpoint.best_span(), HTTP_MESSAGE);
            if let Some(fix) = prefix_fix(&call.endpoint, local) {
                f = f.with_fix(fix);
            }
            Some(f)
        }
        Transport::Grpc => {
            if call.insecure || !local || ep.port != Some(4317) {
                return None;
            }
            let mut f = Finding::new(call.endpoint.best_span(), GRPC_MESSAGE)
                .with_severity(Severity::Warning);
            if let Some(fix) = prefix_fix(&call.endpoint, true) {
                f = f.with_fix(fix);
            }
            Some(f)
        }
    }
}

fn insecure(f: &LaunchFacts, c: usize, sig: Option<&str>) -> bool {
    let on = |n: String| {
        f.lookup(c, &n)
            .and_then(|v| v.known())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
    };
    on("OTEL_EXPORTER_OTLP_INSECURE".into())
        || sig.is_some_and(|s| on(format!("OTEL_EXPORTER_OTLP_{s}_INSECURE")))
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
        let Some(ep) = endpoint::parse(&val.text) else {
            continue;
        };
        if ep.scheme.is_some() {
            continue;
        }
        let local = endpoint::is_local_host(ep.host);
        for c in judge::visible_contexts(f, v) {
            let Some((proto, _)) = effective_protocol(f, c, sig, distro_default) else {
                continue;
            };
            let finding = if proto.starts_with("http") {
                Finding::new(val.best_span(), HTTP_MESSAGE).with_fix_opt(prefix_fix(val, local))
            } else if proto == "grpc" && local && ep.port == Some(4317) && !insecure(f, c, sig) {
                Finding::new(val.best_span(), GRPC_MESSAGE)
                    .with_severity(Severity::Warning)
                    .with_fix_opt(prefix_fix(val, true))
            } else {
                continue;
            };
            out.push(finding);
            break;
        }
    }
    out
}

trait WithFixOpt {
    fn with_fix_opt(self, fix: Option<Fix>) -> Self;
}

impl WithFixOpt for Finding {
    fn with_fix_opt(self, fix: Option<Fix>) -> Self {
        match fix {
            Some(f) => self.with_fix(f),
            None => self,
        }
    }
}

const DOCS: &str = r#"## What it does
Flags OTLP endpoints without `http://` or `https://`: (a) when the effective protocol is HTTP
(explicit `http/protobuf`, an HTTP exporter class, or an Operator-injected Python container)
— an error; (b) when it is gRPC (explicit, the opentelemetry-distro default under
`opentelemetry-instrument`, or a gRPC exporter class), the host is local or in-cluster
(`localhost`, loopback, `0.0.0.0`, `host.docker.internal`, the private IPv4 ranges 10/8,
172.16/12 and 192.168/16, a single label, `*.svc`,
`*.svc.cluster.local`), the port is 4317, and neither `insecure=True` nor
`OTEL_EXPORTER_OTLP_INSECURE=true` is set — a warning.

## Why is this bad?
The HTTP exporter hands the URL to `requests`, which raises "No connection adapters were
found" for `collector:4318`. The gRPC exporter decides TLS from the scheme
(`insecure = scheme == "http"`): without one it opens a TLS channel, and a plaintext local
collector never completes the handshake.

## Example
```sh
export OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf
export OTEL_EXPORTER_OTLP_ENDPOINT=otel-collector:4318
```

## Use instead
```sh
export OTEL_EXPORTER_OTLP_ENDPOINT=http://otel-collector:4318
```

## Fix safety
Prefixing `http://` is safe for a local or in-cluster host (it already speaks plaintext);
for other hosts it is unsafe, since `https://` may be what is meant.

## Source
- opentelemetry-python OTLP exporters (`urlparse`, `insecure = parsed_url.scheme == "http"`)
- opentelemetry-python #4125; opentelemetry-python-contrib #3059 (`--exporter_otlp_endpoint localhost:4317`)
"#;

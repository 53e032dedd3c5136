//! OTEL044 `unknown-otel-component`: an exporter, protocol, id generator or propagator name
//! the Python SDK configurator cannot load — it raises, and `initialize()` gives up on all
//! auto-instrumentation.

use crate::diagnostic::{Finding, Fix, Severity, Span};
use crate::language::Language;
use crate::launch::{EnvVar, Token};
use crate::rules::{self, always, anywhere, Context, Facts, FixKind, Pre, Rule, Topic};

/// The rule.
pub static RULE: Rule = Rule {
    code: "OTEL044",
    name: "unknown-otel-component",
    topic: Topic::Exporter,
    language: Language::Dockerfile,
    also: rules::ENV_KINDS,
    severity: Severity::Error,
    summary:
        "OTEL_*_EXPORTER / protocol / propagator / id generator name the Python SDK cannot load",
    docs: DOCS,
    url: "https://opentelemetry.io/docs/zero-code/python/configuration/",
    fix: FixKind::Sometimes,
    query: None,
    pre: &[Pre {
        langs: rules::ENV_KINDS,
        needles: &[
            "OTEL_",
            "_exporter",
            "_protocol",
            "id_generator",
            "propagators",
        ],
        facts: Facts::NONE,
        file: &[],
        relevant: anywhere,
    }],
    gate: always,
    scan: Some(scan),
    scan_per_document: true,
    trees: crate::syntax::yaml::Classes::NONE,
};

const EXPORTERS: &[&str] = &[
    "otlp",
    "otlp_proto_grpc",
    "otlp_proto_http",
    "console",
    "none",
    "zipkin_json",
    "zipkin_proto",
];
const PROPAGATORS: &[&str] = &[
    "tracecontext",
    "baggage",
    "b3",
    "b3multi",
    "jaeger",
    "xray",
    "ot_trace",
    "none",
];

/// Known wrong names: (wrong, replacement, safe).
const EXPORTER_FIXES: &[(&str, &str, bool)] = &[
    ("oltp", "otlp", true),
    ("otpl", "otlp", true),
    ("oltp", "otlp", true),
    ("otl", "otlp", true),
    ("otlp_http", "otlp_proto_http", true),
    ("otlphttp", "otlp_proto_http", true),
    ("otlp-http", "otlp_proto_http", true),
    ("otlp/http", "otlp_proto_http", true),
    ("http", "otlp_proto_http", true),
    ("otlp_grpc", "otlp_proto_grpc", true),
    ("otlpgrpc", "otlp_proto_grpc", true),
    ("otlp-grpc", "otlp_proto_grpc", true),
    ("grpc", "otlp_proto_grpc", true),
    ("zipkin", "zipkin_json", true),
    ("stdout", "console", true),
    ("logging", "console", false),
    ("jaeger", "otlp", false),
    ("jaeger_thrift", "otlp", false),
    ("jaeger_proto", "otlp", false),
    ("opencensus", "otlp", false),
];
const PROPAGATOR_FIXES: &[(&str, &str, bool)] = &[
    ("w3c", "tracecontext", true),
    ("trace_context", "tracecontext", true),
    ("trace-context", "tracecontext", true),
    ("w3c-tracecontext", "tracecontext", true),
    ("b3single", "b3", true),
    ("b3-multi", "b3multi", true),
    ("b3_multi", "b3multi", true),
    ("aws", "xray", true),
    ("awsxray", "xray", true),
    ("aws_xray", "xray", true),
    ("x-ray", "xray", true),
    ("ottrace", "ot_trace", true),
    ("ot-trace", "ot_trace", true),
];

/// Edit distance (small strings).
pub fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// A replacement name and whether replacing is safe.
type Replacement = Option<(String, bool)>;

/// What is wrong with one item, if anything: (message, replacement, is_error).
fn judge_item(kind: Kind, item: &str) -> Option<(String, Replacement, bool)> {
    let (valid, fixes): (&[&str], &[(&str, &str, bool)]) = match kind {
        Kind::Exporter(_) => (EXPORTERS, EXPORTER_FIXES),
        Kind::Propagator => (PROPAGATORS, PROPAGATOR_FIXES),
        Kind::Protocol => (&["grpc", "http/protobuf"], &[]),
        Kind::IdGenerator => (&["random", "xray"], &[]),
    };
    if valid.contains(&item) || (matches!(kind, Kind::Exporter("METRICS")) && item == "prometheus")
    {
        return None;
    }
    let lower = item.to_ascii_lowercase();
    let what = kind.what();
    if let Some((_, to, safe)) = fixes.iter().find(|(w, _, _)| *w == lower) {
        return Some((
            format!("`{item}` is not {what} the Python SDK knows; did you mean `{to}`?"),
            Some((to.to_string(), *safe)),
            true,
        ));
    }
    match kind {
        Kind::Protocol => {
            let to = if lower.contains("grpc") {
                "grpc"
            } else {
                "http/protobuf"
            };
            return Some((
                format!("Unsupported OTLP protocol `{item}` for the Python SDK (it accepts `grpc` and `http/protobuf`); the configurator raises and auto-instrumentation is disabled."),
                Some((to.to_string(), lower.starts_with("http") || lower.contains("protobuf") || lower.contains("grpc"))),
                true,
            ));
        }
        Kind::IdGenerator => {
            let to = if lower.contains("ray") {
                "xray"
            } else {
                "random"
            };
            return Some((
                format!("Unknown id generator `{item}`: the Python SDK knows `random` and `xray`."),
                Some((
                    to.to_string(),
                    lower == to || lower.contains("ray") || lower == "random",
                )),
                true,
            ));
        }
        _ => {}
    }
    if valid.contains(&lower.as_str()) {
        return Some((
            format!("Component names are case-sensitive: use `{lower}`."),
            Some((lower.clone(), true)),
            true,
        ));
    }
    if matches!(kind, Kind::Exporter(_)) && item == "prometheus" {
        return Some((
            "`prometheus` is a metrics exporter only.".into(),
            None,
            true,
        ));
    }
    let near = valid.iter().map(|v| (distance(&lower, v), *v)).min();
    match near {
        Some((d, v)) if d <= 2 && lower.len() >= 3 => Some((
            format!("`{item}` is not {what} the Python SDK knows; did you mean `{v}`?"),
            Some((v.to_string(), true)),
            true,
        )),
        // A plausible vendor name: an entry point may provide it.
        _ => Some((
            format!(
                "`{item}` is not {what} built into the Python SDK; make sure a package provides this entry point."
            ),
            None,
            false,
        )),
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Exporter(&'static str),
    Protocol,
    IdGenerator,
    Propagator,
}

impl Kind {
    fn of(name: &str) -> Option<Kind> {
        Some(match name {
            "OTEL_TRACES_EXPORTER" => Kind::Exporter("TRACES"),
            "OTEL_METRICS_EXPORTER" => Kind::Exporter("METRICS"),
            "OTEL_LOGS_EXPORTER" => Kind::Exporter("LOGS"),
            "OTEL_EXPORTER_OTLP_PROTOCOL"
            | "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
            | "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL"
            | "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL" => Kind::Protocol,
            "OTEL_PYTHON_ID_GENERATOR" | "OTEL_ID_GENERATOR" => Kind::IdGenerator,
            "OTEL_PROPAGATORS" => Kind::Propagator,
            _ => return None,
        })
    }

    fn what(self) -> &'static str {
        match self {
            Kind::Exporter(_) => "an exporter",
            Kind::Protocol => "an OTLP protocol",
            Kind::IdGenerator => "an id generator",
            Kind::Propagator => "a propagator",
        }
    }

    fn is_list(self) -> bool {
        matches!(self, Kind::Exporter(_) | Kind::Propagator)
    }
}

/// The items of a value with their positions in it.
fn items(v: &Token, list: bool) -> Vec<(usize, usize)> {
    if !list {
        let t = v.text.trim();
        let s = v.text.len() - v.text.trim_start().len();
        return vec![(s, s + t.len())];
    }
    let mut out = Vec::new();
    let mut pos = 0;
    for part in v.text.split(',') {
        let lead = part.len() - part.trim_start().len();
        let t = part.trim();
        if !t.is_empty() {
            out.push((pos + lead, pos + lead + t.len()));
        }
        pos += part.len() + 1;
    }
    out
}

fn judge_var(e: &EnvVar) -> Option<Finding> {
    let kind = Kind::of(&e.name)?;
    let v = e.value.as_ref()?;
    if v.dynamic {
        return None;
    }
    for (s, end) in items(v, kind.is_list()) {
        let item = &v.text[s..end];
        let Some((msg, fix, error)) = judge_item(kind, item) else {
            continue;
        };
        let span = v.sub_span(s, end).unwrap_or(v.span);
        let mut f = Finding::new(span, msg);
        if !error {
            f = f.with_severity(Severity::Info);
        }
        if let (Some((to, safe)), Some(sp)) = (fix, v.sub_span(s, end)) {
            let title = format!("Replace `{item}` with `{to}`");
            let edit = crate::diagnostic::Edit::replace(Span::new(sp.start, sp.end), to);
            f = f.with_fix(if safe {
                Fix::safe(title, vec![edit])
            } else {
                Fix::unsafe_(title, vec![edit])
            });
        }
        return Some(f);
    }
    None
}

fn scan(ctx: &Context) -> Vec<Finding> {
    let eff = ctx.effective();
    eff.own_env().filter_map(judge_var).collect()
}

const DOCS: &str = r#"## What it does
Checks the component names of the Python SDK's environment configuration, wherever they are
set (Dockerfile `ENV`, `export`, command prefixes, compose `environment:`, Kubernetes `env:`,
`opentelemetry-instrument --traces_exporter …` flags): `OTEL_{TRACES,METRICS,LOGS}_EXPORTER`
items, `OTEL_EXPORTER_OTLP_[SIGNAL_]PROTOCOL`, `OTEL_PYTHON_ID_GENERATOR` and
`OTEL_PROPAGATORS` items. Near-misses and foreign names (`oltp`, `otlp_http`, `logging`,
`jaeger`, `http`, upper-case `OTLP`) are errors; other unknown names are reported as info,
since a package may provide them as entry points.

## Why is this bad?
The SDK configurator loads each name as an entry point; an unknown one raises, and
`opentelemetry-instrument` / `initialize()` logs "Failed to auto initialize OpenTelemetry"
and disables **all** auto-instrumentation. An unsupported OTLP protocol raises
"Unsupported OTLP protocol".

## Example
```dockerfile
ENV OTEL_TRACES_EXPORTER=oltp OTEL_EXPORTER_OTLP_PROTOCOL=http
```

## Use instead
```dockerfile
ENV OTEL_TRACES_EXPORTER=otlp OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf
```

## Fix safety
Replacing a typo with the name it is one or two letters away from, a case fix, or a
protocol spelling (`http` → `http/protobuf`) is safe. Replacing a foreign or removed
exporter (`logging` → `console`, `jaeger` → `otlp`) changes where telemetry goes: unsafe.

## Source
- opentelemetry-python SDK `_configuration` (`_EXPORTER_BY_OTLP_PROTOCOL`, `_import_config_components`)
- opentelemetry-python-contrib `auto_instrumentation._initialize`; instrumentation README (exporter names)
- <https://opentelemetry.io/docs/zero-code/python/configuration/>
"#;

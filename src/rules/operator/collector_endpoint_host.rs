//! OTEL039 `collector-endpoint-host`: the host of the OTLP endpoint the Operator's injected SDKs
//! use is no Service they can reach — the OpenTelemetryCollector's own name instead of its
//! Service `<name>-collector`, a short name that resolves in the pod's namespace while the
//! Service is in another one, `localhost` without a sidecar collector, or a host the workspace
//! does not know.
//!
//! Judged on the endpoint values of an Instrumentation (`spec.exporter.endpoint`, the OTLP
//! endpoint variables of `spec.env` and of its language sections' `env`) and of the env of a
//! container the Operator injects Python into, against the Services (`kind: Service`) and
//! OpenTelemetryCollectors of the workspace.

use super::model;
use crate::diagnostic::{Edit, Finding, Fix, Severity, Span};
use crate::language::Language;
use crate::launch::endpoint;
use crate::rules::{always, Bytes, Facts, FixKind, Match, Pre, Query, Rule, Topic};
use crate::syntax::yaml::{self, get, get_path, scalar, K8sObject, INSTRUMENTATION_LANGUAGES};
use crate::workspace::Workspace;
use tree_sitter::Node;

/// The rule.
pub static RULE: Rule = Rule {
    code: "OTEL039",
    name: "collector-endpoint-host",
    topic: Topic::Operator,
    language: Language::Yaml,
    also: &[],
    severity: Severity::Warning,
    summary: "OTLP endpoint host the injected SDKs cannot reach: a collector's name without `-collector`, a short name of another namespace, localhost without a sidecar",
    docs: DOCS,
    url: "https://opentelemetry.io/docs/platforms/kubernetes/operator/troubleshooting/automatic/#check-auto-instrumentation-endpoint-configuration",
    fix: FixKind::Unsafe,
    query: Some(Query {
        text: include_str!("collector_endpoint_host.scm"),
        check,
    }),
    pre: &[Pre {
        langs: &[Language::Yaml],
        needles: &["endpoint", "ENDPOINT"],
        facts: Facts::NONE,
        file: &["Instrumentation", "instrumentation.opentelemetry.io"],
        relevant,
    }],
    gate: always,
    scan: None,
    scan_per_document: false,
    trees: crate::syntax::yaml::Classes::PODS.or(crate::syntax::yaml::Classes::INSTRUMENTATION),
};

/// An Instrumentation, or a pod annotated for the Operator (itself or through its Namespace).
fn relevant(b: &Bytes) -> bool {
    b.has_any(&["Instrumentation", "instrumentation.opentelemetry.io"])
        || b.workspace.has_namespace_injection()
}

/// The OTLP endpoint variables whose host is judged.
const ENDPOINT_VARS: [&str; 4] = [
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
    "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
];

/// Who uses the endpoint, as far as the workspace tells.
#[derive(Debug, Default)]
struct Users {
    /// The explicit namespaces the pods that use it run in (short names resolve there).
    pod_namespaces: Vec<String>,
    /// For an Instrumentation: its own namespace, when known.
    home: Option<String>,
    /// A sidecar collector may serve the pods (or they share the node's network).
    sidecar: bool,
    /// The value is in a Helm chart's `templates/` (its chart's Services may be templated).
    chart: bool,
}

/// What is wrong with the host.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    /// (a) The collector's name: its Service is `<name>-collector`. The replacement hosts.
    CollectorName(Vec<String>),
    /// (b) A short name whose Services are only in other namespaces: `(pod namespace,
    /// the Services' namespaces)`.
    OtherNamespace(String, Vec<String>),
    /// (b) A short name in an Instrumentation that pods of another namespace use:
    /// `(their namespace, the Instrumentation's)`.
    CrossNamespace(String, String),
    /// (c) Loopback without a sidecar collector.
    Local,
    /// (d) No Service or collector of the workspace has that name.
    Unknown,
}

fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h == "localhost" || h == "::1" || h == "0.0.0.0" || h.starts_with("127.")
}

fn dedup(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v.dedup();
    v
}

/// The verdict on `host` for endpoints used by `users`.
fn judge(ws: &Workspace, host: &str, users: &Users) -> Option<Verdict> {
    if is_loopback(host) {
        return (!users.sidecar).then_some(Verdict::Local);
    }
    // Only a single DNS label is a short Service name: `svc.ns`, FQDNs, IPs, variables and
    // upper-case names are never judged.
    if !model::is_dns_label(host) {
        return None;
    }
    let services = ws.service_namespaces(host);
    if services.is_empty() {
        let collectors = ws.collector_namespaces(host);
        if !collectors.is_empty() {
            let svc = format!("{host}-collector");
            let known: Option<Vec<String>> = collectors.iter().cloned().collect();
            let hosts = match known {
                Some(ns)
                    if !users.pod_namespaces.is_empty()
                        && users.pod_namespaces.iter().all(|p| !ns.contains(p)) =>
                {
                    dedup(ns)
                        .into_iter()
                        .map(|n| format!("{svc}.{n}.svc.cluster.local"))
                        .collect()
                }
                _ => vec![svc],
            };
            return Some(Verdict::CollectorName(hosts));
        }
        if let Some(home) = &users.home {
            if let Some(q) = users.pod_namespaces.iter().find(|q| *q != home) {
                return Some(Verdict::CrossNamespace(q.clone(), home.clone()));
            }
        }
        // `<name>-collector` is how the Operator names a collector's Service: one of a
        // collector kept elsewhere, not a host to doubt.
        let operator_made = [
            "-collector",
            "-collector-headless",
            "-collector-monitoring",
            "-targetallocator",
        ]
        .iter()
        .any(|s| host.len() > s.len() && host.ends_with(s));
        return (!users.chart && !operator_made && ws.knows_hosts()).then_some(Verdict::Unknown);
    }
    // A Service of unknown namespace may be in the pods' one.
    let known: Vec<String> = services.into_iter().collect::<Option<Vec<_>>>()?;
    let q = users
        .pod_namespaces
        .iter()
        .find(|q| !known.contains(q))?
        .clone();
    Some(Verdict::OtherNamespace(q, dedup(known)))
}

fn check(m: &Match) -> Option<Finding> {
    let src = m.chunk;
    // An env entry: its `value:` pair; else the `endpoint:` pair.
    let (pair_node, value) = match m.get("item") {
        Some(item) => {
            let p = yaml::pair(item, "value", src)?;
            (p, p.child_by_field_name("value")?)
        }
        None => (m.get("pair")?, m.get("value")?),
    };
    if model::is_test_assertion(m.ctx.path) {
        return None;
    }
    let (root, clean) = model::document_in(m, pair_node)?;
    if !clean {
        return None;
    }
    let obj = model::object(m, root)?;
    let path = m.key_path(pair_node);
    let path: Vec<&str> = path.iter().map(String::as_str).collect();
    let s = scalar(value, src)?;
    let users = if obj.is_instrumentation() {
        instrumentation_users(m, &obj, &path, pair_node)?
    } else {
        container_users(m, root, &obj, &path, pair_node)?
    };
    let e = endpoint::parse(&s.value)?;
    let host_at = e.host.as_ptr() as usize - s.value.as_ptr() as usize;
    let host = e.host;
    let verdict = judge(m.ctx.workspace, host, &users)?;
    let span = m.abs(s.span);
    // The host's bytes in the chunk, when the scalar holds them as written.
    let inner = s.span.start + usize::from(s.quote.is_some()) + host_at;
    let host_span = (src.get(inner..inner + host.len()) == Some(host))
        .then(|| m.abs(Span::new(inner, inner + host.len())));
    let rewrite = |to: &str| {
        host_span.map(|sp| Fix::unsafe_(format!("Use `{to}`"), vec![Edit::replace(sp, to)]))
    };
    let (message, fixes, info) = match &verdict {
        Verdict::CollectorName(hosts) => (
            format!(
                "`{host}` is the name of an OpenTelemetryCollector, not of its Service: the Operator names the Service `{host}-collector`, and the workspace has no Service `{host}`, so the SDK cannot resolve this host."
            ),
            hosts.iter().filter_map(|h| rewrite(h)).collect::<Vec<_>>(),
            false,
        ),
        Verdict::OtherNamespace(q, found) => (
            format!(
                "The short host `{host}` resolves in the pods' namespace `{q}`, but the workspace has the Service `{host}` only in {}: use its full name.",
                found
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            found
                .iter()
                .filter_map(|n| rewrite(&format!("{host}.{n}.svc.cluster.local")))
                .collect(),
            false,
        ),
        Verdict::CrossNamespace(q, home) => (
            format!(
                "Pods in namespace `{q}` use this Instrumentation of namespace `{home}`, and the short host `{host}` resolves in the pod's namespace (`{host}.{q}`), not beside the Instrumentation: use its full name."
            ),
            rewrite(&format!("{host}.{home}.svc.cluster.local"))
                .into_iter()
                .collect(),
            false,
        ),
        Verdict::Local => (
            format!(
                "`{host}` is the application pod itself: only a sidecar collector listens there, and no sidecar collector serves these pods (`sidecar.opentelemetry.io/inject`). Point the endpoint at the collector's Service."
            ),
            Vec::new(),
            true,
        ),
        Verdict::Unknown => (
            format!(
                "No Service or OpenTelemetryCollector of the workspace gives the host `{host}` (the Operator names a collector's Service `<name>-collector`): check that it names the collector's Service."
            ),
            Vec::new(),
            true,
        ),
    };
    let mut f = Finding::new(span, message);
    if info {
        f = f.with_severity(Severity::Info);
    }
    for fix in fixes.into_iter().take(4) {
        f = f.with_fix(fix);
    }
    Some(f)
}

/// The name of the env item a `value:` pair belongs to, when it is an OTLP endpoint variable.
fn endpoint_var(pair_node: Node, src: &str) -> Option<&'static str> {
    let item = pair_node.parent()?;
    let name = scalar(get(item, "name", src)?, src)?.value;
    ENDPOINT_VARS.iter().copied().find(|v| *v == name)
}

/// Who uses an endpoint of an Instrumentation: the pods that resolve to it (else pods of its
/// own namespace). `None` when the pair is no endpoint the SDKs read.
fn instrumentation_users(
    m: &Match,
    obj: &K8sObject,
    path: &[&str],
    pair_node: Node,
) -> Option<Users> {
    let src = m.chunk;
    match path {
        ["spec", "exporter", "endpoint"] => {
            // `OTEL_EXPORTER_OTLP_ENDPOINT` in `spec.env` wins for every language.
            let spec = obj.instrumentation.as_ref()?;
            if spec
                .env
                .iter()
                .any(|(n, _)| n == "OTEL_EXPORTER_OTLP_ENDPOINT")
            {
                return None;
            }
        }
        ["spec", "env", "-", "value"] => {
            endpoint_var(pair_node, src)?;
        }
        ["spec", lang, "env", "-", "value"] if INSTRUMENTATION_LANGUAGES.contains(lang) => {
            endpoint_var(pair_node, src)?;
        }
        _ => return None,
    }
    let ws = m.ctx.workspace;
    let home = match m.ctx.path {
        Some(p) => ws.object_namespace(p, obj),
        None => obj.namespace.clone(),
    };
    let users = ws.users_of(m.ctx.path, obj);
    // Every pod sets its own endpoint: this one is never used.
    if !users.is_empty()
        && users
            .iter()
            .all(|(u, _)| u.object.own_endpoint && u.object.kind != "Namespace")
    {
        return None;
    }
    let mut pod_namespaces: Vec<String> = users
        .iter()
        .filter_map(|(u, _)| ws.pod_namespace(Some(u.path), u.object))
        .collect();
    if users.is_empty() {
        pod_namespaces.extend(home.clone());
    }
    // A pod asking for a sidecar that may use this Instrumentation: one that resolves to it,
    // or one of its namespace (or of unknown namespace) whose value the files cannot resolve.
    let sidecar = users.iter().any(|(u, _)| u.object.sidecar)
        || sidecar_collector_near(ws, home.as_deref())
        || ws.sidecar_pods_in(home.as_deref());
    Some(Users {
        pod_namespaces: dedup(pod_namespaces),
        home,
        sidecar,
        chart: in_chart(m),
    })
}

/// Who uses an endpoint of a container's env: its pod, when the Operator injects Python into
/// that container.
fn container_users(
    m: &Match,
    root: Node,
    obj: &K8sObject,
    path: &[&str],
    pair_node: Node,
) -> Option<Users> {
    let src = m.chunk;
    let env_item = pair_node.parent()?;
    let pc = model::python_container(m, obj, path, env_item)?;
    endpoint_var(pair_node, src)?;
    let ws = m.ctx.workspace;
    let shape = yaml::pod_shape(&obj.api_version, &obj.kind)?;
    let mut spec: Vec<&str> = shape.template().to_vec();
    spec.push("spec");
    let pod_spec = get_path(root, &spec, src);
    let host_network = pod_spec
        .and_then(|p| get(p, "hostNetwork", src))
        .and_then(|v| scalar(v, src))
        .is_some_and(|v| v.value == "true");
    // A collector container of the pod's own (a hand-made sidecar).
    let own_collector = pod_spec
        .and_then(|p| get(p, "containers", src))
        .map(yaml::items)
        .unwrap_or_default()
        .into_iter()
        .filter(|c| yaml::content(*c).id() != pc.container.id())
        .any(|c| {
            model::container_image(yaml::content(c), src).is_some_and(|i| {
                let i = i.to_ascii_lowercase();
                i.contains("opentelemetry-collector") || i.contains("otelcol")
            })
        });
    let sidecar = obj.sidecar
        || host_network
        || own_collector
        || sidecar_collector_near(ws, pc.pod_ns.as_deref());
    Some(Users {
        pod_namespaces: pc.pod_ns.into_iter().collect(),
        home: None,
        sidecar,
        chart: in_chart(m),
    })
}

/// Whether a sidecar-mode OpenTelemetryCollector of the workspace may be injected into pods
/// of namespace `ns` (same namespace, or either unknown).
fn sidecar_collector_near(ws: &Workspace, ns: Option<&str>) -> bool {
    ws.sidecar_collector_namespaces()
        .iter()
        .any(|c| c.is_none() || ns.is_none() || c.as_deref() == ns)
}

/// Whether the file is a Helm chart's template.
fn in_chart(m: &Match) -> bool {
    m.ctx
        .path
        .is_some_and(|p| p.components().any(|c| c.as_os_str() == "templates"))
}

const DOCS: &str = r#"## What it does
Judges the host of the OTLP endpoint the OpenTelemetry Operator's injected SDKs use — an
`Instrumentation`'s `spec.exporter.endpoint` (unless `spec.env` overrides it), the
`OTEL_EXPORTER_OTLP_ENDPOINT` / `OTEL_EXPORTER_OTLP_{TRACES,METRICS,LOGS}_ENDPOINT` values of its
`spec.env` and language sections, and those of a container the Operator injects Python into —
against the `Service` objects and `OpenTelemetryCollector`s of the workspace:

- (a) **warning**: the host is the `metadata.name` of an OpenTelemetryCollector (not in
  sidecar mode) and no Service has that name. The Operator names the collector's Service
  `<name>-collector`.
- (b) **warning**: a short (single-label) host resolves in the **pod's** namespace: the
  workspace has Services of that name only in other explicit namespaces than the pods'
  (for an Instrumentation: the namespaces of the pods that resolve to it, else its own); or
  the Instrumentation is used by pods of another namespace (`"ns/name"`) and no Service of
  that name is known.
- (c) **info**: `localhost`, `127.0.0.1`, `::1` or `0.0.0.0` while no sidecar collector serves
  the pods: none of the pods that use the Instrumentation asks for one
  (`sidecar.opentelemetry.io/inject`), no sidecar-mode collector is in its namespace (or of
  unknown namespace), and — for a container — the pod has no collector container of its own
  and does not share the node's network.
- (d) **info**: a short host that no Service or collector of the workspace gives. Judged only
  when the workspace holds at least one Service or OpenTelemetryCollector, all with literal
  names (otherwise every Instrumentation checked on its own would be reported), and never in a
  Helm chart's `templates/`, whose Services may be templated.

Not flagged: `svc.ns` and fully qualified names (`jaeger.observability`,
`…svc.cluster.local`), IP addresses and other dotted hosts; `<name>-collector` (and the
`-headless`, `-monitoring`, `-targetallocator` Services) of a collector of the workspace;
hosts from variables (`$(OTEL_NODE_IP)`, `$(HOST_IP)`, `${VAR}`) or templates; a Service of
unknown namespace (it may be the pods'); chainsaw/kuttl assertion files. The scheme and the
port are other rules' (OTEL043, OTEL005, OTEL041); an Instrumentation without an endpoint is
OTEL030.

## Why is this bad?
The SDK resolves the host with the pod's DNS: a name that is no Service there fails, and every
span, metric and log is dropped while the application runs normally. The Operator's Service for
a collector named `otel` is `otel-collector`; a short name resolves in the pod's namespace
only; `localhost` is the application's own pod.

## Example
```yaml
apiVersion: opentelemetry.io/v1beta1
kind: OpenTelemetryCollector
metadata:
  name: otel
  namespace: observability
---
apiVersion: opentelemetry.io/v1alpha1
kind: Instrumentation
metadata:
  name: python
  namespace: observability
spec:
  exporter:
    endpoint: http://otel:4318
```

## Use instead
```yaml
spec:
  exporter:
    endpoint: http://otel-collector:4318
```

## Fix safety
Unsafe. (a) appends `-collector` to the host (or, when the pods are in another namespace than
the collector, writes `<name>-collector.<ns>.svc.cluster.local`); (b) rewrites the host to
`<svc>.<ns>.svc.cluster.local`, one fix per namespace the Service is found in (the
Instrumentation's own namespace for a cross-namespace use). A Service of the original name
may exist outside the workspace, and the fix changes where the telemetry goes: review it.
(c) and (d) have no fix.

## Source
- OpenTelemetry docs, Operator troubleshooting: "Check auto-instrumentation endpoint configuration"
  <https://opentelemetry.io/docs/platforms/kubernetes/operator/troubleshooting/automatic/#check-auto-instrumentation-endpoint-configuration>
- OpenTelemetry docs, Operator auto-instrumentation ("the name of the service is the name of the
  OpenTelemetryCollector resource prepended to -collector")
  <https://opentelemetry.io/docs/platforms/kubernetes/operator/automatic/>
- Kubernetes, DNS for Services and Pods (short names resolve in the pod's namespace)
  <https://kubernetes.io/docs/concepts/services-networking/dns-pod-service/>
"#;

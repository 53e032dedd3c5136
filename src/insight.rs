//! What the OpenTelemetry Operator would do, explained at a place of a YAML document: for an
//! `instrumentation.opentelemetry.io/inject-*` pod annotation, the Instrumentation it selects
//! (or why none) and, for Python, the exporter settings the injected container ends up with;
//! for an Instrumentation, the workloads that select it. Pure: the editor's hover renders the
//! Markdown, other files' texts come through a callback.

use crate::diagnostic::Span;
use crate::language::Language;
use crate::rules::operator::model::{self, AnnotationKey};
use crate::syntax::yaml::{self, get, get_path, key_path, pod_shape, scalar, K8sObject};
use crate::workspace::{Located, Resolution, Workspace};
use std::path::Path;
use tree_sitter::Node;

/// At most this many candidates or users are listed.
const LIST: usize = 10;

/// The Operator's Python defaults (`python.go getDefaultPythonEnvVars`).
const DEFAULTS: &[(&str, &str)] = &[
    ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
    ("OTEL_TRACES_EXPORTER", "otlp"),
    ("OTEL_METRICS_EXPORTER", "otlp"),
    ("OTEL_LOGS_EXPORTER", "otlp"),
];

/// `(name, literal value)` of an env list (`None`: `valueFrom`).
type EnvList = Vec<(String, Option<String>)>;

/// Reads another file of the workspace (an open document's text, else the disk).
pub type Reader<'a> = dyn Fn(&Path) -> Option<String> + 'a;

/// The explanation at byte `at` of a YAML text (the file `path`; other files are shown relative
/// to `base`, the workspace root): the span it is about and Markdown. `None`
/// when `at` is on no inject annotation (where the Operator reads it) and on no
/// Instrumentation's `kind:` or `metadata.name` line.
pub fn at(
    text: &str,
    at: usize,
    path: Option<&Path>,
    base: Option<&Path>,
    ws: &Workspace,
    read: &Reader,
) -> Option<(Span, String)> {
    let starts = crate::syntax::chunk::boundaries(Language::Yaml, text);
    let i = starts.partition_point(|&s| s <= at).checked_sub(1)?;
    let start = starts[i];
    let end = starts.get(i + 1).copied().unwrap_or(text.len());
    let src = &text[start..end];
    let rel = at - start;
    let tree = crate::syntax::parse_chunk(Language::Yaml, src, None);
    if tree.root_node().has_error() {
        return None;
    }
    let root = yaml::document_root(tree.root_node())?;
    let leaf = tree.root_node().descendant_for_byte_range(rel, rel)?;
    let pair = climb_to_pair(leaf)?;
    let key = yaml::pair_key(pair, src)?;
    let span = |n: Node| Span::new(start + n.start_byte(), start + n.end_byte());
    let Some(obj) = yaml::k8s_object(root, src) else {
        // A Helm values file's `podAnnotations:` (top-level or under a component key).
        let Some(AnnotationKey::Inject(lang)) = model::annotation_key(&key) else {
            return None;
        };
        if !path.is_some_and(yaml::is_values_path) {
            return None;
        }
        let p = key_path(pair, src);
        let component = match &p[..] {
            [a, k] if a == "podAnnotations" && *k == key => None,
            [c, a, k] if a == "podAnnotations" && *k == key => Some(c.clone()),
            _ => return None,
        };
        let obj = yaml::values_pods(root, src)
            .into_iter()
            .find(|o| o.name == component)?;
        let md = injection(root, src, &obj, &key, lang, false, base, ws, read);
        return Some((span(pair), md));
    };
    if let Some(AnnotationKey::Inject(lang)) = model::annotation_key(&key) {
        let shape = pod_shape(&obj.api_version, &obj.kind)?;
        let mut want: Vec<String> = shape.pod_meta.iter().map(|s| s.to_string()).collect();
        want.push("annotations".into());
        want.push(key.clone());
        if key_path(pair, src) != want {
            return None;
        }
        let md = injection(root, src, &obj, &key, lang, shape.namespace, base, ws, read);
        return Some((span(pair), md));
    }
    if obj.is_instrumentation() {
        let p = key_path(pair, src);
        if p != ["kind"] && p != ["metadata", "name"] {
            return None;
        }
        let path = path?;
        return Some((span(pair), users(&obj, path, base, ws, read)));
    }
    None
}

fn climb_to_pair(mut n: Node) -> Option<Node> {
    loop {
        if matches!(n.kind(), "block_mapping_pair" | "flow_pair") {
            return Some(n);
        }
        n = n.parent()?;
    }
}

fn ident(o: &K8sObject) -> String {
    let name = o.name.as_deref().unwrap_or("<templated name>");
    match &o.namespace {
        Some(ns) => format!("{ns}/{name}"),
        None => name.to_string(),
    }
}

/// `path:line` of an object's `kind:` line (1-based), read through `read`; the path shown
/// relative to `base` when under it.
fn place(l: &Located, base: Option<&Path>, read: &Reader, find: &str) -> String {
    let shown = base
        .and_then(|b| l.path.strip_prefix(b).ok())
        .unwrap_or(l.path)
        .display()
        .to_string();
    match read(l.path).and_then(|t| line_of(&t, l.object, find)) {
        Some(line) => format!("`{shown}:{line}`"),
        None => format!("`{shown}`"),
    }
}

/// The 1-based line of the document of `text` whose object equals `obj`: of its line that
/// starts (after indentation) with `find`, else of its `kind:` line.
fn line_of(text: &str, obj: &K8sObject, find: &str) -> Option<usize> {
    let file = crate::engine::parse(Language::Yaml, text.to_string());
    let docs = match file.facts() {
        crate::source::FileFacts::Yaml(d) => d.clone(),
        _ => return None,
    };
    let (i, (s, _)) = docs
        .iter()
        .enumerate()
        .find(|(_, (_, o))| o.as_deref() == Some(obj))?;
    let e = docs.get(i + 1).map_or(text.len(), |d| d.0);
    let doc = &text[*s..e];
    let mut at = None;
    let mut kind = None;
    let mut off = 0;
    for l in doc.split_inclusive('\n') {
        let t = l.trim_start();
        if at.is_none() && !find.is_empty() && t.starts_with(find) {
            at = Some(off);
        }
        if kind.is_none() && l.starts_with("kind:") {
            kind = Some(off);
        }
        off += l.len();
    }
    let pos = s + at.or(kind)?;
    Some(text[..pos].matches('\n').count() + 1)
}

#[allow(clippy::too_many_arguments)]
fn injection(
    root: Node,
    src: &str,
    obj: &K8sObject,
    key: &str,
    lang: &str,
    namespace_wide: bool,
    base: Option<&Path>,
    ws: &Workspace,
    read: &Reader,
) -> String {
    let pod_ns = obj.pod_namespace();
    let own = obj.pod_annotation(key).unwrap_or("");
    let effective = if namespace_wide {
        Some(own)
    } else {
        ws.effective_annotation(Some(own), pod_ns, key)
    }
    .unwrap_or("");
    let mut md = format!("**`inject-{lang}`** = `\"{effective}\"`");
    if effective != own {
        md.push_str(&format!(" (from the Namespace `{}`)", pod_ns.unwrap_or("")));
    }
    md.push_str(&format!(
        " — pods in namespace `{}`\n\n",
        pod_ns.unwrap_or("(unknown)")
    ));
    let inst = match ws.resolution(effective, pod_ns, LIST) {
        Resolution::Off => {
            md.push_str("Injection is off: the Operator leaves these pods alone.");
            return md;
        }
        Resolution::Found(l) => {
            md.push_str(&format!(
                "Resolves to Instrumentation **`{}`** — {}\n",
                ident(l.object),
                place(&l, base, read, "")
            ));
            l.object
        }
        Resolution::Ambiguous(all) => {
            md.push_str("Resolves to **none**: `\"true\"` is ambiguous, the namespace has several Instrumentations (the Operator refuses to choose):\n");
            for l in all {
                md.push_str(&format!(
                    "- `{}` — {}\n",
                    ident(l.object),
                    place(&l, base, read, "")
                ));
            }
            return md;
        }
        Resolution::Elsewhere(all) => {
            md.push_str(&format!(
                "Resolves to **none** in namespace `{}`; the Operator looks there only (use `\"<namespace>/<name>\"`). Found elsewhere:\n",
                pod_ns.unwrap_or("(unknown)")
            ));
            for l in all {
                md.push_str(&format!(
                    "- `{}` — {}\n",
                    ident(l.object),
                    place(&l, base, read, "")
                ));
            }
            return md;
        }
        Resolution::UnknownNamespace => {
            md.push_str("Resolves to **unknown**: the pods' namespace is not written here (the Instrumentation is looked up in it).");
            return md;
        }
        Resolution::Missing => {
            md.push_str(&format!(
                "Resolves to **none**: no Instrumentation {} in the workspace; the pods start uninstrumented.",
                if effective.eq_ignore_ascii_case("true") {
                    String::new()
                } else {
                    format!("named `{effective}`")
                }
            ));
            return md;
        }
    };
    if lang != "python" || namespace_wide {
        return md;
    }
    let Some(spec) = inst.instrumentation.as_ref() else {
        return md;
    };
    let (container, env) = python_container(root, src, obj);
    let layers: Vec<(&str, EnvList)> = vec![
        ("container env", env),
        ("`spec.python.env`", spec.python_env.clone()),
        ("`spec.env`", spec.env.clone()),
        (
            "Operator default",
            DEFAULTS
                .iter()
                .map(|(k, v)| (k.to_string(), Some(v.to_string())))
                .collect(),
        ),
        (
            "`spec.exporter.endpoint`",
            spec.exporter_endpoint
                .iter()
                .map(|e| ("OTEL_EXPORTER_OTLP_ENDPOINT".to_string(), Some(e.clone())))
                .collect(),
        ),
    ];
    let lookup = |name: &str| {
        layers.iter().find_map(|(from, l)| {
            l.iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| (v.clone(), *from))
        })
    };
    md.push_str(&format!(
        "\nEffective exporter settings of container `{}`:\n\n| variable | value | from |\n|---|---|---|\n",
        container.as_deref().unwrap_or("(first container)")
    ));
    let mut names: Vec<String> = vec![
        "OTEL_EXPORTER_OTLP_ENDPOINT".into(),
        "OTEL_EXPORTER_OTLP_PROTOCOL".into(),
    ];
    for (_, l) in &layers {
        for (n, _) in l {
            let signal = n.starts_with("OTEL_EXPORTER_OTLP_")
                && (n.ends_with("_ENDPOINT") || n.ends_with("_PROTOCOL"));
            if (signal || n.ends_with("S_EXPORTER")) && !names.contains(n) {
                names.push(n.clone());
            }
        }
    }
    for n in &names {
        match lookup(n) {
            Some((Some(v), from)) => md.push_str(&format!("| `{n}` | `{v}` | {from} |\n")),
            Some((None, from)) => md.push_str(&format!("| `{n}` | (valueFrom) | {from} |\n")),
            None if n == "OTEL_EXPORTER_OTLP_ENDPOINT" => md.push_str(&format!(
                "| `{n}` | unset: `http://localhost:4318` | SDK default |\n"
            )),
            None => {}
        }
    }
    let own: Vec<&str> = layers[0].1.iter().map(|(n, _)| n.as_str()).collect();
    let mut added: Vec<String> = vec!["`PYTHONPATH` (prepended)".into()];
    for (_, l) in &layers[1..] {
        for (n, _) in l {
            let shown = format!("`{n}`");
            if !own.contains(&n.as_str()) && !added.contains(&shown) {
                added.push(shown);
            }
        }
    }
    for n in ["OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES"] {
        if !own.contains(&n) {
            added.push(format!("`{n}`"));
        }
    }
    md.push_str(&format!("\nAdded by the Operator: {}.", added.join(", ")));
    md
}

/// The container the Operator injects Python into (its name) and its literal `env`; for a
/// Helm values file, the env lists beside its `podAnnotations:`.
fn python_container(root: Node, src: &str, obj: &K8sObject) -> (Option<String>, EnvList) {
    if obj.is_helm_values() {
        let owner = match &obj.name {
            Some(c) => get(root, c, src),
            None => Some(root),
        };
        let env = owner
            .into_iter()
            .flat_map(|o| {
                model::VALUES_ENV_KEYS
                    .iter()
                    .filter_map(move |k| get(o, k, src))
            })
            .flat_map(|l| model::env_layer(Some(l), src))
            .map(|(n, v, _)| (n, v))
            .collect();
        return (Some("(the chart's main container)".into()), env);
    }
    let Some(shape) = pod_shape(&obj.api_version, &obj.kind) else {
        return (None, Vec::new());
    };
    let mut spec: Vec<&str> = shape.template().to_vec();
    spec.push("spec");
    for list in ["containers", "initContainers"] {
        let mut p = spec.clone();
        p.push(list);
        let Some(items) = get_path(root, &p, src) else {
            continue;
        };
        for item in yaml::items(items) {
            let c = yaml::content(item);
            let name = get(c, "name", src)
                .and_then(|v| scalar(v, src))
                .map(|s| s.value);
            if model::targeted(obj, c, name.as_deref(), list) {
                let env = model::env_layer(get(c, "env", src), src)
                    .into_iter()
                    .map(|(n, v, _)| (n, v))
                    .collect();
                return (name, env);
            }
        }
    }
    (None, Vec::new())
}

fn users(
    obj: &K8sObject,
    path: &Path,
    base: Option<&Path>,
    ws: &Workspace,
    read: &Reader,
) -> String {
    let all = ws.users_of(Some(path), obj);
    let mut md = format!("**Instrumentation `{}`**\n\n", ident(obj));
    if all.is_empty() {
        md.push_str("No pod of the workspace selects it (no `instrumentation.opentelemetry.io/inject-*` annotation resolves to it).");
        return md;
    }
    md.push_str(&format!("Selected by {} workload(s):\n", all.len()));
    for (l, key) in all.iter().take(LIST) {
        let what = format!("{} `{}`", l.object.kind, ident(l.object));
        let short = key
            .strip_prefix("instrumentation.opentelemetry.io/")
            .unwrap_or(key);
        md.push_str(&format!(
            "- {what} (`{short}`) — {}\n",
            place(l, base, read, key)
        ));
    }
    if all.len() > LIST {
        md.push_str(&format!("- … and {} more\n", all.len() - LIST));
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A chart's values file: the hover on its `podAnnotations:` inject key resolves, shows
    /// the env beside it, and the Instrumentation lists the values' pods as its users.
    #[test]
    fn helm_values_pods_resolve_and_use_the_instrumentation() {
        let values = "podAnnotations:\n  instrumentation.opentelemetry.io/inject-python: \"true\"\nenv:\n  - name: OTEL_EXPORTER_OTLP_PROTOCOL\n    value: grpc\n";
        let inst = "apiVersion: opentelemetry.io/v1alpha1\nkind: Instrumentation\nmetadata:\n  name: python\nspec:\n  exporter:\n    endpoint: http://otel-collector:4318\n";
        let mut ws = Workspace::new();
        let vp = Path::new("chart/values.yaml");
        let ip = Path::new("chart/templates/instrumentation.yaml");
        for (p, t) in [(vp, values), (ip, inst)] {
            let f = crate::engine::parse(Language::Yaml, t.to_string());
            ws.update(p.to_path_buf(), crate::engine::summarize(&f));
        }
        let read = |p: &Path| {
            (p == vp)
                .then(|| values.to_string())
                .or_else(|| (p == ip).then(|| inst.to_string()))
        };
        let at_key = values.find("instrumentation.opentelemetry.io").unwrap() + 3;
        let (_, md) = at(values, at_key, Some(vp), None, &ws, &read).expect("a hover");
        assert!(
            md.contains("Resolves to Instrumentation **`python`**"),
            "{md}"
        );
        assert!(
            md.contains("| `OTEL_EXPORTER_OTLP_PROTOCOL` | `grpc` | container env |"),
            "{md}"
        );
        let at_kind = inst.find("kind:").unwrap();
        let (_, md) = at(inst, at_kind, Some(ip), None, &ws, &read).expect("a hover");
        assert!(md.contains("Selected by 1 workload(s)"), "{md}");
        // The same text under another name is no values file: no pods, no hover.
        let other = Path::new("chart/config.yaml");
        assert!(at(values, at_key, Some(other), None, &ws, &read).is_none());
    }
}

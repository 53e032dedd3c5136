//! Launchers and environment of YAML documents: docker-compose services (`entrypoint`,
//! `command`, `environment` in map or list form, `working_dir`) and Kubernetes containers
//! (`command` + `args`, `env` with `value`/`valueFrom`, `workingDir`), with the Operator's
//! `inject-python` annotation marking the container's scope as injected.

use super::imports::{ConfigMap, Import, Source};
use super::normalize::{push_command, Origin};
use super::shell::{self, Place, RawCommand};
use super::{EnvOrigin, EnvVar, LaunchFacts, LaunchKind, ScopeKind, Token};
use crate::diagnostic::Span;
use crate::syntax::yaml::{self as y, content, get, items, pairs};
use crate::syntax::yaml_view::{Leaf, TreeView, View};
use tree_sitter::Node;

/// A YAML scalar (plain, quoted or block) as a token.
pub fn token(node: Node, src: &str) -> Option<Token> {
    token_in(TreeView::new(src), node)
}

/// [`token`] through either reader of the document (`syntax::yaml_view`).
pub fn token_in<'s, V: View<'s>>(v: V, node: V::Node) -> Option<Token> {
    leaf_token(v.src(), v.leaf(node)?)
}

/// The token of a scalar of `src`.
fn leaf_token(src: &str, leaf: Leaf) -> Option<Token> {
    let (value, quote, span) = match leaf {
        Leaf::Block { span } => {
            let t = src.get(span.start..span.end)?;
            let nl = t.find('\n')?;
            let body = &t[nl + 1..];
            return Some(Token {
                text: body.to_string(),
                span,
                raw: Some(span.start + nl + 1),
                dynamic: body.contains('$'),
            });
        }
        Leaf::Scalar { value, quote, span } => (value, quote, span),
    };
    let raw = match quote {
        None => Some(span.start),
        Some('"') if !value.contains('\\') => Some(span.start + 1),
        Some('\'') if !value.contains("''") => Some(span.start + 1),
        _ => None,
    };
    let text = match quote {
        Some('\'') => value.replace("''", "'"),
        Some('"') if value.contains('\\') => unescape(value),
        _ => value.to_string(),
    };
    Some(Token {
        dynamic: text.contains('$'),
        text,
        span,
        raw,
    })
}

fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c == '\\' {
            match it.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some(o) => out.push(o),
                None => {}
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Launch facts of one YAML document (chunk-relative offsets).
pub fn facts(root: Option<Node>, src: &str) -> LaunchFacts {
    let mut f = LaunchFacts::default();
    let Some(root) = root else {
        return f;
    };
    f.vendor_distro = super::packaging::mentions_vendor_distro(src);
    if let Some(services) = get(root, "services", src) {
        let svcs = pairs(services);
        let looks_like_compose = svcs.iter().any(|p| {
            y::value_of(*p).is_some_and(|v| {
                ["image", "build", "command", "entrypoint", "environment"]
                    .iter()
                    .any(|k| get(v, k, src).is_some())
            })
        });
        if looks_like_compose && get(root, "kind", src).is_none() {
            f.compose = true;
            let file = f.add_scope(None, ScopeKind::File, "");
            for p in svcs {
                let name = y::pair_key(p, src).unwrap_or_default();
                if let Some(v) = y::value_of(p) {
                    compose_service(&mut f, file, &name, v, src);
                }
            }
        }
        return f;
    }
    if ci(&mut f, root, src) {
        return f;
    }
    k8s_in(&mut f, TreeView::new(src), root);
    f
}

/// CI steps as build-step launchers: GitHub Actions `jobs.<id>.steps[].run` and GitLab CI
/// `<job>.{before_script,script,after_script}`, each job its own scope. Returns whether the
/// document is a CI file. (CI `env:`/`variables:` are not read: they are not the service's
/// environment.)
fn ci(f: &mut LaunchFacts, root: Node, src: &str) -> bool {
    let origin = |scope: usize| Origin {
        kind: LaunchKind::Ci,
        parent_scope: scope,
        runtime: false,
        workdir: None,
        stage: None,
        exec_form: false,
        stmt: None,
    };
    let run = |f: &mut LaunchFacts, scope: usize, node: Node| {
        let Some(t) = token(node, src) else {
            return;
        };
        if t.dynamic && t.text.contains("${{") && !t.text.contains('\n') {
            // A whole-line GitHub expression: nothing to read.
            return;
        }
        let place = t.raw.map_or(Place::Within(t.span), Place::At);
        let scan = shell::scan(&t.text, place);
        for c in scan.commands {
            push_command(f, &origin(scope), c);
        }
    };
    // GitHub Actions: `jobs:` whose jobs have `steps:` or `runs-on:`.
    if let Some(jobs) = get(root, "jobs", src) {
        let gha: Vec<(String, Node)> = pairs(jobs)
            .into_iter()
            .filter_map(|p| {
                let v = y::value_of(p)?;
                (get(v, "steps", src).is_some() || get(v, "runs-on", src).is_some())
                    .then(|| (y::pair_key(p, src).unwrap_or_default(), v))
            })
            .collect();
        if gha.is_empty() {
            return false;
        }
        let file = f.add_scope(None, ScopeKind::File, "");
        for (name, job) in gha {
            let scope = f.add_scope(Some(file), ScopeKind::Service, &name);
            let Some(steps) = get(job, "steps", src) else {
                continue;
            };
            for step in items(steps) {
                if get(step, "uses", src)
                    .and_then(|u| token(u, src))
                    .is_some_and(|u| u.text.contains("astral-sh/setup-uv"))
                {
                    f.uv_setup.push(scope);
                }
                let shell_ok = get(step, "shell", src)
                    .and_then(|s| token(s, src))
                    .is_none_or(|s| {
                        let s = s.text.trim();
                        s.starts_with("bash") || s.starts_with("sh") || s.is_empty()
                    });
                if let Some(r) = get(step, "run", src).filter(|_| shell_ok) {
                    run(f, scope, r);
                }
            }
        }
        return true;
    }
    // GitLab CI: top-level jobs with a `script:`.
    let jobs: Vec<(String, Node)> = pairs(root)
        .into_iter()
        .filter_map(|p| {
            let v = y::value_of(p)?;
            let script = get(v, "script", src)?;
            let k = content(script).kind();
            (k.ends_with("sequence") || k.ends_with("scalar"))
                .then(|| (y::pair_key(p, src).unwrap_or_default(), v))
        })
        .collect();
    if jobs.is_empty() {
        return false;
    }
    let file = f.add_scope(None, ScopeKind::File, "");
    for (name, job) in jobs {
        // One shell session per job: the script lines share a scope.
        let scope = f.add_scope(Some(file), ScopeKind::Service, &name);
        for key in ["before_script", "script", "after_script"] {
            let Some(v) = get(job, key, src) else {
                continue;
            };
            let list = items(v);
            if list.is_empty() {
                run(f, scope, v);
            } else {
                for it in list {
                    run(f, scope, it);
                }
            }
        }
    }
    true
}

/// A compose `build:` value: the Dockerfile path (context joined with `dockerfile`) and the
/// `target` stage. `None` for remote contexts and inline Dockerfiles.
fn build_ref(b: Node, src: &str) -> Option<(String, Option<String>)> {
    let (context, dockerfile, target) = match token(b, src) {
        Some(t) if !matches!(content(b).kind(), "block_mapping" | "flow_mapping") => {
            (t.text, "Dockerfile".to_string(), None)
        }
        _ => {
            if get(b, "dockerfile_inline", src).is_some() {
                return None;
            }
            let field = |k: &str| get(b, k, src).and_then(|v| token(v, src)).map(|t| t.text);
            (
                field("context").unwrap_or_else(|| ".".into()),
                field("dockerfile").unwrap_or_else(|| "Dockerfile".into()),
                field("target").map(|t| t.to_ascii_lowercase()),
            )
        }
    };
    let remote = |s: &str| s.contains("://") || s.starts_with("git@") || s.contains('$');
    if remote(&context) || remote(&dockerfile) || dockerfile.starts_with('/') {
        return None;
    }
    let path = std::path::Path::new(context.trim()).join(dockerfile.trim());
    Some((path.to_string_lossy().into_owned(), target))
}

/// compose `env_file:` entries (a string, a list of strings, or a list of `{path, required}`
/// maps), with the span of each entry.
fn env_file_refs(v: Node, src: &str) -> Vec<(String, Span)> {
    let list = items(v);
    let nodes =
        if list.is_empty() && !matches!(content(v).kind(), "block_sequence" | "flow_sequence") {
            vec![v]
        } else {
            list
        };
    nodes
        .into_iter()
        .filter_map(|n| {
            let t = match content(n).kind() {
                "block_mapping" | "flow_mapping" => get(n, "path", src).and_then(|p| token(p, src)),
                _ => token(n, src),
            }?;
            (!t.dynamic && !t.text.trim().is_empty()).then(|| {
                (
                    t.text.trim().to_string(),
                    Span::new(n.start_byte(), n.end_byte()),
                )
            })
        })
        .collect()
}

fn compose_service(f: &mut LaunchFacts, file: usize, name: &str, svc: Node, src: &str) {
    // Settings of other files, lowest precedence first: the image's ENV, then each env_file.
    let mut parent = file;
    let mut imports: Vec<(Source, Span, usize)> = Vec::new();
    if let Some(b) = get(svc, "build", src) {
        if let Some((dockerfile, target)) = build_ref(b, src) {
            let s = f.add_scope(Some(parent), ScopeKind::Imported, &dockerfile);
            let key = b.parent().unwrap_or(b);
            imports.push((
                Source::Image { dockerfile, target },
                Span::new(key.start_byte(), key.end_byte()),
                s,
            ));
            parent = s;
        }
    }
    if let Some(ef) = get(svc, "env_file", src) {
        for (path, span) in env_file_refs(ef, src) {
            let s = f.add_scope(Some(parent), ScopeKind::Imported, &path);
            imports.push((Source::EnvFile(path), span, s));
            parent = s;
        }
    }
    let scope = f.add_scope(Some(parent), ScopeKind::Service, name);
    if let Some(env) = get(svc, "environment", src) {
        let m = content(env);
        if matches!(y::kind(m), "block_mapping" | "flow_mapping") {
            for p in pairs(m) {
                let Some(k) = y::key_of(p).and_then(|k| token(k, src)) else {
                    continue;
                };
                let value = y::value_of(p).and_then(|v| token(v, src));
                f.env.push(EnvVar {
                    name: k.text.clone(),
                    name_span: k.span,
                    value,
                    span: Span::new(p.start_byte(), p.end_byte()),
                    scope,
                    origin: EnvOrigin::Scope,
                });
            }
        } else {
            for it in items(m) {
                list_env(f, scope, it, src);
            }
        }
    }
    let workdir = get(svc, "working_dir", src)
        .and_then(|w| token(w, src))
        .map(|t| t.text);
    let origin = Origin {
        kind: LaunchKind::Compose,
        parent_scope: scope,
        runtime: true,
        workdir: workdir.clone(),
        stage: None,
        exec_form: true,
        stmt: None,
    };
    let ep = get(svc, "entrypoint", src);
    let cmd = get(svc, "command", src);
    let mut words: Vec<Token> = Vec::new();
    let mut span: Option<Span> = None;
    let mut single = true;
    for part in [ep, cmd].into_iter().flatten() {
        let sp = Span::new(part.start_byte(), part.end_byte());
        span.get_or_insert(sp);
        let list = items(part);
        if !list.is_empty() || matches!(content(part).kind(), "block_sequence" | "flow_sequence") {
            words.extend(list.into_iter().filter_map(|i| token(i, src)));
        } else if let Some(t) = token(part, src) {
            // A string command: compose splits it like a shell would.
            let place = t.raw.map_or(Place::Within(t.span), Place::At);
            let scan = shell::scan(&t.text, place);
            let exec = Origin {
                exec_form: false,
                ..origin.clone()
            };
            if scan.commands.len() != 1 {
                single = false;
                for c in scan.commands {
                    push_command(f, &exec, c);
                }
                continue;
            }
            if let Some(c) = scan.commands.into_iter().next() {
                words.extend(c.words);
            }
        }
    }
    let command = (ep.is_none() && cmd.is_some() && single && !words.is_empty())
        .then(|| (words.clone(), span.unwrap_or_default()));
    for (source, span, s) in imports {
        f.imports.push(Import {
            source,
            scope: s,
            owner: scope,
            span,
            namespace: None,
            entrypoint_set: ep.is_some(),
            command_set: cmd.is_some(),
            command: command.clone(),
            workdir: workdir.clone(),
        });
    }
    if !words.is_empty() {
        let sp = span.unwrap_or_default();
        push_command(
            f,
            &origin,
            RawCommand {
                assigns: vec![],
                words,
                span: sp,
            },
        );
    }
}

/// `- KEY=value` (compose) list item.
fn list_env(f: &mut LaunchFacts, scope: usize, item: Node, src: &str) {
    let Some(t) = token(item, src) else {
        return;
    };
    let (name, value) = match t.text.find('=') {
        Some(eq) => (
            Token {
                text: t.text[..eq].to_string(),
                span: t.sub_span(0, eq).unwrap_or(t.span),
                raw: t.raw,
                dynamic: false,
            },
            Some(t.suffix(eq + 1)),
        ),
        None => (t.clone(), None),
    };
    f.env.push(EnvVar {
        name: name.text.clone(),
        name_span: name.span,
        value,
        span: t.span,
        scope,
        origin: EnvOrigin::Scope,
    });
}

/// `registry.example.com/team/orders:1.2@sha256:…` → `orders`.
pub fn image_base(image: &str) -> Option<String> {
    let no_digest = image.split('@').next()?;
    let last = no_digest.rsplit('/').next()?;
    let name = last.split(':').next()?.trim();
    (!name.is_empty() && !name.contains("{{") && !name.contains('$')).then(|| name.to_string())
}

/// Paths to the pod spec of a workload kind (§0.4).
fn pod_spec_path(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "Pod" => &["spec"],
        "Deployment"
        | "StatefulSet"
        | "DaemonSet"
        | "ReplicaSet"
        | "ReplicationController"
        | "Job"
        | "DeploymentConfig"
        | "Rollout"
        | "Service" => &["spec", "template", "spec"],
        "CronJob" => &["spec", "jobTemplate", "spec", "template", "spec"],
        "PodTemplate" => &["template", "spec"],
        _ => return None,
    })
}

/// A ConfigMap's `data:` entries (read by containers through `envFrom:`).
fn config_map<'s, V: View<'s>>(f: &mut LaunchFacts, v: V, root: V::Node) {
    let meta = |k: &str| {
        v.get_path(root, &["metadata", k])
            .and_then(|n| v.scalar(n))
            .filter(|s| !s.is_empty() && !s.contains("{{"))
            .map(str::to_string)
    };
    let Some(name) = meta("name") else {
        return;
    };
    let mut data = Vec::new();
    if let Some(d) = v.get(root, "data") {
        for p in v.pairs(d) {
            let Some(k) = v.key(p).and_then(|k| leaf_token(v.src(), k)) else {
                continue;
            };
            data.push(EnvVar {
                name: k.text.clone(),
                name_span: k.span,
                value: v.value(p).and_then(|n| token_in(v, n)),
                span: v.pair_span(p),
                scope: 0,
                origin: EnvOrigin::Scope,
            });
        }
    }
    f.config_maps.push(ConfigMap {
        name,
        namespace: meta("namespace"),
        data,
    });
}

/// The containers of a workload (or a ConfigMap's data), through either reader of the
/// document (`syntax::yaml_view`).
fn k8s_in<'s, V: View<'s>>(f: &mut LaunchFacts, v: V, root: V::Node) {
    let Some(kind) = v.get(root, "kind").and_then(|k| v.scalar(k)) else {
        return;
    };
    if kind == "ConfigMap" {
        config_map(f, v, root);
        return;
    }
    let Some(path) = pod_spec_path(kind) else {
        return;
    };
    let namespace = v
        .get_path(root, &["metadata", "namespace"])
        .and_then(|n| v.scalar(n))
        .filter(|s| !s.is_empty() && !s.contains("{{"))
        .map(str::to_string);
    let Some(spec) = v.get_path(root, path) else {
        return;
    };
    let meta_path: Vec<&str> = path[..path.len() - 1]
        .iter()
        .copied()
        .chain(["metadata"])
        .collect();
    let injected = v
        .get_path(root, &meta_path)
        .and_then(|m| v.get(m, "annotations"))
        .and_then(|a| v.get(a, "instrumentation.opentelemetry.io/inject-python"))
        .and_then(|n| v.scalar(n))
        .is_some_and(|s| !s.trim().eq_ignore_ascii_case("false") && !s.trim().is_empty());
    let file = f.add_scope(None, ScopeKind::File, "");
    f.scopes[file].operator_injected = injected;
    let token = |n: V::Node| token_in(v, n);
    for (list, init) in [("initContainers", true), ("containers", false)] {
        let Some(cs) = v.get(spec, list) else {
            continue;
        };
        for c in v.items(cs) {
            let name = v
                .get(c, "name")
                .and_then(|n| v.scalar(n))
                .unwrap_or_default()
                .to_string();
            // envFrom ConfigMaps, in order (a later source wins), below the container's env.
            let mut parent = file;
            let mut imports: Vec<(Source, Span, usize)> = Vec::new();
            if let Some(ef) = v.get(c, "envFrom") {
                for it in v.items(ef) {
                    let Some(r) = v.get(it, "configMapRef") else {
                        continue;
                    };
                    let Some(cm) = v
                        .get(r, "name")
                        .and_then(token)
                        .filter(|t| !t.dynamic && !t.text.contains("{{"))
                    else {
                        continue;
                    };
                    let prefix = v
                        .get(it, "prefix")
                        .and_then(token)
                        .map(|t| t.text)
                        .unwrap_or_default();
                    let s = f.add_scope(Some(parent), ScopeKind::Imported, &cm.text);
                    imports.push((
                        Source::ConfigMap {
                            name: cm.text,
                            prefix,
                        },
                        v.span(it),
                        s,
                    ));
                    parent = s;
                }
            }
            let scope = f.add_scope(Some(parent), ScopeKind::Container, &name);
            for (source, span, s) in imports {
                f.imports.push(Import {
                    source,
                    scope: s,
                    owner: scope,
                    span,
                    namespace: namespace.clone(),
                    entrypoint_set: false,
                    command_set: false,
                    command: None,
                    workdir: None,
                });
            }
            if injected {
                if let Some(image) = v.get(c, "image").and_then(|i| v.scalar(i)) {
                    f.injected_images.extend(image_base(image));
                    if v.get(c, "command").is_none() && v.get(c, "args").is_none() {
                        f.injected_as_built.extend(image_base(image));
                    }
                }
            }
            if let Some(env) = v.get(c, "env") {
                for e in v.items(env) {
                    let Some(n) = v.get(e, "name").and_then(token) else {
                        continue;
                    };
                    let value = v.get(e, "value").and_then(token);
                    f.env.push(EnvVar {
                        name: n.text.clone(),
                        name_span: n.span,
                        value,
                        span: v.span(e),
                        scope,
                        origin: EnvOrigin::Scope,
                    });
                }
            }
            let mut words: Vec<Token> = Vec::new();
            let mut span: Option<Span> = None;
            for key in ["command", "args"] {
                if let Some(n) = v.get(c, key) {
                    span.get_or_insert(v.span(n));
                    words.extend(v.items(n).into_iter().filter_map(token));
                }
            }
            if words.is_empty() {
                continue;
            }
            let origin = Origin {
                kind: LaunchKind::Kubernetes,
                parent_scope: scope,
                runtime: !init,
                workdir: v.get(c, "workingDir").and_then(token).map(|t| t.text),
                stage: None,
                exec_form: true,
                stmt: None,
            };
            push_command(
                f,
                &origin,
                RawCommand {
                    assigns: vec![],
                    words,
                    span: span.unwrap_or_default(),
                },
            );
        }
    }
}

/// The kinds of object whose facts [`light_facts`] reads: they create no pods and launch
/// nothing, so a document of one is its identity, and a ConfigMap's also its `data:`.
const LIGHT_KINDS: &[&str] = &[
    "ConfigMap",
    "Service",
    "ServiceAccount",
    "Secret",
    "HorizontalPodAutoscaler",
    "Ingress",
    "IngressClass",
    "PodDisruptionBudget",
    "NetworkPolicy",
    "Role",
    "RoleBinding",
    "ClusterRole",
    "ClusterRoleBinding",
    "PersistentVolumeClaim",
    "PriorityClass",
    "StorageClass",
    "LimitRange",
    "ResourceQuota",
    "ServiceMonitor",
    "PodMonitor",
    "VerticalPodAutoscaler",
];

/// The object and launch facts of a document, read from its lines
/// ([`crate::syntax::yaml_lines`]) without a tree, when the document is a plain one of
/// [`LIGHT_KINDS`]: what `syntax::yaml::k8s_object` and [`facts`] read from its tree (held
/// by `tests/light_facts.rs` over the corpora). `None` for anything else, which is parsed.
pub fn light_facts(src: &str) -> Option<(y::K8sObject, LaunchFacts)> {
    use crate::syntax::yaml_lines::{self as l, Kind};
    let doc = l::read(src)?;
    let root = doc.root();
    // What [`facts`] reads before a Kubernetes object: compose services, CI jobs.
    let has = |n: &l::Node, key: &str| {
        doc.children(n)
            .any(|c| c.key.is_some_and(|k| doc.text(k) == key))
    };
    if has(root, "services") || has(root, "jobs") || doc.children(root).any(|c| has(c, "script")) {
        return None;
    }
    let api_version = doc.scalar(doc.get(root, "apiVersion")?)?;
    let kind = doc.scalar(doc.get(root, "kind")?)?;
    // (A Knative `Service` has a pod template: [`k8s`] reads one wherever it is.)
    if !LIGHT_KINDS.contains(&kind)
        || y::pod_shape(api_version, kind).is_some()
        || y::is_instrumentation(api_version, kind)
        || pod_spec_path(kind).is_some_and(|p| doc.get_path(p).is_some())
    {
        return None;
    }
    let meta = |k: &str| {
        doc.get_path(&["metadata", k])
            .and_then(|v| doc.scalar(v))
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    let object = y::K8sObject {
        api_version: api_version.to_string(),
        kind: kind.to_string(),
        name: meta("name"),
        namespace: meta("namespace"),
        ..Default::default()
    };
    let mut f = LaunchFacts {
        vendor_distro: super::packaging::mentions_vendor_distro(src),
        ..LaunchFacts::default()
    };
    if let (true, Some(name)) = (kind == "ConfigMap", meta("name")) {
        let token = |n: &l::Node| {
            let text = doc.text(n.span);
            let (text, raw) = match n.kind {
                Kind::Plain => (text, n.span.start),
                Kind::Quoted => (&text[1..text.len() - 1], n.span.start + 1),
                Kind::Block => {
                    let nl = text.find('\n')?;
                    (&text[nl + 1..], n.span.start + nl + 1)
                }
                _ => return None,
            };
            Some(Token {
                text: text.to_string(),
                span: n.span,
                raw: Some(raw),
                dynamic: text.contains('$'),
            })
        };
        let mut data = Vec::new();
        if let Some(d) = doc.get(root, "data") {
            for v in doc.children(d) {
                let Some(k) = v.key else { continue };
                // A mapping or list as a value is no ConfigMap's: where such a node ends in
                // the tree is not worth matching.
                if matches!(v.kind, Kind::Map | Kind::Seq) && !v.empty {
                    return None;
                }
                let name = doc.text(k);
                data.push(EnvVar {
                    name: name.to_string(),
                    name_span: k,
                    value: if v.empty { None } else { token(v) },
                    span: Span::new(k.start, v.span.end.max(k.end + 1)),
                    scope: 0,
                    origin: EnvOrigin::Scope,
                });
            }
        }
        f.config_maps.push(ConfigMap {
            name,
            namespace: meta("namespace"),
            data,
        });
    }
    Some((object, f))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yfacts(src: &str) -> LaunchFacts {
        let tree = crate::syntax::parse(crate::language::Language::Yaml, src, None);
        facts(y::document_root(tree.root_node()), src)
    }

    #[test]
    fn compose_services() {
        let src = "services:\n  api:\n    build: .\n    command: opentelemetry-instrument gunicorn -w 4 app:app\n    environment:\n      OTEL_EXPORTER_OTLP_ENDPOINT: http://collector:4317\n  worker:\n    image: x\n    entrypoint: [\"opentelemetry-instrument\"]\n    command: [\"uvicorn\", \"main:app\", \"--reload\"]\n    environment:\n      - OTEL_TRACES_EXPORTER=oltp\n";
        let f = yfacts(src);
        assert!(f.compose);
        let progs: Vec<(String, bool)> = f
            .launchers
            .iter()
            .map(|l| (l.program().unwrap(), l.instrumented()))
            .collect();
        assert_eq!(
            progs,
            [
                ("gunicorn".to_string(), true),
                ("uvicorn".to_string(), true)
            ]
        );
        let w = &f.launchers[0].argv[2];
        assert_eq!(&src[w.span.start..w.span.end], "4");
        let e = f
            .lookup(f.launchers[1].scope, "OTEL_TRACES_EXPORTER")
            .unwrap();
        let v = e.value.as_ref().unwrap().value_span().unwrap();
        assert_eq!(&src[v.start..v.end], "oltp");
    }

    #[test]
    fn imports_config_maps_and_ci_steps() {
        let src = "services:\n  api:\n    build:\n      context: ./api\n      dockerfile: Dockerfile.prod\n      target: Prod\n    env_file:\n      - a.env\n      - path: b.env\n        required: false\n      - ${X}.env\n    command: [\"gunicorn\", \"app:app\"]\n";
        let f = yfacts(src);
        let sources: Vec<&Source> = f.imports.iter().map(|i| &i.source).collect();
        assert_eq!(
            sources,
            [
                &Source::Image {
                    dockerfile: "./api/Dockerfile.prod".into(),
                    target: Some("prod".into())
                },
                &Source::EnvFile("a.env".into()),
                &Source::EnvFile("b.env".into()),
            ]
        );
        // image < a.env < b.env < service
        let owner = f.imports[0].owner;
        assert!(
            f.within(owner, f.imports[2].scope) && f.within(f.imports[2].scope, f.imports[1].scope)
        );
        assert!(f.within(f.imports[1].scope, f.imports[0].scope));
        assert!(f.imports[0].command.is_some() && !f.imports[0].entrypoint_set);

        let cm = yfacts("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  namespace: n\ndata:\n  A: \"1\"\n  B: x\n");
        assert_eq!(cm.config_maps[0].name, "c");
        assert_eq!(cm.config_maps[0].namespace.as_deref(), Some("n"));
        assert!(
            cm.env.is_empty(),
            "ConfigMap data is no environment of its own"
        );

        let gha = yfacts("on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - uses: astral-sh/setup-uv@v5\n      - run: |\n          uv sync\n          opentelemetry-bootstrap -a install\n");
        let progs: Vec<String> = gha.launchers.iter().filter_map(|l| l.program()).collect();
        assert_eq!(progs, ["uv", "opentelemetry-bootstrap"]);
        assert!(gha
            .launchers
            .iter()
            .all(|l| !l.runtime && l.kind == LaunchKind::Ci));
        assert_eq!(gha.uv_setup.len(), 1);
        let gl = yfacts("build:\n  script:\n    - uv sync\n    - opentelemetry-bootstrap -a install\nvariables:\n  A: b\n");
        assert_eq!(gl.launchers.len(), 2);
    }

    #[test]
    fn k8s_containers() {
        let src = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: w\nspec:\n  template:\n    metadata:\n      annotations:\n        instrumentation.opentelemetry.io/inject-python: \"true\"\n    spec:\n      containers:\n        - name: app\n          command: [\"gunicorn\"]\n          args: [\"-w\", \"4\", \"app:app\"]\n          env:\n            - name: OTEL_EXPORTER_OTLP_ENDPOINT\n              value: http://c:4317\n            - name: X\n              valueFrom: {secretKeyRef: {name: a, key: b}}\n";
        let f = yfacts(src);
        assert_eq!(f.launchers.len(), 1);
        assert_eq!(f.launchers[0].program().as_deref(), Some("gunicorn"));
        assert!(f.operator_injected(f.launchers[0].scope));
        assert_eq!(f.env.len(), 2);
        assert!(f.env[1].value.is_none());
    }
}

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

/// The object and launch facts of a document, read from its lines
/// ([`crate::syntax::yaml_lines`]) without a tree: what `syntax::yaml::k8s_object` and
/// [`facts`] read from its tree, through the same code (`syntax::yaml::object_in`,
/// [`k8s_in`]) over the line reader's nodes — held equal by `tests/light_facts.rs` over the
/// corpora and by the fuzz target `light_yaml`. `None` when the reader does not read the
/// document, when it is no Kubernetes object, and for what [`facts`] reads otherwise or
/// the chunk reads beside its facts: compose `services:`, CI jobs, kustomizations.
pub fn light_facts(src: &str) -> Option<(y::K8sObject, LaunchFacts)> {
    use crate::syntax::yaml_lines::{self as l, LineView};
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
    let view = LineView::new(&doc);
    let object = y::object_in(view, root)?;
    // The chunk reads a kustomization from its tree (`syntax::kustomize::read`).
    if matches!(object.kind.as_str(), "Kustomization" | "Component") {
        return None;
    }
    let mut f = LaunchFacts {
        vendor_distro: super::packaging::mentions_vendor_distro(src),
        ..LaunchFacts::default()
    };
    k8s_in(&mut f, view, root);
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

    /// The facts [`light_facts`] reads from the lines of `src`, asserted to be its tree's.
    fn from_lines(src: &str) -> (y::K8sObject, LaunchFacts) {
        let (object, launch) = light_facts(src).expect("read from its lines");
        let tree = crate::syntax::parse(crate::language::Language::Yaml, src, None);
        assert!(!tree.root_node().has_error());
        let root = y::document_root(tree.root_node());
        assert_eq!(
            root.and_then(|r| y::k8s_object(r, src)).as_ref(),
            Some(&object)
        );
        assert_eq!(facts(root, src), launch);
        (object, launch)
    }

    fn text(src: &str, s: Span) -> &str {
        &src[s.start..s.end]
    }

    #[test]
    fn a_deployment_is_read_from_its_lines() {
        let src = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  template:\n    metadata:\n      annotations:\n        instrumentation.opentelemetry.io/inject-python: \"false\"\n    spec:\n      containers:\n      - name: web\n        image: registry.example/web:1.2\n        command: [\"gunicorn\"]\n        args: [app.main:app, \"--bind\", 0.0.0.0:8000, -w, \"4\"]\n        workingDir: /srv\n        env:\n        - name: OTEL_PYTHON_DISABLED_INSTRUMENTATIONS\n          value: celery,psycopg2\n        - name: POD\n          valueFrom:\n            fieldRef:\n              fieldPath: metadata.name\n        # the last one\n        resources: {}\n";
        let (o, f) = from_lines(src);
        assert_eq!(
            (o.kind.as_str(), o.name.as_deref()),
            ("Deployment", Some("web"))
        );
        assert_eq!(o.pod_annotations.len(), 1);
        assert_eq!(f.launchers.len(), 1);
        let l = &f.launchers[0];
        assert_eq!(l.program().as_deref(), Some("gunicorn"));
        let argv: Vec<&str> = l.argv.iter().map(|t| t.text.as_str()).collect();
        assert_eq!(
            argv,
            [
                "gunicorn",
                "app.main:app",
                "--bind",
                "0.0.0.0:8000",
                "-w",
                "4"
            ]
        );
        assert_eq!(text(src, l.argv[2].span), "\"--bind\"");
        assert!(!f.operator_injected(l.scope));
        assert_eq!(f.env.len(), 2);
        let v = f.env[0].value.as_ref().unwrap();
        assert_eq!(text(src, v.span), "celery,psycopg2");
        assert!(f.env[1].value.is_none());
        // As in the tree, the item runs over the comment before the key that closes it.
        assert!(text(src, f.env[1].span).ends_with("metadata.name\n        # the last one"));
    }

    #[test]
    fn a_cron_job_is_read_from_its_lines() {
        let src = "apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: nightly\nspec:\n  schedule: \"0 2 * * *\"\n  jobTemplate:\n    spec:\n      template:\n        metadata:\n          annotations:\n            sidecar.opentelemetry.io/inject: \"true\"\n        spec:\n          initContainers:\n          - name: migrate\n            image: app:1\n            command:\n            - python\n            - -m\n            - app.migrate\n          containers:\n          - name: job\n            image: app:1\n            args:\n            - opentelemetry-instrument python -m app.nightly\n          restartPolicy: Never\n";
        let (o, f) = from_lines(src);
        assert!(o.sidecar);
        assert!(o.pod_annotations.is_empty());
        let runs: Vec<(Option<String>, bool)> = f
            .launchers
            .iter()
            .map(|l| (l.program(), l.runtime))
            .collect();
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[0], (Some("python".into()), false));
        assert!(runs[1].1);
    }

    #[test]
    fn two_containers_with_env_from_a_prefixed_config_map() {
        let src = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: n\nspec:\n  containers:\n  - name: app\n    envFrom:\n    - configMapRef:\n        name: app-env\n      prefix: APP_\n    - secretRef:\n        name: s\n    env:\n    - name: A\n      value: '1'\n  - name: proxy\n    image: envoy:1\n    args: [\"--log-level\", info]\n";
        let (_, f) = from_lines(src);
        assert_eq!(f.imports.len(), 1);
        let i = &f.imports[0];
        assert_eq!(
            i.source,
            Source::ConfigMap {
                name: "app-env".into(),
                prefix: "APP_".into()
            }
        );
        assert_eq!(i.namespace.as_deref(), Some("n"));
        assert_eq!(
            text(src, i.span),
            "configMapRef:\n        name: app-env\n      prefix: APP_"
        );
        let containers: Vec<&str> = f
            .scopes
            .iter()
            .filter(|s| s.kind == ScopeKind::Container)
            .map(|s| s.label.as_str())
            .collect();
        assert_eq!(containers, ["app", "proxy"]);
        assert!(f.within(i.owner, i.scope));
        assert_eq!(f.launchers.len(), 1);
    }

    #[test]
    fn an_injected_pod_and_its_instrumentation() {
        let src = "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: s\nspec:\n  template:\n    metadata:\n      annotations:\n        instrumentation.opentelemetry.io/inject-python: \"true\"\n        instrumentation.opentelemetry.io/container-names: app\n    spec:\n      containers:\n      - name: sidecar\n        image: envoy:1\n      - name: app\n        image: registry.example/team/orders:1.2\n        env:\n        - name: OTEL_EXPORTER_OTLP_ENDPOINT\n          value: http://c:4318\n";
        let (o, f) = from_lines(src);
        assert!(o.own_endpoint);
        assert_eq!(
            o.pod_annotation("instrumentation.opentelemetry.io/container-names"),
            Some("app")
        );
        assert_eq!(f.injected_images, ["envoy", "orders"]);
        assert_eq!(f.injected_as_built, ["envoy", "orders"]);
        assert!(f.scopes[0].operator_injected);

        let src = "apiVersion: opentelemetry.io/v1alpha1\nkind: Instrumentation\nmetadata:\n  name: i\nspec:\n  exporter:\n    endpoint: http://c:4318\n  env:\n  - name: OTEL_TRACES_SAMPLER\n    value: parentbased_always_on\n  java:\n    env:\n    - name: OTEL_EXPORTER_OTLP_ENDPOINT\n      value: http://c:4317\n  python: {}\n";
        let (o, _) = from_lines(src);
        let spec = o.instrumentation.unwrap();
        assert_eq!(spec.languages, ["java", "python"]);
        assert_eq!(spec.language_endpoints, ["java"]);
        assert!(!spec.unsure && !spec.conditional);
    }

    #[test]
    fn documents_the_lines_do_not_tell_are_parsed() {
        for src in [
            // A comment after a value, an escape, a multi-line flow sequence, a template.
            "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: a # main\n",
            "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: a\n    args: [\"a\\tb\"]\n",
            "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: a\n    args: [a,\n      b]\n",
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {{ .Release.Name }}\n",
            // What the chunk reads from its tree beside the facts, or [`facts`] otherwise.
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- a.yaml\n",
            "services:\n  api:\n    image: x\n",
            "podAnnotations:\n  instrumentation.opentelemetry.io/inject-python: \"true\"\n",
            "apiVersion: v1\nkind: ConfigMap\njobs:\n  a:\n    runs-on: x\n",
        ] {
            assert!(light_facts(src).is_none(), "{src}");
        }
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

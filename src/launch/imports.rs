//! Settings and launchers that cross files (rules.md §0.3, env scopes): a compose service's
//! `env_file:` entries and `build:` image, a Kubernetes container's `envFrom:` ConfigMaps.
//!
//! Each reference is an [`Import`] with a scope of its own, placed in the scope chain so that
//! a lookup follows the runtime's precedence (the innermost setting wins):
//!
//! ```text
//! compose:     file → image ENV → env_file 1 → env_file 2 … → service environment: → command
//! Kubernetes:  file → envFrom 1 → envFrom 2 …                → container env:      → command
//! ```
//!
//! [`effective`] fills those scopes from the workspace (*forward*: the values of a `.env` file
//! count for the service that reads it; the image's `ENTRYPOINT`/`CMD` run under a compose
//! service that sets no `command:`, and its exec-form `ENTRYPOINT` prefixes one that does),
//! and, for a `.env` file or a ConfigMap, lays its own settings out in the context of every
//! service or container that reads them (*reverse*), so that a value is judged where it is
//! written, in the environment it runs in. What comes from another file is
//! [`EnvOrigin::Imported`] / [`LaunchKind::Imported`] with empty spans: it counts in lookups
//! and is reported in its own file only.

use super::normalize::{push_command, Origin};
use super::shell::RawCommand;
use super::{EnvOrigin, EnvVar, LaunchFacts, LaunchKind, Launcher, Scope, ScopeKind, Token};
use crate::diagnostic::Span;
use crate::workspace::{clean, Workspace};
use std::borrow::Cow;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// What an import reads.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Source {
    /// A compose `env_file:` entry: a `.env` file, relative to the compose file's folder.
    EnvFile(String),
    /// A Kubernetes `envFrom: - configMapRef: {name: …}` entry, with its `prefix`.
    ConfigMap {
        /// The ConfigMap's name.
        name: String,
        /// Prepended to every key.
        prefix: String,
    },
    /// A compose `build:`: the Dockerfile (relative to the compose file's folder) and the
    /// `target:` stage (lower-case), if any.
    Image {
        /// `context` joined with `dockerfile` (default `Dockerfile`).
        dockerfile: String,
        /// The build stage, when `target:` names one.
        target: Option<String>,
    },
}

/// A reference from a compose service or Kubernetes container to another file.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Import {
    /// What it reads.
    pub source: Source,
    /// The [`ScopeKind::Imported`] scope that receives the settings.
    pub scope: usize,
    /// The importing service or container scope.
    pub owner: usize,
    /// The reference in this file (the `env_file:` entry, the `configMapRef`, `build:`).
    pub span: Span,
    /// The pod's namespace, for ConfigMaps (`metadata.namespace` of the workload).
    pub namespace: Option<String>,
    /// compose: the service sets `entrypoint:` (the image's ENTRYPOINT and CMD are ignored).
    pub entrypoint_set: bool,
    /// compose: the service sets `command:` (the image's CMD is ignored).
    pub command_set: bool,
    /// compose: the words of a single `command:` (before normalisation) and their span,
    /// which the image's exec-form `ENTRYPOINT` runs.
    pub command: Option<(Vec<Token>, Span)>,
    /// compose: the service's `working_dir`.
    pub workdir: Option<String>,
}

impl Import {
    pub(crate) fn shift(&mut self, by: usize, scopes: usize) {
        self.scope += scopes;
        self.owner += scopes;
        self.span = self.span.shift(by);
        if let Some((words, span)) = &mut self.command {
            for w in words {
                w.shift(by);
            }
            *span = span.shift(by);
        }
    }
}

/// A ConfigMap of a YAML document: its `data:` entries as settings (the key is the name).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ConfigMap {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace`, when given.
    pub namespace: Option<String>,
    /// The entries; their `scope` is meaningless until a container reads them.
    pub data: Vec<EnvVar>,
}

/// A Dockerfile `ENTRYPOINT` as an image exposes it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Entry {
    /// None (the base image's, unknown).
    None,
    /// Exec form: the words; `CMD` (or compose `command:`) is appended.
    Exec(Vec<Token>),
    /// Shell form: `CMD` is ignored.
    Shell,
}

/// A build stage as an image other files can run.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Image {
    /// Stage index.
    pub stage: usize,
    /// `FROM … AS name`, lower-case.
    pub name: Option<String>,
    /// The stage's scope (its `ENV`, and its parent stages' through the chain).
    pub scope: usize,
    /// The effective `ENTRYPOINT` (inherited from a parent stage).
    pub entrypoint: Entry,
    /// The stage whose runtime launchers are this image's `ENTRYPOINT`/`CMD` (itself, or the
    /// stage it inherits them from); `None` when they come from the base image.
    pub launch_stage: Option<usize>,
}

impl Image {
    pub(crate) fn shift(&mut self, by: usize, scopes: usize) {
        self.scope += scopes;
        if let Entry::Exec(words) = &mut self.entrypoint {
            for w in words {
                w.shift(by);
            }
        }
    }
}

/// Whether an exec-form entrypoint is a wrapper script (`docker-entrypoint.sh`), which
/// usually ends in `exec "$@"`: the command then runs as its own launcher.
pub fn is_script(words: &[Token]) -> bool {
    words.first().is_some_and(|t| t.text.ends_with(".sh"))
}

fn detach_token(t: &Token, at: usize) -> Token {
    Token {
        text: t.text.clone(),
        span: Span::empty(at),
        raw: None,
        dynamic: t.dynamic,
    }
}

fn detach_var(v: &EnvVar, at: usize) -> EnvVar {
    EnvVar {
        name: v.name.clone(),
        name_span: Span::empty(at),
        value: v.value.as_ref().map(|t| detach_token(t, at)),
        span: Span::empty(at),
        scope: v.scope,
        origin: EnvOrigin::Imported,
    }
}

fn detach_launcher(l: &Launcher, at: usize) -> Launcher {
    Launcher {
        kind: LaunchKind::Imported,
        span: Span::empty(at),
        argv: l.argv.iter().map(|t| detach_token(t, at)).collect(),
        scope: l.scope,
        instrument: l.instrument.map(|_| Span::empty(at)),
        instrument_prefix: None,
        uv_run: l.uv_run,
        workdir: l.workdir.clone(),
        context_root: l.context_root.clone(),
        stage: l.stage,
        runtime: l.runtime,
        stmt: Span::empty(at),
        vendor_distro: l.vendor_distro,
    }
}

/// The facts as other files see them: every span empty (at 0), so the stored summary does
/// not change when only positions do. Python facts (gunicorn) are not carried.
pub fn detached(f: &LaunchFacts) -> LaunchFacts {
    let mut out = LaunchFacts {
        scopes: f.scopes.clone(),
        env: f
            .env
            .iter()
            .map(|v| EnvVar {
                origin: v.origin,
                ..detach_var(v, 0)
            })
            .collect(),
        launchers: f
            .launchers
            .iter()
            .map(|l| Launcher {
                kind: l.kind,
                vendor_distro: l.vendor_distro || f.vendor_distro,
                ..detach_launcher(l, 0)
            })
            .collect(),
        stages: f.stages.iter().map(|(i, _)| (*i, Span::empty(0))).collect(),
        compose: f.compose,
        injected_images: f.injected_images.clone(),
        injected_as_built: f.injected_as_built.clone(),
        dotenv: f.dotenv,
        vendor_distro: f.vendor_distro,
        uv_setup: f.uv_setup.clone(),
        ..LaunchFacts::default()
    };
    out.imports = f
        .imports
        .iter()
        .map(|i| Import {
            span: Span::empty(0),
            command: i.command.as_ref().map(|(w, _)| {
                (
                    w.iter().map(|t| detach_token(t, 0)).collect(),
                    Span::empty(0),
                )
            }),
            ..i.clone()
        })
        .collect();
    out.config_maps = f
        .config_maps
        .iter()
        .map(|c| ConfigMap {
            data: c.data.iter().map(|v| detach_var(v, 0)).collect(),
            ..c.clone()
        })
        .collect();
    out.images = f
        .images
        .iter()
        .map(|i| Image {
            entrypoint: match &i.entrypoint {
                Entry::Exec(w) => Entry::Exec(w.iter().map(|t| detach_token(t, 0)).collect()),
                e => e.clone(),
            },
            ..i.clone()
        })
        .collect();
    out
}

/// Whether a file's facts are worth keeping in the workspace for other files: it imports,
/// or it is something others import (a `.env` file, ConfigMaps, a Dockerfile's images).
pub fn shared(f: &LaunchFacts) -> bool {
    f.dotenv || !f.imports.is_empty() || !f.config_maps.is_empty() || !f.images.is_empty()
}

fn folder(p: &Path) -> PathBuf {
    p.parent().map(Path::to_path_buf).unwrap_or_default()
}

/// The file an env file or Dockerfile reference names, relative to the referring file.
pub fn resolve_path(from: &Path, rel: &str) -> PathBuf {
    clean(&folder(from).join(rel))
}

fn same_namespace(a: Option<&str>, b: Option<&str>) -> bool {
    a == b
}

/// The ConfigMap a container in namespace `ns` reads by `name`: the only one of the
/// workspace with that name in the same namespace (both unset counts as the same).
pub fn resolve_config_map<'w>(
    ws: &'w Workspace,
    name: &str,
    ns: Option<&str>,
) -> Option<(&'w Path, &'w ConfigMap)> {
    let found = ws.config_maps_named(name, ns);
    debug_assert!(found
        .iter()
        .all(|(_, c)| same_namespace(c.namespace.as_deref(), ns)));
    match found.as_slice() {
        [one] => Some(*one),
        _ => None,
    }
}

/// The image a Dockerfile builds: the `target` stage, else the last one.
pub fn pick_image<'f>(df: &'f LaunchFacts, target: Option<&str>) -> Option<&'f Image> {
    match target {
        Some(t) => df.images.iter().find(|i| i.name.as_deref() == Some(t)),
        None => df.images.last(),
    }
}

/// The settings visible from a stage scope through its `FROM <stage>` chain, once per name.
fn stage_env(df: &LaunchFacts, scope: usize) -> Vec<&EnvVar> {
    let mut names: Vec<&str> = Vec::new();
    for v in &df.env {
        if df.within(scope, v.scope)
            && df
                .scopes
                .get(v.scope)
                .is_some_and(|s| s.kind == ScopeKind::Stage)
            && !names.contains(&v.name.as_str())
        {
            names.push(&v.name);
        }
    }
    names
        .into_iter()
        .filter_map(|n| df.lookup(scope, n))
        .collect()
}

/// The facts of a file with what other files of the workspace contribute (see the module
/// docs); borrowed unchanged when nothing crosses files.
pub fn effective<'a>(
    own: &'a LaunchFacts,
    path: Option<&Path>,
    ws: &Workspace,
) -> Cow<'a, LaunchFacts> {
    let Some(path) = path else {
        return Cow::Borrowed(own);
    };
    let read_by_others = own.dotenv || !own.config_maps.is_empty();
    if own.imports.is_empty() && !read_by_others {
        return Cow::Borrowed(own);
    }
    let mut f = own.clone();
    forward(&mut f, path, ws, None);
    if read_by_others {
        reverse(&mut f, own, path, ws);
    }
    if f == *own {
        return Cow::Borrowed(own);
    }
    Cow::Owned(f)
}

fn push_imported(f: &mut LaunchFacts, scope: usize, v: &EnvVar, name: String, at: usize) {
    f.env.push(EnvVar {
        name,
        scope,
        ..detach_var(v, at)
    });
}

/// Fills the import scopes of `f` (a file at `here`) from the workspace; references to
/// `skip` are left to the caller.
fn forward(f: &mut LaunchFacts, here: &Path, ws: &Workspace, skip: Option<&Path>) {
    let skip = skip.map(clean);
    let imports = f.imports.clone();
    for imp in &imports {
        let at = imp.span.start;
        match &imp.source {
            Source::EnvFile(rel) => {
                let target = resolve_path(here, rel);
                if skip.as_ref() == Some(&target) {
                    continue;
                }
                let Some(src) = ws.launch_facts(&target).filter(|s| s.dotenv) else {
                    continue;
                };
                for v in src.env.iter().filter(|v| v.origin != EnvOrigin::Imported) {
                    push_imported(f, imp.scope, v, v.name.clone(), at);
                }
            }
            Source::ConfigMap { name, prefix } => {
                let Some((p, cm)) = resolve_config_map(ws, name, imp.namespace.as_deref()) else {
                    continue;
                };
                if skip.as_deref() == Some(&clean(p)) {
                    continue;
                }
                let injected = f.operator_injected(imp.scope);
                for v in &cm.data {
                    let n = format!("{prefix}{}", v.name);
                    // The Operator's own OTEL_* settings go into `env:`, which wins.
                    if injected && n.starts_with("OTEL_") {
                        continue;
                    }
                    push_imported(f, imp.scope, v, n, at);
                }
            }
            Source::Image { dockerfile, target } => {
                let path = resolve_path(here, dockerfile);
                let Some(df) = ws.launch_facts(&path) else {
                    continue;
                };
                image(f, imp, df, target.as_deref());
            }
        }
    }
}

/// A compose service built from a workspace Dockerfile: the image's `ENV` under the
/// service's settings, and its `ENTRYPOINT`/`CMD` combined with the service's own.
fn image(f: &mut LaunchFacts, imp: &Import, df: &LaunchFacts, target: Option<&str>) {
    let at = imp.span.start;
    let Some(img) = pick_image(df, target) else {
        return;
    };
    for v in stage_env(df, img.scope) {
        push_imported(f, imp.scope, v, v.name.clone(), at);
    }
    if imp.entrypoint_set {
        return;
    }
    let image_launchers = |entry_only: bool| -> Vec<&Launcher> {
        df.launchers
            .iter()
            .filter(|l| {
                l.runtime
                    && l.stage.is_some()
                    && l.stage == img.launch_stage
                    && (!entry_only || l.kind == LaunchKind::Entrypoint)
            })
            .collect()
    };
    if !imp.command_set {
        // The image's ENTRYPOINT/CMD run with the service's environment.
        let ls = image_launchers(false);
        transplant_launchers(f, df, &ls, imp.owner, at);
        return;
    }
    match &img.entrypoint {
        Entry::Exec(ep) if !is_script(ep) => {
            let Some((words, span)) = &imp.command else {
                return;
            };
            remove_service_launchers(f, imp.owner);
            let mut all: Vec<Token> = ep.iter().map(|t| detach_token(t, at)).collect();
            all.extend(words.iter().cloned());
            let (env0, l0) = (f.env.len(), f.launchers.len());
            let origin = Origin {
                kind: LaunchKind::Compose,
                parent_scope: imp.owner,
                runtime: true,
                workdir: imp.workdir.clone(),
                stage: None,
                exec_form: true,
                stmt: None,
            };
            push_command(
                f,
                &origin,
                RawCommand {
                    assigns: vec![],
                    words: all,
                    span: *span,
                },
            );
            for l in &mut f.launchers[l0..] {
                if l.instrument.is_some_and(|s| s.start == s.end) {
                    // The wrapper is the image's: nothing to delete here.
                    l.instrument_prefix = None;
                    l.vendor_distro = df.vendor_distro;
                }
            }
            for v in &mut f.env[env0..] {
                if v.name_span.start == v.name_span.end {
                    v.origin = EnvOrigin::Imported;
                }
            }
        }
        Entry::Shell => {
            // A shell-form ENTRYPOINT ignores the command: only the entrypoint runs.
            remove_service_launchers(f, imp.owner);
            let ls = image_launchers(true);
            transplant_launchers(f, df, &ls, imp.owner, at);
        }
        _ => {}
    }
}

/// Drops the compose launchers of a service (and their command scopes' settings), which
/// the image's entrypoint replaces.
fn remove_service_launchers(f: &mut LaunchFacts, owner: usize) {
    let gone: Vec<usize> = f
        .launchers
        .iter()
        .filter(|l| l.kind == LaunchKind::Compose && f.within(l.scope, owner))
        .map(|l| l.scope)
        .collect();
    if gone.is_empty() {
        return;
    }
    let doomed: Vec<bool> = (0..f.scopes.len())
        .map(|s| gone.iter().any(|g| f.within(s, *g)))
        .collect();
    let in_gone = |s: usize| doomed.get(s).copied().unwrap_or(false);
    f.env.retain(|v| !in_gone(v.scope));
    f.launchers.retain(|l| !in_gone(l.scope));
}

/// Copies launchers of `src` (with their command scopes and settings) under scope `parent`
/// of `f`, as imported context.
fn transplant_launchers(
    f: &mut LaunchFacts,
    src: &LaunchFacts,
    ls: &[&Launcher],
    parent: usize,
    at: usize,
) {
    let mut map: HashMap<usize, usize> = HashMap::new();
    for l in ls {
        // The launcher's own scopes: up to its stage (or any non-command scope).
        let mut chain = Vec::new();
        let mut cur = Some(l.scope);
        while let Some(s) = cur {
            let Some(sc) = src.scopes.get(s) else {
                break;
            };
            if sc.kind != ScopeKind::Command || chain.len() > 16 {
                break;
            }
            chain.push(s);
            cur = sc.parent;
        }
        for &s in chain.iter().rev() {
            if map.contains_key(&s) {
                continue;
            }
            let sc = &src.scopes[s];
            let p = sc
                .parent
                .and_then(|p| map.get(&p).copied())
                .unwrap_or(parent);
            let id = f.add_scope(Some(p), ScopeKind::Command, &sc.label);
            map.insert(s, id);
            for v in src.env.iter().filter(|v| v.scope == s) {
                push_imported(f, id, v, v.name.clone(), at);
            }
        }
        if let Some(&id) = map.get(&l.scope) {
            let mut nl = detach_launcher(l, at);
            nl.scope = id;
            f.launchers.push(nl);
        }
    }
}

/// Copies the scopes of `src` on the chain through `pivot` (its ancestors and everything
/// nested in it), their settings and launchers, into `f` as imported context. Returns the
/// scope map.
fn transplant_chain(f: &mut LaunchFacts, src: &LaunchFacts, pivot: usize) -> HashMap<usize, usize> {
    let mut map: HashMap<usize, usize> = HashMap::new();
    for (s, sc) in src.scopes.iter().enumerate() {
        if !(src.within(s, pivot) || src.within(pivot, s)) {
            continue;
        }
        let parent = sc.parent.and_then(|p| map.get(&p).copied());
        f.scopes.push(Scope {
            parent,
            ..sc.clone()
        });
        map.insert(s, f.scopes.len() - 1);
    }
    for v in &src.env {
        if let Some(&id) = map.get(&v.scope) {
            let mut nv = detach_var(v, 0);
            nv.scope = id;
            f.env.push(nv);
        }
    }
    for l in &src.launchers {
        if let Some(&id) = map.get(&l.scope) {
            let mut nl = detach_launcher(l, 0);
            nl.scope = id;
            f.launchers.push(nl);
        }
    }
    map
}

/// Lays the settings of a `.env` file or of this file's ConfigMaps out in the context of
/// every service or container of the workspace that reads them. When something reads a
/// `.env` file, its standalone reading is dropped: the readers' contexts are the truth.
fn reverse(f: &mut LaunchFacts, own: &LaunchFacts, here: &Path, ws: &Workspace) {
    let me = clean(here);
    let mut read = false;
    for (q, qf) in ws.possible_readers(&me, own.dotenv, &own.config_maps) {
        if qf.imports.is_empty() || clean(q) == me {
            continue;
        }
        // (import scope, the settings of this file it reads, with their names)
        let mut readers: Vec<(usize, Vec<EnvVar>)> = Vec::new();
        for imp in &qf.imports {
            match &imp.source {
                Source::EnvFile(rel) if own.dotenv && resolve_path(q, rel) == me => {
                    let vars = own
                        .env
                        .iter()
                        .filter(|v| v.origin != EnvOrigin::Imported && v.scope == 0)
                        .cloned()
                        .collect();
                    readers.push((imp.scope, vars));
                }
                Source::ConfigMap { name, prefix } => {
                    let Some((p, cm)) = resolve_config_map(ws, name, imp.namespace.as_deref())
                    else {
                        continue;
                    };
                    if clean(p) != me {
                        continue;
                    }
                    let Some(mine) = own
                        .config_maps
                        .iter()
                        .find(|c| c.name == cm.name && c.namespace == cm.namespace)
                    else {
                        continue;
                    };
                    let injected = qf.operator_injected(imp.scope);
                    let vars = mine
                        .data
                        .iter()
                        .map(|v| EnvVar {
                            name: format!("{prefix}{}", v.name),
                            ..v.clone()
                        })
                        .filter(|v| !(injected && v.name.starts_with("OTEL_")))
                        .collect();
                    readers.push((imp.scope, vars));
                }
                _ => {}
            }
        }
        if readers.is_empty() {
            continue;
        }
        let mut qe = qf.clone();
        forward(&mut qe, q, ws, Some(here));
        for (pivot, vars) in readers {
            let map = transplant_chain(f, &qe, pivot);
            let Some(&scope) = map.get(&pivot) else {
                continue;
            };
            for v in vars {
                f.env.push(EnvVar {
                    scope,
                    origin: EnvOrigin::Scope,
                    ..v
                });
            }
            read = true;
        }
    }
    if read && own.dotenv {
        let n = own.env.len();
        let mut i = 0;
        f.env.retain(|v| {
            let standalone = i < n && v.scope == 0;
            i += 1;
            !standalone
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::summarize;
    use crate::language::Language;

    fn ws(files: &[(&str, Language, &str)]) -> Workspace {
        let mut w = Workspace::new();
        for (p, l, t) in files {
            w.update(
                PathBuf::from(p),
                summarize(&crate::engine::parse(*l, t.to_string())),
            );
        }
        w
    }

    #[test]
    fn env_file_and_image_feed_a_compose_service() {
        let compose = "services:\n  api:\n    build: ./api\n    env_file: [.env, missing.env]\n    environment:\n      OTEL_SERVICE_NAME: api\n    command: [\"gunicorn\", \"-w\", \"4\", \"app:app\"]\n";
        let w = ws(&[
            ("p/docker-compose.yml", Language::Yaml, compose),
            (
                "p/.env",
                Language::DotEnv,
                "OTEL_METRICS_EXPORTER=none\nOTEL_SERVICE_NAME=ignored\n",
            ),
            (
                "p/api/Dockerfile",
                Language::Dockerfile,
                "FROM python:3.12\nENV OTEL_EXPORTER_OTLP_PROTOCOL=grpc\nENTRYPOINT [\"opentelemetry-instrument\"]\nCMD [\"python\", \"app.py\"]\n",
            ),
        ]);
        let own = crate::engine::parse(Language::Yaml, compose.to_string());
        let eff = effective(own.launch(), Some(Path::new("p/docker-compose.yml")), &w);
        let l = eff
            .launchers
            .iter()
            .find(|l| l.program().as_deref() == Some("gunicorn"))
            .unwrap();
        assert!(l.instrumented(), "the image's ENTRYPOINT wraps the command");
        assert!(l.instrument_prefix.is_none());
        let get = |n: &str| eff.lookup(l.scope, n).and_then(|v| v.known());
        assert_eq!(get("OTEL_METRICS_EXPORTER"), Some("none"));
        assert_eq!(get("OTEL_SERVICE_NAME"), Some("api"), "environment: wins");
        assert_eq!(get("OTEL_EXPORTER_OTLP_PROTOCOL"), Some("grpc"));
        let w4 = &l.argv[2];
        assert_eq!(&compose[w4.span.start..w4.span.end], "\"4\"");
        assert_eq!(eff.own_env().count(), own.launch().env.len());
    }

    #[test]
    fn dotenv_is_judged_in_its_readers_context() {
        let compose = "services:\n  api:\n    image: x\n    env_file: .env\n    environment:\n      OTEL_EXPORTER_OTLP_PROTOCOL: grpc\n    command: opentelemetry-instrument uvicorn main:app\n";
        let dotenv = "OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf\nOTEL_EXPORTER_OTLP_ENDPOINT=http://c:4318\n";
        let w = ws(&[
            ("docker-compose.yml", Language::Yaml, compose),
            (".env", Language::DotEnv, dotenv),
        ]);
        let own = crate::engine::parse(Language::DotEnv, dotenv.to_string());
        let eff = effective(own.launch(), Some(Path::new(".env")), &w);
        let ep = eff
            .own_env()
            .find(|v| v.name == "OTEL_EXPORTER_OTLP_ENDPOINT")
            .unwrap();
        assert_ne!(ep.scope, 0, "laid out under the service");
        assert_eq!(eff.own_env().count(), 2, "standalone reading dropped");
        let contexts = super::super::judge::visible_contexts(&eff, ep);
        assert!(contexts.iter().any(|&c| {
            eff.lookup(c, "OTEL_EXPORTER_OTLP_PROTOCOL")
                .and_then(|v| v.known())
                == Some("grpc")
                && super::super::judge::instrumented_at(&eff, c)
        }));
    }
}

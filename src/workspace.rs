//! Facts that span files: the Instrumentation objects of the workspace, the objects whose pods
//! carry Operator annotations, and its launchers. Built from per-file summaries, so a
//! changed file updates only its own part.

use crate::launch::summary::{Count, GunicornSummary};
use crate::launch::{LaunchFacts, LaunchRef, LaunchSummary, Target};
use crate::syntax::yaml::K8sObject;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What one file contributes to the workspace.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct FileSummary {
    /// OpenTelemetry Operator `Instrumentation` objects defined in the file.
    pub instrumentations: Vec<std::sync::Arc<K8sObject>>,
    /// Workloads, Pods and Namespaces whose pod-level annotations include
    /// `instrumentation.opentelemetry.io/*` keys.
    pub injectors: Vec<std::sync::Arc<K8sObject>>,
    /// Launchers of the file, and gunicorn/framework facts of a Python module.
    pub launch: LaunchSummary,
}

/// The cross-file facts of one workspace root.
#[derive(Debug, Clone, Default)]
pub struct Workspace {
    files: BTreeMap<PathBuf, FileSummary>,
    /// Changes on every change, so caches can tell. Drawn from a process-wide counter: two
    /// workspaces with the same generation hold the same files (one is a clone of the other,
    /// or both are empty), so a cache keyed on it alone cannot confuse two workspaces.
    pub generation: u64,
    /// Each file's generation (when its summary last changed), and their wrapping sum, so
    /// that "everything but this file" has a generation of its own (see
    /// [`generation_without`](Self::generation_without)).
    file_generations: std::collections::HashMap<PathBuf, u64>,
    generation_sum: u64,
    /// Look-up indexes over the files' shared launch facts (a cache, rebuilt per generation).
    shared_index: SharedIndex,
}

/// Indexes over the shared launch facts, so that resolving a ConfigMap or finding who reads
/// a file does not scan the whole workspace (which made a check of a few thousand manifests
/// cubic). Built on first use for the current generation; invisible to `Debug`, empty in a
/// clone.
#[derive(Default)]
struct SharedIndex(std::sync::Mutex<Option<std::sync::Arc<SharedIndexData>>>);

/// `(name, namespace)` of a ConfigMap.
type ConfigMapKey = (String, Option<String>);

struct SharedIndexData {
    generation: u64,
    /// `(name, namespace)` → the files and positions of ConfigMaps so named.
    config_maps: std::collections::HashMap<ConfigMapKey, Vec<(PathBuf, usize)>>,
    /// ConfigMap name → files that import a ConfigMap of that name (`envFrom`).
    config_map_readers: std::collections::HashMap<String, Vec<PathBuf>>,
    /// Env file (resolved path) → files that import it (`env_file:`).
    env_file_readers: std::collections::HashMap<PathBuf, Vec<PathBuf>>,
}

impl Clone for SharedIndex {
    fn clone(&self) -> Self {
        SharedIndex::default()
    }
}

impl std::fmt::Debug for SharedIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedIndex")
    }
}

/// The next generation of any workspace of this process.
fn next_generation() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Whose diagnostics a change of one file's summary may change (see [`Workspace::apply`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Affected {
    /// Nothing changed.
    Nothing,
    /// These other files: the changed file's dependents before and after the change.
    Files(Vec<PathBuf>),
    /// Any file: a workspace-wide fact changed (a file appeared or went away, Operator
    /// objects, injected images, ConfigMaps).
    All,
}

impl Workspace {
    /// An empty workspace (single-file checks).
    pub fn new() -> Self {
        Self::default()
    }

    /// Records (or replaces) a file's summary. Returns whether anything changed.
    pub fn update(&mut self, path: PathBuf, summary: FileSummary) -> bool {
        if self.files.get(&path) == Some(&summary) {
            return false;
        }
        self.replace(path, summary);
        true
    }

    /// Records a file's summary, known to differ from the one recorded.
    fn replace(&mut self, path: PathBuf, summary: FileSummary) {
        self.generation = next_generation();
        let old = self
            .file_generations
            .insert(path.clone(), self.generation)
            .unwrap_or(0);
        self.generation_sum = self
            .generation_sum
            .wrapping_sub(old)
            .wrapping_add(self.generation);
        self.files.insert(path, summary);
    }

    /// Forgets a file.
    pub fn remove(&mut self, path: &Path) -> bool {
        let removed = self.files.remove(path).is_some();
        if removed {
            self.generation = next_generation();
            let old = self.file_generations.remove(path).unwrap_or(0);
            self.generation_sum = self.generation_sum.wrapping_sub(old);
        }
        removed
    }

    /// A value that changes whenever any file's summary changes — except `path`'s own.
    /// A file's own summary is derived from its own facts, which the editor's result cache
    /// already keys on; keying on this instead of [`generation`](Self::generation) keeps a
    /// keystroke (which moves the byte offsets in the file's own summary) from discarding
    /// every cached result of that file.
    pub fn generation_without(&self, path: Option<&Path>) -> u64 {
        let own = path
            .and_then(|p| self.file_generations.get(p))
            .copied()
            .unwrap_or(0);
        let others = self.generation_sum.wrapping_sub(own);
        let count = self.files.len() as u64 - u64::from(own != 0);
        // Mix in the count so that removing a file is never undone by a coincidental sum.
        others ^ count.rotate_left(48)
    }

    /// Records (`Some`) or forgets (`None`) a file's summary, and says whose diagnostics
    /// that may change: the file's [`dependents`](Self::dependents) before and after the
    /// change, or every file when a workspace-wide fact changed. A file appearing or going
    /// away counts as workspace-wide: it can make a launcher's by-suffix target ambiguous,
    /// or a ConfigMap name unique, far from its own dependents.
    pub fn apply(&mut self, path: PathBuf, summary: Option<FileSummary>) -> Affected {
        let old = self.files.get(&path);
        if old == summary.as_ref() {
            return Affected::Nothing;
        }
        let global = match (old, &summary) {
            (Some(a), Some(b)) => {
                fn config_maps(s: &FileSummary) -> Option<&Vec<crate::launch::imports::ConfigMap>> {
                    s.launch.facts.as_ref().map(|f| &f.config_maps)
                }
                a.instrumentations != b.instrumentations
                    || a.injectors != b.injectors
                    || a.launch.injected_images != b.launch.injected_images
                    || config_maps(a) != config_maps(b)
            }
            _ => true,
        };
        let mut out = if global {
            Vec::new()
        } else {
            self.dependents(&path)
        };
        // `old` differs from `summary` (compared above, once: they can be big).
        match summary {
            Some(s) => self.replace(path.clone(), s),
            None => {
                self.remove(&path);
            }
        }
        if global {
            return Affected::All;
        }
        for p in self.dependents(&path) {
            if !out.contains(&p) {
                out.push(p);
            }
        }
        Affected::Files(out)
    }

    /// Every Instrumentation of the workspace.
    pub fn instrumentations(&self) -> impl Iterator<Item = &K8sObject> {
        self.files
            .values()
            .flat_map(|f| f.instrumentations.iter().map(|o| &**o))
    }

    /// The launch facts other files may need (see `launch::imports`), by file.
    pub fn shared_facts(&self) -> impl Iterator<Item = (&Path, &LaunchFacts)> {
        self.files
            .iter()
            .filter_map(|(p, s)| s.launch.facts.as_deref().map(|f| (p.as_path(), f)))
    }

    /// The shared launch facts of one file.
    pub fn launch_facts(&self, path: &Path) -> Option<&LaunchFacts> {
        self.summary(path).and_then(|s| s.launch.facts.as_deref())
    }

    fn shared_index(&self) -> std::sync::Arc<SharedIndexData> {
        use crate::launch::imports::{resolve_path, Source};
        let mut slot = self
            .shared_index
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(d) = slot.as_ref() {
            if d.generation == self.generation {
                return d.clone();
            }
        }
        let mut d = SharedIndexData {
            generation: self.generation,
            config_maps: Default::default(),
            config_map_readers: Default::default(),
            env_file_readers: Default::default(),
        };
        for (p, f) in self.shared_facts() {
            for (i, c) in f.config_maps.iter().enumerate() {
                d.config_maps
                    .entry((c.name.clone(), c.namespace.clone()))
                    .or_default()
                    .push((p.to_path_buf(), i));
            }
            for imp in &f.imports {
                match &imp.source {
                    Source::ConfigMap { name, .. } => d
                        .config_map_readers
                        .entry(name.clone())
                        .or_default()
                        .push(p.to_path_buf()),
                    Source::EnvFile(rel) => d
                        .env_file_readers
                        .entry(resolve_path(p, rel))
                        .or_default()
                        .push(p.to_path_buf()),
                    Source::Image { .. } => {}
                }
            }
        }
        let d = std::sync::Arc::new(d);
        *slot = Some(d.clone());
        d
    }

    /// The ConfigMaps named `name` in namespace `ns` (both unset counts as the same), with
    /// the files that define them, in path order.
    pub fn config_maps_named(
        &self,
        name: &str,
        ns: Option<&str>,
    ) -> Vec<(&Path, &crate::launch::imports::ConfigMap)> {
        let index = self.shared_index();
        let Some(list) = index
            .config_maps
            .get(&(name.to_string(), ns.map(str::to_string)))
        else {
            return Vec::new();
        };
        list.iter()
            .filter_map(|(p, i)| {
                let (key, summary) = self.files.get_key_value(p)?;
                let c = summary.launch.facts.as_deref()?.config_maps.get(*i)?;
                Some((key.as_path(), c))
            })
            .collect()
    }

    /// The files whose imports may read from the file at `me` (a cleaned path): importers of
    /// it as an env file, and importers of a ConfigMap with one of `config_maps`' names; a
    /// superset, in path order, each once.
    pub fn possible_readers<'s>(
        &'s self,
        me: &Path,
        dotenv: bool,
        config_maps: &[crate::launch::imports::ConfigMap],
    ) -> Vec<(&'s Path, &'s LaunchFacts)> {
        let index = self.shared_index();
        let mut paths: Vec<&PathBuf> = Vec::new();
        if dotenv {
            paths.extend(index.env_file_readers.get(me).into_iter().flatten());
        }
        for c in config_maps {
            paths.extend(index.config_map_readers.get(&c.name).into_iter().flatten());
        }
        paths.sort();
        paths.dedup();
        paths
            .into_iter()
            .filter_map(|p| {
                let (key, summary) = self.files.get_key_value(p)?;
                Some((key.as_path(), summary.launch.facts.as_deref()?))
            })
            .collect()
    }
}

// ---------------------------------------------------------------------------------------
// Launch association (§0.3): which Python files the launchers of the workspace start.

/// A launcher of another file that starts a given Python file.
#[derive(Debug, Clone, Copy)]
pub struct LaunchedBy<'a> {
    /// The file the launcher is in.
    pub file: &'a Path,
    /// The launcher.
    pub launcher: &'a LaunchRef,
    /// How it names the file.
    pub target: &'a Target,
}

/// Removes `.` and resolves `..` lexically (no file system access).
pub fn clean(p: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// The relative paths a target may name, in the launcher's directory.
fn candidate_paths(target: &Target, l: &LaunchRef) -> Vec<PathBuf> {
    let base: PathBuf = l
        .chdir
        .as_deref()
        .map(container_relative(l))
        .unwrap_or_default();
    match target {
        Target::Script(s) | Target::Config(s) | Target::UwsgiIni(s) => {
            vec![base.join(container_relative(l)(s))]
        }
        Target::Module(m) => {
            let rel: PathBuf = m.split('.').collect();
            vec![
                base.join(rel.with_extension("py")),
                base.join(rel).join("__init__.py"),
            ]
        }
    }
}

/// Maps a path written in a launcher (maybe absolute inside a container) to a path relative
/// to the launcher's directory: `WORKDIR`-prefixed paths lose the prefix; other absolute
/// paths keep only their file name.
fn container_relative(l: &LaunchRef) -> impl Fn(&str) -> PathBuf + '_ {
    move |s: &str| {
        if !s.starts_with('/') {
            return PathBuf::from(s);
        }
        if let Some(w) = l.workdir.as_deref().filter(|w| w.starts_with('/')) {
            if let Ok(rest) = Path::new(s).strip_prefix(w) {
                return rest.to_path_buf();
            }
        }
        Path::new(s)
            .file_name()
            .map(PathBuf::from)
            .unwrap_or_default()
    }
}

impl Workspace {
    /// Every launcher of the workspace with its file.
    pub fn launchers(&self) -> impl Iterator<Item = (&Path, &LaunchRef)> {
        self.files
            .iter()
            .flat_map(|(p, f)| f.launch.launchers.iter().map(move |l| (p.as_path(), l)))
    }

    /// The summary of a file.
    pub fn summary(&self, path: &Path) -> Option<&FileSummary> {
        self.files.get(path).or_else(|| {
            self.files
                .iter()
                .find(|(p, _)| clean(p) == clean(path))
                .map(|(_, s)| s)
        })
    }

    /// Whether `target` of launcher `l` in `file` names `path`: the exact path relative to
    /// the launcher's directory, else (fallback heuristic) the only workspace file under
    /// that directory whose path ends with the named relative path.
    fn names(&self, file: &Path, l: &LaunchRef, target: &Target, path: &Path) -> bool {
        let dir = clean(file.parent().unwrap_or(Path::new("")));
        let path = clean(path);
        let Ok(rel) = path.strip_prefix(&dir) else {
            return false;
        };
        for cand in candidate_paths(target, l) {
            let cand = clean(&cand);
            if cand.as_os_str().is_empty() {
                continue;
            }
            if rel == cand {
                return true;
            }
            if rel.ends_with(&cand) {
                // Unique among the workspace's files under the directory, and no exact file.
                let exact = dir.join(&cand);
                if self.files.keys().any(|k| clean(k) == exact) {
                    continue;
                }
                let n = self
                    .files
                    .keys()
                    .filter(|k| {
                        clean(k)
                            .strip_prefix(&dir)
                            .is_ok_and(|r| r.ends_with(&cand))
                    })
                    .count();
                if n <= 1 {
                    return true;
                }
            }
        }
        false
    }

    /// The launchers (of any file) that start `path` or use it as gunicorn config.
    pub fn launched_by(&self, path: &Path) -> Vec<LaunchedBy<'_>> {
        let mut out = Vec::new();
        for (file, l) in self.launchers() {
            for t in &l.targets {
                if self.names(file, l, t, path) {
                    out.push(LaunchedBy {
                        file,
                        launcher: l,
                        target: t,
                    });
                }
            }
        }
        out
    }

    /// A setting that a launcher's service or container takes from other files (its
    /// `env_file:` entries, `envFrom:` ConfigMaps, the `ENV` of the image it builds), by
    /// their precedence: `None` when none sets it, `Some(None)` when the value is unknown.
    /// Settings of the launcher's own file are not consulted (see [`LaunchRef`]).
    pub fn imported_env(&self, file: &Path, l: &LaunchRef, name: &str) -> Option<Option<String>> {
        use crate::launch::imports::{pick_image, resolve_config_map, resolve_path, Source};
        use crate::launch::EnvOrigin;
        for src in l.imports.iter().rev() {
            let found: Option<&crate::launch::EnvVar> = match src {
                Source::EnvFile(rel) => self
                    .launch_facts(&resolve_path(file, rel))
                    .filter(|f| f.dotenv)
                    .and_then(|f| {
                        f.env
                            .iter()
                            .rev()
                            .find(|v| v.origin != EnvOrigin::Imported && v.name == name)
                    }),
                Source::ConfigMap { name: cm, prefix } => {
                    if l.operator_injected && name.starts_with("OTEL_") {
                        continue;
                    }
                    resolve_config_map(self, cm, l.namespace.as_deref()).and_then(|(_, c)| {
                        c.data
                            .iter()
                            .rev()
                            .find(|v| format!("{prefix}{}", v.name) == name)
                    })
                }
                Source::Image { dockerfile, target } => self
                    .launch_facts(&resolve_path(file, dockerfile))
                    .and_then(|f| {
                        let img = pick_image(f, target.as_deref())?;
                        f.lookup(img.scope, name)
                    }),
            };
            if let Some(v) = found {
                return Some(v.known().map(str::to_string));
            }
        }
        None
    }

    /// Whether a launcher runs under `opentelemetry-instrument`, counting the exec-form
    /// `ENTRYPOINT` of the image its compose service builds (unless the service replaces it).
    pub fn runs_instrumented(&self, file: &Path, l: &LaunchRef) -> bool {
        use crate::launch::imports::{pick_image, resolve_path, Entry, Source};
        l.instrumented
            || (!l.entrypoint_set
                && l.imports.iter().any(|s| {
                    let Source::Image { dockerfile, target } = s else {
                        return false;
                    };
                    self.launch_facts(&resolve_path(file, dockerfile))
                        .and_then(|f| pick_image(f, target.as_deref()))
                        .is_some_and(|img| match &img.entrypoint {
                            Entry::Exec(w) => w.iter().any(|t| {
                                crate::launch::basename(&t.text) == "opentelemetry-instrument"
                            }),
                            _ => false,
                        })
                }))
    }

    /// Whether metrics export is off for a launcher (`OTEL_METRICS_EXPORTER=none`), its
    /// imported settings included.
    pub fn metrics_disabled(&self, file: &Path, l: &LaunchRef) -> bool {
        l.metrics_disabled
            || (!l.metrics_set
                && self
                    .imported_env(file, l, "OTEL_METRICS_EXPORTER")
                    .flatten()
                    .is_some_and(|v| v.trim().eq_ignore_ascii_case("none")))
    }

    /// A launcher's worker count, by the server's precedence — gunicorn: command line,
    /// `GUNICORN_CMD_ARGS`, config file, `WEB_CONCURRENCY` — with imported settings
    /// (`WEB_CONCURRENCY`, `UWSGI_PROCESSES` from `.env` files, ConfigMaps, the image) last.
    /// `None` when unknown or not given.
    pub fn launcher_workers(&self, file: &Path, l: &LaunchRef) -> Option<Count> {
        if l.workers_unknown {
            return None;
        }
        if l.workers.is_some() && !l.workers_from_env {
            return l.workers;
        }
        if l.program == "gunicorn" {
            if let Some((_, g)) = self.gunicorn_config(file, l) {
                if g.workers_unknown {
                    return None;
                }
                if g.workers.is_some() {
                    return g.workers;
                }
            }
        }
        if l.workers.is_some() {
            return l.workers;
        }
        let var = match l.program.as_str() {
            "gunicorn" | "uvicorn" | "fastapi" => "WEB_CONCURRENCY",
            "uwsgi" => "UWSGI_PROCESSES",
            _ => return None,
        };
        match self.imported_env(file, l, var)? {
            Some(v) => v.trim().parse().ok().map(Count::N),
            None => None,
        }
    }

    /// Whether a launcher of the workspace runs this Python file under
    /// `opentelemetry-instrument` (as script, module, app target or gunicorn config).
    pub fn is_auto_instrumented(&self, path: &Path) -> bool {
        let by = self.launched_by(path);
        by.iter()
            .any(|b| self.runs_instrumented(b.file, b.launcher))
            || by
                .iter()
                .any(|b| b.launcher.runtime && self.image_injected(b.file))
    }

    /// Whether a Dockerfile builds an image that a pod injected by the Operator
    /// (`inject-python`) runs — by the heuristic image name = the Dockerfile's directory name
    /// (or, for `<name>.Dockerfile`, that name).
    pub fn image_injected(&self, dockerfile: &Path) -> bool {
        use crate::language::Language;
        if Language::from_path(dockerfile) != Some(Language::Dockerfile) {
            return false;
        }
        let file_name = dockerfile
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("");
        let named = file_name
            .strip_suffix(".Dockerfile")
            .or_else(|| file_name.strip_suffix(".dockerfile"));
        let dir = clean(dockerfile.parent().unwrap_or(Path::new("")));
        let dir_name = dir.file_name().and_then(|n| n.to_str());
        let names: Vec<&str> = named.into_iter().chain(dir_name).collect();
        !names.is_empty()
            && self.files.values().any(|s| {
                s.launch
                    .injected_images
                    .iter()
                    .any(|i| names.iter().any(|n| n.eq_ignore_ascii_case(i)))
            })
    }

    /// The gunicorn config module a gunicorn launcher in `file` reads (`-c`, or the default
    /// `gunicorn.conf.py` of its directory), with its facts.
    pub fn gunicorn_config(&self, file: &Path, l: &LaunchRef) -> Option<(&Path, &GunicornSummary)> {
        let t = l.targets.iter().find(|t| matches!(t, Target::Config(_)))?;
        self.files.iter().find_map(|(p, s)| {
            let g = s.launch.gunicorn.as_ref()?;
            self.names(file, l, t, p).then_some((p.as_path(), g))
        })
    }

    /// The framework of the app module a launcher starts, when known.
    pub fn framework_of(
        &self,
        file: &Path,
        l: &LaunchRef,
    ) -> Option<crate::launch::summary::Framework> {
        l.targets.iter().filter(|t| t.is_app()).find_map(|t| {
            self.files
                .iter()
                .find(|(p, _)| self.names(file, l, t, p))
                .and_then(|(_, s)| s.launch.framework)
        })
    }

    /// Whether the app module a launcher starts initialises OpenTelemetry itself.
    pub fn target_initializes_otel(&self, file: &Path, l: &LaunchRef) -> bool {
        l.targets.iter().any(|t| {
            self.files
                .iter()
                .any(|(p, s)| s.launch.initializes_otel && self.names(file, l, t, p))
        })
    }

    /// Files whose diagnostics may change when `path` changes: the files its launchers
    /// start, and the files whose launchers start it. Call it before and after
    /// [`Workspace::update`] and re-check the union (a launcher may have dropped a target).
    pub fn dependents(&self, path: &Path) -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = Vec::new();
        if let Some(s) = self.summary(path) {
            for l in &s.launch.launchers {
                for t in &l.targets {
                    for p in self.files.keys() {
                        if p != path && self.names(path, l, t, p) && !out.contains(p) {
                            out.push(p.clone());
                        }
                    }
                }
            }
        }
        // The launchers of other files that start it (its own are no dependents).
        for (file, l) in self.launchers().filter(|(f, _)| *f != path) {
            if l.targets.iter().any(|t| self.names(file, l, t, path))
                && !out.iter().any(|o| o == file)
            {
                out.push(file.to_path_buf());
            }
        }
        for f in self.import_links(path) {
            if f != path && !out.contains(&f) {
                out.push(f);
            }
        }
        out
    }

    /// The files a file's imports name (`.env` files, Dockerfiles, ConfigMap files), as
    /// clean paths.
    fn import_targets(&self, file: &Path, f: &LaunchFacts) -> Vec<PathBuf> {
        use crate::launch::imports::{resolve_config_map, resolve_path, Source};
        f.imports
            .iter()
            .filter_map(|i| match &i.source {
                Source::EnvFile(rel) => Some(resolve_path(file, rel)),
                Source::Image { dockerfile, .. } => Some(resolve_path(file, dockerfile)),
                Source::ConfigMap { name, .. } => {
                    resolve_config_map(self, name, i.namespace.as_deref()).map(|(p, _)| clean(p))
                }
            })
            .collect()
    }

    /// Files linked to `path` by imports: those it reads settings or an image from, and
    /// those that read its settings (a `.env` file's services, a ConfigMap's containers).
    fn import_links(&self, path: &Path) -> Vec<PathBuf> {
        let me = clean(path);
        let key_of = |c: &Path| self.files.keys().find(|k| clean(k) == c).cloned();
        let mut out: Vec<PathBuf> = Vec::new();
        if let Some(f) = self.launch_facts(path) {
            out.extend(
                self.import_targets(path, f)
                    .iter()
                    .filter_map(|t| key_of(t)),
            );
        }
        for (q, f) in self.shared_facts() {
            if clean(q) != me && self.import_targets(q, f).contains(&me) {
                out.push(q.to_path_buf());
            }
        }
        out
    }

    /// The summaries of the files a launcher starts (not its config).
    pub fn targets_of(&self, file: &Path, l: &LaunchRef) -> Vec<(&Path, &FileSummary)> {
        self.files
            .iter()
            .filter(|(p, _)| {
                l.targets
                    .iter()
                    .any(|t| t.is_app() && self.names(file, l, t, p))
            })
            .map(|(p, s)| (p.as_path(), s))
            .collect()
    }

    /// The uWSGI ini file a uWSGI launcher in `file` reads (`--ini`), with the launcher of
    /// its `[uwsgi]` section.
    pub fn uwsgi_ini(&self, file: &Path, l: &LaunchRef) -> Option<(&Path, &LaunchRef)> {
        use crate::language::Language;
        let t = l
            .targets
            .iter()
            .find(|t| matches!(t, Target::UwsgiIni(_)))?;
        self.files.iter().find_map(|(p, s)| {
            if Language::from_path(p) != Some(Language::Ini) || !self.names(file, l, t, p) {
                return None;
            }
            let ini = s.launch.launchers.iter().find(|x| x.program == "uwsgi")?;
            Some((p.as_path(), ini))
        })
    }

    /// The worker count a gunicorn config gives, for rules judging a launcher.
    pub fn config_workers(&self, file: &Path, l: &LaunchRef) -> Option<Count> {
        self.gunicorn_config(file, l).and_then(|(_, g)| g.workers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn launcher(
        program: &str,
        instrumented: bool,
        targets: Vec<Target>,
        workdir: Option<&str>,
    ) -> LaunchRef {
        LaunchRef {
            program: program.into(),
            instrumented,
            runtime: true,
            targets,
            workdir: workdir.map(str::to_string),
            chdir: None,
            metrics_disabled: false,
            workers: None,
            workers_unknown: false,
            workers_from_env: false,
            worker_class: None,
            metrics_set: false,
            imports: vec![],
            namespace: None,
            entrypoint_set: false,
            operator_injected: false,
            uwsgi: vec![],
        }
    }

    fn with(launchers: Vec<LaunchRef>) -> FileSummary {
        FileSummary {
            launch: LaunchSummary {
                launchers,
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn association_exact_container_and_suffix() {
        let mut ws = Workspace::new();
        ws.update(
            "svc/Dockerfile".into(),
            with(vec![launcher(
                "python",
                true,
                vec![Target::Script("/app/app.py".into())],
                Some("/app"),
            )]),
        );
        ws.update("svc/app.py".into(), FileSummary::default());
        ws.update("other/app.py".into(), FileSummary::default());
        ws.update(
            "api/Procfile".into(),
            with(vec![launcher(
                "gunicorn",
                true,
                vec![Target::Module("pkg.web".into())],
                None,
            )]),
        );
        ws.update("api/src/pkg/web.py".into(), FileSummary::default());
        ws.update(
            "./scripts/run.sh".into(),
            with(vec![launcher(
                "uvicorn",
                false,
                vec![Target::Module("main".into())],
                None,
            )]),
        );
        ws.update("scripts/main.py".into(), FileSummary::default());
        assert!(ws.is_auto_instrumented(Path::new("svc/app.py")));
        assert!(!ws.is_auto_instrumented(Path::new("other/app.py")));
        assert!(ws.is_auto_instrumented(Path::new("api/src/pkg/web.py")));
        assert!(!ws.is_auto_instrumented(Path::new("scripts/main.py")));
        assert_eq!(ws.launched_by(Path::new("scripts/main.py")).len(), 1);
        assert_eq!(
            ws.dependents(Path::new("svc/Dockerfile")),
            vec![PathBuf::from("svc/app.py")]
        );
        assert_eq!(
            ws.dependents(Path::new("svc/app.py")),
            vec![PathBuf::from("svc/Dockerfile")]
        );
    }
}

#[cfg(test)]
mod apply_tests {
    use super::*;
    use crate::engine::summarize;
    use crate::language::Language;

    fn sum(lang: Language, text: &str) -> Option<FileSummary> {
        Some(summarize(&crate::engine::parse(lang, text.to_string())))
    }

    #[test]
    fn apply_names_dependents_before_and_after() {
        let mut ws = Workspace::new();
        let run = |prog: &str| {
            format!(
                "FROM python:3.12\nCMD [\"opentelemetry-instrument\", \"python\", \"{prog}\"]\n"
            )
        };
        assert_eq!(
            ws.apply(
                "p/Dockerfile".into(),
                sum(Language::Dockerfile, &run("a.py"))
            ),
            Affected::All,
            "a new file"
        );
        let flask = "from flask import Flask\napp = Flask(__name__)\n";
        for f in ["p/a.py", "p/b.py"] {
            ws.apply(f.into(), sum(Language::Python, flask));
        }
        assert!(ws.is_auto_instrumented(Path::new("p/a.py")));
        let g = ws.generation;
        assert_eq!(
            ws.apply(
                "p/Dockerfile".into(),
                sum(Language::Dockerfile, &run("a.py"))
            ),
            Affected::Nothing
        );
        assert_eq!(ws.generation, g);
        // The launcher now starts b.py: a.py (before) and b.py (after) may change.
        assert_eq!(
            ws.apply(
                "p/Dockerfile".into(),
                sum(Language::Dockerfile, &run("b.py"))
            ),
            Affected::Files(vec!["p/a.py".into(), "p/b.py".into()])
        );
        assert_ne!(ws.generation, g);
        assert!(ws.is_auto_instrumented(Path::new("p/b.py")));
        assert_eq!(ws.apply("p/b.py".into(), None), Affected::All);
        // Generations are unique across workspaces.
        let mut other = Workspace::new();
        other.apply("x.py".into(), sum(Language::Python, flask));
        assert_ne!(other.generation, ws.generation);
    }
}

#[cfg(test)]
mod import_tests {
    use super::*;
    use crate::engine::summarize;
    use crate::language::Language;

    #[test]
    fn imports_link_files_both_ways() {
        let mut ws = Workspace::new();
        let files = [
            (
                "p/docker-compose.yml",
                Language::Yaml,
                "services:\n  api:\n    build: ./api\n    env_file: .env\n    command: [\"python\", \"app.py\"]\n",
            ),
            ("p/.env", Language::DotEnv, "OTEL_METRICS_EXPORTER=none\nWEB_CONCURRENCY=3\n"),
            (
                "p/api/Dockerfile",
                Language::Dockerfile,
                "FROM python:3.12\nENTRYPOINT [\"opentelemetry-instrument\"]\n",
            ),
            ("p/api/app.py", Language::Python, "import os\n"),
        ];
        for (p, l, t) in files {
            ws.update(p.into(), summarize(&crate::engine::parse(l, t.to_string())));
        }
        let mut deps = ws.dependents(Path::new("p/docker-compose.yml"));
        deps.sort();
        assert_eq!(
            deps,
            [
                PathBuf::from("p/.env"),
                PathBuf::from("p/api/Dockerfile"),
                PathBuf::from("p/api/app.py")
            ]
        );
        assert_eq!(
            ws.dependents(Path::new("p/.env")),
            [PathBuf::from("p/docker-compose.yml")]
        );
        assert!(ws.is_auto_instrumented(Path::new("p/api/app.py")));
        let (file, l) = ws.launchers().next().unwrap();
        assert!(ws.metrics_disabled(file, l));
    }
}

// --- OpenTelemetry Operator: annotation values → Instrumentation objects (rules.md §0.3). ---

/// The pod annotation that asks for Python injection.
pub const INJECT_PYTHON: &str = "instrumentation.opentelemetry.io/inject-python";

impl Workspace {
    /// Every object whose pods (or namespace) carry Operator annotations.
    pub fn injectors(&self) -> impl Iterator<Item = &K8sObject> {
        self.files
            .values()
            .flat_map(|f| f.injectors.iter().map(|o| &**o))
    }

    /// Whether any Instrumentation or annotated object of the workspace names its namespace.
    /// When none does, the workspace is read as one namespace (§0.3).
    pub fn has_explicit_namespaces(&self) -> bool {
        self.instrumentations()
            .chain(self.injectors())
            .any(|o| o.pod_namespace().is_some())
    }

    /// The value of `key` on the Namespace object named `ns`, if the workspace defines one.
    pub fn namespace_annotation(&self, ns: &str, key: &str) -> Option<&str> {
        self.injectors()
            .filter(|o| {
                o.kind == "Namespace" && o.group().is_empty() && o.name.as_deref() == Some(ns)
            })
            .find_map(|o| o.pod_annotation(key))
    }

    /// The value the Operator acts on for a pod: its own annotation combined with its
    /// Namespace's (operator `annotation.go annotationValue`). `None` when neither is set.
    pub fn effective_annotation<'a>(
        &'a self,
        pod_value: Option<&'a str>,
        pod_ns: Option<&str>,
        key: &str,
    ) -> Option<&'a str> {
        let pod = pod_value.filter(|v| !v.is_empty());
        let ns = pod_ns
            .and_then(|n| self.namespace_annotation(n, key))
            .filter(|v| !v.is_empty());
        match (pod, ns) {
            (p, None) => p,
            (None, n) => n,
            (Some(p), Some(_)) if !p.eq_ignore_ascii_case("true") => Some(p),
            (Some(p), Some(n)) if n.eq_ignore_ascii_case("false") => Some(p),
            (Some(_), Some(n)) => Some(n),
        }
    }

    /// The Instrumentation an `inject-*` value selects for a pod in `pod_ns` (operator
    /// `podmutator.go getInstrumentationInstance`), when the files decide it: `"true"` → the
    /// only one in the pod's namespace, `"name"` → that name in the pod's namespace,
    /// `"ns/name"` → that object. Namespaces must be explicit on both sides to match, except
    /// in a workspace where no object names one (then it is read as a single namespace).
    /// `None` for `"false"`, empty, ambiguous or undecidable values.
    pub fn resolve(&self, value: &str, pod_ns: Option<&str>) -> Option<&K8sObject> {
        if value.is_empty() || value.eq_ignore_ascii_case("false") {
            return None;
        }
        let single_namespace = !self.has_explicit_namespaces();
        let in_pod_ns = |o: &&K8sObject| match pod_ns {
            Some(ns) => o.namespace.as_deref() == Some(ns),
            None => single_namespace,
        };
        let found: Vec<&K8sObject> = if value.eq_ignore_ascii_case("true") {
            self.instrumentations().filter(in_pod_ns).collect()
        } else {
            match value.split_once('/') {
                Some((ns, name)) => self
                    .instrumentations()
                    .filter(|o| {
                        o.name.as_deref() == Some(name) && o.namespace.as_deref() == Some(ns)
                    })
                    .collect(),
                None => self
                    .instrumentations()
                    .filter(in_pod_ns)
                    .filter(|o| o.name.as_deref() == Some(value))
                    .collect(),
            }
        };
        match found.as_slice() {
            [one] => Some(one),
            _ => None,
        }
    }

    /// Whether some pod or Namespace of the workspace asks for Python injection with a value
    /// that resolves to `inst`.
    pub fn is_python_target(&self, inst: &K8sObject) -> bool {
        self.injectors().any(|o| {
            let ns = o.pod_namespace();
            self.effective_annotation(o.pod_annotation(INJECT_PYTHON), ns, INJECT_PYTHON)
                .and_then(|v| self.resolve(v, ns))
                .is_some_and(|found| found == inst)
        })
    }
}

#[cfg(test)]
mod operator_tests {
    use super::*;

    fn inst(name: &str, ns: Option<&str>) -> K8sObject {
        K8sObject {
            api_version: "opentelemetry.io/v1alpha1".into(),
            kind: "Instrumentation".into(),
            name: Some(name.into()),
            namespace: ns.map(Into::into),
            ..Default::default()
        }
    }

    fn ws(insts: Vec<K8sObject>, injectors: Vec<K8sObject>) -> Workspace {
        let mut w = Workspace::new();
        w.update(
            "a.yaml".into(),
            FileSummary {
                instrumentations: insts.into_iter().map(Into::into).collect(),
                injectors: injectors.into_iter().map(Into::into).collect(),
                ..Default::default()
            },
        );
        w
    }

    #[test]
    fn resolution_follows_the_operator() {
        let w = ws(
            vec![
                inst("a", Some("x")),
                inst("b", Some("x")),
                inst("c", Some("y")),
            ],
            vec![],
        );
        assert_eq!(
            w.resolve("true", Some("y")).and_then(|o| o.name.as_deref()),
            Some("c")
        );
        assert!(w.resolve("true", Some("x")).is_none(), "two candidates");
        assert!(w.resolve("True", None).is_none(), "unknown namespace");
        assert_eq!(
            w.resolve("b", Some("x")).and_then(|o| o.name.as_deref()),
            Some("b")
        );
        assert!(w.resolve("c", Some("x")).is_none());
        assert_eq!(
            w.resolve("y/c", None).and_then(|o| o.name.as_deref()),
            Some("c")
        );
        assert!(w.resolve("false", Some("y")).is_none());

        // No explicit namespace anywhere: one namespace.
        let w = ws(vec![inst("a", None)], vec![]);
        assert_eq!(
            w.resolve("true", None).and_then(|o| o.name.as_deref()),
            Some("a")
        );
        assert_eq!(
            w.resolve("a", None).and_then(|o| o.name.as_deref()),
            Some("a")
        );
    }

    #[test]
    fn namespace_annotation_combines_like_the_operator() {
        let ns = K8sObject {
            api_version: "v1".into(),
            kind: "Namespace".into(),
            name: Some("app".into()),
            pod_annotations: vec![(INJECT_PYTHON.into(), "inst".into())],
            ..Default::default()
        };
        let w = ws(vec![inst("inst", Some("app"))], vec![ns]);
        let eff = |pod| w.effective_annotation(pod, Some("app"), INJECT_PYTHON);
        assert_eq!(eff(None), Some("inst"));
        assert_eq!(eff(Some("true")), Some("inst"));
        assert_eq!(eff(Some("false")), Some("false"));
        assert_eq!(eff(Some("other")), Some("other"));
        assert!(w.is_python_target(&inst("inst", Some("app"))));
    }

    #[test]
    fn generation_without_a_file_ignores_only_that_files_changes() {
        let mut ws = Workspace::new();
        let (a, b) = (Path::new("a.yaml"), Path::new("b.yaml"));
        let inst = |n: &str| FileSummary {
            instrumentations: vec![K8sObject {
                api_version: "opentelemetry.io/v1alpha1".into(),
                kind: "Instrumentation".into(),
                name: Some(n.into()),
                ..Default::default()
            }
            .into()],
            ..Default::default()
        };
        ws.update(a.into(), inst("x"));
        ws.update(b.into(), inst("y"));
        let (wa, wb) = (
            ws.generation_without(Some(a)),
            ws.generation_without(Some(b)),
        );
        ws.update(a.into(), inst("x2"));
        assert_eq!(ws.generation_without(Some(a)), wa, "a's own change");
        assert_ne!(ws.generation_without(Some(b)), wb, "b sees a's change");
        let wa = ws.generation_without(Some(a));
        ws.remove(b);
        assert_ne!(ws.generation_without(Some(a)), wa, "a sees b go away");
        assert_ne!(ws.generation_without(None), ws.generation_without(Some(a)));
    }
}

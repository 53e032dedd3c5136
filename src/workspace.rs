//! Facts that span files: the Instrumentation objects of the workspace, the objects whose pods
//! carry Operator annotations, and its launchers. Built from per-file summaries, so a
//! changed file updates only its own part.

use crate::launch::summary::{Count, GunicornSummary};
use crate::launch::{LaunchFacts, LaunchRef, LaunchSummary, Target};
use crate::syntax::kustomize::{is_kustomization_path, Kustomization};
use crate::syntax::yaml::K8sObject;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// What one file contributes to the workspace.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct FileSummary {
    /// OpenTelemetry Operator `Instrumentation` objects defined in the file.
    pub instrumentations: Vec<std::sync::Arc<K8sObject>>,
    /// A YAML stream's Instrumentation and Namespace documents where they start: what a
    /// check of the stream that has not parsed them knows of them (the command line parses
    /// a stream's Instrumentations apart from its workloads; OTEL034 reads their order).
    pub stream_documents: Vec<StreamDocument>,
    /// Workloads, Pods and Namespaces whose pod-level annotations include
    /// `instrumentation.opentelemetry.io/*` keys.
    pub injectors: Vec<std::sync::Arc<K8sObject>>,
    /// OpenTelemetry Operator `OpenTelemetryCollector` objects defined in the file.
    pub collectors: Vec<std::sync::Arc<K8sObject>>,
    /// `Service` objects defined in the file (their names and namespaces: the hosts an OTLP
    /// endpoint may name, OTEL039).
    pub services: Vec<std::sync::Arc<K8sObject>>,
    /// Launchers of the file, and gunicorn/framework facts of a Python module.
    pub launch: LaunchSummary,
    /// A kustomization file's `namespace:` and `resources:` (kept for files so named only:
    /// see [`crate::syntax::kustomize`]).
    pub kustomization: Option<Arc<Kustomization>>,
}

/// A document of a YAML stream, as [`FileSummary::stream_documents`] keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StreamDocument {
    /// The document's start in the stream.
    pub start: usize,
    /// Its object.
    pub object: Arc<K8sObject>,
    /// It parses without an error.
    pub parses: bool,
}

impl StreamDocument {
    /// Whether a stream's summary keeps `o`'s document.
    pub fn kept(o: &K8sObject) -> bool {
        o.is_instrumentation() || o.kind == "Namespace" && o.group().is_empty()
    }
}

/// The files' summaries in path order, numbered by position: the indexes refer to a file by
/// its number, and [`Files::at`] reaches it without comparing paths (a `BTreeMap` look-up
/// compares a dozen paths component by component, which was 6 % of a manifest check).
/// Inserting in path order (as `check` does) appends; the editor inserts one file at a time.
#[derive(Debug, Clone, Default)]
struct Files(Vec<(PathBuf, FileSummary)>);

impl Files {
    fn find(&self, path: &Path) -> Result<usize, usize> {
        self.0.binary_search_by(|(k, _)| k.as_path().cmp(path))
    }

    fn get(&self, path: &Path) -> Option<&FileSummary> {
        self.find(path).ok().map(|n| &self.0[n].1)
    }

    /// The file numbered `n` (its position in path order).
    fn at(&self, n: usize) -> Option<(&PathBuf, &FileSummary)> {
        self.0.get(n).map(|(k, s)| (k, s))
    }

    fn insert(&mut self, path: PathBuf, summary: FileSummary) {
        match self.0.last() {
            Some((last, _)) if last.as_path() < path.as_path() => self.0.push((path, summary)),
            _ => match self.find(&path) {
                Ok(n) => self.0[n].1 = summary,
                Err(n) => self.0.insert(n, (path, summary)),
            },
        }
    }

    fn remove(&mut self, path: &Path) -> Option<FileSummary> {
        self.find(path).ok().map(|n| self.0.remove(n).1)
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    fn iter(&self) -> impl Iterator<Item = (&PathBuf, &FileSummary)> {
        self.0.iter().map(|(k, s)| (k, s))
    }

    fn keys(&self) -> impl Iterator<Item = &PathBuf> {
        self.0.iter().map(|(k, _)| k)
    }

    fn values(&self) -> impl Iterator<Item = &FileSummary> {
        self.0.iter().map(|(_, s)| s)
    }
}

/// Drops the facts a file contributes only when its name says what it is: a kustomization's
/// `namespace:`/`resources:`, a Helm values file's pods (`syntax::yaml::values_pods`).
fn keep_named_facts(path: &Path, summary: &mut FileSummary) {
    if !is_kustomization_path(path) {
        summary.kustomization = None;
    }
    if !crate::syntax::yaml::is_values_path(path) {
        summary.injectors.retain(|o| !o.is_helm_values());
    }
}

/// The cross-file facts of one workspace root.
#[derive(Debug, Clone, Default)]
pub struct Workspace {
    files: Files,
    /// Changes on every change, so caches can tell. Drawn from a process-wide counter: two
    /// workspaces with the same generation hold the same files (one is a clone of the other,
    /// or both are empty), so a cache keyed on it alone cannot confuse two workspaces.
    pub generation: u64,
    /// Each file's generation (when its summary last changed), and their wrapping sum, so
    /// that "everything but this file" has a generation of its own (see
    /// [`generation_without`](Self::generation_without)).
    file_generations: std::collections::HashMap<PathBuf, u64>,
    generation_sum: u64,
    /// Look-up indexes over the files (a cache, rebuilt per generation).
    index: Index,
    /// The generation that last added or removed a file, and the one that last changed
    /// what the launch index reads (the file set, or some file's launchers' targets and
    /// folders): a newer generation's indexes take those parts over from an older one's
    /// when neither changed since. A keystroke in a big manifest stream changes its summary
    /// every time, and its launchers' byte offsets, but seldom what they start.
    files_at: u64,
    launch_at: u64,
    /// The workspace holds the early facts only (see [`Workspace::set_partial`]).
    partial: bool,
}

thread_local! {
    /// Set when a look-up on a partial workspace read facts it may lack.
    static LATE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `work` (a check against a partial workspace, on this thread) and says whether it
/// asked the workspace something a partial one cannot answer for sure: then its result must
/// be computed again against the whole workspace.
pub fn speculate<T>(work: impl FnOnce() -> T) -> (T, bool) {
    LATE.with(|l| l.set(false));
    let out = work();
    (out, LATE.with(|l| l.replace(false)))
}

/// Indexes over the files, so that the look-ups below do not scan the whole workspace: they
/// are asked per file, per object or per launcher, and scanning made a check of a few
/// thousand manifests quadratic (cubic for ConfigMaps and Operator annotations). Built on
/// first use for the current generation; invisible to `Debug`, empty in a clone. Shared by
/// the threads that check files against one `&Workspace`, hence the lock: it only hands out
/// the generation's [`Indexes`], whose parts are built outside it.
#[derive(Default)]
struct Index(Mutex<Option<Arc<Indexes>>>);

/// The indexes of one generation. Each part is built when a look-up first needs it (a
/// single-file check builds next to nothing); parts may read other parts, never their own.
struct Indexes {
    generation: u64,
    files: OnceLock<Arc<FileIndex>>,
    shared: OnceLock<SharedIndexData>,
    operator: OnceLock<OperatorIndex>,
    /// The Instrumentations some pod's or Namespace's effective `inject-python` value
    /// resolves to ([`Workspace::is_python_target`]).
    python_targets: OnceLock<HashSet<Arc<K8sObject>>>,
    /// Instrumentation → the injectors (and the `inject-*` keys) whose effective values
    /// resolve to it ([`Workspace::users_of`]).
    users: OnceLock<HashMap<Loc, Vec<(Loc, String)>>>,
    launch: OnceLock<Arc<LaunchIndex>>,
    imports: OnceLock<ImportIndex>,
    kustomize: OnceLock<KustomizeIndex>,
    hosts: OnceLock<HostIndex>,
    /// Every file's `injected_images`, lower-case, each with whether some container runs it
    /// as built ([`Workspace::image_injected`], [`Workspace::image_injected_as_built`]).
    injected_images: OnceLock<HashMap<String, bool>>,
    /// [`Workspace::dependents`] as answered in this generation. The editor asks it twice
    /// per change of a file's summary, before and after: the "before" was the last change's
    /// "after".
    dependents: Mutex<HashMap<PathBuf, Vec<PathBuf>>>,
}

/// Objects with the namespaces they are applied in.
pub type Applied = Arc<[(Arc<K8sObject>, Option<String>)]>;

/// The files by path. Files are numbered in path order (the map's), which the other parts
/// use, so that sorting numbers restores the order the linear scans had.
struct FileIndex {
    /// The files' paths, by number.
    keys: Vec<PathBuf>,
    /// Their [`clean`] paths, by number (computed once, not per look-up).
    clean: Vec<PathBuf>,
    /// Clean path → the files with that clean path (`a.py` and `./a.py` are two files).
    by_clean: HashMap<PathBuf, Vec<u32>>,
    /// Every tail of the clean paths (`c.py`, `b/c.py`, `a/b/c.py` for `a/b/c.py`) → the
    /// files whose clean path ends so: the files a launcher's relative path may name.
    by_suffix: HashMap<PathBuf, Vec<u32>>,
}

/// `(name, namespace)` of a ConfigMap.
type ConfigMapKey = (String, Option<String>);

/// Indexes over the shared launch facts: resolving a ConfigMap, finding who reads a file.
struct SharedIndexData {
    /// `(name, namespace)` → the files and positions of ConfigMaps so named.
    config_maps: HashMap<ConfigMapKey, Vec<(u32, usize)>>,
    /// ConfigMap name → files that import a ConfigMap of that name (`envFrom`).
    config_map_readers: HashMap<String, Vec<u32>>,
    /// Env file (resolved path) → files that import it (`env_file:`).
    env_file_readers: HashMap<PathBuf, Vec<u32>>,
}

/// An object of a file: the file's number, the object's position in its list.
type Loc = (u32, u32);

/// The Operator objects by namespace and name (rules.md §0.3).
struct OperatorIndex {
    /// Some Instrumentation or annotated object names its namespace.
    explicit_namespaces: bool,
    /// Every Instrumentation, in workspace order.
    all: Vec<Loc>,
    /// The same, each with the namespace it is applied in.
    applied: Applied,
    /// Instrumentations by explicit namespace.
    by_namespace: HashMap<String, Vec<Loc>>,
    /// Instrumentations by explicit namespace, then name.
    by_name: HashMap<String, HashMap<String, Vec<Loc>>>,
    /// Instrumentations by name, whatever their namespace (a single-namespace workspace).
    by_any_name: HashMap<String, Vec<Loc>>,
    /// Namespace objects (core group) among the injectors, by name.
    namespaces: HashMap<String, Vec<Loc>>,
    /// Names of the Instrumentations that do not name their namespace.
    without_namespace: std::collections::HashSet<String>,
    /// Some Instrumentation names its namespace.
    instrumentation_namespaces: bool,
    /// Some Instrumentation has no (literal) name.
    unnamed_instrumentation: bool,
}

/// The workspace's launcher targets by the paths they name (for
/// [`Workspace::launched_by`]).
struct LaunchIndex {
    /// Every launcher target: file number, launcher and target positions. In launcher
    /// order, so sorting their numbers restores the order of a scan.
    targets: Vec<(u32, u32, u32)>,
    /// Clean path → the targets naming it: exactly (whether or not a file is there), or as
    /// the unique file under the launcher's directory ending with the named path.
    by_path: HashMap<PathBuf, Vec<u32>>,
    /// The targets whose by-suffix fallback is open (no exact file, at most one match), by
    /// the last component of the named path, with the launcher's directory and that path:
    /// they also name files outside the workspace.
    loose: HashMap<std::ffi::OsString, Vec<(u32, PathBuf, PathBuf)>>,
    /// By target: the files it names, by number, in order (what
    /// [`Workspace::named_files`] says).
    named: Vec<Vec<u32>>,
}

/// What the kustomizations of the workspace say of the files they list (rules.md §0.3).
#[derive(Default)]
struct KustomizeIndex {
    /// Clean path of a listed file → the namespace each way of building it gives (each
    /// once; `None`: a way that sets none, so the file's own namespaces stay).
    chains: HashMap<PathBuf, Vec<Option<String>>>,
    /// Clean path of a file (a listed one, or a kustomization listed by another) → the
    /// kustomizations (by number) that list it, directly or through the folders they list.
    listed_by: HashMap<PathBuf, Vec<u32>>,
    /// Kustomization (by number) → the files it builds, directly or through the folders it
    /// lists, each with the index of its own `resources:` entry that brings it in.
    builds: HashMap<u32, Vec<(u32, u32)>>,
}

/// The host names Services and OpenTelemetryCollectors give the workspace (OTEL039).
#[derive(Default)]
struct HostIndex {
    /// Service name → the namespace of each Service so named (kustomize-aware; `None`:
    /// unknown), the Services the Operator makes for collectors included.
    services: HashMap<String, Vec<Option<String>>>,
    /// Collector name (collectors with a Service: not in sidecar mode) → their namespaces.
    collectors: HashMap<String, Vec<Option<String>>>,
    /// The namespaces of the sidecar-mode collectors.
    sidecars: Vec<Option<String>>,
    /// The pod namespaces of the objects whose pods ask for a collector sidecar.
    sidecar_pods: Vec<Option<String>>,
    /// Some Service or collector has no literal name (a template's).
    unnamed: bool,
}

/// The Services the Operator makes for an OpenTelemetryCollector named `name` (operator
/// `internal/naming`: `<name>-collector`, `-headless`, `-monitoring`, and the target
/// allocator's).
pub fn collector_services(name: &str) -> [String; 4] {
    [
        format!("{name}-collector"),
        format!("{name}-collector-headless"),
        format!("{name}-collector-monitoring"),
        format!("{name}-targetallocator"),
    ]
}

/// The files whose imports name a file (for [`Workspace::dependents`]).
struct ImportIndex {
    /// Clean path → the files (by number, each once) whose imports name it.
    readers: HashMap<PathBuf, Vec<u32>>,
}

impl Clone for Index {
    fn clone(&self) -> Self {
        Index::default()
    }
}

impl std::fmt::Debug for Index {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Index")
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

    /// Marks the workspace as holding only the *early* facts, the CLI's first phase: every
    /// file is present, the launcher files (Dockerfiles, scripts, Procfiles, Makefiles, uWSGI
    /// ini, `.env`) and kustomizations are summarised whole, YAML streams only for their
    /// providers (the Instrumentation, ConfigMap and Namespace documents), Python modules not
    /// at all. The
    /// look-ups whose answers could change once the rest is in (launchers, launch association,
    /// injected pods and images, readers, the summaries of YAML and Python files) then say so
    /// to [`speculate`]; the others (Instrumentations, ConfigMaps, Namespaces, launcher files)
    /// are final.
    pub fn set_partial(&mut self, partial: bool) {
        self.partial = partial;
    }

    /// On a partial workspace, notes that a look-up read facts it may lack.
    fn late(&self) {
        if self.partial {
            LATE.with(|l| l.set(true));
        }
    }

    /// Says that a check reads documents of its own stream that a partial workspace's check
    /// may not have parsed (the CLI's speculative pass parses a stream's non-provider
    /// documents only): its result must then be computed again on the whole.
    pub fn whole_stream(&self) {
        self.late();
    }

    /// Whether a partial workspace holds `path`'s whole summary: launcher files only.
    fn complete(&self, path: &Path) -> bool {
        !self.partial
            || crate::language::Language::from_path(path).is_some_and(|l| l.is_launcher_kind())
            || is_kustomization_path(path)
    }

    /// Records (or replaces) a file's summary. Returns whether anything changed.
    pub fn update(&mut self, path: PathBuf, mut summary: FileSummary) -> bool {
        keep_named_facts(&path, &mut summary);
        if self.files.get(&path) == Some(&summary) {
            return false;
        }
        self.replace(path, summary);
        true
    }

    /// Records a file's summary, known to differ from the one recorded.
    fn replace(&mut self, path: PathBuf, summary: FileSummary) {
        self.generation = next_generation();
        match self.files.get(&path) {
            None => {
                self.files_at = self.generation;
                self.launch_at = self.generation;
            }
            Some(old) if !same_launch_shape(old, &summary) => self.launch_at = self.generation,
            Some(_) => {}
        }
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
            self.files_at = self.generation;
            self.launch_at = self.generation;
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
    pub fn apply(&mut self, path: PathBuf, mut summary: Option<FileSummary>) -> Affected {
        if let Some(s) = summary.as_mut() {
            keep_named_facts(&path, s);
        }
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
                    || a.kustomization != b.kustomization
                    || a.collectors != b.collectors
                    || a.services != b.services
                    || a.launch.injected_images != b.launch.injected_images
                    || a.launch.injected_as_built != b.launch.injected_as_built
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

    /// Every Instrumentation of the workspace with the file it is in, in workspace order.
    pub fn instrumentations_at(&self) -> impl Iterator<Item = (&Path, &K8sObject)> {
        self.files
            .iter()
            .flat_map(|(p, f)| f.instrumentations.iter().map(move |o| (p.as_path(), &**o)))
    }

    /// Whether the workspace holds a summary of `path`.
    pub fn holds(&self, path: &Path) -> bool {
        self.files.get(path).is_some()
    }

    /// The document of the stream `path` that starts at byte `start`, if its summary keeps
    /// it (an Instrumentation or a Namespace).
    pub fn stream_document_at(&self, path: &Path, start: usize) -> Option<&StreamDocument> {
        let docs = &self.files.get(path)?.stream_documents;
        docs.binary_search_by_key(&start, |d| d.start)
            .ok()
            .map(|i| &docs[i])
    }

    /// The Instrumentations named `name`, whatever their namespace, in workspace order.
    pub fn instrumentations_named(&self, name: &str) -> Vec<&K8sObject> {
        let ix = self.indexes();
        let (fx, op) = (ix.files(self), ix.operator(self));
        op.by_any_name
            .get(name)
            .into_iter()
            .flatten()
            .filter_map(|&loc| self.instrumentation_at(fx, loc).map(|o| &**o))
            .collect()
    }

    /// Whether some file imports a ConfigMap named `name` (`envFrom:`): without one, no
    /// container reads it.
    pub fn config_map_read(&self, name: &str) -> bool {
        self.late();
        let ix = self.indexes();
        ix.shared(self).config_map_readers.contains_key(name)
    }

    /// Whether some Instrumentation named `name` may be the one `ns/name` means: in that
    /// namespace or in none (`ns` `None`: in any).
    pub fn has_instrumentation(&self, name: &str, ns: Option<&str>) -> bool {
        let ix = self.indexes();
        let op = ix.operator(self);
        match ns {
            None => op.by_any_name.contains_key(name),
            Some(ns) => {
                op.without_namespace.contains(name)
                    || op.by_name.get(ns).is_some_and(|m| m.contains_key(name))
            }
        }
    }

    /// The Instrumentations whose explicit namespace is `ns`, in workspace order.
    pub fn instrumentations_in(&self, ns: &str) -> Vec<&K8sObject> {
        let ix = self.indexes();
        let (fx, op) = (ix.files(self), ix.operator(self));
        op.by_namespace
            .get(ns)
            .into_iter()
            .flatten()
            .filter_map(|&loc| self.instrumentation_at(fx, loc).map(|o| &**o))
            .collect()
    }

    /// Whether some Instrumentation has no explicit namespace (it may be applied into any).
    pub fn has_instrumentation_without_namespace(&self) -> bool {
        let ix = self.indexes();
        let op = ix.operator(self);
        !op.without_namespace.is_empty() || op.unnamed_instrumentation
    }

    /// Whether some Instrumentation is named `name` (in any namespace).
    pub fn has_instrumentation_named(&self, name: &str) -> bool {
        self.indexes().operator(self).by_any_name.contains_key(name)
    }

    /// Whether some Instrumentation names its namespace, and whether some has no literal
    /// name (a templated one).
    pub fn instrumentation_shape(&self) -> (bool, bool) {
        let ix = self.indexes();
        let op = ix.operator(self);
        (op.instrumentation_namespaces, op.unnamed_instrumentation)
    }

    /// The launch facts other files may need (see `launch::imports`), by file.
    pub fn shared_facts(&self) -> impl Iterator<Item = (&Path, &LaunchFacts)> {
        self.late();
        self.files
            .iter()
            .filter_map(|(p, s)| s.launch.facts.as_deref().map(|f| (p.as_path(), f)))
    }

    /// The shared launch facts of one file.
    pub fn launch_facts(&self, path: &Path) -> Option<&LaunchFacts> {
        self.summary(path).and_then(|s| s.launch.facts.as_deref())
    }

    /// The ConfigMaps named `name` in namespace `ns` (both unset counts as the same), with
    /// the files that define them, in path order.
    pub fn config_maps_named(
        &self,
        name: &str,
        ns: Option<&str>,
    ) -> Vec<(&Path, &crate::launch::imports::ConfigMap)> {
        let ix = self.indexes();
        let index = ix.shared(self);
        let Some(list) = index
            .config_maps
            .get(&(name.to_string(), ns.map(str::to_string)))
        else {
            return Vec::new();
        };
        list.iter()
            .filter_map(|&(n, i)| {
                let (key, summary) = self.files.at(n as usize)?;
                let c = summary.launch.facts.as_deref()?.config_maps.get(i)?;
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
        if !dotenv && config_maps.is_empty() {
            return Vec::new();
        }
        self.late();
        let ix = self.indexes();
        let index = ix.shared(self);
        let mut paths: Vec<u32> = Vec::new();
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
            .filter_map(|n| {
                let (key, summary) = self.files.at(n as usize)?;
                Some((key.as_path(), summary.launch.facts.as_deref()?))
            })
            .collect()
    }
}

// ---------------------------------------------------------------------------------------
// The indexes (see [`Index`]).

impl Workspace {
    /// The indexes of the current generation (their parts are built on first use).
    fn indexes(&self) -> Arc<Indexes> {
        let mut slot = self.index.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(ix) = slot.as_ref().filter(|ix| ix.generation == self.generation) {
            return ix.clone();
        }
        // Parts that read nothing changed since the last indexes were built carry over.
        let carried = |at: u64, part: Option<&Indexes>| {
            part.filter(|old| at <= old.generation && old.generation < self.generation)
                .is_some()
        };
        let old = slot.as_deref();
        let files = match old.and_then(|o| o.files.get()) {
            Some(f) if carried(self.files_at, old) => OnceLock::from(f.clone()),
            _ => OnceLock::new(),
        };
        let launch = match old.and_then(|o| o.launch.get()) {
            Some(l) if carried(self.launch_at, old) && files.get().is_some() => {
                OnceLock::from(l.clone())
            }
            _ => OnceLock::new(),
        };
        let ix = Arc::new(Indexes {
            generation: self.generation,
            files,
            shared: OnceLock::new(),
            operator: OnceLock::new(),
            python_targets: OnceLock::new(),
            users: OnceLock::new(),
            launch,
            imports: OnceLock::new(),
            kustomize: OnceLock::new(),
            hosts: OnceLock::new(),
            injected_images: OnceLock::new(),
            dependents: Mutex::default(),
        });
        *slot = Some(ix.clone());
        ix
    }

    /// File `n` of the index (see [`FileIndex`]).
    fn entry<'s>(&'s self, _fx: &FileIndex, n: u32) -> Option<(&'s Path, &'s FileSummary)> {
        let (k, s) = self.files.at(n as usize)?;
        Some((k.as_path(), s))
    }

    fn instrumentation_at(&self, fx: &FileIndex, (n, i): Loc) -> Option<&Arc<K8sObject>> {
        self.entry(fx, n)?.1.instrumentations.get(i as usize)
    }

    fn injector_at(&self, fx: &FileIndex, (n, i): Loc) -> Option<&K8sObject> {
        self.entry(fx, n)?.1.injectors.get(i as usize).map(|o| &**o)
    }
}

impl Indexes {
    fn files(&self, ws: &Workspace) -> &FileIndex {
        self.files.get_or_init(|| Arc::new(FileIndex::build(ws)))
    }

    fn shared(&self, ws: &Workspace) -> &SharedIndexData {
        self.shared.get_or_init(|| SharedIndexData::build(ws))
    }

    fn operator(&self, ws: &Workspace) -> &OperatorIndex {
        self.operator.get_or_init(|| OperatorIndex::build(ws, self))
    }

    fn kustomize(&self, ws: &Workspace) -> &KustomizeIndex {
        self.kustomize
            .get_or_init(|| KustomizeIndex::build(ws, self.files(ws)))
    }

    fn python_targets(&self, ws: &Workspace) -> &HashSet<Arc<K8sObject>> {
        self.python_targets.get_or_init(|| {
            let fx = self.files(ws);
            let mut out = HashSet::new();
            ws.late();
            for (path, o) in ws.injectors_at() {
                let ns = ws.pod_namespace_in(self, Some(path), o);
                let ns = ns.as_deref();
                let Some(v) = ws.effective_annotation_in(
                    self,
                    o.pod_annotation(INJECT_PYTHON),
                    ns,
                    INJECT_PYTHON,
                ) else {
                    continue;
                };
                if let Some(found) = ws
                    .resolve_in(self, v, ns)
                    .and_then(|loc| ws.instrumentation_at(fx, loc))
                {
                    out.insert(found.clone());
                }
            }
            out
        })
    }

    fn users(&self, ws: &Workspace) -> &HashMap<Loc, Vec<(Loc, String)>> {
        self.users.get_or_init(|| {
            let fx = self.files(ws);
            let mut out: HashMap<Loc, Vec<(Loc, String)>> = HashMap::new();
            for (n, (path, s)) in ws.files.iter().enumerate() {
                for (i, o) in s.injectors.iter().enumerate() {
                    // Kustomize-aware, as every other look-up of a pod's namespace.
                    let ns = ws.pod_namespace_in(self, Some(path), o);
                    let ns = ns.as_deref();
                    let mut keys: Vec<&str> = Vec::new();
                    for (k, _) in &o.pod_annotations {
                        if k.starts_with(INJECT_PREFIX) && !keys.contains(&k.as_str()) {
                            keys.push(k);
                        }
                    }
                    for key in keys {
                        let Some(v) =
                            ws.effective_annotation_in(self, o.pod_annotation(key), ns, key)
                        else {
                            continue;
                        };
                        if let Some(loc) = ws.resolve_in(self, v, ns) {
                            if ws.instrumentation_at(fx, loc).is_some() {
                                out.entry(loc)
                                    .or_default()
                                    .push(((n as u32, i as u32), key.to_string()));
                            }
                        }
                    }
                }
            }
            out
        })
    }

    fn hosts(&self, ws: &Workspace) -> &HostIndex {
        self.hosts.get_or_init(|| {
            let mut hx = HostIndex::default();
            for (path, s) in ws.files.iter() {
                for o in &s.services {
                    let ns = ws.namespace_in(self, path, o.namespace.as_deref());
                    match &o.name {
                        Some(n) => hx.services.entry(n.clone()).or_default().push(ns),
                        None => hx.unnamed = true,
                    }
                }
                for o in &s.collectors {
                    let ns = ws.namespace_in(self, path, o.namespace.as_deref());
                    let Some(n) = &o.name else {
                        hx.unnamed = true;
                        continue;
                    };
                    if o.collector_mode.as_deref() == Some("sidecar") {
                        hx.sidecars.push(ns);
                        continue;
                    }
                    hx.collectors.entry(n.clone()).or_default().push(ns.clone());
                    for svc in collector_services(n) {
                        hx.services.entry(svc).or_default().push(ns.clone());
                    }
                }
                for o in s.injectors.iter().filter(|o| o.sidecar) {
                    hx.sidecar_pods
                        .push(ws.pod_namespace_in(self, Some(path), o));
                }
            }
            hx
        })
    }

    fn launch(&self, ws: &Workspace) -> &LaunchIndex {
        self.launch
            .get_or_init(|| Arc::new(LaunchIndex::build(ws, self.files(ws))))
    }

    fn imports(&self, ws: &Workspace) -> &ImportIndex {
        self.imports.get_or_init(|| {
            let mut readers: HashMap<PathBuf, Vec<u32>> = HashMap::new();
            for (n, (q, s)) in ws.files.iter().enumerate() {
                let Some(f) = s.launch.facts.as_deref() else {
                    continue;
                };
                for t in ws.import_targets(q, f) {
                    let list = readers.entry(t).or_default();
                    if list.last() != Some(&(n as u32)) {
                        list.push(n as u32);
                    }
                }
            }
            ImportIndex { readers }
        })
    }

    fn injected_images(&self, ws: &Workspace) -> &HashMap<String, bool> {
        self.injected_images.get_or_init(|| {
            let mut out: HashMap<String, bool> = HashMap::new();
            for s in ws.files.values() {
                for i in &s.launch.injected_images {
                    out.entry(i.to_ascii_lowercase()).or_default();
                }
                for i in &s.launch.injected_as_built {
                    out.insert(i.to_ascii_lowercase(), true);
                }
            }
            out
        })
    }
}

impl FileIndex {
    fn build(ws: &Workspace) -> Self {
        let mut fx = FileIndex {
            keys: Vec::with_capacity(ws.files.len()),
            clean: Vec::with_capacity(ws.files.len()),
            by_clean: HashMap::new(),
            by_suffix: HashMap::new(),
        };
        for (n, k) in ws.files.keys().enumerate() {
            let n = n as u32;
            let c = clean(k);
            let parts: Vec<_> = c.components().collect();
            for i in 0..parts.len() {
                let tail: PathBuf = parts[i..].iter().collect();
                fx.by_suffix.entry(tail).or_default().push(n);
            }
            fx.by_clean.entry(c.clone()).or_default().push(n);
            fx.keys.push(k.clone());
            fx.clean.push(c);
        }
        fx
    }

    /// The files under `dir` whose path there ends with `rel` (both clean), in path order.
    fn under_ending_with<'a>(
        &'a self,
        dir: &'a Path,
        rel: &'a Path,
    ) -> impl Iterator<Item = u32> + 'a {
        self.by_suffix
            .get(rel)
            .into_iter()
            .flatten()
            .copied()
            .filter(move |&n| {
                self.clean[n as usize]
                    .strip_prefix(dir)
                    .is_ok_and(|r| r.ends_with(rel))
            })
    }

    /// The by-suffix fallback for a named path `rel` (clean, not empty) in `dir`: open
    /// (`Some`) when no file is at `dir/rel` and at most one file under `dir` ends with
    /// `rel`, with that file if there is one.
    fn fallback(&self, dir: &Path, rel: &Path) -> Option<Option<u32>> {
        if self.by_clean.contains_key(&dir.join(rel)) {
            return None;
        }
        let mut found = self.under_ending_with(dir, rel);
        match (found.next(), found.next()) {
            (one, None) => Some(one),
            _ => None,
        }
    }
}

impl SharedIndexData {
    fn build(ws: &Workspace) -> Self {
        use crate::launch::imports::{resolve_path, Source};
        let mut d = SharedIndexData {
            config_maps: Default::default(),
            config_map_readers: Default::default(),
            env_file_readers: Default::default(),
        };
        ws.late();
        let shared = ws
            .files
            .iter()
            .enumerate()
            .filter_map(|(n, (p, s))| Some((n as u32, p, s.launch.facts.as_deref()?)));
        for (n, p, f) in shared {
            for (i, c) in f.config_maps.iter().enumerate() {
                d.config_maps
                    .entry((c.name.clone(), c.namespace.clone()))
                    .or_default()
                    .push((n, i));
            }
            for imp in &f.imports {
                match &imp.source {
                    Source::ConfigMap { name, .. } => d
                        .config_map_readers
                        .entry(name.clone())
                        .or_default()
                        .push(n),
                    Source::EnvFile(rel) => d
                        .env_file_readers
                        .entry(resolve_path(p, rel))
                        .or_default()
                        .push(n),
                    Source::Image { .. } => {}
                }
            }
        }
        d
    }
}

impl OperatorIndex {
    fn build(ws: &Workspace, ix: &Indexes) -> Self {
        let mut op = OperatorIndex {
            explicit_namespaces: false,
            all: Vec::new(),
            applied: Arc::new([]),
            by_namespace: HashMap::new(),
            by_name: HashMap::new(),
            by_any_name: HashMap::new(),
            namespaces: HashMap::new(),
            without_namespace: Default::default(),
            instrumentation_namespaces: false,
            unnamed_instrumentation: false,
        };
        let mut applied = Vec::new();
        for (n, (path, s)) in ws.files.iter().enumerate() {
            let n = n as u32;
            for (i, o) in s.instrumentations.iter().enumerate() {
                let loc = (n, i as u32);
                let namespace = ws.namespace_in(ix, path, o.namespace.as_deref());
                applied.push((o.clone(), namespace.clone()));
                op.explicit_namespaces |= namespace.is_some();
                op.instrumentation_namespaces |= namespace.is_some();
                op.unnamed_instrumentation |= o.name.is_none();
                op.all.push(loc);
                if let Some(ns) = &namespace {
                    op.by_namespace.entry(ns.clone()).or_default().push(loc);
                }
                if let Some(name) = &o.name {
                    op.by_any_name.entry(name.clone()).or_default().push(loc);
                    if namespace.is_none() {
                        op.without_namespace.insert(name.clone());
                    }
                    if let Some(ns) = &namespace {
                        op.by_name
                            .entry(ns.clone())
                            .or_default()
                            .entry(name.clone())
                            .or_default()
                            .push(loc);
                    }
                }
            }
            for (i, o) in s.injectors.iter().enumerate() {
                op.explicit_namespaces |= ws.pod_namespace_in(ix, Some(path), o).is_some();
                if o.kind == "Namespace" && o.group().is_empty() {
                    if let Some(name) = &o.name {
                        op.namespaces
                            .entry(name.clone())
                            .or_default()
                            .push((n, i as u32));
                    }
                }
            }
        }
        op.applied = applied.into();
        op
    }
}

/// A `resources:` entry of a kustomization: a file, or a folder's kustomization.
#[derive(Clone, Copy)]
enum Child {
    File(u32),
    Kustomization(u32),
}

/// The walk of [`KustomizeIndex::build`]: the kustomizations by number, their children.
struct KustomizeWalk<'a> {
    facts: &'a HashMap<u32, &'a Kustomization>,
    children: &'a HashMap<u32, Vec<(u32, Child)>>,
    fx: &'a FileIndex,
}

impl KustomizeIndex {
    fn build(ws: &Workspace, fx: &FileIndex) -> Self {
        let mut kx = KustomizeIndex::default();
        let facts: HashMap<u32, &Kustomization> = ws
            .files
            .iter()
            .enumerate()
            .filter_map(|(n, (_, s))| Some((n as u32, s.kustomization.as_deref()?)))
            .collect();
        if facts.is_empty() {
            return kx;
        }
        // A folder's kustomization, in kustomize's file-name order.
        let in_dir = |dir: &Path| {
            crate::syntax::kustomize::FILE_NAMES.iter().find_map(|f| {
                fx.by_clean
                    .get(&dir.join(f))?
                    .iter()
                    .copied()
                    .find(|n| facts.contains_key(n))
            })
        };
        let mut children: HashMap<u32, Vec<(u32, Child)>> = HashMap::new();
        let mut has_parent: HashSet<u32> = HashSet::new();
        let mut numbers: Vec<u32> = facts.keys().copied().collect();
        numbers.sort_unstable();
        for &k in &numbers {
            let dir = fx.clean[k as usize]
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default();
            let list = children.entry(k).or_default();
            for (ei, e) in facts[&k].resources.iter().enumerate() {
                let p = clean(&dir.join(e));
                if let Some(files) = fx.by_clean.get(&p) {
                    list.extend(files.iter().map(|&f| (ei as u32, Child::File(f))));
                } else if let Some(sub) = in_dir(&p).filter(|&s| s != k) {
                    list.push((ei as u32, Child::Kustomization(sub)));
                    has_parent.insert(sub);
                }
            }
        }
        let walk = KustomizeWalk {
            facts: &facts,
            children: &children,
            fx,
        };
        // From the kustomizations no other one lists (those that are built), then from any a
        // cycle left unvisited.
        let mut visited: HashSet<u32> = HashSet::new();
        let roots: Vec<u32> = numbers
            .iter()
            .copied()
            .filter(|k| !has_parent.contains(k))
            .collect();
        for k in roots.into_iter().chain(numbers.iter().copied()) {
            if !visited.contains(&k) {
                walk.visit(&mut kx, k, None, &mut Vec::new(), &mut visited);
            }
        }
        for v in kx.listed_by.values_mut() {
            v.sort_unstable();
            v.dedup();
        }
        for v in kx.builds.values_mut() {
            v.sort_unstable();
            v.dedup();
        }
        kx
    }
}

impl KustomizeWalk<'_> {
    /// Visits kustomization `k`, built with the namespace `outer` of the kustomizations
    /// above it (`stack`: each with the entry it took), which wins over its own.
    fn visit(
        &self,
        kx: &mut KustomizeIndex,
        k: u32,
        outer: Option<&str>,
        stack: &mut Vec<(u32, u32)>,
        visited: &mut HashSet<u32>,
    ) {
        visited.insert(k);
        let ns = outer.or(self.facts[&k].namespace.as_deref());
        for &(ei, child) in self.children.get(&k).into_iter().flatten() {
            let (f, sub) = match child {
                Child::File(f) => (f, None),
                Child::Kustomization(s) => (s, Some(s)),
            };
            let key = self.fx.clean[f as usize].clone();
            let listed = kx.listed_by.entry(key.clone()).or_default();
            listed.extend(stack.iter().map(|(a, _)| *a));
            listed.push(k);
            match sub {
                None => {
                    let chains = kx.chains.entry(key).or_default();
                    let ns = ns.map(str::to_string);
                    if !chains.contains(&ns) {
                        chains.push(ns);
                    }
                    for &(a, ae) in stack.iter() {
                        kx.builds.entry(a).or_default().push((f, ae));
                    }
                    kx.builds.entry(k).or_default().push((f, ei));
                }
                Some(s) => {
                    if s == k || stack.iter().any(|(a, _)| *a == s) {
                        continue;
                    }
                    stack.push((k, ei));
                    self.visit(kx, s, ns, stack, visited);
                    stack.pop();
                }
            }
        }
    }
}

impl LaunchIndex {
    fn build(ws: &Workspace, fx: &FileIndex) -> Self {
        let mut lx = LaunchIndex {
            targets: Vec::new(),
            by_path: HashMap::new(),
            loose: HashMap::new(),
            named: Vec::new(),
        };
        for (n, (file, s)) in ws.files.iter().enumerate() {
            if s.launch.launchers.is_empty() {
                continue;
            }
            let dir = clean(file.parent().unwrap_or(Path::new("")));
            for (li, l) in s.launch.launchers.iter().enumerate() {
                for (ti, t) in l.targets.iter().enumerate() {
                    let id = lx.targets.len() as u32;
                    lx.targets.push((n as u32, li as u32, ti as u32));
                    let mut named = Vec::new();
                    for rel in candidate_paths(t, l) {
                        let rel = clean(&rel);
                        let exact = dir.join(&rel);
                        let fallback = fx.fallback(&dir, &rel);
                        if !rel.as_os_str().is_empty() {
                            if let Some(files) = fx.by_clean.get(&exact) {
                                named.extend(files);
                            } else if let Some(Some(one)) = fallback {
                                named.push(one);
                            }
                        }
                        let Some(last) = rel.components().next_back() else {
                            continue;
                        };
                        let last = last.as_os_str().to_os_string();
                        // Exactly, whether or not a file is there (the path asked about may
                        // be outside the workspace).
                        lx.by_path.entry(exact).or_default().push(id);
                        let Some(one) = fallback else {
                            continue;
                        };
                        if let Some(f) = one {
                            let key = fx.clean[f as usize].clone();
                            lx.by_path.entry(key).or_default().push(id);
                        }
                        lx.loose
                            .entry(last)
                            .or_default()
                            .push((id, dir.clone(), rel));
                    }
                    named.sort_unstable();
                    named.dedup();
                    lx.named.push(named);
                }
            }
        }
        lx
    }
}

// ---------------------------------------------------------------------------------------
// Namespaces (§0.3): `metadata.namespace`, kustomize's `namespace:`.

impl Workspace {
    /// The namespace an object of `path` is applied in, `explicit` its `metadata.namespace`:
    /// the `namespace:` of the kustomizations that build the file (kustomize sets it on every
    /// object, replacing its own), else `explicit`. When the ways of building the file
    /// disagree, unknown.
    fn namespace_in(&self, ix: &Indexes, path: &Path, explicit: Option<&str>) -> Option<String> {
        let kx = ix.kustomize(self);
        if kx.chains.is_empty() {
            return explicit.map(str::to_string);
        }
        let Some(chains) = kx.chains.get(&clean(path)) else {
            return explicit.map(str::to_string);
        };
        let mut out: Option<&str> = None;
        for c in chains {
            let v = c.as_deref().or(explicit)?;
            if out.is_some_and(|o| o != v) {
                return None;
            }
            out = Some(v);
        }
        out.map(str::to_string)
    }

    fn pod_namespace_in(&self, ix: &Indexes, path: Option<&Path>, o: &K8sObject) -> Option<String> {
        if o.kind == "Namespace" && o.group().is_empty() {
            return o.name.clone();
        }
        match path {
            Some(p) => self.namespace_in(ix, p, o.namespace.as_deref()),
            None => o.namespace.clone(),
        }
    }

    /// The namespace an object of the file at `path` is applied in (see
    /// [`pod_namespace`](Self::pod_namespace)); `None` when unknown.
    pub fn object_namespace(&self, path: &Path, o: &K8sObject) -> Option<String> {
        self.namespace_in(&self.indexes(), path, o.namespace.as_deref())
    }

    /// The namespace the pods of an object of the file at `path` run in: a Namespace's own
    /// name; else its `metadata.namespace`, unless kustomizations that list the file set
    /// theirs (kustomize replaces it); `None` when unknown. Without a path, the object's own.
    pub fn pod_namespace(&self, path: Option<&Path>, o: &K8sObject) -> Option<String> {
        self.pod_namespace_in(&self.indexes(), path, o)
    }

    /// Every Instrumentation of the workspace with the namespace it is applied in, in
    /// workspace order.
    /// Computed once per generation of the workspace: rules ask for it per annotation.
    pub fn instrumentations_with_namespace(&self) -> Applied {
        self.indexes().operator(self).applied.clone()
    }

    /// Every OpenTelemetryCollector of the workspace with the namespace it is applied in.
    pub fn collectors_with_namespace(&self) -> Vec<(&K8sObject, Option<String>)> {
        let ix = self.indexes();
        self.files
            .iter()
            .flat_map(|(p, f)| f.collectors.iter().map(move |o| (p, &**o)))
            .map(|(p, o)| (o, self.namespace_in(&ix, p, o.namespace.as_deref())))
            .collect()
    }

    /// The namespaces of the Services named `host` (`None`: unknown), the Services the
    /// Operator makes for OpenTelemetryCollectors included; empty when the workspace holds
    /// none.
    pub fn service_namespaces(&self, host: &str) -> Vec<Option<String>> {
        self.late();
        let ix = self.indexes();
        ix.hosts(self)
            .services
            .get(host)
            .cloned()
            .unwrap_or_default()
    }

    /// The namespaces of the OpenTelemetryCollectors named `name` that have a Service (not
    /// in sidecar mode).
    pub fn collector_namespaces(&self, name: &str) -> Vec<Option<String>> {
        let ix = self.indexes();
        ix.hosts(self)
            .collectors
            .get(name)
            .cloned()
            .unwrap_or_default()
    }

    /// The namespaces of the sidecar-mode OpenTelemetryCollectors (`None`: unknown).
    pub fn sidecar_collector_namespaces(&self) -> Vec<Option<String>> {
        let ix = self.indexes();
        ix.hosts(self).sidecars.clone()
    }

    /// Whether some object's pods ask for a collector sidecar in namespace `ns` (or in a
    /// namespace unknown; `ns` unknown: in any).
    pub fn sidecar_pods_in(&self, ns: Option<&str>) -> bool {
        self.late();
        let ix = self.indexes();
        ix.hosts(self)
            .sidecar_pods
            .iter()
            .any(|p| p.is_none() || ns.is_none() || p.as_deref() == ns)
    }

    /// Whether the workspace knows its in-cluster host names: it holds at least one Service
    /// or OpenTelemetryCollector, and every one has a literal name.
    pub fn knows_hosts(&self) -> bool {
        self.late();
        let ix = self.indexes();
        let hx = ix.hosts(self);
        let any = !hx.services.is_empty() || !hx.sidecars.is_empty();
        any && !hx.unnamed
    }

    /// Every object whose pods (or namespace) carry Operator annotations, with its file.
    pub fn injectors_at(&self) -> impl Iterator<Item = (&Path, &K8sObject)> {
        self.late();
        self.files
            .iter()
            .flat_map(|(p, f)| f.injectors.iter().map(move |o| (p.as_path(), &**o)))
    }

    /// The kustomizations that build the file at `path`, directly or through the folders
    /// they list, in path order.
    pub fn kustomizations_of(&self, path: &Path) -> Vec<&Path> {
        let ix = self.indexes();
        let (fx, kx) = (ix.files(self), ix.kustomize(self));
        kx.listed_by
            .get(&clean(path))
            .into_iter()
            .flatten()
            .filter_map(|&n| self.entry(fx, n).map(|(p, _)| p))
            .collect()
    }

    /// The files the kustomization at `path` builds, directly or through the folders it
    /// lists, each with the index of the kustomization's own `resources:` entry (then
    /// `bases:`) that brings it in: `(entry, file, summary)`, by entry, then path.
    pub fn kustomization_builds(&self, path: &Path) -> Vec<(usize, &Path, &FileSummary)> {
        self.late();
        let ix = self.indexes();
        let (fx, kx) = (ix.files(self), ix.kustomize(self));
        let Some(&me) = fx.by_clean.get(&clean(path)).and_then(|v| v.first()) else {
            return Vec::new();
        };
        let mut out: Vec<(usize, &Path, &FileSummary)> = kx
            .builds
            .get(&me)
            .into_iter()
            .flatten()
            .filter_map(|&(f, e)| self.entry(fx, f).map(|(p, s)| (e as usize, p, s)))
            .collect();
        out.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        out
    }

    /// The files linked to `path` by kustomizations: those it builds (when it is one), and
    /// the kustomizations that build it.
    fn kustomize_links(&self, path: &Path) -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = self
            .kustomizations_of(path)
            .into_iter()
            .map(Path::to_path_buf)
            .collect();
        if is_kustomization_path(path) {
            let ix = self.indexes();
            let (fx, kx) = (ix.files(self), ix.kustomize(self));
            if let Some(&me) = fx.by_clean.get(&clean(path)).and_then(|v| v.first()) {
                for &(f, _) in kx.builds.get(&me).into_iter().flatten() {
                    if let Some(k) = fx.keys.get(f as usize) {
                        if !out.contains(k) {
                            out.push(k.clone());
                        }
                    }
                }
            }
        }
        out
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

/// Whether two summaries' launchers start the same targets from the same folders, in the
/// same order: all the launch index reads of a file (see [`candidate_paths`]).
fn same_launch_shape(a: &FileSummary, b: &FileSummary) -> bool {
    fn shape(
        l: &LaunchRef,
    ) -> (
        &Vec<Target>,
        &Option<String>,
        &Option<String>,
        &Option<String>,
    ) {
        (&l.targets, &l.chdir, &l.workdir, &l.context_root)
    }
    let (a, b) = (&a.launch.launchers, &b.launch.launchers);
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| shape(x) == shape(y))
}

/// The relative paths a target may name, in the launcher's directory. Reads only the
/// launcher's `chdir`, `workdir` and `context_root` (`Workspace::dependents` relies on it).
fn candidate_paths(target: &Target, l: &LaunchRef) -> Vec<PathBuf> {
    let to_context = container_relative(l);
    // `--chdir`/`--app-dir` is where relative targets are looked up.
    let base: Option<PathBuf> = l.chdir.as_deref().map(&to_context);
    let under = |s: &str| match &base {
        Some(b) if !s.starts_with('/') => b.join(s),
        _ => to_context(s),
    };
    match target {
        Target::Script(s) | Target::Config(s) | Target::UwsgiIni(s) => vec![under(s)],
        Target::Module(m) => {
            let rel: String = m.split('.').collect::<Vec<_>>().join("/");
            vec![
                under(&format!("{rel}.py")),
                under(&format!("{rel}/__init__.py")),
            ]
        }
    }
}

/// Maps a path written in a launcher to a path relative to the launcher's folder (the build
/// context of a Dockerfile, the folder of a script or compose file). When the Dockerfile
/// copied the context to a known folder (`COPY . /app`), a path in the container — absolute,
/// or relative to `WORKDIR` — maps exactly: `WORKDIR /app/src` + `python run.py` is
/// `src/run.py`. Otherwise a relative path is taken as relative to the launcher's folder,
/// a `WORKDIR`-prefixed absolute path loses the prefix, and another absolute path keeps only
/// its file name (looked up by suffix).
fn container_relative(l: &LaunchRef) -> impl Fn(&str) -> PathBuf + '_ {
    move |s: &str| {
        let workdir = l.workdir.as_deref().filter(|w| w.starts_with('/'));
        if let Some(root) = l.context_root.as_deref() {
            let abs = match (s.starts_with('/'), workdir) {
                (true, _) => Some(PathBuf::from(s)),
                (false, Some(w)) => Some(Path::new(w).join(s)),
                (false, None) => None,
            };
            if let Some(rest) = abs
                .as_deref()
                .and_then(|a| clean(a).strip_prefix(root).ok().map(Path::to_path_buf))
            {
                return rest;
            }
        }
        if !s.starts_with('/') {
            return PathBuf::from(s);
        }
        if let Some(w) = workdir {
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
        self.late();
        self.files
            .iter()
            .flat_map(|(p, f)| f.launch.launchers.iter().map(move |l| (p.as_path(), l)))
    }

    /// The distinct settings modules that Python modules of the workspace default
    /// `DJANGO_SETTINGS_MODULE` to (`os.environ.setdefault(…)`), in path order.
    pub fn django_settings_modules(&self) -> Vec<&str> {
        self.late();
        let mut out: Vec<&str> = Vec::new();
        for s in self.files.values() {
            if let Some(m) = s.launch.django_settings.as_deref() {
                if !out.contains(&m) {
                    out.push(m);
                }
            }
        }
        out
    }

    /// The files of the workspace whose file name is `name` (`manage.py`), in path order.
    pub fn files_named(&self, name: &str) -> Vec<(&Path, &FileSummary)> {
        self.late();
        self.files
            .iter()
            .filter(|(p, _)| p.file_name().is_some_and(|n| n == name))
            .map(|(p, s)| (p.as_path(), s))
            .collect()
    }

    /// The file at `path` (compared as clean paths) with its summary.
    pub fn file_at(&self, path: &Path) -> Option<(&Path, &FileSummary)> {
        self.late();
        let ix = self.indexes();
        let fx = ix.files(self);
        let n = *fx.by_clean.get(&clean(path))?.first()?;
        self.entry(fx, n)
    }

    /// The files directly in the folder `dir` (clean paths compared), or anywhere under it
    /// with `recursive`, in path order.
    pub fn files_in(&self, dir: &Path, recursive: bool) -> Vec<(&Path, &FileSummary)> {
        self.late();
        let ix = self.indexes();
        let fx = ix.files(self);
        let dir = clean(dir);
        (0..fx.keys.len() as u32)
            .filter(|&n| {
                let c = &fx.clean[n as usize];
                match c.strip_prefix(&dir) {
                    Ok(rest) => recursive || rest.components().count() == 1,
                    Err(_) => false,
                }
            })
            .filter_map(|n| self.entry(fx, n))
            .collect()
    }

    /// The summary of a file.
    pub fn summary(&self, path: &Path) -> Option<&FileSummary> {
        if !self.complete(path) {
            self.late();
        }
        self.files.get(path).or_else(|| {
            // The first file with the same clean path.
            let ix = self.indexes();
            let fx = ix.files(self);
            let n = *fx.by_clean.get(&clean(path))?.first()?;
            self.entry(fx, n).map(|(_, s)| s)
        })
    }

    /// The files that `target` of launcher `l` in `file` names, by number, in path order:
    /// the exact path relative to the launcher's directory, else (fallback heuristic) the
    /// only workspace file under that directory whose path ends with the named relative path.
    fn named_files(&self, fx: &FileIndex, file: &Path, l: &LaunchRef, target: &Target) -> Vec<u32> {
        let dir = clean(file.parent().unwrap_or(Path::new("")));
        let mut out = Vec::new();
        for rel in candidate_paths(target, l) {
            let rel = clean(&rel);
            if rel.as_os_str().is_empty() {
                continue;
            }
            if let Some(exact) = fx.by_clean.get(&dir.join(&rel)) {
                out.extend(exact);
            } else if let Some(Some(one)) = fx.fallback(&dir, &rel) {
                out.push(one);
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The files that `target` of launcher `l` in `file` names, in path order.
    fn named<'s>(
        &'s self,
        file: &Path,
        l: &LaunchRef,
        target: &Target,
    ) -> impl Iterator<Item = (&'s Path, &'s FileSummary)> + 's {
        let ix = self.indexes();
        let named = self.named_files(ix.files(self), file, l, target);
        if self.partial
            && named.iter().any(|&n| {
                ix.files(self)
                    .keys
                    .get(n as usize)
                    .is_some_and(|k| !self.complete(k))
            })
        {
            self.late();
        }
        named
            .into_iter()
            .filter_map(move |n| self.entry(ix.files(self), n))
    }

    /// The launchers (of any file) that start `path` or use it as gunicorn config.
    pub fn launched_by(&self, path: &Path) -> Vec<LaunchedBy<'_>> {
        self.late();
        let ix = self.indexes();
        let (fx, lx) = (ix.files(self), ix.launch(self));
        let path = clean(path);
        let mut ids: Vec<u32> = lx.by_path.get(&path).cloned().unwrap_or_default();
        // A path outside the workspace: named by the open by-suffix fallbacks that fit it.
        if !fx.by_clean.contains_key(&path) {
            if let Some(last) = path.components().next_back() {
                for (id, dir, rel) in lx.loose.get(last.as_os_str()).into_iter().flatten() {
                    if path.strip_prefix(dir).is_ok_and(|r| r.ends_with(rel)) {
                        ids.push(*id);
                    }
                }
            }
        }
        ids.sort_unstable();
        ids.dedup();
        ids.into_iter()
            .filter_map(|id| {
                let &(n, li, ti) = lx.targets.get(id as usize)?;
                let (file, s) = self.entry(fx, n)?;
                let launcher = s.launch.launchers.get(li as usize)?;
                Some(LaunchedBy {
                    file,
                    launcher,
                    target: launcher.targets.get(ti as usize)?,
                })
            })
            .collect()
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

    /// Whether the process a launcher starts gets its SDK providers from auto-instrumentation
    /// when `opentelemetry-instrument` or `initialize()` runs in it: the Operator injects its
    /// pod (its image always carries `opentelemetry-distro`), or an OpenTelemetry distro is
    /// installed (by a `pip install` list of its file, else of the image its compose service
    /// builds). When neither file tells (requirements files are not read), an exporter,
    /// configurator or distro setting in its environment says a configurator is expected.
    /// An image whose packages are all listed explicitly without a distro has none.
    pub fn auto_configures(&self, file: &Path, l: &LaunchRef) -> bool {
        use crate::launch::imports::{pick_image, resolve_path, Source};
        use crate::launch::packaging::AUTO_CONFIG_VARS;
        if l.operator_injected || (l.runtime && self.image_injected(file)) {
            return true;
        }
        let image = || {
            l.imports.iter().find_map(|s| {
                let Source::Image { dockerfile, target } = s else {
                    return None;
                };
                let f = self.launch_facts(&resolve_path(file, dockerfile))?;
                pick_image(f, target.as_deref())?;
                f.distro_installed()
            })
        };
        match l.distro.or_else(image) {
            Some(installed) => installed,
            None => {
                l.auto_config_env
                    || AUTO_CONFIG_VARS
                        .iter()
                        .any(|v| self.imported_env(file, l, v).is_some())
            }
        }
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
        self.image_injected_as(dockerfile, false)
    }

    /// Whether [`image_injected`](Self::image_injected) holds through a container that sets
    /// neither `command:` nor `args:`, so that the pod runs the Dockerfile's own
    /// `ENTRYPOINT`/`CMD`.
    pub fn image_injected_as_built(&self, dockerfile: &Path) -> bool {
        self.image_injected_as(dockerfile, true)
    }

    fn image_injected_as(&self, dockerfile: &Path, as_built: bool) -> bool {
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
        if names.is_empty() {
            return false;
        }
        self.late();
        let ix = self.indexes();
        let images = ix.injected_images(self);
        names.iter().any(|n| {
            images
                .get(&n.to_ascii_lowercase())
                .is_some_and(|&built| built || !as_built)
        })
    }

    /// The gunicorn config module a gunicorn launcher in `file` reads (`-c`, or the default
    /// `gunicorn.conf.py` of its directory), with its facts.
    pub fn gunicorn_config(&self, file: &Path, l: &LaunchRef) -> Option<(&Path, &GunicornSummary)> {
        let t = l.targets.iter().find(|t| matches!(t, Target::Config(_)))?;
        self.named(file, l, t)
            .find_map(|(p, s)| Some((p, s.launch.gunicorn.as_ref()?)))
    }

    /// The framework of the app module a launcher starts, when known.
    pub fn framework_of(
        &self,
        file: &Path,
        l: &LaunchRef,
    ) -> Option<crate::launch::summary::Framework> {
        l.targets
            .iter()
            .filter(|t| t.is_app())
            .find_map(|t| self.named(file, l, t).next()?.1.launch.framework)
    }

    /// Whether the app module a launcher starts initialises OpenTelemetry itself.
    pub fn target_initializes_otel(&self, file: &Path, l: &LaunchRef) -> bool {
        l.targets.iter().any(|t| {
            self.named(file, l, t)
                .any(|(_, s)| s.launch.initializes_otel)
        })
    }

    /// Files whose diagnostics may change when `path` changes: the files its launchers
    /// start, and the files whose launchers start it. Call it before and after
    /// [`Workspace::update`] and re-check the union (a launcher may have dropped a target).
    pub fn dependents(&self, path: &Path) -> Vec<PathBuf> {
        // A partial workspace may answer differently once it is whole: not kept.
        if self.partial {
            return self.dependents_now(path);
        }
        let ix = self.indexes();
        let kept = || ix.dependents.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(d) = kept().get(path) {
            return d.clone();
        }
        let d = self.dependents_now(path);
        kept().insert(path.to_path_buf(), d.clone());
        d
    }

    fn dependents_now(&self, path: &Path) -> Vec<PathBuf> {
        // Reads the file's summary, as `summary` would (which says so when it may lack).
        if !self.complete(path) {
            self.late();
        }
        let mut out: Vec<PathBuf> = Vec::new();
        let ix = self.indexes();
        let fx = ix.files(self);
        // The file `summary` answers with: this path, else the first with its clean path.
        let n = match self.files.find(path) {
            Ok(n) => Some(n as u32),
            Err(_) => fx
                .by_clean
                .get(&clean(path))
                .and_then(|n| n.first().copied()),
        };
        let folder = |p: &Path| clean(p.parent().unwrap_or(Path::new("")));
        let indexed = n.filter(|&n| {
            fx.keys
                .get(n as usize)
                .is_some_and(|k| folder(k) == folder(path))
        });
        if let (None, Some(s)) = (indexed, n.and_then(|n| self.entry(fx, n))) {
            // Written from another folder (`a/b/..`): its targets resolve from there.
            for l in &s.1.launch.launchers {
                for t in &l.targets {
                    for (p, _) in self.named(path, l, t) {
                        if p != path && !out.iter().any(|o| o == p) {
                            out.push(p.to_path_buf());
                        }
                    }
                }
            }
        }
        if let Some(n) = indexed {
            // What its launchers' targets name, as the launch index resolved them.
            let lx = ix.launch(self);
            let from = lx.targets.partition_point(|t| t.0 < n);
            let to = lx.targets.partition_point(|t| t.0 <= n);
            for named in &lx.named[from..to] {
                if self.partial
                    && named
                        .iter()
                        .any(|&m| fx.keys.get(m as usize).is_some_and(|k| !self.complete(k)))
                {
                    self.late();
                }
                for (p, _) in named.iter().filter_map(|&m| self.entry(fx, m)) {
                    if p != path && !out.iter().any(|o| o == p) {
                        out.push(p.to_path_buf());
                    }
                }
            }
        }
        // The launchers of other files that start it (its own are no dependents).
        for b in self.launched_by(path) {
            if b.file != path && !out.iter().any(|o| o == b.file) {
                out.push(b.file.to_path_buf());
            }
        }
        for f in self.import_links(path) {
            if f != path && !out.contains(&f) {
                out.push(f);
            }
        }
        for f in self.kustomize_links(path) {
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
        let ix = self.indexes();
        let fx = ix.files(self);
        // The first file with that clean path.
        let key_of = |c: &Path| {
            let n = *fx.by_clean.get(c)?.first()?;
            fx.keys.get(n as usize).cloned()
        };
        let mut out: Vec<PathBuf> = Vec::new();
        if let Some(f) = self.launch_facts(path) {
            out.extend(
                self.import_targets(path, f)
                    .iter()
                    .filter_map(|t| key_of(t)),
            );
        }
        let readers = ix.imports(self).readers.get(&me);
        for &n in readers.into_iter().flatten() {
            if fx.clean[n as usize] != me {
                out.extend(fx.keys.get(n as usize).cloned());
            }
        }
        out
    }

    /// The summaries of the files a launcher starts (not its config).
    pub fn targets_of(&self, file: &Path, l: &LaunchRef) -> Vec<(&Path, &FileSummary)> {
        let ix = self.indexes();
        let fx = ix.files(self);
        let mut named: Vec<u32> = l
            .targets
            .iter()
            .filter(|t| t.is_app())
            .flat_map(|t| self.named_files(fx, file, l, t))
            .collect();
        named.sort_unstable();
        named.dedup();
        if named
            .iter()
            .any(|&n| fx.keys.get(n as usize).is_some_and(|k| !self.complete(k)))
        {
            self.late();
        }
        named
            .into_iter()
            .filter_map(|n| self.entry(fx, n))
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
        self.named(file, l, t).find_map(|(p, s)| {
            if Language::from_path(p) != Some(Language::Ini) {
                return None;
            }
            let ini = s.launch.launchers.iter().find(|x| x.program == "uwsgi")?;
            Some((p, ini))
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

    pub(super) fn launcher(
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
            context_root: None,
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
            distro: None,
            auto_config_env: false,
            uwsgi: vec![],
            celery_pool: None,
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

/// The prefix of every `inject-<lang>` pod annotation.
pub const INJECT_PREFIX: &str = "instrumentation.opentelemetry.io/inject-";

/// An Operator object of the workspace and the file it is defined in.
#[derive(Debug, Clone, Copy)]
pub struct Located<'a> {
    /// The file.
    pub path: &'a Path,
    /// The object.
    pub object: &'a K8sObject,
}

/// What an `inject-*` value selects, as far as the files tell (for explanations).
#[derive(Debug, Clone)]
pub enum Resolution<'a> {
    /// Injection is off (`"false"`, empty).
    Off,
    /// The one Instrumentation the Operator would use.
    Found(Located<'a>),
    /// `"true"` with several Instrumentations in the pod's namespace.
    Ambiguous(Vec<Located<'a>>),
    /// Nothing in the pod's namespace; these (same name, or any for `"true"`) are elsewhere.
    Elsewhere(Vec<Located<'a>>),
    /// The pod's namespace is unknown while the workspace names namespaces.
    UnknownNamespace,
    /// No Instrumentation matches at all.
    Missing,
}

impl Workspace {
    /// Every object whose pods (or namespace) carry Operator annotations.
    pub fn injectors(&self) -> impl Iterator<Item = &K8sObject> {
        self.late();
        self.files
            .values()
            .flat_map(|f| f.injectors.iter().map(|o| &**o))
    }

    /// Whether any Instrumentation or annotated object of the workspace names its namespace.
    /// When none does, the workspace is read as one namespace (§0.3).
    pub fn has_explicit_namespaces(&self) -> bool {
        let explicit = self.indexes().operator(self).explicit_namespaces;
        if !explicit {
            // More files (annotated pods) could still name one.
            self.late();
        }
        explicit
    }

    /// Whether some Namespace object of the workspace carries Operator annotations (its pods
    /// may be injected without a mention in their own files). Namespaces are early facts.
    pub fn has_namespace_injection(&self) -> bool {
        !self.indexes().operator(self).namespaces.is_empty()
    }

    /// The value of `key` on the Namespace object named `ns`, if the workspace defines one.
    pub fn namespace_annotation(&self, ns: &str, key: &str) -> Option<&str> {
        self.namespace_annotation_in(&self.indexes(), ns, key)
    }

    fn namespace_annotation_in<'s>(&'s self, ix: &Indexes, ns: &str, key: &str) -> Option<&'s str> {
        let (fx, op) = (ix.files(self), ix.operator(self));
        op.namespaces
            .get(ns)?
            .iter()
            .filter_map(|&loc| self.injector_at(fx, loc))
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
        self.effective_annotation_in(&self.indexes(), pod_value, pod_ns, key)
    }

    fn effective_annotation_in<'a>(
        &'a self,
        ix: &Indexes,
        pod_value: Option<&'a str>,
        pod_ns: Option<&str>,
        key: &str,
    ) -> Option<&'a str> {
        let pod = pod_value.filter(|v| !v.is_empty());
        let ns = pod_ns
            .and_then(|n| self.namespace_annotation_in(ix, n, key))
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
        let ix = self.indexes();
        let loc = self.resolve_in(&ix, value, pod_ns)?;
        self.instrumentation_at(ix.files(self), loc).map(|o| &**o)
    }

    fn resolve_in(&self, ix: &Indexes, value: &str, pod_ns: Option<&str>) -> Option<Loc> {
        if value.is_empty() || value.eq_ignore_ascii_case("false") {
            return None;
        }
        let op = ix.operator(self);
        let single_namespace = !op.explicit_namespaces;
        if single_namespace && pod_ns.is_none() {
            // Read as one namespace until an annotated pod of the rest names one.
            self.late();
        }
        let found: Option<&Vec<Loc>> = if value.eq_ignore_ascii_case("true") {
            match pod_ns {
                Some(ns) => op.by_namespace.get(ns),
                None => single_namespace.then_some(&op.all),
            }
        } else {
            match value.split_once('/') {
                Some((ns, name)) => op.by_name.get(ns).and_then(|m| m.get(name)),
                None => match pod_ns {
                    Some(ns) => op.by_name.get(ns).and_then(|m| m.get(value)),
                    None if single_namespace => op.by_any_name.get(value),
                    None => None,
                },
            }
        };
        match found.map(Vec::as_slice) {
            Some([one]) => Some(*one),
            _ => None,
        }
    }

    fn located(&self, fx: &FileIndex, loc: Loc) -> Option<Located<'_>> {
        let (path, s) = self.entry(fx, loc.0)?;
        Some(Located {
            path,
            object: s.instrumentations.get(loc.1 as usize)?,
        })
    }

    /// Explains what an effective `inject-*` value selects for a pod in `pod_ns` (the same
    /// decision as [`Self::resolve`], with the near candidates when it selects none). At most
    /// `limit` candidates are listed.
    pub fn resolution(&self, value: &str, pod_ns: Option<&str>, limit: usize) -> Resolution<'_> {
        if value.is_empty() || value.eq_ignore_ascii_case("false") {
            return Resolution::Off;
        }
        let ix = self.indexes();
        let (fx, op) = (ix.files(self), ix.operator(self));
        let list = |locs: &[Loc]| -> Vec<Located<'_>> {
            locs.iter()
                .take(limit)
                .filter_map(|&l| self.located(fx, l))
                .collect()
        };
        if let Some(loc) = self.resolve_in(&ix, value, pod_ns) {
            if let Some(l) = self.located(fx, loc) {
                return Resolution::Found(l);
            }
        }
        let truthy = value.eq_ignore_ascii_case("true");
        let here: Vec<Loc> = if truthy {
            match pod_ns {
                Some(ns) => op.by_namespace.get(ns).cloned().unwrap_or_default(),
                None if !op.explicit_namespaces => op.all.clone(),
                None => Vec::new(),
            }
        } else {
            Vec::new()
        };
        if here.len() > 1 {
            return Resolution::Ambiguous(list(&here));
        }
        let name = value.rsplit_once('/').map_or(value, |(_, n)| n);
        let elsewhere: Vec<Loc> = if truthy {
            op.all.clone()
        } else {
            op.by_any_name.get(name).cloned().unwrap_or_default()
        };
        if elsewhere.is_empty() {
            return Resolution::Missing;
        }
        if pod_ns.is_none() && op.explicit_namespaces && !value.contains('/') {
            return Resolution::UnknownNamespace;
        }
        Resolution::Elsewhere(list(&elsewhere))
    }

    /// The Instrumentation defined in `path` that equals `inst`, if the workspace holds it;
    /// without a path (a text checked on its own), the first equal one of the workspace.
    fn loc_of(&self, fx: &FileIndex, path: Option<&Path>, inst: &K8sObject) -> Option<Loc> {
        let Some(path) = path else {
            return self.files.values().enumerate().find_map(|(n, s)| {
                let i = s.instrumentations.iter().position(|o| **o == *inst)?;
                Some((n as u32, i as u32))
            });
        };
        let n = fx.keys.binary_search_by(|k| k.as_path().cmp(path)).ok()?;
        let s = self.entry(fx, n as u32)?.1;
        let i = s.instrumentations.iter().position(|o| **o == *inst)?;
        Some((n as u32, i as u32))
    }

    /// The objects whose pods (or namespace) select the Instrumentation `inst` of `path`, each
    /// with the file it is in and the `inject-*` key that selects it, in workspace order.
    /// Without a path, of the first Instrumentation of the workspace equal to `inst`.
    pub fn users_of(&self, path: Option<&Path>, inst: &K8sObject) -> Vec<(Located<'_>, String)> {
        self.late();
        let ix = self.indexes();
        let fx = ix.files(self);
        let Some(loc) = self.loc_of(fx, path, inst) else {
            return Vec::new();
        };
        ix.users(self)
            .get(&loc)
            .into_iter()
            .flatten()
            .filter_map(|&((n, i), ref key)| {
                let (p, s) = self.entry(fx, n)?;
                Some((
                    Located {
                        path: p,
                        object: s.injectors.get(i as usize)?,
                    },
                    key.clone(),
                ))
            })
            .collect()
    }

    /// Whether some pod or Namespace of the workspace asks for Python injection with a value
    /// that resolves to `inst`.
    pub fn is_python_target(&self, inst: &K8sObject) -> bool {
        self.late();
        self.indexes().python_targets(self).contains(inst)
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

/// The linear scans the indexes replace, kept as the reference the tests hold them to.
#[cfg(test)]
mod linear {
    use super::*;

    pub fn summary<'w>(ws: &'w Workspace, path: &Path) -> Option<&'w FileSummary> {
        ws.files.get(path).or_else(|| {
            ws.files
                .iter()
                .find(|(p, _)| clean(p) == clean(path))
                .map(|(_, s)| s)
        })
    }

    pub fn names(ws: &Workspace, file: &Path, l: &LaunchRef, target: &Target, path: &Path) -> bool {
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
                let exact = dir.join(&cand);
                if ws.files.keys().any(|k| clean(k) == exact) {
                    continue;
                }
                let n = ws
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

    pub fn launched_by<'w>(ws: &'w Workspace, path: &Path) -> Vec<LaunchedBy<'w>> {
        let mut out = Vec::new();
        for (file, l) in ws.launchers() {
            for t in &l.targets {
                if names(ws, file, l, t, path) {
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

    pub fn image_injected(ws: &Workspace, dockerfile: &Path) -> bool {
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
            && ws.files.values().any(|s| {
                s.launch
                    .injected_images
                    .iter()
                    .any(|i| names.iter().any(|n| n.eq_ignore_ascii_case(i)))
            })
    }

    pub fn gunicorn_config<'w>(
        ws: &'w Workspace,
        file: &Path,
        l: &LaunchRef,
    ) -> Option<(&'w Path, &'w GunicornSummary)> {
        let t = l.targets.iter().find(|t| matches!(t, Target::Config(_)))?;
        ws.files.iter().find_map(|(p, s)| {
            let g = s.launch.gunicorn.as_ref()?;
            names(ws, file, l, t, p).then_some((p.as_path(), g))
        })
    }

    pub fn framework_of(
        ws: &Workspace,
        file: &Path,
        l: &LaunchRef,
    ) -> Option<crate::launch::summary::Framework> {
        l.targets.iter().filter(|t| t.is_app()).find_map(|t| {
            ws.files
                .iter()
                .find(|(p, _)| names(ws, file, l, t, p))
                .and_then(|(_, s)| s.launch.framework)
        })
    }

    pub fn target_initializes_otel(ws: &Workspace, file: &Path, l: &LaunchRef) -> bool {
        l.targets.iter().any(|t| {
            ws.files
                .iter()
                .any(|(p, s)| s.launch.initializes_otel && names(ws, file, l, t, p))
        })
    }

    pub fn targets_of<'w>(
        ws: &'w Workspace,
        file: &Path,
        l: &LaunchRef,
    ) -> Vec<(&'w Path, &'w FileSummary)> {
        ws.files
            .iter()
            .filter(|(p, _)| {
                l.targets
                    .iter()
                    .any(|t| t.is_app() && names(ws, file, l, t, p))
            })
            .map(|(p, s)| (p.as_path(), s))
            .collect()
    }

    pub fn uwsgi_ini<'w>(
        ws: &'w Workspace,
        file: &Path,
        l: &LaunchRef,
    ) -> Option<(&'w Path, &'w LaunchRef)> {
        use crate::language::Language;
        let t = l
            .targets
            .iter()
            .find(|t| matches!(t, Target::UwsgiIni(_)))?;
        ws.files.iter().find_map(|(p, s)| {
            if Language::from_path(p) != Some(Language::Ini) || !names(ws, file, l, t, p) {
                return None;
            }
            let ini = s.launch.launchers.iter().find(|x| x.program == "uwsgi")?;
            Some((p.as_path(), ini))
        })
    }

    pub fn dependents(ws: &Workspace, path: &Path) -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = Vec::new();
        if let Some(s) = summary(ws, path) {
            for l in &s.launch.launchers {
                for t in &l.targets {
                    for p in ws.files.keys() {
                        if p != path && names(ws, path, l, t, p) && !out.contains(p) {
                            out.push(p.clone());
                        }
                    }
                }
            }
        }
        for (file, l) in ws.launchers().filter(|(f, _)| *f != path) {
            if l.targets.iter().any(|t| names(ws, file, l, t, path))
                && !out.iter().any(|o| o == file)
            {
                out.push(file.to_path_buf());
            }
        }
        for f in import_links(ws, path) {
            if f != path && !out.contains(&f) {
                out.push(f);
            }
        }
        for f in ws.kustomize_links(path) {
            if f != path && !out.contains(&f) {
                out.push(f);
            }
        }
        out
    }

    fn import_links(ws: &Workspace, path: &Path) -> Vec<PathBuf> {
        let me = clean(path);
        let key_of = |c: &Path| ws.files.keys().find(|k| clean(k) == c).cloned();
        let mut out: Vec<PathBuf> = Vec::new();
        if let Some(f) = summary(ws, path).and_then(|s| s.launch.facts.as_deref()) {
            out.extend(ws.import_targets(path, f).iter().filter_map(|t| key_of(t)));
        }
        for (q, f) in ws.shared_facts() {
            if clean(q) != me && ws.import_targets(q, f).contains(&me) {
                out.push(q.to_path_buf());
            }
        }
        out
    }

    /// Every Instrumentation and annotated object with its namespace, by a scan.
    fn objects(ws: &Workspace) -> Vec<(&K8sObject, Option<String>, bool)> {
        let mut out = Vec::new();
        for (p, s) in ws.files.iter() {
            for o in &s.instrumentations {
                out.push((&**o, ws.pod_namespace(Some(p), o), true));
            }
            for o in &s.injectors {
                out.push((&**o, ws.pod_namespace(Some(p), o), false));
            }
        }
        out
    }

    pub fn has_explicit_namespaces(ws: &Workspace) -> bool {
        objects(ws).iter().any(|(_, ns, _)| ns.is_some())
    }

    pub fn namespace_annotation<'w>(ws: &'w Workspace, ns: &str, key: &str) -> Option<&'w str> {
        ws.injectors()
            .filter(|o| {
                o.kind == "Namespace" && o.group().is_empty() && o.name.as_deref() == Some(ns)
            })
            .find_map(|o| o.pod_annotation(key))
    }

    pub fn effective_annotation<'a>(
        ws: &'a Workspace,
        pod_value: Option<&'a str>,
        pod_ns: Option<&str>,
        key: &str,
    ) -> Option<&'a str> {
        let pod = pod_value.filter(|v| !v.is_empty());
        let ns = pod_ns
            .and_then(|n| namespace_annotation(ws, n, key))
            .filter(|v| !v.is_empty());
        match (pod, ns) {
            (p, None) => p,
            (None, n) => n,
            (Some(p), Some(_)) if !p.eq_ignore_ascii_case("true") => Some(p),
            (Some(p), Some(n)) if n.eq_ignore_ascii_case("false") => Some(p),
            (Some(_), Some(n)) => Some(n),
        }
    }

    pub fn resolve<'w>(
        ws: &'w Workspace,
        value: &str,
        pod_ns: Option<&str>,
    ) -> Option<&'w K8sObject> {
        if value.is_empty() || value.eq_ignore_ascii_case("false") {
            return None;
        }
        let single_namespace = !has_explicit_namespaces(ws);
        let insts: Vec<(&K8sObject, Option<String>)> = objects(ws)
            .into_iter()
            .filter(|(_, _, i)| *i)
            .map(|(o, ns, _)| (o, ns))
            .collect();
        let in_pod_ns = |(_, ns): &&(&K8sObject, Option<String>)| match pod_ns {
            Some(p) => ns.as_deref() == Some(p),
            None => single_namespace,
        };
        let found: Vec<&K8sObject> = if value.eq_ignore_ascii_case("true") {
            insts.iter().filter(in_pod_ns).map(|(o, _)| *o).collect()
        } else {
            match value.split_once('/') {
                Some((ns, name)) => insts
                    .iter()
                    .filter(|(o, n)| o.name.as_deref() == Some(name) && n.as_deref() == Some(ns))
                    .map(|(o, _)| *o)
                    .collect(),
                None => insts
                    .iter()
                    .filter(in_pod_ns)
                    .filter(|(o, _)| o.name.as_deref() == Some(value))
                    .map(|(o, _)| *o)
                    .collect(),
            }
        };
        match found.as_slice() {
            [one] => Some(one),
            _ => None,
        }
    }

    pub fn is_python_target(ws: &Workspace, inst: &K8sObject) -> bool {
        ws.injectors_at().any(|(p, o)| {
            let ns = ws.pod_namespace(Some(p), o);
            let ns = ns.as_deref();
            effective_annotation(ws, o.pod_annotation(INJECT_PYTHON), ns, INJECT_PYTHON)
                .and_then(|v| resolve(ws, v, ns))
                .is_some_and(|found| found == inst)
        })
    }
}

#[cfg(test)]
mod index_tests {
    use super::*;
    use crate::engine::summarize;
    use crate::language::Language;

    const FLASK: &str = "from flask import Flask\napp = Flask(__name__)\n";
    const FASTAPI: &str = "from fastapi import FastAPI\napp = FastAPI()\n";
    const INIT_OTEL: &str =
        "from opentelemetry.instrumentation.auto_instrumentation import initialize\ninitialize()\n";

    /// A workspace of real summaries, each file's language from its path.
    fn workspace(files: &[(&str, &str)]) -> Workspace {
        let mut ws = Workspace::new();
        for (p, text) in files {
            let lang = Language::from_path(Path::new(p)).expect(p);
            ws.update(
                p.into(),
                summarize(&crate::engine::parse(lang, text.to_string())),
            );
        }
        ws
    }

    /// Adds the files under `dir` (those otel-lsp reads) with keys `prefix/<relative path>`.
    fn load(ws: &mut Workspace, dir: &Path, prefix: &Path) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for p in entries {
            let key = prefix.join(p.file_name().unwrap());
            if p.is_dir() {
                load(ws, &p, &key);
            } else if let Some(lang) = Language::from_path(&p) {
                let text = std::fs::read_to_string(&p).unwrap();
                ws.update(key, summarize(&crate::engine::parse(lang, text)));
            }
        }
    }

    /// The launchers by identity (address), so that equal launchers of two files differ.
    fn by(v: Vec<LaunchedBy<'_>>) -> Vec<(PathBuf, usize, Target)> {
        v.into_iter()
            .map(|b| {
                (
                    b.file.to_path_buf(),
                    b.launcher as *const LaunchRef as usize,
                    b.target.clone(),
                )
            })
            .collect()
    }

    fn files(v: Vec<(&Path, &FileSummary)>) -> Vec<(PathBuf, *const FileSummary)> {
        v.into_iter()
            .map(|(p, s)| (p.to_path_buf(), s as *const _))
            .collect()
    }

    /// How many look-ups found something, so a test can tell it asked real questions.
    #[derive(Default, Debug)]
    struct Found {
        launched_by: usize,
        fallback: usize,
        dependents: usize,
        targets: usize,
        resolved: usize,
        python_targets: usize,
    }

    /// Asks every indexed look-up what its linear reference is asked, about every file of
    /// `ws` (as written, and written other ways), the paths `outside`, every launcher of the
    /// workspace (also from an unclean path to its file) and `launchers`, and every
    /// Operator value and namespace the workspace mentions.
    fn assert_same(ws: &Workspace, outside: &[&str], launchers: &[(&str, LaunchRef)]) -> Found {
        let mut found = Found::default();
        let mut probes: Vec<PathBuf> = Vec::new();
        for k in ws.files.keys() {
            probes.push(k.clone());
            if k.is_relative() {
                probes.push(Path::new(".").join(k));
                probes.push(Path::new("zz/..").join(k));
            }
            if let (Some(dir), Some(name)) = (k.parent(), k.file_name()) {
                probes.push(dir.join(".").join(name));
                probes.push(dir.join("q/..").join(name));
            }
        }
        probes.extend(outside.iter().map(PathBuf::from));

        for p in &probes {
            assert_eq!(
                ws.summary(p).map(|s| s as *const _),
                linear::summary(ws, p).map(|s| s as *const _),
                "summary({p:?})"
            );
            let got = by(ws.launched_by(p));
            assert_eq!(got, by(linear::launched_by(ws, p)), "launched_by({p:?})");
            found.launched_by += got.len();
            let deps = ws.dependents(p);
            assert_eq!(deps, linear::dependents(ws, p), "dependents({p:?})");
            found.dependents += deps.len();
            assert_eq!(
                ws.image_injected(p),
                linear::image_injected(ws, p),
                "image_injected({p:?})"
            );
        }

        let mut asked: Vec<(PathBuf, LaunchRef)> = Vec::new();
        for (file, l) in ws.launchers() {
            asked.push((file.to_path_buf(), l.clone()));
            if let (Some(dir), Some(name)) = (file.parent(), file.file_name()) {
                asked.push((dir.join("x/../.").join(name), l.clone()));
            }
        }
        asked.extend(launchers.iter().map(|(f, l)| (PathBuf::from(f), l.clone())));
        for (file, l) in &asked {
            let what = format!("{file:?} {:?} {:?}", l.program, l.targets);
            assert_eq!(
                ws.gunicorn_config(file, l).map(|(p, g)| (p, g as *const _)),
                linear::gunicorn_config(ws, file, l).map(|(p, g)| (p, g as *const _)),
                "gunicorn_config({what})"
            );
            assert_eq!(
                ws.framework_of(file, l),
                linear::framework_of(ws, file, l),
                "framework_of({what})"
            );
            assert_eq!(
                ws.target_initializes_otel(file, l),
                linear::target_initializes_otel(ws, file, l),
                "target_initializes_otel({what})"
            );
            let targets = files(ws.targets_of(file, l));
            assert_eq!(
                targets,
                files(linear::targets_of(ws, file, l)),
                "targets_of({what})"
            );
            found.targets += targets.len();
            assert_eq!(
                ws.uwsgi_ini(file, l).map(|(p, x)| (p, x as *const _)),
                linear::uwsgi_ini(ws, file, l).map(|(p, x)| (p, x as *const _)),
                "uwsgi_ini({what})"
            );
            for t in &l.targets {
                let named: Vec<&Path> = ws.named(file, l, t).map(|(p, _)| p).collect();
                let want: Vec<&Path> = ws
                    .files
                    .keys()
                    .map(PathBuf::as_path)
                    .filter(|p| linear::names(ws, file, l, t, p))
                    .collect();
                assert_eq!(named, want, "named({what}, {t:?})");
                let exact: Vec<PathBuf> = candidate_paths(t, l)
                    .iter()
                    .map(|c| clean(&clean(file.parent().unwrap_or(Path::new(""))).join(clean(c))))
                    .collect();
                found.fallback += named.iter().filter(|p| !exact.contains(&clean(p))).count();
            }
        }

        assert_eq!(
            ws.has_explicit_namespaces(),
            linear::has_explicit_namespaces(ws)
        );
        let mut namespaces: Vec<String> = vec!["nowhere".into(), String::new()];
        let mut values: Vec<String> = ["", "true", "TRUE", "false", "False", "x/y/z", "/", "nope"]
            .map(String::from)
            .to_vec();
        for o in ws.instrumentations().chain(ws.injectors()) {
            namespaces.extend(o.namespace.clone());
            namespaces.extend(o.pod_namespace().map(str::to_string));
            if let Some(name) = &o.name {
                values.push(name.clone());
                values.push(name.to_uppercase());
                values.push(format!("/{name}"));
                for ns in ws.instrumentations().filter_map(|i| i.namespace.as_deref()) {
                    values.push(format!("{ns}/{name}"));
                }
            }
            values.extend(o.pod_annotations.iter().map(|(_, v)| v.clone()));
        }
        // The namespaces kustomizations give.
        for (p, o) in ws.injectors_at() {
            namespaces.extend(ws.pod_namespace(Some(p), o));
        }
        for (o, ns) in ws.instrumentations_with_namespace().iter() {
            if let (Some(ns), Some(name)) = (&ns, &o.name) {
                values.push(format!("{ns}/{name}"));
            }
            namespaces.extend(ns.clone());
        }
        namespaces.sort();
        namespaces.dedup();
        values.sort();
        values.dedup();
        let keys = [
            INJECT_PYTHON,
            "instrumentation.opentelemetry.io/inject-java",
            "instrumentation.opentelemetry.io/container-names",
        ];
        let pod_namespaces: Vec<Option<&str>> = std::iter::once(None)
            .chain(namespaces.iter().map(|n| Some(n.as_str())))
            .collect();
        for ns in &pod_namespaces {
            for v in &values {
                let got = ws.resolve(v, *ns).map(|o| o as *const _);
                assert_eq!(
                    got,
                    linear::resolve(ws, v, *ns).map(|o| o as *const _),
                    "resolve({v:?}, {ns:?})"
                );
                found.resolved += usize::from(got.is_some());
            }
            for key in keys {
                if let Some(n) = ns {
                    assert_eq!(
                        ws.namespace_annotation(n, key),
                        linear::namespace_annotation(ws, n, key),
                        "namespace_annotation({n:?}, {key})"
                    );
                }
                let pod_values =
                    std::iter::once(None).chain(values.iter().map(|v| Some(v.as_str())));
                for pod in pod_values {
                    assert_eq!(
                        ws.effective_annotation(pod, *ns, key),
                        linear::effective_annotation(ws, pod, *ns, key),
                        "effective_annotation({pod:?}, {ns:?}, {key})"
                    );
                }
            }
        }
        for i in ws.instrumentations() {
            let got = ws.is_python_target(i);
            assert_eq!(
                got,
                linear::is_python_target(ws, i),
                "is_python_target({i:?})"
            );
            found.python_targets += usize::from(got);
            let mut other = i.clone();
            other.api_version.push('x');
            assert!(!ws.is_python_target(&other));
        }
        found
    }

    fn launch_files() -> Vec<(&'static str, &'static str)> {
        vec![
            // WORKDIR-mapped absolute path; an exact file, so the other `src/app.py` is not named.
            (
                "svc/Dockerfile",
                "FROM python:3.12\nWORKDIR /app\nCMD [\"opentelemetry-instrument\", \"python\", \"/app/src/app.py\"]\n",
            ),
            ("svc/src/app.py", FLASK),
            ("svc/other/src/app.py", FLASK),
            // A module found by suffix (`src/pkg/web.py`), its config by exact path.
            (
                "api/Procfile",
                "web: opentelemetry-instrument gunicorn -c conf/gunicorn.conf.py pkg.web:app\n",
            ),
            ("api/src/pkg/web.py", FLASK),
            ("api/conf/gunicorn.conf.py", "workers = 4\n"),
            // Two files end with `main.py`: neither is named.
            ("amb/Procfile", "web: python main.py\n"),
            ("amb/a/main.py", FASTAPI),
            ("amb/b/main.py", FASTAPI),
            // `./` in a key.
            ("./scripts/run.sh", "#!/bin/sh\nexec uvicorn main:app --workers 2\n"),
            ("scripts/main.py", FASTAPI),
            // `..` and `.` in the key and in the target.
            ("dot/x/../Dockerfile", "FROM python:3.12\nCMD [\"python\", \"./app/../srv.py\"]\n"),
            ("dot/srv.py", FLASK),
            // Two keys with one clean path: counted twice by the fallback, both named exactly.
            ("dup/Procfile", "a: python x.py\nb: python a/x.py\n"),
            ("dup/a/x.py", FLASK),
            ("dup/b/../a/x.py", FLASK),
            // Out of the launcher's directory: never named.
            ("up/sub/Procfile", "web: python ../tool.py\n"),
            ("up/tool.py", FLASK),
            // At the root: any directory, by suffix.
            ("Procfile", "cli: python -m tools.cli\n"),
            ("lib/tools/cli.py", INIT_OTEL),
            // The default config name, found by suffix.
            ("gconf/Procfile", "web: gunicorn -w 2 app:app\n"),
            ("gconf/deploy/gunicorn.conf.py", "workers = 3\n"),
            ("gconf/app.py", FLASK),
            // An absolute path outside WORKDIR keeps its file name.
            ("uw/Dockerfile", "FROM python:3.12\nCMD [\"uwsgi\", \"--ini\", \"/etc/uwsgi/app.ini\"]\n"),
            ("uw/conf/app.ini", "[uwsgi]\nmodule = wsgi:application\nprocesses = 4\nmaster = true\n"),
            ("uw/conf/wsgi.py", FLASK),
            // No file, and one file: the fallback also names paths outside the workspace.
            ("gnew/Procfile", "web: python main.py\n"),
            ("gone/Procfile", "web: python main.py\n"),
            ("gone/y/main.py", FLASK),
            // A package's `__init__.py`.
            ("pkgmod/Procfile", "web: gunicorn pkg:app\n"),
            ("pkgmod/pkg/__init__.py", FLASK),
            // Absolute keys.
            (
                "/abs/proj/Dockerfile",
                "FROM python:3.12\nWORKDIR /srv\nCMD [\"python\", \"/srv/app.py\"]\n",
            ),
            ("/abs/proj/app.py", FLASK),
            // `--chdir` under WORKDIR.
            (
                "chd/Dockerfile",
                "FROM python:3.12\nWORKDIR /srv\nCMD [\"gunicorn\", \"--chdir\", \"/srv/src\", \"app:app\"]\n",
            ),
            ("chd/src/app.py", FLASK),
        ]
    }

    #[test]
    fn indexed_launch_association_matches_linear() {
        let ws = workspace(&launch_files());
        let outside = [
            "gnew/x/main.py",
            "gone/z/main.py",
            "svc/new/src/app.py",
            "amb/c/main.py",
            "other/lib/tools/cli.py",
            "nowhere.py",
            "",
            ".",
            "..",
            "../outside/app.py",
            "/abs/proj/sub/app.py",
            "/abs/app.py",
        ];
        use super::tests::launcher;
        let script = |s: &str, workdir: Option<&str>| {
            launcher("python", true, vec![Target::Script(s.into())], workdir)
        };
        let mut chdir = launcher(
            "gunicorn",
            true,
            vec![Target::Module("app".into())],
            Some("/srv"),
        );
        chdir.chdir = Some("/srv/src".into());
        let launchers = [
            ("svc/Dockerfile", script("/app/src/app.py", Some("/app"))),
            ("svc/Dockerfile", script("/app/src/app.py", None)),
            ("svc/Dockerfile", script("src/../src/./app.py", None)),
            ("svc/Dockerfile", script("/app", Some("/app"))),
            ("svc/Dockerfile", script("", None)),
            ("elsewhere/Dockerfile", script("app.py", None)),
            ("Dockerfile", script("main.py", None)),
            ("chd/Dockerfile", chdir),
            (
                "gconf/Procfile",
                launcher(
                    "gunicorn",
                    true,
                    vec![
                        Target::Config("gunicorn.conf.py".into()),
                        Target::Module("app".into()),
                        Target::Module("deploy.gunicorn.conf".into()),
                    ],
                    None,
                ),
            ),
            (
                "uw/Dockerfile",
                launcher(
                    "uwsgi",
                    true,
                    vec![Target::UwsgiIni("conf/app.ini".into())],
                    None,
                ),
            ),
        ];
        let found = assert_same(&ws, &outside, &launchers);
        assert!(found.launched_by >= 10, "{found:?}");
        assert!(found.fallback >= 4, "{found:?}");
        assert!(found.dependents >= 10, "{found:?}");
        assert!(found.targets >= 5, "{found:?}");
        // The cases the files above set up, spelled out.
        let named = |p: &str| {
            ws.launched_by(Path::new(p))
                .iter()
                .map(|b| b.file.to_string_lossy().into_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(named("svc/src/app.py"), ["svc/Dockerfile"]);
        assert!(
            named("svc/other/src/app.py").is_empty(),
            "an exact file wins"
        );
        assert_eq!(named("api/src/pkg/web.py"), ["api/Procfile"]);
        assert!(named("amb/a/main.py").is_empty(), "ambiguous");
        assert_eq!(named("scripts/main.py"), ["./scripts/run.sh"]);
        assert_eq!(named("dot/srv.py"), ["dot/x/../Dockerfile"]);
        assert_eq!(named("./dup/a/x.py"), ["dup/Procfile"], "only `b`");
        assert_eq!(named("dup/b/../a/x.py"), ["dup/Procfile"]);
        assert!(named("up/tool.py").is_empty());
        assert_eq!(named("lib/tools/cli.py"), ["Procfile"]);
        assert_eq!(
            named("gnew/x/main.py"),
            ["gnew/Procfile"],
            "outside, no file"
        );
        assert_eq!(
            named("gone/z/main.py"),
            ["gone/Procfile"],
            "outside, one file"
        );
        assert_eq!(named("pkgmod/pkg/__init__.py"), ["pkgmod/Procfile"]);
        assert_eq!(named("/abs/proj/app.py"), ["/abs/proj/Dockerfile"]);
        assert_eq!(named("chd/src/app.py"), ["chd/Dockerfile"]);
        assert_eq!(named("uw/conf/app.ini"), ["uw/Dockerfile"]);
        let (file, l) = ws
            .launchers()
            .find(|(f, _)| *f == Path::new("gconf/Procfile"))
            .unwrap();
        assert_eq!(
            ws.gunicorn_config(file, l).map(|(p, _)| p),
            Some(Path::new("gconf/deploy/gunicorn.conf.py"))
        );
    }

    #[test]
    fn indexed_lookups_match_linear_on_fixture_workspaces() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut dirs: Vec<PathBuf> = Vec::new();
        for parent in ["tests/fixtures/workspaces", "examples"] {
            for e in std::fs::read_dir(root.join(parent)).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    dirs.push(p);
                }
            }
        }
        dirs.sort();
        let mut all = Workspace::new();
        let mut total = Found::default();
        for dir in &dirs {
            let mut ws = Workspace::new();
            load(&mut ws, dir, Path::new(""));
            let f = assert_same(&ws, &["elsewhere/app.py"], &[]);
            total.launched_by += f.launched_by;
            total.dependents += f.dependents;
            total.python_targets += f.python_targets;
            load(&mut all, dir, dir);
        }
        assert!(
            total.launched_by >= 10 && total.dependents >= 10 && total.python_targets >= 2,
            "{total:?}"
        );
        // All of them in one workspace, by absolute path.
        let f = assert_same(&all, &[], &[]);
        assert!(f.launched_by >= 10, "{f:?}");
    }

    fn inst(name: &str, ns: Option<&str>) -> String {
        let ns = ns.map_or(String::new(), |n| format!("\n  namespace: {n}"));
        format!("apiVersion: opentelemetry.io/v1alpha1\nkind: Instrumentation\nmetadata:\n  name: {name}{ns}\nspec:\n  exporter:\n    endpoint: http://collector:4317\n---\n")
    }

    fn namespace(name: &str, value: &str) -> String {
        format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n  annotations:\n    {INJECT_PYTHON}: \"{value}\"\n---\n")
    }

    fn deployment(name: &str, ns: Option<&str>, value: &str) -> String {
        let ns = ns.map_or(String::new(), |n| format!("\n  namespace: {n}"));
        format!("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}{ns}\nspec:\n  template:\n    metadata:\n      annotations:\n        {INJECT_PYTHON}: \"{value}\"\n    spec:\n      containers:\n        - name: {name}\n          image: shop/{name}:1\n---\n")
    }

    #[test]
    fn indexed_operator_lookups_match_linear() {
        // Namespaces on both sides, on one side only, Namespace-level values.
        let insts = [
            inst("python", Some("app")),
            inst("other", Some("app")),
            inst("python", Some("ops")),
            inst("lonely", Some("solo")),
            inst("unset", None),
            inst("twin", Some("pair")),
            inst("twin", Some("pair")),
        ]
        .concat();
        let namespaces = [
            namespace("app", "python"),
            namespace("ops", "true"),
            namespace("solo", "false"),
            namespace("blank", ""),
            namespace("pair", "twin"),
        ]
        .concat();
        let pods = [
            deployment("a", Some("app"), "true"),
            deployment("b", Some("solo"), "true"),
            deployment("c", None, "unset"),
            deployment("d", Some("ops"), "ops/python"),
            deployment("e", Some("elsewhere"), "app/other"),
            deployment("f", Some("nowhere"), "true"),
            deployment("g", Some("blank"), "False"),
            deployment("h", Some("pair"), "true"),
        ]
        .concat();
        let second = namespace("app", "other");
        let ws = workspace(&[
            ("k8s/instrumentations.yaml", &insts),
            ("k8s/namespaces.yaml", &namespaces),
            ("k8s/pods.yaml", &pods),
            // A second Namespace object of the same name: the first in path order counts.
            ("k8s/z-again.yaml", &second),
        ]);
        let found = assert_same(&ws, &[], &[]);
        assert!(
            found.resolved >= 5 && found.python_targets >= 3,
            "{found:?}"
        );
        let target = |name: &str, ns: Option<&str>| {
            ws.instrumentations()
                .find(|o| o.name.as_deref() == Some(name) && o.namespace.as_deref() == ns)
                .is_some_and(|o| ws.is_python_target(o))
        };
        assert!(target("python", Some("app")), "pod true → Namespace's name");
        assert!(
            target("lonely", Some("solo")),
            "Namespace false → pod's true"
        );
        assert!(target("python", Some("ops")), "ns/name");
        assert!(
            target("other", Some("app")),
            "ns/name from another namespace"
        );
        assert!(!target("unset", None), "no namespace on the pod's side");
        assert!(!target("twin", Some("pair")), "ambiguous");
        assert_eq!(
            ws.namespace_annotation("app", INJECT_PYTHON),
            Some("python")
        );

        // No object names a namespace: one namespace.
        let ws = workspace(&[
            ("a.yaml", &inst("only", None)),
            (
                "b.yaml",
                &[deployment("a", None, "true"), deployment("b", None, "only")].concat(),
            ),
        ]);
        let found = assert_same(&ws, &[], &[]);
        assert!(!ws.has_explicit_namespaces());
        assert!(
            found.python_targets == 1 && found.resolved >= 2,
            "{found:?}"
        );
        let ws = workspace(&[("a.yaml", &[inst("one", None), inst("two", None)].concat())]);
        assert_same(&ws, &[], &[]);
        assert!(
            ws.resolve("true", None).is_none(),
            "two in the one namespace"
        );
        assert_same(&Workspace::new(), &["a.py"], &[]);
    }

    #[test]
    fn kustomize_namespaces_apply_to_the_files_they_build() {
        let kust = |ns: &str, res: &[&str]| {
            let ns = if ns.is_empty() {
                String::new()
            } else {
                format!("namespace: {ns}\n")
            };
            let res: String = res.iter().map(|r| format!("  - {r}\n")).collect();
            format!("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n{ns}resources:\n{res}")
        };
        let ws = workspace(&[
            ("base/kustomization.yaml", &kust("", &["deploy.yaml"])),
            ("base/deploy.yaml", &deployment("api", None, "python")),
            // The overlay's namespace wins over the base's objects' own.
            (
                "prod/kustomization.yaml",
                &kust("shop", &["../base", "inst.yaml"]),
            ),
            ("prod/inst.yaml", &inst("python", Some("elsewhere"))),
            // Two overlays disagree: unknown.
            ("a/kustomization.yml", &kust("one", &["../shared"])),
            ("b/kustomization.yml", &kust("two", &["../shared"])),
            ("shared/Kustomization", &kust("", &["job.yaml"])),
            ("shared/job.yaml", &deployment("job", None, "true")),
            // Not listed: its own namespace; a file that only looks like one: ignored.
            ("loose.yaml", &deployment("loose", Some("ops"), "true")),
            ("other/kustomize.yaml", &kust("nope", &["../loose.yaml"])),
        ]);
        let ns_of = |p: &str| {
            let s = ws.summary(Path::new(p)).unwrap();
            let o = s.injectors.first().or(s.instrumentations.first()).unwrap();
            ws.pod_namespace(Some(Path::new(p)), o)
        };
        assert_eq!(ns_of("base/deploy.yaml").as_deref(), Some("shop"));
        assert_eq!(ns_of("prod/inst.yaml").as_deref(), Some("shop"));
        assert_eq!(ns_of("shared/job.yaml"), None, "two overlays disagree");
        assert_eq!(ns_of("loose.yaml").as_deref(), Some("ops"));
        assert_eq!(
            ws.resolve("python", Some("shop"))
                .and_then(|o| o.name.as_deref()),
            Some("python")
        );
        assert!(ws.resolve("python", Some("elsewhere")).is_none());
        let deploy = ws.summary(Path::new("base/deploy.yaml")).unwrap().injectors[0].clone();
        assert!(ws
            .instrumentations()
            .next()
            .is_some_and(|i| ws.is_python_target(i)));
        assert_eq!(
            ws.kustomizations_of(Path::new("base/deploy.yaml")),
            [
                Path::new("base/kustomization.yaml"),
                Path::new("prod/kustomization.yaml")
            ]
        );
        let built: Vec<(usize, &Path)> = ws
            .kustomization_builds(Path::new("prod/kustomization.yaml"))
            .into_iter()
            .map(|(e, p, _)| (e, p))
            .collect();
        assert_eq!(
            built,
            [
                (0, Path::new("base/deploy.yaml")),
                (1, Path::new("prod/inst.yaml"))
            ]
        );
        assert!(ws
            .dependents(Path::new("base/deploy.yaml"))
            .contains(&PathBuf::from("prod/kustomization.yaml")));
        assert_eq!(deploy.pod_namespace(), None, "the file's own view");
        assert_same(&ws, &[], &[]);
    }

    #[test]
    fn indexed_injected_images_match_linear() {
        let ws = workspace(&[
            ("k8s/pods.yaml", &deployment("orders", Some("shop"), "true")),
            ("k8s/more.yaml", &deployment("Catalog", None, "true")),
            ("orders/Dockerfile", "FROM python:3.12\n"),
            ("svc/catalog.Dockerfile", "FROM python:3.12\n"),
            ("svc/Dockerfile", "FROM python:3.12\n"),
        ]);
        assert_same(
            &ws,
            &[
                "ORDERS/Dockerfile",
                "x/orders/../Dockerfile",
                "orders/./Dockerfile",
                "Dockerfile",
                "CATALOG.dockerfile",
                "orders/app.py",
            ],
            &[],
        );
        assert!(ws.image_injected(Path::new("orders/Dockerfile")));
        assert!(ws.image_injected(Path::new("svc/catalog.Dockerfile")));
        assert!(!ws.image_injected(Path::new("svc/Dockerfile")));
    }

    #[test]
    fn launch_index_carries_over_only_while_the_launchers_start_the_same() {
        let mut ws = workspace(&launch_files());
        let answers = |ws: &Workspace| -> Vec<_> {
            let keys: Vec<PathBuf> = ws.files.keys().cloned().collect();
            let fast = keys
                .iter()
                .map(|k| (by(ws.launched_by(k)), ws.dependents(k)))
                .collect::<Vec<_>>();
            let slow = keys
                .iter()
                .map(|k| (by(linear::launched_by(ws, k)), linear::dependents(ws, k)))
                .collect::<Vec<_>>();
            assert_eq!(fast, slow);
            fast
        };
        let launch = |ws: &Workspace| ws.indexes().launch.get().cloned().expect("built");
        let files = |ws: &Workspace| ws.indexes().files.get().cloned().expect("built");
        let parse = |p: &str, text: &str| {
            let lang = Language::from_path(Path::new(p)).unwrap();
            summarize(&crate::engine::parse(lang, text.to_string()))
        };
        answers(&ws);
        let (l0, f0) = (launch(&ws), files(&ws));
        // Another env and other offsets, the same targets: both parts carried over.
        let dockerfile = "svc/Dockerfile";
        let same = "FROM python:3.12\nWORKDIR /app\nENV OTEL_SERVICE_NAME=svc\nCMD [\"opentelemetry-instrument\", \"python\", \"/app/src/app.py\"]\n";
        assert!(ws.update(dockerfile.into(), parse(dockerfile, same)));
        let carried = answers(&ws);
        assert!(Arc::ptr_eq(&l0, &launch(&ws)) && Arc::ptr_eq(&f0, &files(&ws)));
        // Another target: the launch index is built again, the file index kept.
        let procfile = "api/Procfile";
        let other = "web: opentelemetry-instrument gunicorn -c conf/gunicorn.conf.py pkg.api:app\n";
        assert!(ws.update(procfile.into(), parse(procfile, other)));
        let moved = answers(&ws);
        assert!(!Arc::ptr_eq(&l0, &launch(&ws)) && Arc::ptr_eq(&f0, &files(&ws)));
        assert_ne!(carried, moved);
        // A new file: both built again, and the new module is found.
        let (l1, f1) = (launch(&ws), files(&ws));
        ws.update(
            "api/src/pkg/api.py".into(),
            parse("api/src/pkg/api.py", FLASK),
        );
        answers(&ws);
        assert!(!Arc::ptr_eq(&l1, &launch(&ws)) && !Arc::ptr_eq(&f1, &files(&ws)));
        assert_eq!(
            ws.dependents(Path::new(procfile)),
            vec![
                PathBuf::from("api/src/pkg/api.py"),
                PathBuf::from("api/conf/gunicorn.conf.py")
            ]
        );
        // A file removed: built again.
        let l2 = launch(&ws);
        ws.remove(Path::new("api/src/pkg/api.py"));
        answers(&ws);
        assert!(!Arc::ptr_eq(&l2, &launch(&ws)));
    }

    #[test]
    fn indexes_follow_the_generation_and_threads() {
        use rayon::prelude::*;
        let mut ws = workspace(&launch_files());
        let p = Path::new("amb/a/main.py");
        assert!(ws.launched_by(p).is_empty());
        ws.remove(Path::new("amb/b/main.py"));
        assert_eq!(ws.launched_by(p).len(), 1, "rebuilt: now unique");
        let clone = ws.clone();
        ws.update("amb/b/main.py".into(), FileSummary::default());
        assert!(ws.launched_by(p).is_empty());
        assert_eq!(clone.launched_by(p).len(), 1, "a clone keeps its own");
        // Many threads asking at once, against one fresh index.
        let keys: Vec<PathBuf> = ws.files.keys().cloned().collect();
        let ws = ws.clone();
        let par: Vec<_> = keys
            .par_iter()
            .map(|k| (by(ws.launched_by(k)), ws.dependents(k)))
            .collect();
        let seq: Vec<_> = keys
            .iter()
            .map(|k| (by(linear::launched_by(&ws, k)), linear::dependents(&ws, k)))
            .collect();
        assert_eq!(par, seq);
    }
}

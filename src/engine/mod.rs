//! The engine: parse, run the rules, apply configuration and suppressions, apply fixes.
//! Pure: no I/O, no LSP, no terminal. Infallible: any input gives diagnostics or none; a
//! panic inside one rule is caught, logged, and the other rules still report.

pub mod fix;
pub mod incremental;
pub mod needles;
pub mod suppress;

use crate::config::Settings;
use crate::diagnostic::{Diagnostic, Span};
use crate::language::Language;
use crate::launch::LaunchFacts;
use crate::rules::{self, Bytes, Context, Match};
use crate::source::{Chunk, ChunkFacts, Wanted};
pub use crate::source::{FileFacts, Need, SourceFile};
use crate::syntax::yaml::Classes;
use crate::workspace::{FileSummary, Workspace};
pub use incremental::Checker;
use incremental::Kept;
use std::cell::OnceCell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::OnceLock;
use tree_sitter::{Query, QueryCursor, StreamingIterator};

/// What one YAML document contributes to its file's summary: its launchers' summaries
/// and injected images (a document's launchers see only its own scopes), and, when other
/// files may read it (`launch::imports::shared`: it imports, or holds ConfigMaps), its
/// launch facts as they see them. Kept per document by `incremental::Checker`.
#[derive(Clone)]
pub(crate) struct DocumentSummary {
    /// Its launch summary; `facts` is `Some` when other files may read it.
    launch: crate::launch::LaunchSummary,
    /// What it says as a kustomization (the workspace reads it only from files so named).
    kustomization: Option<std::sync::Arc<crate::syntax::kustomize::Kustomization>>,
    /// The pods it describes as a Helm values file (the workspace keeps them for files so
    /// named only).
    values_pods: Vec<std::sync::Arc<crate::syntax::yaml::K8sObject>>,
}

impl DocumentSummary {
    pub(crate) fn of(chunk: &Chunk) -> Self {
        DocumentSummary {
            launch: crate::launch::summary::summarize(&chunk.launch, None),
            kustomization: chunk.kustomization.clone(),
            values_pods: chunk.values_pods.clone(),
        }
    }

    /// Whether other files may read the document's facts.
    pub(crate) fn is_shared(&self) -> bool {
        self.launch.facts.is_some()
    }
}

/// A YAML stream's facts as other files see them: those of its documents that other files
/// may read, in order, merged; `None` when there are none. Launchers carry the file's
/// vendor-distro mention (`vendor_distro`), as `imports::detached` does for a whole file.
pub(crate) fn shared_documents<'p>(
    parts: impl Iterator<Item = &'p DocumentSummary>,
    vendor_distro: bool,
) -> Option<std::sync::Arc<LaunchFacts>> {
    let mut merged: Option<LaunchFacts> = None;
    for d in parts {
        if let Some(f) = &d.launch.facts {
            merged
                .get_or_insert_with(LaunchFacts::default)
                .extend_from(f, 0);
        }
    }
    let mut merged = merged?;
    merged.vendor_distro = vendor_distro;
    if vendor_distro {
        for l in &mut merged.launchers {
            l.vendor_distro = true;
        }
    }
    Some(std::sync::Arc::new(merged))
}

/// A YAML stream's summary, put together from its documents' summaries (`part` may answer
/// from a cache) and their shared facts (`shared`, given the documents and the file's
/// vendor-distro mention; may answer from a cache too).
pub(crate) fn summarize_documents<'p>(
    file: &SourceFile,
    part: impl Fn(usize, &Chunk) -> &'p DocumentSummary,
    shared: impl FnOnce(
        &mut dyn Iterator<Item = (&Chunk, &'p DocumentSummary)>,
        bool,
    ) -> Option<std::sync::Arc<LaunchFacts>>,
) -> FileSummary {
    let mut out = FileSummary::default();
    for (i, c) in file.chunks().iter().enumerate() {
        if let ChunkFacts::Yaml(Some(o)) = &c.facts {
            if o.is_instrumentation() {
                out.instrumentations.push(o.clone());
            }
            if crate::workspace::StreamDocument::kept(o) {
                out.stream_documents.push(crate::workspace::StreamDocument {
                    start: c.start,
                    object: o.clone(),
                    parses: c.tree().is_none_or(|t| !t.root_node().has_error()),
                });
            }
            if o.is_collector() {
                out.collectors.push(o.clone());
            }
            if o.is_service() {
                out.services.push(o.clone());
            }
            if !o.pod_annotations.is_empty() {
                out.injectors.push(o.clone());
            }
        }
        let d = part(i, c);
        if out.kustomization.is_none() {
            out.kustomization = d.kustomization.clone();
        }
        out.injectors.extend(d.values_pods.iter().cloned());
        out.launch
            .launchers
            .extend(d.launch.launchers.iter().cloned());
        out.launch
            .injected_images
            .extend(d.launch.injected_images.iter().cloned());
        out.launch
            .injected_as_built
            .extend(d.launch.injected_as_built.iter().cloned());
    }
    let mut docs = file
        .chunks()
        .iter()
        .enumerate()
        .map(|(i, c)| (c, part(i, c)));
    out.launch.facts = shared(&mut docs, file.mentions_vendor_distro());
    out
}

/// What one parsed YAML document contributes to its stream's summary, with its place: the
/// CLI summarises some documents of a stream in one pass and the others in another, and
/// puts the parts together with [`summary_of_parts`] into what [`summarize`] gives.
#[derive(Clone)]
pub struct DocumentPart {
    /// The document's start in the stream.
    pub start: usize,
    /// Its needle bits.
    pub bits: u128,
    /// It parses without an error.
    parses: bool,
    object: Option<std::sync::Arc<crate::syntax::yaml::K8sObject>>,
    summary: DocumentSummary,
}

impl DocumentPart {
    /// The name of the ConfigMap the document is, if it is one (`Some(None)`: one without a
    /// literal name).
    pub fn config_map(&self) -> Option<Option<&str>> {
        let o = self.object.as_deref()?;
        (o.kind == "ConfigMap" && o.group().is_empty()).then_some(o.name.as_deref())
    }
}

/// The parts of a YAML stream's parsed documents, in order.
pub fn document_parts(file: &SourceFile) -> Vec<DocumentPart> {
    file.chunks()
        .iter()
        .filter(|c| c.has_facts())
        .map(|c| DocumentPart {
            start: c.start,
            bits: c.needles,
            // A document read from its lines is in a subset that parses.
            parses: c.tree().is_none_or(|t| !t.root_node().has_error()),
            object: match &c.facts {
                ChunkFacts::Yaml(o) => o.clone(),
                _ => None,
            },
            summary: DocumentSummary::of(c),
        })
        .collect()
}

/// A YAML stream's summary from the parts of its documents (in any order; each document
/// at most once), `vendor_distro` saying whether the stream names a vendor distro anywhere
/// (`SourceFile::mentions_vendor_distro`). Equals [`summarize`] of the stream parsed where
/// the parts were.
pub fn summary_of_parts(mut parts: Vec<DocumentPart>, vendor_distro: bool) -> FileSummary {
    parts.sort_by_key(|p| p.start);
    let mut out = FileSummary::default();
    for p in &parts {
        if let Some(o) = &p.object {
            if o.is_instrumentation() {
                out.instrumentations.push(o.clone());
            }
            if crate::workspace::StreamDocument::kept(o) {
                out.stream_documents.push(crate::workspace::StreamDocument {
                    start: p.start,
                    object: o.clone(),
                    parses: p.parses,
                });
            }
            if o.is_collector() {
                out.collectors.push(o.clone());
            }
            if o.is_service() {
                out.services.push(o.clone());
            }
            if !o.pod_annotations.is_empty() {
                out.injectors.push(o.clone());
            }
        }
        if out.kustomization.is_none() {
            out.kustomization = p.summary.kustomization.clone();
        }
        out.injectors.extend(p.summary.values_pods.iter().cloned());
        out.launch
            .launchers
            .extend(p.summary.launch.launchers.iter().cloned());
        out.launch
            .injected_images
            .extend(p.summary.launch.injected_images.iter().cloned());
        out.launch
            .injected_as_built
            .extend(p.summary.launch.injected_as_built.iter().cloned());
    }
    out.launch.facts = shared_documents(parts.iter().map(|p| &p.summary), vendor_distro);
    out
}

/// What a file contributes to its workspace. A YAML stream's is put together from its
/// documents' ([`summarize_documents`]): its facts as other files see them are those of the
/// documents others may read (ConfigMaps, containers with `envFrom:`), so that an edit
/// elsewhere leaves them as they were.
pub fn summarize(file: &SourceFile) -> FileSummary {
    if file.language() == Language::Yaml {
        return summary_of_parts(document_parts(file), file.mentions_vendor_distro());
    }
    // Kubernetes objects come from YAML only.
    FileSummary {
        instrumentations: Vec::new(),
        stream_documents: Vec::new(),
        injectors: Vec::new(),
        collectors: Vec::new(),
        services: Vec::new(),
        kustomization: None,
        launch: crate::launch::summary::summarize(
            file.launch(),
            match file.facts() {
                FileFacts::Python(p) => Some(p),
                _ => None,
            },
        ),
    }
}

/// Rule `idx`'s compiled query, compiled on first use: compiling all of them costs more than
/// checking a small file, and most checks run a few rules only.
fn query_of(idx: usize) -> Option<&'static Query> {
    static QUERIES: OnceLock<Vec<OnceLock<Query>>> = OnceLock::new();
    let all = QUERIES.get_or_init(|| rules::ALL.iter().map(|_| OnceLock::new()).collect());
    let r = rules::ALL[idx];
    let text = r.query.as_ref()?.text;
    Some(all[idx].get_or_init(|| {
        Query::new(&r.language.grammar(), text)
            .unwrap_or_else(|e| panic!("query of {} does not compile: {e}", r.code))
    }))
}

/// The queries of one language's rules that share their needles, as one query: one pass
/// over each chunk between those needles serves them all (`check_with` on the command line),
/// with the rule of each pattern. (Every query of a language as one query, over the span of
/// all their needles, was measured and dropped: each pattern then looks where only another
/// rule's needles are, 21 % more instructions on the manifest corpus.)
struct Combined {
    lang: Language,
    mask: u128,
    members: Vec<usize>,
    /// The one query and the rules of each of its patterns, compiled when first needed
    /// (compiling a query costs as much as parsing a few documents).
    query: OnceLock<(Query, Vec<Vec<usize>>)>,
}

impl Combined {
    fn query(&self) -> &(Query, Vec<Vec<usize>>) {
        self.query.get_or_init(|| {
            // Rules whose queries are the same but for their comments share one copy (the
            // Operator annotation rules: one pass and one compilation serve them all).
            let uncommented = |t: &str| -> String {
                t.lines()
                    .filter(|l| !l.trim_start().starts_with(';'))
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            let mut texts: Vec<(String, Vec<usize>)> = Vec::new();
            for &i in &self.members {
                let q = uncommented(
                    rules::ALL[i]
                        .query
                        .as_ref()
                        .expect("members have queries")
                        .text,
                );
                match texts.iter_mut().find(|t| t.0 == q) {
                    Some(t) => t.1.push(i),
                    None => texts.push((q, vec![i])),
                }
            }
            let mut text = String::new();
            let mut starts: Vec<usize> = Vec::new();
            for (q, _) in &texts {
                starts.push(text.len());
                text.push_str(q);
                text.push('\n');
            }
            let query = Query::new(&self.lang.grammar(), &text).unwrap_or_else(|e| {
                panic!("queries of the same needles do not compile as one: {e}")
            });
            let rules_of = (0..query.pattern_count())
                .map(|p| {
                    let at = query.start_byte_for_pattern(p);
                    let i = starts.partition_point(|&s| s <= at);
                    texts[i.saturating_sub(1)].1.clone()
                })
                .collect();
            (query, rules_of)
        })
    }
}

fn combined(lang: Language) -> &'static [Combined] {
    static ALL: OnceLock<Vec<OnceLock<Vec<Combined>>>> = OnceLock::new();
    let all = ALL.get_or_init(|| Language::ALL.iter().map(|_| OnceLock::new()).collect());
    let Some(li) = Language::ALL.iter().position(|&l| l == lang) else {
        return &[];
    };
    all[li].get_or_init(|| {
        let mut groups: Vec<Combined> = Vec::new();
        for (i, r) in rules::ALL.iter().enumerate() {
            if r.query.is_none() || r.language != lang {
                continue;
            }
            let mask = needles::rule_mask(i, lang);
            match groups.iter_mut().find(|g| g.mask == mask) {
                Some(g) => g.members.push(i),
                None => groups.push(Combined {
                    lang,
                    mask,
                    members: vec![i],
                    query: OnceLock::new(),
                }),
            }
        }
        groups
    })
}

/// What [`Pre::relevant`](rules::Pre::relevant) sees of a file.
fn bytes<'a>(
    lang: Language,
    text: &'a str,
    bits: u128,
    path: Option<&'a Path>,
    workspace: &'a Workspace,
) -> Bytes<'a> {
    Bytes {
        lang,
        text,
        bits,
        path,
        workspace,
        bit_of: needles::bit_of,
    }
}

/// The enabled rules (indexes into `rules::ALL`) that can report in a file, decided from its
/// bytes (`bits`: its needle bits), path and the workspace before anything is parsed: rules
/// that read its kind, whose needles it holds and whose [`Pre::relevant`](rules::Pre) agrees.
pub fn relevant_rules(
    lang: Language,
    text: &str,
    bits: u128,
    path: Option<&Path>,
    settings: &Settings,
    workspace: &Workspace,
) -> Vec<usize> {
    let b = bytes(lang, text, bits, path, workspace);
    rules::for_language(lang)
        .filter(|(idx, r)| {
            settings.is_enabled(r.code, r.name)
                && needles::has_needles(*idx, lang, bits)
                && r.pre_for(lang)
                    .is_some_and(|p| guarded(r.code, path, || (p.relevant)(&b)).unwrap_or(true))
        })
        .map(|(idx, _)| idx)
        .collect()
}

/// Whether some enabled rule of the kind has a needle in a file with these bits: without one,
/// nothing can be reported there and the file need not even be read again.
pub fn may_report(lang: Language, bits: u128, settings: &Settings) -> bool {
    rules::for_language(lang).any(|(idx, r)| {
        settings.is_enabled(r.code, r.name) && needles::has_needles(idx, lang, bits)
    })
}

/// What checking a file needs parsed: the chunks its relevant rules look at. `None` when no
/// enabled rule can report in it — then it is never parsed for checking.
pub fn check_wanted(
    lang: Language,
    text: &str,
    bits: u128,
    path: Option<&Path>,
    settings: &Settings,
    workspace: &Workspace,
) -> Option<Wanted> {
    let mut wanted = check_docs(lang, text, bits, path, settings, workspace)?.wanted();
    if lang == Language::Yaml {
        // A document's facts are its Kubernetes identity, which every YAML rule reads: the
        // stream is parsed as for its summary.
        wanted = wanted.or(Wanted::Bits(needles::yaml_summary_mask()));
    }
    Some(wanted)
}

/// What checking a file needs of each chunk: per relevant rule, the chunks it wants (its
/// needles') and, in a YAML stream, the objects whose trees it reads there
/// ([`rules::Rule::trees`]). `None` when no enabled rule can report in the file.
pub fn check_docs(
    lang: Language,
    text: &str,
    bits: u128,
    path: Option<&Path>,
    settings: &Settings,
    workspace: &Workspace,
) -> Option<DocWish> {
    let relevant = relevant_rules(lang, text, bits, path, settings, workspace);
    if relevant.is_empty() {
        return None;
    }
    if lang.is_launcher_kind() {
        return Some(DocWish {
            parts: vec![(Wanted::All, Classes::ALL)],
        });
    }
    let mut parts: Vec<(Wanted, Classes)> = Vec::new();
    for i in relevant {
        let trees = match lang {
            Language::Yaml => rules::ALL[i].trees,
            _ => Classes::ALL,
        };
        let w = needles::rule_wanted(i, lang);
        match parts.iter_mut().find(|p| p.1 == trees) {
            Some(p) => p.0 = p.0.or(w),
            None => parts.push((w, trees)),
        }
    }
    Some(DocWish { parts })
}

/// Per chunk, what a check needs of it ([`check_docs`]).
#[derive(Debug, Clone)]
pub struct DocWish {
    /// The chunks some rules want, and the objects whose trees those rules read.
    parts: Vec<(Wanted, Classes)>,
}

impl DocWish {
    /// Every chunk some rule wants, tree or facts: the chunks [`check_wanted`] parses
    /// before it adds a YAML stream's summary documents.
    pub fn wanted(&self) -> Wanted {
        self.parts.iter().fold(Wanted::Bits(0), |w, p| w.or(p.0))
    }

    /// What the check needs of a chunk with these needle bits: the classes of the rules that
    /// want it, as a [`Need`] (`Need::Facts` when those rules read no tree).
    pub fn need(&self, bits: u128) -> Need {
        let mut wanted = false;
        let mut classes = Classes::NONE;
        for (w, c) in &self.parts {
            if w.wants(bits) {
                wanted = true;
                classes = classes.or(*c);
            }
        }
        match wanted {
            false => Need::Nothing,
            true => Need::trees_of(classes),
        }
    }

    /// The classes every relevant rule reads trees of, whatever a chunk's needles.
    pub fn classes(&self) -> Classes {
        self.parts.iter().fold(Classes::NONE, |c, p| c.or(p.1))
    }
}

/// Parses, beyond what [`check_wanted`] asked, the chunks that mention names the relevant
/// rules derive from the parsed facts ([`Facts::Named`](rules::Facts::Named): the aliases a
/// class was imported as, the factories that build it), until no new chunk is parsed. Call
/// it after reading the file with `check_wanted`'s wish, and after edits.
pub fn prepare(
    file: &mut SourceFile,
    path: Option<&Path>,
    settings: &Settings,
    workspace: &Workspace,
) {
    let lang = file.language();
    let relevant = relevant_rules(
        lang,
        file.text(),
        file.needle_bits(),
        path,
        settings,
        workspace,
    );
    let derive: Vec<fn(&crate::syntax::python::PyFacts) -> Vec<String>> = relevant
        .iter()
        .filter_map(|&i| match rules::ALL[i].pre_for(lang)?.facts {
            rules::Facts::Named(_, f) => Some(f),
            _ => None,
        })
        .collect();
    if derive.is_empty() || file.wanted() == Wanted::All {
        return;
    }
    for _ in 0..4 {
        let names: Vec<String> = match file.facts() {
            FileFacts::Python(py) => derive.iter().flat_map(|f| f(py)).collect(),
            _ => Vec::new(),
        };
        if names.is_empty() || !file.want_mentions(&names) {
            return;
        }
    }
}

/// The YAML documents the CLI summarises first, before checking any other document: those
/// whose facts the checks of other documents read and that a partial workspace must hold
/// whole ([`Workspace::set_partial`]) — Instrumentations, ConfigMaps, Namespaces,
/// OpenTelemetryCollectors — as
/// their needles tell (a document that only mentions one of them is among them too).
pub fn provider_mask() -> u128 {
    needles::mask_of(
        Language::Yaml,
        &[
            "Instrumentation",
            "ConfigMap",
            "Namespace",
            "OpenTelemetryCollector",
        ],
    )
}

/// The needle bits of the enabled rules of `lang` that read a chunk's tree: those with a
/// query, and in YAML OTEL100 `unused-noqa` (a document's comments come from its tree). A
/// chunk with none of them gets no findings from a tree.
pub fn query_mask(lang: Language, settings: &Settings) -> u128 {
    rules::for_language(lang)
        .filter(|(_, r)| {
            let tree = r.language == lang && r.query.is_some()
                || lang == Language::Yaml && rules::is_unused_noqa(r);
            tree && settings.is_enabled(r.code, r.name)
        })
        .fold(0, |m, (i, _)| match needles::rule_mask(i, lang) {
            0 => u128::MAX,
            b => m | b,
        })
}

/// A file as the checker reads it, parsing the chunks `wanted` says yes to, by their start
/// and needle bits (the CLI's last pass over a YAML stream's provider documents).
pub fn read_where(
    lang: Language,
    text: String,
    wanted: &dyn Fn(usize, u128) -> Need,
) -> SourceFile {
    SourceFile::new_where(lang, text, &needles::PREFILTER, wanted)
}

/// What a file's workspace summary needs parsed; `None` when it contributes nothing. YAML:
/// the documents with a needle. Launcher kinds: the whole (small) file. Python: every chunk
/// (a module's summary says which framework it imports, whether it sets up OpenTelemetry
/// through a function of its own, its gunicorn settings): the CLI summarises only the
/// modules a launcher starts, the server only open ones a launcher starts.
pub fn summary_wanted(lang: Language, bits: u128) -> Option<Wanted> {
    match lang {
        Language::Yaml => {
            let m = needles::yaml_summary_mask();
            (bits & m != 0).then_some(Wanted::Bits(m))
        }
        Language::Python => Some(Wanted::All),
        _ => Some(Wanted::All),
    }
}

/// [`summary_wanted`] for the file at `path`: a kustomization (known by its name) is read
/// whole, since what it lists decides the namespaces of other files.
pub fn summary_wanted_for(lang: Language, bits: u128, path: Option<&Path>) -> Option<Wanted> {
    if lang == Language::Yaml && path.is_some_and(crate::syntax::kustomize::is_kustomization_path) {
        return Some(Wanted::All);
    }
    summary_wanted(lang, bits)
}

/// A file as the checker reads it: chunks and needles, and only what `wanted` asks parsed.
pub fn read(lang: Language, text: String, wanted: Wanted) -> SourceFile {
    SourceFile::new(lang, text, &needles::PREFILTER, wanted)
}

/// A file with every chunk parsed: the full path, for tests, fixes and one-off checks.
pub fn parse(lang: Language, text: String) -> SourceFile {
    SourceFile::new(lang, text, &needles::FULL, Wanted::All)
}

/// The chunks of a text and their needle bits, without parsing anything: what
/// [`read_layout`] can build the file from again.
pub fn layout(lang: Language, text: &str) -> Vec<(usize, u128)> {
    crate::source::layout(lang, text, &needles::PREFILTER)
}

/// [`read_where`] over a [`layout`] of the same text (made again if it does not fit).
pub fn read_layout(
    lang: Language,
    text: String,
    layout: &[(usize, u128)],
    wanted: &dyn Fn(usize, u128) -> Need,
) -> SourceFile {
    SourceFile::from_layout(lang, text, &needles::PREFILTER, layout, wanted)
}

/// The needle bits of a text, without chunking or parsing it.
pub fn needle_bits(lang: Language, text: &str) -> u128 {
    needles::scan(lang, text)
}

/// Checks a file: every enabled rule of its language that can report in it, configuration
/// applied, `# noqa` suppressions honoured, sorted by position. The file must have been read
/// with at least what [`check_wanted`] asks parsed (every chunk will do).
pub fn check(
    file: &SourceFile,
    path: Option<&Path>,
    settings: &Settings,
    workspace: &Workspace,
) -> Vec<Diagnostic> {
    check_with(file, path, settings, workspace, false, None)
}

/// The full path: every enabled rule of the file's kind runs, whatever its
/// [`Pre::relevant`](rules::Pre) and needles say (with [`parse`], on every chunk, its query
/// over the whole chunk). Gives what [`check`] gives; the tests hold them equal.
pub fn check_full(
    file: &SourceFile,
    path: Option<&Path>,
    settings: &Settings,
    workspace: &Workspace,
) -> Vec<Diagnostic> {
    check_with(file, path, settings, workspace, true, None)
}

/// `check`, reusing the per-chunk results of `cache` where a chunk is unchanged (see
/// `incremental::Checker`, the editor's entry point).
pub(crate) fn check_with(
    file: &SourceFile,
    path: Option<&Path>,
    settings: &Settings,
    workspace: &Workspace,
    full: bool,
    mut cache: Option<&mut incremental::ChunkResults>,
) -> Vec<Diagnostic> {
    let ctx = Context::new(file, path, workspace);
    let bits = file.needle_bits();
    let lang = file.language();
    let run: Vec<usize> = if full {
        rules::for_language(lang)
            .filter(|(_, r)| settings.is_enabled(r.code, r.name))
            .map(|(i, _)| i)
            .collect()
    } else {
        relevant_rules(lang, file.text(), bits, path, settings, workspace)
    };
    // The editor scans a YAML stream document by document (`Rule::scan_per_document`), so
    // that a keystroke re-runs those scans on the edited document only; each document's
    // facts are made absolute once, when a scan first needs them.
    let documents: Vec<OnceCell<LaunchFacts>> =
        if cache.is_some() && file.language() == Language::Yaml {
            file.chunks().iter().map(|_| OnceCell::new()).collect()
        } else {
            Vec::new()
        };
    let document_contexts: Vec<OnceCell<Context>> =
        documents.iter().map(|_| OnceCell::new()).collect();
    // Each chunk's needle places, found in one pass when a first query needs them.
    let needle_places: Vec<OnceCell<Vec<needles::Place>>> =
        file.chunks().iter().map(|_| OnceCell::new()).collect();
    let mut out = Vec::new();
    // OTEL100 `unused-noqa` judges what the others reported: it runs after them.
    let mut unused_noqa = None;
    // The command line runs every rule's query in one pass per chunk (`combined`): the rules
    // whose queries are left to it, with what their scans found, until it has run.
    let batch = match (full, cache.is_none()) {
        (false, true) => Some(combined(lang)),
        _ => None,
    };
    let mut deferred: Vec<(usize, u128, Vec<crate::diagnostic::Finding>)> = Vec::new();
    for idx in run {
        let rule = rules::ALL[idx];
        if rules::is_unused_noqa(rule) {
            unused_noqa = Some(idx);
            continue;
        }
        // The full path runs every rule on every chunk, needles or not: the tests that hold
        // both paths equal hold what the needles promise (`Pre::needles`).
        let mask = match full {
            true => 0,
            false => needles::rule_mask(idx, lang),
        };
        if mask != 0 && bits & mask == 0 {
            continue;
        }
        // Whether its gate let it look (then a deferred query runs).
        let mut open = false;
        let ran = guarded(rule.code, path, || {
            if !(rule.gate)(&ctx) {
                return Vec::new();
            }
            open = true;
            let mut found = match rule.scan {
                Some(scan) if rule.scan_per_document && !documents.is_empty() => {
                    let cache = cache.as_deref_mut().expect("documents imply a cache");
                    scan_documents(
                        file,
                        path,
                        workspace,
                        idx,
                        scan,
                        &documents,
                        &document_contexts,
                        cache,
                    )
                }
                Some(scan) => match cache.as_deref().and_then(|c| c.scan(idx)) {
                    Some(hit) => hit.clone(),
                    None => {
                        let f = scan(&ctx);
                        if let Some(c) = cache.as_deref_mut() {
                            c.put_scan(idx, &f, file);
                        }
                        f
                    }
                },
                None => Vec::new(),
            };
            if rule.language != file.language() {
                // A rule of several languages runs its query on its own language only.
                return found;
            }
            if batch.is_some() && rule.query.is_some() {
                return found;
            }
            let (Some(query), Some(judge)) = (query_of(idx), rule.query.as_ref()) else {
                return found;
            };
            let names = query.capture_names();
            let mut cursor = QueryCursor::new();
            for (ci, chunk) in file.chunks().iter().enumerate() {
                if mask != 0 && chunk.needles & mask == 0 {
                    continue;
                }
                let Some(tree) = chunk.tree() else {
                    // `check_wanted` asks for every chunk a relevant rule's needles are in
                    // (the CLI leaves some documents to another pass, which it excludes).
                    debug_assert!(
                        !file.wanted().wants(chunk.needles),
                        "{}: chunk at {} not parsed",
                        rule.code,
                        chunk.start
                    );
                    continue;
                };
                if let Some(c) = cache.as_deref_mut() {
                    if c.get(ci, chunk, Kept::Query(idx), &mut found) {
                        continue;
                    }
                }
                let src = &file.text()[chunk.start..chunk.start + chunk.len];
                // Every match a rule reports on contains one of its needles (`Pre::needles`):
                // the query looks only where they are.
                let range = match mask {
                    0 => 0..src.len(),
                    m => match needles::span_in(
                        needle_places[ci].get_or_init(|| needles::places(lang, src)),
                        m,
                    ) {
                        Some(r) => r,
                        None => continue,
                    },
                };
                cursor.set_byte_range(range);
                let mut matches = cursor.matches(query, tree.root_node(), src.as_bytes());
                let mut here = Vec::new();
                while let Some(m) = matches.next() {
                    let mt = Match {
                        ctx: &ctx,
                        chunk: src,
                        offset: chunk.start,
                        captures: m.captures,
                        names,
                        root: tree.root_node(),
                    };
                    if let Some(f) = (judge.check)(&mt) {
                        here.push(f);
                    }
                }
                if let Some(c) = cache.as_deref_mut() {
                    c.put(ci, chunk, Kept::Query(idx), &here);
                }
                found.extend(here);
            }
            found
        });
        let Some(findings) = ran else {
            continue;
        };
        if batch.is_some() && rule.query.is_some() && rule.language == lang {
            if open {
                deferred.push((idx, mask, findings));
            } else {
                stamp(&mut out, rule, settings, findings);
            }
            continue;
        }
        stamp(&mut out, rule, settings, findings);
    }
    if let Some(comb) = batch.filter(|_| !deferred.is_empty()) {
        let dead = run_combined(comb, file, &ctx, path, &needle_places, &mut deferred);
        for (slot, (idx, _, findings)) in deferred.into_iter().enumerate() {
            if !dead[slot] {
                stamp(&mut out, rules::ALL[idx], settings, findings);
            }
        }
    }
    let templated = lang == Language::Yaml && crate::syntax::helm::has_template(file.text());
    if templated {
        untemplated(file.text(), &mut out);
    }
    if let Some(idx) = unused_noqa {
        let rule = rules::ALL[idx];
        let mask = needles::rule_mask(idx, lang);
        if mask == 0 || bits & mask != 0 {
            let enabled = |r: &rules::Rule| settings.is_enabled(r.code, r.name);
            let reported = rules::Reported {
                diagnostics: &out,
                enabled: &enabled,
                chunks: mask,
            };
            let ctx = Context {
                reported: Some(&reported),
                ..Context::new(file, path, workspace)
            };
            let scan = rule.scan.expect("unused-noqa is a scan");
            let found = guarded(rule.code, path, || scan(&ctx)).unwrap_or_default();
            let mut judged = Vec::new();
            stamp(&mut judged, rule, settings, found);
            if templated {
                untemplated(file.text(), &mut judged);
            }
            out.extend(judged);
        }
    }
    out.retain(|d| !suppress::is_suppressed(file.text(), d.span.start, d.code));
    // One diagnostic per rule and line (§0.3): keep the first.
    out.sort_by(|a, b| (a.span.start, a.code, a.span.end).cmp(&(b.span.start, b.code, b.span.end)));
    let mut seen = std::collections::HashSet::new();
    out.retain(|d| seen.insert((suppress::line_start(file.text(), d.span.start), d.code)));
    out
}

/// Stamps a rule's code, name and severity (configured, the finding's, or the rule's) on its
/// findings.
fn stamp(
    out: &mut Vec<Diagnostic>,
    rule: &rules::Rule,
    settings: &Settings,
    findings: Vec<crate::diagnostic::Finding>,
) {
    for f in findings {
        let severity = settings
            .severity_of(rule.code)
            .or(f.severity)
            .unwrap_or(rule.severity);
        out.push(Diagnostic {
            code: rule.code,
            name: rule.name,
            severity,
            span: f.span,
            message: f.message,
            fixes: f.fixes,
        });
    }
}

/// Nothing is reported on a Helm template action (`{{ … }}`: its rendered value is unknown),
/// and no fix edits a line that holds one (fixes never rewrite templated text); an insertion
/// at such a line's start or end leaves it whole.
fn untemplated(text: &str, out: &mut Vec<Diagnostic>) {
    let spans = crate::syntax::helm::template_spans(text);
    let lines = crate::syntax::helm::template_lines(text);
    let hits = |r: &[std::ops::Range<usize>], s: Span, strict: bool| {
        r.iter().any(|t| {
            if s.start == s.end {
                t.start < s.start && s.start < t.end || (!strict && t.start == s.start)
            } else {
                s.start < t.end && t.start < s.end
            }
        })
    };
    out.retain(|d| !hits(&spans, d.span, false));
    for d in out.iter_mut() {
        d.fixes
            .retain(|f| f.edits.iter().all(|e| !hits(&lines, e.span, true)));
    }
}

/// A per-document scan over every document of a YAML stream, each document's findings
/// reused from `cache` while the document and its context are unchanged.
#[allow(clippy::too_many_arguments)]
fn scan_documents<'a>(
    file: &'a SourceFile,
    path: Option<&'a Path>,
    workspace: &'a Workspace,
    idx: usize,
    scan: fn(&Context) -> Vec<crate::diagnostic::Finding>,
    facts: &'a [OnceCell<LaunchFacts>],
    contexts: &[OnceCell<Context<'a>>],
    cache: &mut incremental::ChunkResults,
) -> Vec<crate::diagnostic::Finding> {
    let mut found = Vec::new();
    for (i, chunk) in file.chunks().iter().enumerate() {
        if cache.get(i, chunk, Kept::Scan(idx), &mut found) {
            continue;
        }
        // One context per document, shared by every rule of this check (its `effective`
        // facts are computed once).
        let ctx = contexts[i].get_or_init(|| {
            let facts = facts[i].get_or_init(|| {
                let mut f = LaunchFacts::default();
                f.extend_from(&chunk.launch, chunk.start);
                f
            });
            Context::for_document(file, path, workspace, facts)
        });
        let here = scan(ctx);
        cache.put(i, chunk, Kept::Scan(idx), &here);
        found.extend(here);
    }
    found
}

/// Runs one rule's work, catching a panic: it is logged with the rule's code and the file,
/// and the rule contributes nothing, so the other rules' diagnostics still come through.
/// The deferred rules' queries, one pass per chunk for the rules that share their needles
/// ([`combined`]), between the first and last of those needles in the chunk. Returns, per
/// deferred rule, whether a judge panicked (its findings for the file are then dropped, as a
/// rule's are when it panics on its own).
fn run_combined(
    groups: &[Combined],
    file: &SourceFile,
    ctx: &Context,
    path: Option<&Path>,
    needle_places: &[OnceCell<Vec<needles::Place>>],
    deferred: &mut [(usize, u128, Vec<crate::diagnostic::Finding>)],
) -> Vec<bool> {
    let lang = file.language();
    let mut dead = vec![false; deferred.len()];
    let mut cursor = QueryCursor::new();
    // The deferred slot of each rule, by rule index.
    let mut slot_of = vec![usize::MAX; rules::ALL.len()];
    for (slot, d) in deferred.iter().enumerate() {
        slot_of[d.0] = slot;
    }
    for group in groups {
        if !group.members.iter().any(|&i| slot_of[i] != usize::MAX) {
            continue;
        }
        let mut compiled = None;
        for (ci, chunk) in file.chunks().iter().enumerate() {
            if group.mask != 0 && chunk.needles & group.mask == 0 {
                continue;
            }
            let Some(tree) = chunk.tree() else {
                continue;
            };
            let src = &file.text()[chunk.start..chunk.start + chunk.len];
            let range = match group.mask {
                0 => 0..src.len(),
                m => match needles::span_in(
                    needle_places[ci].get_or_init(|| needles::places(lang, src)),
                    m,
                ) {
                    Some(r) => r,
                    None => continue,
                },
            };
            let (query, rule_of) = *compiled.get_or_insert_with(|| {
                let (q, r) = group.query();
                (q, r)
            });
            let names = query.capture_names();
            cursor.set_byte_range(range);
            let mut matches = cursor.matches(query, tree.root_node(), src.as_bytes());
            while let Some(m) = matches.next() {
                let mt = Match {
                    ctx,
                    chunk: src,
                    offset: chunk.start,
                    captures: m.captures,
                    names,
                    root: tree.root_node(),
                };
                for &idx in &rule_of[m.pattern_index] {
                    let slot = slot_of[idx];
                    if slot == usize::MAX || dead[slot] {
                        continue;
                    }
                    let rule = rules::ALL[idx];
                    let judge = rule.query.as_ref().expect("deferred rules have queries");
                    match guarded(rule.code, path, || (judge.check)(&mt)) {
                        Some(Some(f)) => deferred[slot].2.push(f),
                        Some(None) => {}
                        None => dead[slot] = true,
                    }
                }
            }
        }
    }
    dead
}

fn guarded<T>(code: &str, path: Option<&Path>, work: impl FnOnce() -> T) -> Option<T> {
    match catch_unwind(AssertUnwindSafe(work)) {
        Ok(v) => Some(v),
        Err(panic) => {
            let msg = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            tracing::error!(rule = code, path = ?path, "rule panicked: {msg}");
            None
        }
    }
}

/// Convenience for tests and one-off checks: parse and check a text with no workspace.
pub fn check_text(lang: Language, text: &str, settings: &Settings) -> Vec<Diagnostic> {
    let file = parse(lang, text.to_string());
    let mut ws = Workspace::new();
    ws.update("<memory>".into(), summarize(&file));
    check(&file, None, settings, &ws)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rule table is static, so no test can slip a panicking rule into `check`; what
    /// `check` relies on is this guard, tested here with a panicking closure.
    #[test]
    fn a_panicking_rule_contributes_nothing_and_does_not_unwind() {
        let path = Path::new("app.py");
        let boom = guarded("OTEL999", Some(path), || -> Vec<u8> { panic!("boom") });
        assert_eq!(boom, None);
        let text: &str = "x";
        let oob = guarded("OTEL998", None, || text.as_bytes()[5]);
        assert_eq!(oob, None);
        assert_eq!(guarded("OTEL001", None, || vec![1, 2]), Some(vec![1, 2]));
    }
}

//! The engine: parse, run the rules, apply configuration and suppressions, apply fixes.
//! Pure: no I/O, no LSP, no terminal. Infallible: any input gives diagnostics or none; a
//! panic inside one rule is caught, logged, and the other rules still report.

pub mod file;
pub mod fix;
pub mod incremental;
pub mod needles;
pub mod suppress;

use crate::config::Settings;
use crate::diagnostic::Diagnostic;
use crate::language::Language;
use crate::launch::LaunchFacts;
use crate::rules::{self, Context, Match};
use crate::syntax::python::PyFacts;
use crate::syntax::yaml::K8sObject;
use crate::workspace::{FileSummary, Workspace};
pub use file::SourceFile;
use file::{Chunk, ChunkFacts};
pub use incremental::Checker;
use std::cell::OnceCell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::OnceLock;
use tree_sitter::{Query, QueryCursor, StreamingIterator};

/// Facts of a whole file, merged from its chunks (absolute offsets).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FileFacts {
    /// A Python module.
    Python(PyFacts),
    /// A YAML stream: each document's start offset and Kubernetes identity.
    Yaml(Vec<(usize, Option<std::sync::Arc<K8sObject>>)>),
    /// A file read for its launchers only; see `SourceFile::launch`.
    Launch,
}

impl FileFacts {
    /// No facts yet.
    pub fn empty(lang: Language) -> Self {
        match lang {
            Language::Python => FileFacts::Python(PyFacts::default()),
            Language::Yaml => FileFacts::Yaml(Vec::new()),
            Language::Dockerfile
            | Language::Shell
            | Language::Procfile
            | Language::Ini
            | Language::Makefile
            | Language::DotEnv => FileFacts::Launch,
        }
    }

    /// Merges chunk facts in order.
    pub fn merge(lang: Language, chunks: &[Chunk]) -> Self {
        let mut out = FileFacts::empty(lang);
        for c in chunks {
            match (&mut out, &c.facts) {
                (FileFacts::Python(all), ChunkFacts::Python(p)) => all.extend_from(p, c.start),
                (FileFacts::Yaml(all), ChunkFacts::Yaml(o)) => all.push((c.start, o.clone())),
                _ => {}
            }
        }
        out
    }

    /// The Kubernetes objects of a YAML file.
    pub fn objects(&self) -> impl Iterator<Item = &K8sObject> {
        let docs: &[(usize, Option<std::sync::Arc<K8sObject>>)] = match self {
            FileFacts::Yaml(d) => d,
            _ => &[],
        };
        docs.iter().filter_map(|(_, o)| o.as_deref())
    }
}

/// What one YAML document contributes to its file's summary: its launchers' summaries
/// and injected images (a document's launchers see only its own scopes), and, when other
/// files may read it (`launch::imports::shared`: it imports, or holds ConfigMaps), its
/// launch facts as they see them. Kept per document by `incremental::Checker`.
pub(crate) struct DocumentSummary {
    /// Its launch summary; `facts` is `Some` when other files may read it.
    launch: crate::launch::LaunchSummary,
}

impl DocumentSummary {
    pub(crate) fn of(chunk: &Chunk) -> Self {
        DocumentSummary {
            launch: crate::launch::summary::summarize(&chunk.launch, None),
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
            if !o.pod_annotations.is_empty() {
                out.injectors.push(o.clone());
            }
        }
        let d = part(i, c);
        out.launch
            .launchers
            .extend(d.launch.launchers.iter().cloned());
        out.launch
            .injected_images
            .extend(d.launch.injected_images.iter().cloned());
    }
    let mut docs = file
        .chunks()
        .iter()
        .enumerate()
        .map(|(i, c)| (c, part(i, c)));
    out.launch.facts = shared(
        &mut docs,
        file.chunks().iter().any(|c| c.launch.vendor_distro),
    );
    out
}

/// What a file contributes to its workspace. A YAML stream's is put together from its
/// documents' ([`summarize_documents`]): its facts as other files see them are those of the
/// documents others may read (ConfigMaps, containers with `envFrom:`), so that an edit
/// elsewhere leaves them as they were.
pub fn summarize(file: &SourceFile) -> FileSummary {
    if file.language() == Language::Yaml {
        let parts: Vec<DocumentSummary> = file.chunks().iter().map(DocumentSummary::of).collect();
        return summarize_documents(
            file,
            |i, _| &parts[i],
            |docs, vendor| shared_documents(docs.map(|(_, d)| d), vendor),
        );
    }
    // Kubernetes objects come from YAML only.
    FileSummary {
        instrumentations: Vec::new(),
        injectors: Vec::new(),
        launch: crate::launch::summary::summarize(
            file.launch(),
            match file.facts() {
                FileFacts::Python(p) => Some(p),
                _ => None,
            },
        ),
    }
}

fn compiled_queries() -> &'static [Query] {
    static QUERIES: OnceLock<Vec<Query>> = OnceLock::new();
    QUERIES.get_or_init(|| {
        rules::ALL
            .iter()
            .map(|r| {
                Query::new(&r.language.grammar(), r.query)
                    .unwrap_or_else(|e| panic!("query of {} does not compile: {e}", r.code))
            })
            .collect()
    })
}

/// Checks a file: every enabled rule of its language, configuration applied, `# noqa`
/// suppressions honoured, sorted by position.
pub fn check(
    file: &SourceFile,
    path: Option<&Path>,
    settings: &Settings,
    workspace: &Workspace,
) -> Vec<Diagnostic> {
    check_with(file, path, settings, workspace, None)
}

/// `check`, reusing the per-chunk results of `cache` where a chunk is unchanged (see
/// `incremental::Checker`, the editor's entry point).
pub(crate) fn check_with(
    file: &SourceFile,
    path: Option<&Path>,
    settings: &Settings,
    workspace: &Workspace,
    mut cache: Option<&mut incremental::ChunkResults>,
) -> Vec<Diagnostic> {
    let queries = compiled_queries();
    let ctx = Context::new(file, path, workspace);
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
    let mut out = Vec::new();
    for (idx, rule) in rules::for_language(file.language()) {
        if !settings.is_enabled(rule.code, rule.name) {
            continue;
        }
        let mask = needles::rule_mask(idx, file.language());
        if mask != 0 && !file.chunks().iter().any(|c| c.needles & mask != 0) {
            continue;
        }
        let ran = guarded(rule.code, path, || {
            if !(rule.gate)(&ctx) {
                return Vec::new();
            }
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
                            c.put_scan(idx, &f);
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
            let query = &queries[idx];
            let names = query.capture_names();
            let mut cursor = QueryCursor::new();
            for chunk in file.chunks() {
                if mask != 0 && chunk.needles & mask == 0 {
                    continue;
                }
                if let Some(hit) = cache.as_deref_mut().and_then(|c| c.get(chunk, idx)) {
                    found.extend(hit);
                    continue;
                }
                let src = &file.text()[chunk.start..chunk.start + chunk.len];
                let mut matches = cursor.matches(query, chunk.tree.root_node(), src.as_bytes());
                let mut here = Vec::new();
                while let Some(m) = matches.next() {
                    let mt = Match {
                        ctx: &ctx,
                        chunk: src,
                        offset: chunk.start,
                        captures: m.captures,
                        names,
                    };
                    if let Some(f) = (rule.check)(&mt) {
                        here.push(f);
                    }
                }
                if let Some(c) = cache.as_deref_mut() {
                    c.put(chunk, idx, &here);
                }
                found.extend(here);
            }
            found
        });
        let Some(findings) = ran else {
            continue;
        };
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
    out.retain(|d| !suppress::is_suppressed(file.text(), d.span.start, d.code));
    // One diagnostic per rule and line (§0.3): keep the first.
    out.sort_by(|a, b| (a.span.start, a.code, a.span.end).cmp(&(b.span.start, b.code, b.span.end)));
    let mut seen = std::collections::HashSet::new();
    out.retain(|d| seen.insert((suppress::line_start(file.text(), d.span.start), d.code)));
    out
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
        if let Some(hit) = cache.get_scan(chunk, idx) {
            found.extend(hit);
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
        cache.put_scan_of(chunk, idx, &here);
        found.extend(here);
    }
    found
}

/// Runs one rule's work, catching a panic: it is logged with the rule's code and the file,
/// and the rule contributes nothing, so the other rules' diagnostics still come through.
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
    let file = SourceFile::new(lang, text.to_string());
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

//! Incremental checking for the editor: a chunk an edit did not touch keeps the findings it
//! had, so a keystroke re-runs the rules on the re-parsed chunk only.
//!
//! A rule's findings on a chunk depend on the chunk's text and on what the rule may consult
//! beyond it: the file's facts, the workspace and the path (the contract of `Match`: rules
//! see other chunks only through facts). So results are kept per (chunk id, rule) and all
//! dropped when that context changes. The file facts enter the context *without their byte
//! offsets*: typing inside a function shifts every later offset but changes no fact, and
//! a rule that compares offsets sees the same order either way. Findings are stored relative
//! to their chunk; one whose span or fix edits reach outside its chunk is not stored (it is
//! recomputed each time), since an edit elsewhere could move what it points at.
//!
//! Whole-file `scan` findings are kept while the file's meaning (its semantic revision) and
//! the context stay the same, and moved through the edits that stay off their lines (and, in
//! YAML, off their documents: an edit there may give a span another role and change no
//! fact). In a YAML stream, the scans that
//! judge each document on its own (`Rule::scan_per_document`) are kept per document like
//! query findings, so an edit that changes one document's meaning re-runs them there only.

use super::{check_with, shared_documents, summarize_documents, DocumentSummary, SourceFile};
use crate::config::Settings;
use crate::diagnostic::{Diagnostic, Finding, Span};
use crate::language::Language;
use crate::launch::imports::ConfigMap;
use crate::launch::python::{Function, GunicornFacts, Setting};
use crate::launch::LaunchFacts;
use crate::source::{Chunk, ChunkFacts};
use crate::syntax::python::{Call, FlowCall, FunctionDef, Import, NotableCall, PyFacts, RunCall};
use crate::workspace::FileSummary;
use crate::workspace::Workspace;
use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::path::Path;
use std::sync::Arc;

/// Hashes integer keys (chunk ids, rule indexes) cheaply; the maps here are hit tens of
/// thousands of times per keystroke on a big file, and their keys are not attacker-chosen.
#[derive(Default, Clone, Copy)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }

    /// The multiply leaves the low bits, which pick the bucket, depending on the low bits
    /// of the keys only (chunk ids of one file share them): fold the high bits in.
    fn finish(&self) -> u64 {
        let h = self.0;
        (h ^ (h >> 33)).wrapping_mul(0xff51_afd7_ed55_8ccd) ^ (h >> 29)
    }
}

type IdMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;

/// Whose findings on a chunk are kept: a rule's query matches, or a per-document scan's
/// (by rule index).
#[derive(Clone, Copy)]
pub(crate) enum Kept {
    Query(usize),
    Scan(usize),
}

impl Kept {
    fn key(self) -> u32 {
        match self {
            Kept::Query(idx) => 2 * idx as u32,
            Kept::Scan(idx) => 2 * idx as u32 + 1,
        }
    }
}

/// What is kept of one chunk: its offset-free facts hash and its findings per rule.
struct Slot {
    id: u64,
    /// The check that last used it.
    stamp: u32,
    facts: Option<u64>,
    /// By [`Kept::key`], relative to the chunk's start; a few dozen entries at most, so a linear search beats hashing.
    findings: Vec<(u32, Box<[Finding]>)>,
}

/// Findings per (chunk id, rule index), relative to the chunk's start, plus each chunk's
/// offset-free facts hash. A chunk's entries sit together in one slot, found once per
/// check: a keystroke in a 3,000-document stream asks for some 55,000 chunk-rule results,
/// and a hash-table probe for each cost more than the rest of the check. Slots of chunks
/// that no longer exist are freed from time to time (chunk ids are never reused, so a
/// stale slot is never hit).
#[derive(Default)]
pub struct ChunkResults {
    slots: Vec<Slot>,
    by_id: IdMap<u64, usize>,
    free: Vec<usize>,
    /// The slot of each chunk of the file being checked, by chunk index.
    current: Vec<usize>,
    /// Whole-file `scan` findings by rule index, valid while the file's meaning (its
    /// semantic revision) and the context stay the same; moved through each edit.
    scans: IdMap<usize, Vec<Finding>>,
    /// Where an edit re-runs the stored scans although it changes no fact: the lines their
    /// findings and fix edits are on (with the line break before), and in a YAML stream
    /// their whole documents. An edit there may give a span another role (`spec:` made
    /// `spec:v:`, or a second `spec:` typed into the document, takes over the key).
    scan_guards: Vec<Span>,
    /// The current check.
    stamp: u32,
    /// Chunk-rule pairs answered from the cache in the last check (for tests and logs).
    reused: usize,
}

impl ChunkResults {
    /// Adds the stored findings of `what` on chunk `ci`, moved to the chunk's current
    /// offset, to `out`; false when nothing is stored.
    pub(crate) fn get(
        &mut self,
        ci: usize,
        chunk: &Chunk,
        what: Kept,
        out: &mut Vec<Finding>,
    ) -> bool {
        let key = what.key();
        let slot = self.slot(ci, chunk);
        let Some((_, stored)) = slot.findings.iter().find(|(k, _)| *k == key) else {
            return false;
        };
        out.extend(stored.iter().map(|f| shifted(f, chunk.start)));
        self.reused += 1;
        true
    }

    /// Stores the findings of `what` on chunk `ci`, if they stay inside it.
    pub(crate) fn put(&mut self, ci: usize, chunk: &Chunk, what: Kept, found: &[Finding]) {
        let inside = |s: Span| chunk.start <= s.start && s.end <= chunk.start + chunk.len;
        let local = found.iter().all(|f| {
            inside(f.span)
                && f.fixes
                    .iter()
                    .all(|x| x.edits.iter().all(|e| inside(e.span)))
        });
        if local {
            let key = what.key();
            let value = found.iter().map(|f| unshifted(f, chunk.start)).collect();
            let slot = self.slot(ci, chunk);
            slot.findings.retain(|(k, _)| *k != key);
            slot.findings.push((key, value));
        }
    }

    fn slot(&mut self, ci: usize, chunk: &Chunk) -> &mut Slot {
        let slot = &mut self.slots[self.current[ci]];
        debug_assert_eq!(slot.id, chunk.id, "chunk {ci} has another slot");
        slot
    }

    /// The offset-free hash of chunk `ci`'s facts, computed once per chunk.
    fn facts_hash(&mut self, ci: usize, chunk: &Chunk) -> u64 {
        let slot = self.slot(ci, chunk);
        *slot.facts.get_or_insert_with(|| {
            let mut h = DefaultHasher::new();
            match &chunk.facts {
                ChunkFacts::Python(p) => {
                    hash_py_facts(p, &mut h);
                    hash_launch_facts(&chunk.launch, &mut h);
                }
                // The query rules (OTEL003-005) read objects and the workspace. A
                // per-document scan reads its own document (the chunk, keyed by id) and,
                // from the rest of the stream, only its ConfigMaps (an `envFrom:` resolves
                // through the workspace, which holds this file's summary) and whether the
                // file names a vendor distro.
                ChunkFacts::Yaml(o) => {
                    o.hash(&mut h);
                    hash_config_maps(&chunk.launch.config_maps, &mut h);
                    chunk.vendor_distro.hash(&mut h);
                    chunk.kustomization.hash(&mut h);
                    chunk.values_pods.hash(&mut h);
                }
                // Launcher files are one chunk: any edit re-parses it and drops its results.
                ChunkFacts::Launch => chunk.launch.hash(&mut h),
            }
            h.finish()
        })
    }

    /// Forgets every chunk's findings (the context changed); the facts hashes stay, as they
    /// depend on the chunk alone.
    fn clear_findings(&mut self) {
        for s in &mut self.slots {
            s.findings.clear();
        }
    }

    /// The stored findings of scan rule `idx`.
    pub(crate) fn scan(&self, idx: usize) -> Option<&Vec<Finding>> {
        self.scans.get(&idx)
    }

    /// Stores the findings of scan rule `idx` on `text`.
    pub(crate) fn put_scan(&mut self, idx: usize, found: &[Finding], file: &SourceFile) {
        let bytes = file.text().as_bytes();
        let chunks = file.chunks();
        let yaml = file.language() == Language::Yaml;
        let lines = |s: Span| {
            let mut start = memchr::memrchr(b'\n', &bytes[..s.start.min(bytes.len())]).unwrap_or(0);
            let mut end = memchr::memchr(b'\n', &bytes[s.end.min(bytes.len())..])
                .map_or(bytes.len(), |n| s.end + n + 1);
            if yaml {
                let at = |p: usize| chunks.partition_point(|c| c.start <= p).saturating_sub(1);
                if let Some(c) = chunks.get(at(s.start)) {
                    start = start.min(c.start);
                }
                if let Some(c) = chunks.get(at(s.end)) {
                    end = end.max(c.start + c.len);
                }
            }
            Span::new(start, end)
        };
        for f in found {
            self.scan_guards.push(lines(f.span));
            for x in &f.fixes {
                self.scan_guards
                    .extend(x.edits.iter().map(|e| lines(e.span)));
            }
        }
        self.scans.insert(idx, found.to_vec());
    }

    fn clear_scans(&mut self) {
        self.scans.clear();
        self.scan_guards.clear();
    }

    /// Moves the stored scan findings through `edits` (oldest first). Fails (and forgets
    /// them) when an edit touches a finding's span or one of its fix edits.
    fn move_scans(&mut self, edits: &[(usize, usize, usize)]) -> bool {
        for g in &mut self.scan_guards {
            for &(start, old_end, new_end) in edits {
                match move_span(*g, start, old_end, new_end) {
                    Some(moved) => *g = moved,
                    None => {
                        self.clear_scans();
                        return false;
                    }
                }
            }
        }
        for list in self.scans.values_mut() {
            for f in list.iter_mut() {
                for &(start, old_end, new_end) in edits {
                    let Some(span) = move_span(f.span, start, old_end, new_end) else {
                        self.clear_scans();
                        return false;
                    };
                    f.span = span;
                    for fix in &mut f.fixes {
                        for e in &mut fix.edits {
                            let Some(span) = move_span(e.span, start, old_end, new_end) else {
                                self.clear_scans();
                                return false;
                            };
                            e.span = span;
                        }
                    }
                }
            }
        }
        true
    }

    /// Begins a check of `chunks`: finds (or makes) each chunk's slot.
    fn start(&mut self, chunks: &[Chunk]) {
        self.stamp = self.stamp.wrapping_add(1);
        self.reused = 0;
        let stamp = self.stamp;
        self.current.clear();
        for c in chunks {
            let at = match self.by_id.get(&c.id) {
                Some(&at) => at,
                None => {
                    let slot = Slot {
                        id: c.id,
                        stamp,
                        facts: None,
                        findings: Vec::new(),
                    };
                    let at = match self.free.pop() {
                        Some(at) => {
                            self.slots[at] = slot;
                            at
                        }
                        None => {
                            self.slots.push(slot);
                            self.slots.len() - 1
                        }
                    };
                    self.by_id.insert(c.id, at);
                    at
                }
            };
            self.slots[at].stamp = stamp;
            self.current.push(at);
        }
    }

    /// Frees the slots of chunks gone since (when they have piled up).
    fn finish(&mut self) {
        let stamp = self.stamp;
        if self.by_id.len() > 2 * self.current.len() + 1024 {
            let (slots, free) = (&mut self.slots, &mut self.free);
            self.by_id.retain(|_, &mut at| {
                let live = slots[at].stamp == stamp;
                if !live {
                    slots[at].findings = Vec::new();
                    free.push(at);
                }
                live
            });
        }
    }
}

/// Where `s` lands after replacing `start..old_end` with text ending at `new_end`; `None`
/// when the edit touches it (or an empty span sits where the edit is).
fn move_span(s: Span, start: usize, old_end: usize, new_end: usize) -> Option<Span> {
    let nonempty = s.start < s.end;
    if s.end < start || (s.end == start && nonempty) {
        Some(s)
    } else if s.start > old_end || (s.start == old_end && nonempty) {
        let shift = |p: usize| p - old_end + new_end;
        Some(Span::new(shift(s.start), shift(s.end)))
    } else {
        None
    }
}

fn shifted(f: &Finding, by: usize) -> Finding {
    let mut f = f.clone();
    f.span = f.span.shift(by);
    f.fixes = f.fixes.into_iter().map(|x| x.shifted(by)).collect();
    f
}

fn unshifted(f: &Finding, by: usize) -> Finding {
    let mut f = f.clone();
    let back = |s: Span| Span::new(s.start - by, s.end - by);
    f.span = back(f.span);
    for x in &mut f.fixes {
        for e in &mut x.edits {
            e.span = back(e.span);
        }
    }
    f
}

/// Checks one document again and again as it is edited, reusing per-chunk results.
/// Gives exactly what `engine::check` gives for the same file, settings and workspace.
#[derive(Default)]
pub struct Checker {
    context: Option<u64>,
    results: ChunkResults,
    /// Per-document summaries of a YAML stream, by chunk id (see [`Checker::summarize`]).
    documents: IdMap<u64, DocumentSummary>,
    /// The stream's shared facts as last merged: from which documents (chunk ids, in
    /// order), with which vendor-distro mention.
    shared: Option<(Vec<u64>, bool, Option<Arc<LaunchFacts>>)>,
    /// `(semantic revision, revision)` of the file when the scan findings were stored.
    scans_at: Option<(u64, u64)>,
}

impl Checker {
    /// A checker with nothing cached.
    pub fn new() -> Self {
        Self::default()
    }

    /// `engine::check`, incrementally.
    pub fn check(
        &mut self,
        file: &SourceFile,
        path: Option<&Path>,
        settings: &Settings,
        workspace: &Workspace,
    ) -> Vec<Diagnostic> {
        self.results.start(file.chunks());
        let context = context_key(&mut self.results, file, path, workspace);
        if self.context != Some(context) {
            self.results.clear_findings();
            self.results.clear_scans();
            self.context = Some(context);
        }
        // Scan findings survive edits that change no meaning: move them along.
        let movable = match self.scans_at {
            Some((semantic, rev)) if semantic == file.semantic_revision() => file
                .edits_since(rev)
                .is_some_and(|edits| self.results.move_scans(&edits)),
            _ => false,
        };
        if !movable {
            self.results.clear_scans();
        }
        self.scans_at = Some((file.semantic_revision(), file.revision()));
        let out = check_with(
            file,
            path,
            settings,
            workspace,
            false,
            Some(&mut self.results),
        );
        self.results.finish();
        out
    }

    /// `engine::summarize`, incrementally: a YAML stream's summary is put together from its
    /// documents' summaries, and a document an edit did not touch keeps its own; the facts
    /// other files see are merged again only when a document they come from changed.
    pub fn summarize(&mut self, file: &SourceFile) -> FileSummary {
        if file.language() != Language::Yaml {
            return super::summarize(file);
        }
        let chunks = file.chunks();
        if self.documents.len() > 2 * chunks.len() + 1024 {
            let live: std::collections::HashSet<u64> = chunks.iter().map(|c| c.id).collect();
            self.documents.retain(|id, _| live.contains(id));
        }
        for c in chunks {
            self.documents
                .entry(c.id)
                .or_insert_with(|| DocumentSummary::of(c));
        }
        let documents = &self.documents;
        let last = &mut self.shared;
        summarize_documents(
            file,
            |_, c| &documents[&c.id],
            |docs, vendor| {
                let docs: Vec<(&Chunk, &DocumentSummary)> = docs.collect();
                let key: Vec<u64> = docs
                    .iter()
                    .filter(|(_, d)| d.is_shared())
                    .map(|(c, _)| c.id)
                    .collect();
                if let Some((k, v, facts)) = last.as_ref() {
                    if *k == key && *v == vendor {
                        return facts.clone();
                    }
                }
                let facts = shared_documents(docs.into_iter().map(|(_, d)| d), vendor);
                *last = Some((key, vendor, facts.clone()));
                facts
            },
        )
    }

    /// How many chunk-rule results the last check reused.
    pub fn reused(&self) -> usize {
        self.results.reused
    }
}

/// Everything besides a chunk's own text that a rule may look at, offsets left out.
fn context_key(
    results: &mut ChunkResults,
    file: &SourceFile,
    path: Option<&Path>,
    workspace: &Workspace,
) -> u64 {
    let mut h = DefaultHasher::new();
    file.language().hash(&mut h);
    path.hash(&mut h);
    // Any change of another file's summary gives a new key (generations are unique across
    // the process, so two workspaces are not confused). The file's own summary is left out:
    // it is derived from the file's own facts, hashed below without offsets, so a keystroke
    // that only moves offsets keeps every untouched chunk's results.
    workspace.generation_without(path).hash(&mut h);
    for (ci, c) in file.chunks().iter().enumerate() {
        results.facts_hash(ci, c).hash(&mut h);
    }
    h.finish()
}

/// ConfigMaps as a reader in another document sees them: names and values, no offsets.
fn hash_config_maps(maps: &[ConfigMap], h: &mut impl Hasher) {
    for m in maps {
        let ConfigMap {
            name,
            namespace,
            data,
        } = m;
        (7u8, name, namespace, data.len()).hash(h);
        for v in data {
            let value = v.value.as_ref().map(|t| (&t.text, t.dynamic));
            (&v.name, value, &v.origin).hash(h);
        }
    }
}

/// The facts without their offsets. The destructuring is exhaustive on purpose: a new
/// field fails to compile here until someone decides whether it belongs to the context.
fn hash_py_facts(p: &PyFacts, h: &mut impl Hasher) {
    let PyFacts {
        imports,
        calls,
        functions,
        runs,
        statements,
        header_end,
        django_settings,
        notable_calls,
    } = p;
    for i in imports {
        let Import {
            module,
            name,
            bound,
            stmt_start,
            stmt_end,
            top_start,
            top_end,
            type_checking,
            nested,
        } = i;
        // Offsets only matter through how they compare (a nested import's statement).
        let whole_top = (top_start == stmt_start, top_end == stmt_end);
        (1u8, module, name, bound, type_checking, nested, whole_top).hash(h);
    }
    for c in calls {
        let Call {
            callee,
            start: _,
            end: _,
            assigned_to,
            stmt_start: _,
            stmt_end: _,
            guarded,
            type_checking,
            literal_args,
        } = c;
        let whole = c.is_whole_statement();
        (
            2u8,
            callee,
            assigned_to,
            guarded,
            type_checking,
            literal_args,
            whole,
        )
            .hash(h);
    }
    for f in functions {
        let FunctionDef {
            name,
            start: _,
            creates_flask,
            flow,
        } = f;
        (3u8, name, creates_flask).hash(h);
        // Offsets only matter through how the calls nest and follow each other.
        for c in flow {
            let FlowCall {
                callee,
                start,
                end: _,
                block,
                stmt,
                body_stmt,
            } = c;
            let dominated: Vec<bool> = flow.iter().map(|o| c.dominates(o.start)).collect();
            (
                callee,
                block.0 == body_stmt.0,
                stmt == body_stmt,
                *start == stmt.0,
                dominated,
            )
                .hash(h);
        }
    }
    (4u8, statements.len(), header_end.is_some(), django_settings).hash(h);
    for r in runs {
        let RunCall {
            receiver,
            local_ctor,
            function,
            start: _,
            end: _,
            follows_config,
            insert_at: _,
            has_args,
        } = r;
        (
            8u8,
            receiver,
            local_ctor,
            function,
            follows_config,
            has_args,
        )
            .hash(h);
    }
    (4u8, statements.len(), header_end.is_some()).hash(h);
    for c in notable_calls {
        let NotableCall {
            callee,
            args,
            keywords,
            start: _,
        } = c;
        (5u8, callee, args, keywords).hash(h);
    }
}

/// A Python chunk's launch facts without offsets: the gunicorn settings and module-level
/// functions every module has. The rest (launchers, environment) is hashed whole; it is empty
/// for Python chunks. Exhaustive on purpose, like `hash_py_facts`.
fn hash_launch_facts(l: &LaunchFacts, h: &mut impl Hasher) {
    let LaunchFacts {
        launchers,
        scopes,
        env,
        copies,
        stages,
        gunicorn,
        uwsgi,
        compose,
        injected_images,
        injected_as_built,
        imports,
        config_maps,
        images,
        dotenv,
        vendor_distro,
        uv_setup,
        index: _,
    } = l;
    (launchers, scopes, env, copies, stages, uwsgi, compose).hash(h);
    (
        injected_images,
        injected_as_built,
        imports,
        config_maps,
        images,
        dotenv,
        vendor_distro,
        uv_setup,
    )
        .hash(h);
    let GunicornFacts {
        settings,
        functions,
    } = gunicorn;
    for s in settings {
        let Setting {
            name,
            value,
            kind,
            stmt: _,
        } = s;
        (5u8, name, &value.text, kind).hash(h);
    }
    for f in functions {
        let Function {
            name,
            name_span: _,
            params,
            calls,
            decorators,
            span: _,
            body_indent,
        } = f;
        (6u8, name, params, calls, decorators, body_indent).hash(h);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::check;
    use crate::language::Language;

    fn app(n: usize) -> String {
        let mut s = String::from(
            "from flask import Flask\nfrom opentelemetry import trace\napp = Flask(__name__)\n",
        );
        for i in 0..n {
            s.push_str(&format!(
                "def f{i}(debug):\n    x = {i}\n    return app.run(debug=True)\n\n"
            ));
        }
        s
    }

    #[test]
    fn same_as_a_full_check_through_edits() {
        let settings = Settings::default();
        let ws = Workspace::new();
        let mut file = crate::engine::parse(Language::Python, app(400));
        let mut checker = Checker::new();
        let first = checker.check(&file, None, &settings, &ws);
        assert_eq!(first.len(), 400);
        assert_eq!(first, check(&file, None, &settings, &ws));
        // Typing inside a function body: only its chunk is re-checked.
        let at = file.text().find("x = 200").unwrap() + 4;
        for (start, end, text) in [
            (at, at, "1"),
            (at, at + 1, ""),
            (at, at, "é"),
            (at, at + 2, ""),
        ] {
            file.edit(start, end, text);
            let got = checker.check(&file, None, &settings, &ws);
            assert_eq!(got, check(&file, None, &settings, &ws));
            assert!(checker.reused() > 0, "nothing reused");
        }
        // Fixing one finding inside a function body.
        let at = file.text().find("debug=True").unwrap() + "debug=True".len();
        file.edit(at, at, ", use_reloader=False");
        let got = checker.check(&file, None, &settings, &ws);
        assert_eq!(got.len(), 399);
        assert_eq!(got, check(&file, None, &settings, &ws));
        // Removing the OpenTelemetry import changes the facts: everything goes.
        let imp = file.text().find("from opentelemetry").unwrap();
        file.edit(imp, imp + 4, "#rom");
        let got = checker.check(&file, None, &settings, &ws);
        assert_eq!(got, Vec::new());
        assert_eq!(got, check(&file, None, &settings, &ws));
        file.edit(imp, imp + 4, "from");
        let got = checker.check(&file, None, &settings, &ws);
        assert_eq!(got.len(), 399);
    }

    /// A comment naming a vendor distro changes no launcher or setting, but it changes the
    /// default OTLP protocol OTEL041 assumes: the stored scan findings must not survive it.
    #[test]
    fn a_vendor_distro_comment_reruns_the_scans() {
        let settings = Settings::default();
        let ws = Workspace::new();
        // The comment comes last, so that editing it moves no offset either.
        let text = "export OTEL_SERVICE_NAME=api OTEL_EXPORTER_OTLP_ENDPOINT=http://collector:4318\nexec opentelemetry-instrument python app.py\n# uses opentelemetry\n";
        let mut file = crate::engine::parse(Language::Shell, text.to_string());
        let mut checker = Checker::new();
        let codes = |d: &[Diagnostic]| d.iter().map(|d| d.code).collect::<Vec<_>>();
        assert_eq!(
            codes(&checker.check(&file, None, &settings, &ws)),
            ["OTEL041"]
        );
        let at = text.rfind("opentelemetry").unwrap();
        file.edit(at, at + "opentelemetry".len(), "honeycomb");
        assert_eq!(checker.check(&file, None, &settings, &ws), vec![]);
        assert_eq!(check(&file, None, &settings, &ws), vec![]);
        file.edit(at, at + "honeycomb".len(), "opentelemetry");
        assert_eq!(
            codes(&checker.check(&file, None, &settings, &ws)),
            ["OTEL041"]
        );
    }

    /// Turning `spec:` into `spec:v:` changes no fact of the Instrumentation (neither
    /// `spec:` sets an endpoint) but hands its key to the later `spec:`, where OTEL030 is
    /// now reported: an edit on a stored scan finding's line re-runs the scans (found by
    /// the incremental_edits fuzzer).
    #[test]
    fn an_edit_beside_a_scan_finding_reruns_the_scans() {
        let settings = Settings::default();
        let ws = Workspace::new();
        let text = "apiVersion: opentelemetry.io/v1alpha1\nkind: Instrumentation\nmetadata:\n  name: sdk-only\nspec:\n  env:\n    - ame: sdk-only\nspec:\n  env:\n";
        let mut file = crate::engine::parse(Language::Yaml, text.to_string());
        let mut checker = Checker::new();
        let spans = |d: &[Diagnostic]| d.iter().map(|d| (d.code, d.span.start)).collect::<Vec<_>>();
        let first = text.find("spec:").unwrap();
        assert_eq!(
            spans(&checker.check(&file, None, &settings, &ws)),
            [("OTEL030", first)]
        );
        // A document added before it moves them.
        file.edit(0, 0, "kind: ConfigMap\n---\n");
        let first = first + "kind: ConfigMap\n---\n".len();
        assert_eq!(
            spans(&checker.check(&file, None, &settings, &ws)),
            [("OTEL030", first)]
        );
        assert_eq!(
            spans(&checker.check(&file, None, &settings, &ws)),
            [("OTEL030", first)]
        );
        let at = first + "spec:".len();
        file.edit(at, at + "\n  en".len(), "");
        let second = file.text().rfind("spec:").unwrap();
        assert_eq!(
            spans(&check(&file, None, &settings, &ws)),
            [("OTEL030", second)]
        );
        assert_eq!(
            spans(&checker.check(&file, None, &settings, &ws)),
            [("OTEL030", second)]
        );
        // Without `spec:` the finding is on `kind:`; a `spec:` typed a line below it, in
        // the same document, takes it over (the fuzzer again).
        let text = "apiVersion: opentelemetry.io/v1alpha1\nkind: Instrumentation\nmetadata:\n  name: sdk-only\n";
        let mut file = crate::engine::parse(Language::Yaml, text.to_string());
        let mut checker = Checker::new();
        assert_eq!(
            spans(&checker.check(&file, None, &settings, &ws)),
            [("OTEL030", text.find("kind").unwrap())]
        );
        let at = text.find("metadata").unwrap();
        file.edit(at, at, "spec:\n  env: []\n");
        assert_eq!(
            spans(&check(&file, None, &settings, &ws)),
            [("OTEL030", at)]
        );
        assert_eq!(
            spans(&checker.check(&file, None, &settings, &ws)),
            [("OTEL030", at)]
        );
    }

    /// In a YAML stream, a container's findings can depend on a ConfigMap in another
    /// document of the same file (`envFrom:`): a per-document scan's stored findings must
    /// not survive an edit of that ConfigMap, and must survive edits elsewhere.
    #[test]
    fn per_document_scans_follow_a_configmap_in_another_document() {
        use crate::engine::summarize;
        let settings = Settings::default();
        let path = Path::new("k8s/app.yaml");
        let mut text = String::from(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: otel\ndata:\n  OTEL_SERVICE_NAME: web\n  OTEL_EXPORTER_OTLP_PROTOCOL: grpc\n",
        );
        for i in 0..3 {
            text.push_str(&format!(
                "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web{i}\n  labels:\n    tier: web\nspec:\n  template:\n    spec:\n      containers:\n        - name: web\n          image: web:1\n          command: [\"opentelemetry-instrument\", \"python\", \"app.py\"]\n          envFrom:\n            - configMapRef:\n                name: otel\n          env:\n            - name: OTEL_EXPORTER_OTLP_ENDPOINT\n              value: http://collector:4318\n"
            ));
        }
        let mut file = crate::engine::parse(Language::Yaml, text);
        assert_eq!(file.chunks().len(), 4);
        let mut ws = Workspace::new();
        ws.update(path.into(), summarize(&file));
        let mut checker = Checker::new();
        let codes = |d: &[Diagnostic]| d.iter().map(|d| d.code).collect::<Vec<_>>();
        let first = checker.check(&file, Some(path), &settings, &ws);
        assert_eq!(codes(&first), ["OTEL041"; 3], "{first:?}");
        let mut step = |file: &mut SourceFile, at: usize, end: usize, with: &str| {
            file.edit(at, end, with);
            ws.update(path.into(), summarize(file));
            let got = checker.check(file, Some(path), &settings, &ws);
            assert_eq!(got, check(file, Some(path), &settings, &ws));
            (got, checker.reused())
        };
        // The ConfigMap now says http/protobuf: port 4318 is right everywhere.
        let at = file.text().find("grpc").unwrap();
        let (got, _) = step(&mut file, at, at + 4, "http/protobuf");
        assert_eq!(got, vec![]);
        let (got, _) = step(&mut file, at, at + "http/protobuf".len(), "grpc");
        assert_eq!(codes(&got), ["OTEL041"; 3]);
        // An edit in one Deployment's label re-runs the scans there only.
        let at = file.text().rfind("tier: web").unwrap() + 6;
        let (got, reused) = step(&mut file, at, at, "x");
        assert_eq!(codes(&got), ["OTEL041"; 3]);
        assert!(reused > 0);
    }

    /// A Flask app's finding depends on a Dockerfile elsewhere in the workspace: the cached
    /// per-chunk results must not survive a change of the workspace, nor a switch to another
    /// workspace.
    #[test]
    fn workspace_changes_invalidate_the_cache() {
        use crate::engine::summarize;
        let settings = Settings::default();
        let app = "from flask import Flask\napp = Flask(__name__)\napp.run(debug=True)\n";
        let file = crate::engine::parse(Language::Python, app.to_string());
        let docker = |run: &str| {
            let df = format!("FROM python:3.12\nCMD [{run}\"python\", \"app.py\"]\n");
            summarize(&crate::engine::parse(Language::Dockerfile, df))
        };
        let path = Path::new("p/app.py");
        let mut ws = Workspace::new();
        ws.update(path.into(), summarize(&file));
        ws.update(
            "p/Dockerfile".into(),
            docker("\"opentelemetry-instrument\", "),
        );
        let plain = ws.clone();
        let mut checker = Checker::new();
        let found = checker.check(&file, Some(path), &settings, &ws);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].code, "OTEL001");
        ws.update("p/Dockerfile".into(), docker(""));
        assert_eq!(checker.check(&file, Some(path), &settings, &ws), vec![]);
        ws.update(
            "p/Dockerfile".into(),
            docker("\"opentelemetry-instrument\", "),
        );
        assert_eq!(checker.check(&file, Some(path), &settings, &ws).len(), 1);
        // Another workspace (here: a clone from before) gives its own answer.
        let empty = Workspace::new();
        assert_eq!(checker.check(&file, Some(path), &settings, &empty), vec![]);
        assert_eq!(checker.check(&file, Some(path), &settings, &plain).len(), 1);
    }
}

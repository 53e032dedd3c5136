//! The source-file model, below the rules and the engine: a file's text split into chunks
//! (see `syntax::chunk` for why), each with its needle bits and — when something may look at
//! it — its tree-sitter tree, facts and launch facts, updated incrementally by byte edits.
//!
//! Parsing is the cost, so a chunk is parsed only when it is *wanted* ([`Wanted`]): the
//! engine decides from the chunk's needle bits (which literal strings of the rules and of
//! the workspace summary occur in it) before any tree exists. A chunk that is not wanted
//! has no tree and empty facts; the file's merged facts come from the parsed chunks only.
//! What the bits mean is the engine's business: this layer only asks a [`Prefilter`] for
//! them, so it knows nothing of the rules.

use crate::diagnostic::Span;
use crate::language::Language;
use crate::launch::{self, LaunchFacts};
use crate::syntax::chunk;
use crate::syntax::python::PyFacts;
use crate::syntax::yaml::K8sObject;
use crate::syntax::{parse, python, yaml};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use tree_sitter::{InputEdit, Point, Tree};

/// Which needles a text holds: bit `i` set when the language's needle `i` occurs in it.
/// Implemented by the engine from the rule table; a needle never contains a line break, so
/// the bits of a file are the union of its chunks' bits.
pub trait Prefilter: Sync + Send {
    /// The needle bits of `text` in a file of `lang`.
    fn scan(&self, lang: Language, text: &str) -> u128;

    /// Whether the parser may leave out the YAML blocks no rule reads
    /// ([`crate::syntax::yaml_skip`]); the full path's prefilter says no.
    fn skips_unread(&self) -> bool {
        false
    }

    /// Whether a parsed YAML document's object and launch facts may be read from its lines
    /// (`launch::yaml::light_facts`) instead of its tree; the full path's prefilter says no,
    /// so that it stays the tree's reference (`tests/fast_path.rs` compares the two).
    fn reads_lines(&self) -> bool {
        false
    }
}

/// Which chunks of a file are parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Wanted {
    /// Every chunk, needles or not (the full path; fixes check their result with it).
    All,
    /// The chunks whose needle bits meet this mask (0: none).
    Bits(u128),
    /// The chunks whose bits meet the first mask and not the second: a check that leaves
    /// some documents to another pass (the CLI's provider documents).
    Except(u128, u128),
}

impl Wanted {
    /// Whether a chunk with these needle bits is parsed.
    pub fn wants(self, bits: u128) -> bool {
        match self {
            Wanted::All => true,
            Wanted::Bits(m) => bits & m != 0,
            Wanted::Except(m, not) => bits & m != 0 && bits & not == 0,
        }
    }

    /// The union of two wishes; exclusions are dropped (the union wants at least what
    /// either wants), so apply [`Wanted::except`] last.
    pub fn or(self, other: Wanted) -> Wanted {
        let bits = |w: Wanted| match w {
            Wanted::All => None,
            Wanted::Bits(m) | Wanted::Except(m, _) => Some(m),
        };
        match (bits(self), bits(other)) {
            (Some(a), Some(b)) => Wanted::Bits(a | b),
            _ => Wanted::All,
        }
    }

    /// The same wish, leaving out the chunks with any of `not`'s bits.
    pub fn except(self, not: u128) -> Wanted {
        match self {
            Wanted::All => Wanted::Except(u128::MAX, not),
            Wanted::Bits(m) => Wanted::Except(m, not),
            Wanted::Except(m, n) => Wanted::Except(m, n | not),
        }
    }
}

/// Facts of a whole file, merged from its parsed chunks (absolute offsets).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FileFacts {
    /// A Python module.
    Python(PyFacts),
    /// A YAML stream: each parsed document's start offset and Kubernetes identity.
    Yaml(Vec<(usize, Option<Arc<K8sObject>>)>),
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

    /// Merges the facts of the chunks that have them (parsed, or read from lines), in order.
    pub fn merge(lang: Language, chunks: &[Chunk]) -> Self {
        let mut out = FileFacts::empty(lang);
        for c in chunks.iter().filter(|c| c.has_facts()) {
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
        let docs: &[(usize, Option<Arc<K8sObject>>)] = match self {
            FileFacts::Yaml(d) => d,
            _ => &[],
        };
        docs.iter().filter_map(|(_, o)| o.as_deref())
    }
}

/// One independently parsed piece of a file.
pub struct Chunk {
    /// Unique for the life of the process; a chunk that an edit left untouched keeps its id
    /// (and its tree), so results computed for it can be reused (`engine::Checker`).
    pub id: u64,
    /// Byte offset of the chunk in the file.
    pub start: usize,
    /// Length in bytes.
    pub len: usize,
    /// The chunk's tree (node offsets relative to `start`), when the chunk is parsed.
    tree: Option<Tree>,
    /// Bit `i` set when the language's needle `i` occurs in the chunk.
    pub needles: u128,
    /// Facts of the chunk (relative offsets); empty unless it [has facts](Chunk::has_facts).
    pub facts: ChunkFacts,
    /// Launchers, environment settings and gunicorn config facts of the chunk (relative);
    /// empty unless it [has facts](Chunk::has_facts).
    pub launch: LaunchFacts,
    /// See [`Chunk::multiline_literals`]; found on first use (only the editor asks).
    multiline: OnceLock<Vec<(usize, usize)>>,
    /// The chunk is YAML with Helm template actions: its tree may come from a mask of its
    /// text (`syntax::helm`), so it is never the old tree of an incremental parse.
    templated: bool,
    /// The chunk's text mentions a vendor OpenTelemetry distro
    /// (`launch::packaging::mentions_vendor_distro`; a name never spans two chunks).
    pub vendor_distro: bool,
    /// A parsed YAML document read as a kustomization (`syntax::kustomize::read`): one that
    /// is no Kubernetes object, or one of kind `Kustomization`/`Component`.
    pub kustomization: Option<Arc<crate::syntax::kustomize::Kustomization>>,
    /// A parsed YAML document that is no Kubernetes object, read as a Helm values file: the
    /// pods its `podAnnotations:` maps describe (`syntax::yaml::values_pods`).
    pub values_pods: Vec<Arc<crate::syntax::yaml::K8sObject>>,
    /// Its facts were read from its lines (`launch::yaml::light_facts`), without a tree.
    light: bool,
}

/// What a reader of a file needs of one chunk ([`SourceFile::from_layout`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Nothing: it is neither parsed nor summarised.
    Nothing,
    /// Its facts only (a workspace summary): a YAML document (a Kubernetes object) is read
    /// from its lines when it is plain enough (`launch::yaml::light_facts`); anything else
    /// is parsed.
    Facts,
    /// Its tree and facts (a check). The facts of a YAML document are read from its lines
    /// all the same when they can be, the tree being for the rules.
    Tree,
    /// Its tree and facts when it holds an object of these classes (the rules that look at
    /// it read those trees only, `rules::Rule::trees`), else its facts as [`Need::Facts`]
    /// reads them; a document the line reader cannot read is parsed.
    TreeOf(crate::syntax::yaml::Classes),
}

impl Need {
    /// What a document needs when its readers read the trees of objects of these classes:
    /// every tree ([`Need::Tree`]), none (its facts, [`Need::Facts`]), or those.
    pub fn trees_of(classes: crate::syntax::yaml::Classes) -> Need {
        use crate::syntax::yaml::Classes;
        match classes {
            Classes::ALL => Need::Tree,
            Classes::NONE => Need::Facts,
            c => Need::TreeOf(c),
        }
    }
}

/// `true` is [`Need::Tree`], `false` [`Need::Nothing`] (a caller that never asks for facts
/// alone).
impl From<bool> for Need {
    fn from(tree: bool) -> Self {
        if tree {
            Need::Tree
        } else {
            Need::Nothing
        }
    }
}

impl Chunk {
    /// The chunk's tree, when it is parsed (node offsets relative to [`Chunk::start`]).
    pub fn tree(&self) -> Option<&Tree> {
        self.tree.as_ref()
    }

    /// Whether the chunk was parsed (it has a tree and facts).
    pub fn is_parsed(&self) -> bool {
        self.tree.is_some()
    }

    /// Whether the chunk's facts are known: it was parsed, or read from its lines.
    pub fn has_facts(&self) -> bool {
        self.tree.is_some() || self.light
    }

    /// Byte ranges (relative) of the string and scalar nodes that span lines: a `# noqa`
    /// comment cannot go at the end of a line inside one (the server's code actions). An
    /// unparsed chunk is parsed for this once and the tree dropped; `text` is the file's.
    pub fn multiline_literals(&self, lang: Language, text: &str) -> &[(usize, usize)] {
        self.multiline.get_or_init(|| match &self.tree {
            Some(t) => multiline_literals(t),
            None => {
                let src = text.get(self.start..self.start + self.len).unwrap_or("");
                multiline_literals(&chunk_tree(lang, src, None))
            }
        })
    }

    /// The chunk's byte range in the file.
    pub fn span(&self) -> Span {
        Span::new(self.start, self.start + self.len)
    }
}

/// Facts of one chunk.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ChunkFacts {
    /// A group of Python statements.
    Python(python::PyFacts),
    /// One YAML document, with its Kubernetes identity if it has one (shared with the
    /// file's facts and summary, not copied).
    Yaml(Option<Arc<yaml::K8sObject>>),
    /// A file read only for its launchers (Dockerfile, shell, Procfile, ini): see `Chunk::launch`.
    Launch,
}

/// A file's text with its chunks and merged facts.
pub struct SourceFile {
    lang: Language,
    text: String,
    chunks: Vec<Chunk>,
    /// Which chunks are parsed (now, and after each edit).
    wanted: Wanted,
    /// Gives each chunk its needle bits.
    prefilter: &'static dyn Prefilter,
    /// Merged from the chunks on first use after an edit: a keystroke that only the
    /// per-chunk caches need never pays for merging a big file's facts.
    facts: OnceLock<FileFacts>,
    /// Likewise merged on first use.
    launch: OnceLock<LaunchFacts>,
    /// Bumped by every edit.
    revision: u64,
    /// The revision of the last edit that changed what the re-parsed chunks mean (their
    /// facts and launch facts with byte offsets left out); see [`Self::semantic_revision`].
    semantic_revision: u64,
    /// The recent edits, oldest first: `(revision, start, old_end, new_end)`.
    edit_log: std::collections::VecDeque<(u64, usize, usize, usize)>,
}

/// How many recent edits a file remembers for [`SourceFile::edits_since`].
const EDIT_LOG: usize = 256;

impl SourceFile {
    /// Splits a file into chunks, finds each chunk's needles and parses the wanted ones.
    pub fn new(
        lang: Language,
        text: String,
        prefilter: &'static dyn Prefilter,
        wanted: Wanted,
    ) -> Self {
        let layout = layout(lang, &text, prefilter);
        let mut f = Self::from_layout(lang, text, prefilter, &layout, &|_, b| {
            wanted.wants(b).into()
        });
        f.wanted = wanted;
        f
    }

    /// Like [`Self::new`], but parses the chunks `wanted` says yes to, by their start and
    /// needle bits; later edits parse nothing new (the file wants [`Wanted::Bits`]`(0)`).
    pub fn new_where(
        lang: Language,
        text: String,
        prefilter: &'static dyn Prefilter,
        wanted: &dyn Fn(usize, u128) -> Need,
    ) -> Self {
        let layout = layout(lang, &text, prefilter);
        Self::from_layout(lang, text, prefilter, &layout, wanted)
    }

    /// Like [`Self::new_where`], with the chunks' starts and needle bits already known (from
    /// [`layout`] of the same text: the CLI reads a file more than once and splits it once).
    /// A layout that does not fit the text (the file changed on disk) is made again.
    pub fn from_layout(
        lang: Language,
        text: String,
        prefilter: &'static dyn Prefilter,
        layout: &[(usize, u128)],
        wanted: &dyn Fn(usize, u128) -> Need,
    ) -> Self {
        let fits = layout.first().is_some_and(|c| c.0 == 0)
            && layout
                .iter()
                .all(|&(s, _)| s == 0 || (s < text.len() && text.as_bytes()[s - 1] == b'\n'));
        let own;
        let layout = if fits {
            layout
        } else {
            own = self::layout(lang, &text, prefilter);
            &own[..]
        };
        let mut chunks = Vec::with_capacity(layout.len());
        for (i, &(s, bits)) in layout.iter().enumerate() {
            let e = layout.get(i + 1).map_or(text.len(), |n| n.0);
            let need = wanted(s, bits);
            let mut lines = Lines::Try;
            if matches!(need, Need::Facts | Need::TreeOf(_)) && lang == Language::Yaml {
                match light_chunk(&text, s..e, bits) {
                    Some(c) => {
                        let tree_wanted = match (need, &c.facts) {
                            (Need::TreeOf(classes), ChunkFacts::Yaml(Some(o))) => {
                                o.class().meets(classes)
                            }
                            _ => false,
                        };
                        if !tree_wanted {
                            LIGHT_BYTES.fetch_add(c.len, Ordering::Relaxed);
                            LIGHT_DOCS.fetch_add(1, Ordering::Relaxed);
                            chunks.push(c);
                            continue;
                        }
                        // Parsed for the rules, with the facts read already.
                        if let ChunkFacts::Yaml(Some(o)) = c.facts {
                            lines = Lines::Read(Box::new((o, c.launch)));
                        }
                    }
                    None => lines = Lines::Refused,
                }
            }
            let w = if need == Need::Nothing {
                Wanted::Bits(0)
            } else {
                Wanted::All
            };
            chunks.push(parsed_chunk(
                lang,
                &text,
                s..e,
                None,
                bits,
                w,
                prefilter,
                lines,
            ));
        }
        SourceFile {
            lang,
            text,
            chunks,
            wanted: Wanted::Bits(0),
            prefilter,
            facts: OnceLock::new(),
            launch: OnceLock::new(),
            revision: 0,
            semantic_revision: 0,
            edit_log: Default::default(),
        }
    }

    /// Bumped by every edit (and reset by nothing): with [`Self::edits_since`], it tells a
    /// cache how to move offsets it holds.
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// The revision at which the file's meaning last changed. An edit that only moves byte
    /// offsets (typing inside a value, a comment, a function body) keeps it; any change of
    /// the re-parsed chunks' facts or launch facts (offsets left out) sets it to the edit's
    /// revision. Parsing a new file starts it afresh, so compare it together with identity.
    pub fn semantic_revision(&self) -> u64 {
        self.semantic_revision
    }

    /// The edits after revision `rev`, oldest first, as `(start, old_end, new_end)` byte
    /// offsets (each in the text as it was before that edit); `None` when they are no longer
    /// remembered.
    pub fn edits_since(&self, rev: u64) -> Option<Vec<(usize, usize, usize)>> {
        if rev == self.revision {
            return Some(Vec::new());
        }
        let first = self.edit_log.front()?.0;
        if rev + 1 < first || rev > self.revision {
            return None;
        }
        Some(
            self.edit_log
                .iter()
                .filter(|e| e.0 > rev)
                .map(|e| (e.1, e.2, e.3))
                .collect(),
        )
    }

    /// Parses the chunks `wanted` now asks for (from now on, also after edits). Chunks
    /// parsed before stay parsed; a chunk that becomes parsed gets a new id and the file a
    /// new (semantic) revision, since its facts are new.
    pub fn want(&mut self, wanted: Wanted) {
        self.wanted = wanted;
        let mut changed = false;
        for c in &mut self.chunks {
            if c.is_parsed() || !wanted.wants(c.needles) {
                continue;
            }
            *c = make_chunk_with(
                self.lang,
                &self.text,
                c.start..c.start + c.len,
                None,
                c.needles,
                Wanted::All,
                self.prefilter,
            );
            changed = true;
        }
        if changed {
            self.revision += 1;
            self.semantic_revision = self.revision;
            self.edit_log.push_back((self.revision, 0, 0, 0));
            if self.edit_log.len() > EDIT_LOG {
                self.edit_log.pop_front();
            }
            self.facts = OnceLock::new();
            self.launch = OnceLock::new();
        }
    }

    /// Also parses the chunks not parsed yet whose text contains one of `names` (as a whole
    /// word: not inside a longer identifier). Returns whether any was. Like [`Self::want`],
    /// a chunk that becomes parsed gets a new id and the file a new revision; an edit that
    /// re-makes such a chunk leaves it to the file's [`Wanted`] again, so callers ask again
    /// after edits.
    pub fn want_mentions(&mut self, names: &[String]) -> bool {
        let mut changed = false;
        for c in &mut self.chunks {
            if c.is_parsed() {
                continue;
            }
            let src = &self.text[c.start..c.start + c.len];
            if !names.iter().any(|n| mentions(src, n)) {
                continue;
            }
            *c = make_chunk_with(
                self.lang,
                &self.text,
                c.start..c.start + c.len,
                None,
                c.needles,
                Wanted::All,
                self.prefilter,
            );
            changed = true;
        }
        if changed {
            self.revision += 1;
            self.semantic_revision = self.revision;
            self.edit_log.push_back((self.revision, 0, 0, 0));
            if self.edit_log.len() > EDIT_LOG {
                self.edit_log.pop_front();
            }
            self.facts = OnceLock::new();
            self.launch = OnceLock::new();
        }
        changed
    }

    /// Which chunks are parsed.
    pub fn wanted(&self) -> Wanted {
        self.wanted
    }

    /// The needle bits of the whole file: the union of its chunks'.
    pub fn needle_bits(&self) -> u128 {
        self.chunks.iter().fold(0, |b, c| b | c.needles)
    }

    /// The language.
    pub fn language(&self) -> Language {
        self.lang
    }

    /// The current text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The chunks, in order.
    pub fn chunks(&self) -> &[Chunk] {
        &self.chunks
    }

    /// Merged facts of the whole file (absolute offsets), merged on first use.
    pub fn facts(&self) -> &FileFacts {
        self.facts
            .get_or_init(|| FileFacts::merge(self.lang, &self.chunks))
    }

    /// Launchers and environment settings of the whole file (absolute offsets), merged on
    /// first use.
    pub fn launch(&self) -> &LaunchFacts {
        self.launch.get_or_init(|| {
            let mut launch = LaunchFacts::default();
            for c in self.chunks.iter().filter(|c| c.has_facts()) {
                launch.extend_from(&c.launch, c.start);
            }
            launch
        })
    }

    /// Whether the text mentions a vendor OpenTelemetry distro anywhere
    /// (`launch::packaging::mentions_vendor_distro`), from each chunk's flag.
    pub fn mentions_vendor_distro(&self) -> bool {
        self.chunks.iter().any(|c| c.vendor_distro)
    }

    /// Whether the text has a syntax error (ERROR or MISSING nodes) anywhere: chunks that
    /// are not parsed are parsed for this and their trees dropped (only `--fix` asks).
    pub fn has_syntax_error(&self) -> bool {
        self.chunks.iter().any(|c| match &c.tree {
            Some(t) => t.root_node().has_error(),
            None => chunk_tree(self.lang, &self.text[c.start..c.start + c.len], None)
                .root_node()
                .has_error(),
        })
    }

    /// Replaces the bytes `start..end` with `new_text` and re-parses only what changed.
    /// Offsets are clamped to the text and widened to character boundaries.
    pub fn edit(&mut self, start: usize, end: usize, new_text: &str) {
        let mut start = start.min(self.text.len());
        let mut end = end.clamp(start, self.text.len());
        while !self.text.is_char_boundary(start) {
            start -= 1;
        }
        while !self.text.is_char_boundary(end) {
            end += 1;
        }
        let old_end = end;
        let new_end = start + new_text.len();
        self.revision += 1;
        self.edit_log
            .push_back((self.revision, start, old_end, new_end));
        if self.edit_log.len() > EDIT_LOG {
            self.edit_log.pop_front();
        }
        if self.chunks.is_empty() {
            self.text.replace_range(start..end, new_text);
            let fresh = SourceFile::new(
                self.lang,
                std::mem::take(&mut self.text),
                self.prefilter,
                self.wanted,
            );
            self.text = fresh.text;
            self.chunks = fresh.chunks;
            self.facts = OnceLock::new();
            self.launch = OnceLock::new();
            self.semantic_revision = self.revision;
            return;
        }
        let delta = new_text.len() as isize - (end - start) as isize;

        // Chunks touched by the edit; for Python also the one before, since a line like
        // `else:` or a deleted newline can join a statement to the previous chunk.
        let idx_of = |pos: usize| {
            self.chunks
                .partition_point(|c| c.start <= pos)
                .saturating_sub(1)
        };
        let mut lo = idx_of(start.saturating_sub(1));
        if self.lang == Language::Python {
            lo = lo.saturating_sub(1);
        } else if self.lang == Language::Yaml && lo > 0 {
            // An edit on a document's `---` line may unmake the marker (`--` is no
            // boundary): re-lex from the document before.
            let c = &self.chunks[lo];
            let marker_end = memchr::memchr(b'\n', &self.text.as_bytes()[c.start..])
                .map_or(self.text.len(), |n| c.start + n);
            if start <= marker_end {
                lo -= 1;
            }
        }
        let hi = idx_of(old_end);

        let old_positions: Vec<usize> = self.chunks.iter().map(|c| c.start).collect();
        let edit_chunk = idx_of(start);
        let edit_chunk_range = self.chunks[edit_chunk].span();

        // Where the edit ended in the old text, as the edited chunk's tree counts rows and
        // columns (the YAML scanner reads indentation from them).
        let old_end_position = point_at(
            &self.text[edit_chunk_range.start..],
            old_end - edit_chunk_range.start,
        );
        self.text.replace_range(start..end, new_text);
        let text = &self.text;
        let map_old = |p: usize| -> Option<usize> {
            if p <= start {
                Some(p)
            } else if p >= old_end {
                Some((p as isize + delta) as usize)
            } else {
                None
            }
        };

        // Re-lex from chunk `lo`, cutting greedily, and stop at the first old boundary we
        // meet again past the edit: from there on nothing changed.
        let region_start = self.chunks[lo].start;
        let mut new_starts = vec![region_start];
        let mut sync: Option<usize> = None; // index of the old chunk we synced with
        let group = self.lang == Language::Python;
        let old_after: Vec<(usize, usize)> = old_positions
            .iter()
            .enumerate()
            .skip(hi + 1)
            .map(|(i, &p)| (i, map_old(p).unwrap_or(usize::MAX)))
            .collect();
        // Where a statement starts a chunk depends on its text and the statement before only
        // (`chunk::starts_chunk`), so the cuts are a fresh read's and the first old one
        // past the edit that is cut again is where the rest is as before.
        let mut prev = region_start;
        chunk::candidates(self.lang, text, region_start, |pos| {
            let cut = !group || chunk::starts_chunk(text.as_bytes(), prev, pos);
            prev = pos;
            if !cut {
                return true;
            }
            if pos >= new_end {
                if let Ok(k) = old_after.binary_search_by_key(&pos, |&(_, p)| p) {
                    sync = Some(old_after[k].0);
                    return false;
                }
                // Past every old boundary: nothing left to sync with.
            }
            new_starts.push(pos);
            true
        });
        let region_end = match sync {
            Some(j) => map_old(old_positions[j]).unwrap_or(text.len()),
            None => text.len(),
        };
        let replace_to = sync.unwrap_or(self.chunks.len());

        // Build the new chunks, reusing untouched trees and editing the edited one.
        let meaning_before = meaning(&self.chunks[lo..replace_to]);
        let mut old: Vec<Option<Chunk>> = self.chunks.drain(lo..replace_to).map(Some).collect();
        let mut fresh = Vec::with_capacity(new_starts.len());
        for (i, &s) in new_starts.iter().enumerate() {
            let e = new_starts.get(i + 1).copied().unwrap_or(region_end);
            // An untouched old chunk with the same mapped range?
            let reuse = old.iter_mut().position(|c| {
                c.as_ref().is_some_and(|c| {
                    let sp = c.span();
                    // Before the edit, or after it — but an insertion exactly at the
                    // chunk's start lands inside the chunk, not before it.
                    (sp.end <= start
                        || sp.start > old_end
                        || (sp.start == old_end && start < old_end))
                        && map_old(sp.start) == Some(s)
                        && map_old(sp.end) == Some(e)
                })
            });
            if let Some(k) = reuse {
                let mut c = old[k].take().expect("position found it");
                c.start = s;
                fresh.push(c);
                continue;
            }
            // The chunk that contained the edit, with the same start: incremental reparse.
            let prior = if s == edit_chunk_range.start
                && e as isize == edit_chunk_range.end as isize + delta
            {
                old.iter_mut()
                    .find(|c| {
                        c.as_ref()
                            .is_some_and(|c| c.start == s && c.span() == edit_chunk_range)
                    })
                    .and_then(|c| c.take())
            } else {
                None
            };
            let old_tree = prior
                .filter(|c| !c.templated)
                .and_then(|c| c.tree)
                .map(|mut t| {
                    let rel = |p: usize| p - s;
                    t.edit(&InputEdit {
                        start_byte: rel(start),
                        old_end_byte: rel(old_end),
                        new_end_byte: rel(new_end),
                        start_position: point_at(&text[s..], rel(start)),
                        old_end_position,
                        new_end_position: point_at(&text[s..], rel(new_end)),
                    });
                    t
                });
            fresh.push(make_chunk(
                self.lang,
                text,
                s,
                e,
                old_tree.as_ref(),
                self.prefilter,
                self.wanted,
            ));
        }
        let count = fresh.len();
        if meaning(&fresh) != meaning_before {
            self.semantic_revision = self.revision;
        }
        self.chunks.splice(lo..lo, fresh);
        for c in &mut self.chunks[lo + count..] {
            c.start = (c.start as isize + delta) as usize;
        }
        self.facts = OnceLock::new();
        self.launch = OnceLock::new();
    }
}

/// What a run of chunks means, byte offsets left out: their facts, launch facts and vendor
/// distro flag, printed
/// with every `Span { start: …, end: … }` blanked. Raw offsets outside spans (Python facts
/// keep some) stay in, which only makes the comparison err on the side of "changed".
fn meaning(chunks: &[Chunk]) -> String {
    let mut out = String::new();
    for c in chunks {
        let printed = format!(
            "{:?}{:?}{}{:?}{:?}",
            c.facts, c.launch, c.vendor_distro, c.kustomization, c.values_pods
        );
        let mut rest = printed.as_str();
        while let Some(i) = rest.find("Span { start: ") {
            out.push_str(&rest[..i]);
            out.push('S');
            rest = &rest[i..];
            rest = rest.find(" }").map_or("", |j| &rest[j + 2..]);
        }
        out.push_str(rest);
        out.push('|');
    }
    out
}

/// Row/column of byte `pos` in `text` (columns in bytes), as tree-sitter counts them.
fn point_at(text: &str, pos: usize) -> Point {
    let before = &text.as_bytes()[..pos.min(text.len())];
    let row = memchr::memchr_iter(b'\n', before).count();
    let col = before.len() - memchr::memrchr(b'\n', before).map_or(0, |n| n + 1);
    Point::new(row, col)
}

/// The string and scalar nodes of `tree` that span more than one line, as byte ranges.
/// Only nodes that span lines are descended into: a node on one line holds none.
fn multiline_literals(tree: &Tree) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut cursor = tree.walk();
    'walk: loop {
        let n = cursor.node();
        if n.start_position().row != n.end_position().row {
            let kind = n.kind();
            if kind.contains("string") || kind.contains("scalar") {
                out.push((n.start_byte(), n.end_byte()));
            }
            if cursor.goto_first_child() {
                continue;
            }
        }
        loop {
            if cursor.goto_next_sibling() {
                continue 'walk;
            }
            if !cursor.goto_parent() {
                break 'walk;
            }
        }
    }
    out
}

/// Whether `text` contains `name` as a whole identifier.
fn mentions(text: &str, name: &str) -> bool {
    if name.is_empty() {
        return false;
    }
    let b = text.as_bytes();
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80;
    memchr::memmem::find_iter(b, name.as_bytes()).any(|at| {
        let end = at + name.len();
        (at == 0 || !ident(b[at - 1])) && b.get(end).is_none_or(|c| !ident(*c))
    })
}

/// The chunks of a text, as `(start, needle bits)`: where [`SourceFile::new`] would cut it,
/// and what each piece holds.
pub fn layout(lang: Language, text: &str, prefilter: &dyn Prefilter) -> Vec<(usize, u128)> {
    let starts = chunk::boundaries(lang, text);
    starts
        .iter()
        .enumerate()
        .map(|(i, &s)| {
            let e = starts.get(i + 1).copied().unwrap_or(text.len());
            (s, prefilter.scan(lang, &text[s..e]))
        })
        .collect()
}

/// The tree of one chunk's text: its grammar's, or an empty shell tree for the kinds that
/// have their own splitter (`crate::launch`).
fn chunk_tree(lang: Language, src: &str, old: Option<&Tree>) -> Tree {
    if lang.has_grammar() {
        crate::syntax::parse_chunk(lang, src, old)
    } else {
        parse(lang, "", None)
    }
}

fn make_chunk(
    lang: Language,
    text: &str,
    start: usize,
    end: usize,
    old: Option<&Tree>,
    prefilter: &dyn Prefilter,
    wanted: Wanted,
) -> Chunk {
    let needles = prefilter.scan(lang, &text[start..end]);
    make_chunk_with(lang, text, start..end, old, needles, wanted, prefilter)
}

/// Bytes and documents read from their lines, not parsed, so far in this process
/// (`check --stats`).
static LIGHT_BYTES: AtomicUsize = AtomicUsize::new(0);
static LIGHT_DOCS: AtomicUsize = AtomicUsize::new(0);

/// How many bytes of YAML documents were read from their lines, not parsed, so far.
pub fn light_bytes() -> usize {
    LIGHT_BYTES.load(Ordering::Relaxed)
}

/// How many YAML documents were read from their lines, not parsed, so far.
pub fn light_docs() -> usize {
    LIGHT_DOCS.load(Ordering::Relaxed)
}

/// A YAML document's chunk with the facts [`launch::yaml::light_facts`] reads from its
/// lines, and no tree; `None` when it cannot read them.
fn light_chunk(text: &str, span: std::ops::Range<usize>, needles: u128) -> Option<Chunk> {
    let src = &text[span.clone()];
    let (object, launch) = launch::yaml::light_facts(src)?;
    Some(Chunk {
        id: next_chunk_id(),
        start: span.start,
        len: src.len(),
        needles,
        vendor_distro: launch.vendor_distro,
        templated: false,
        multiline: OnceLock::new(),
        tree: None,
        facts: ChunkFacts::Yaml(Some(Arc::new(object))),
        launch,
        kustomization: None,
        values_pods: Vec::new(),
        light: true,
    })
}

/// [`make_chunk`] with the chunk's needle bits already known.
fn make_chunk_with(
    lang: Language,
    text: &str,
    span: std::ops::Range<usize>,
    old: Option<&Tree>,
    needles: u128,
    wanted: Wanted,
    prefilter: &dyn Prefilter,
) -> Chunk {
    parsed_chunk(
        lang,
        text,
        span,
        old,
        needles,
        wanted,
        prefilter,
        Lines::Try,
    )
}

/// Whether a parsed YAML document's facts may be read from its lines.
enum Lines {
    /// Read them from its lines when the reader can (`launch::yaml::light_facts`), else
    /// from its tree.
    Try,
    /// The reader was asked already and could not: from its tree.
    Refused,
    /// The reader read them already.
    Read(Box<(Arc<K8sObject>, LaunchFacts)>),
}

/// YAML documents parsed so far in this process, and those of them whose object and launch
/// facts were read from their lines all the same (`check --stats`).
static PARSED_DOCS: AtomicUsize = AtomicUsize::new(0);
static PARSED_DOCS_FROM_LINES: AtomicUsize = AtomicUsize::new(0);

/// How many YAML documents were parsed so far, and of them how many had their facts read
/// from their lines (their tree was for the rules only).
pub fn parsed_docs() -> (usize, usize) {
    (
        PARSED_DOCS.load(Ordering::Relaxed),
        PARSED_DOCS_FROM_LINES.load(Ordering::Relaxed),
    )
}

/// [`make_chunk_with`], told whether the line reader was asked already.
#[allow(clippy::too_many_arguments)]
fn parsed_chunk(
    lang: Language,
    text: &str,
    span: std::ops::Range<usize>,
    old: Option<&Tree>,
    needles: u128,
    wanted: Wanted,
    prefilter: &dyn Prefilter,
    lines: Lines,
) -> Chunk {
    let (start, end) = (span.start, span.end);
    let src = &text[start..end];
    let id = next_chunk_id();
    let vendor_distro = launch::packaging::mentions_vendor_distro(src);
    let templated = lang == Language::Yaml && crate::syntax::helm::has_template(src);
    if !wanted.wants(needles) {
        return Chunk {
            id,
            start,
            len: end - start,
            needles,
            vendor_distro,
            templated,
            multiline: OnceLock::new(),
            tree: None,
            facts: match lang {
                Language::Python => ChunkFacts::Python(PyFacts::default()),
                Language::Yaml => ChunkFacts::Yaml(None),
                _ => ChunkFacts::Launch,
            },
            launch: LaunchFacts::default(),
            kustomization: None,
            values_pods: Vec::new(),
            light: false,
        };
    }
    let tree = if lang == Language::Yaml && !templated && prefilter.skips_unread() {
        let skip = crate::syntax::yaml_skip::unread(src, &|t| prefilter.scan(lang, t) != 0);
        crate::syntax::parse_skipping(lang, src, old, &skip)
    } else {
        chunk_tree(lang, src, old)
    };
    let mut kustomization = None;
    let mut values_pods = Vec::new();
    let (facts, launch) = match lang {
        Language::Python => (
            ChunkFacts::Python(python::chunk_facts(tree.root_node(), src, start == 0)),
            LaunchFacts {
                gunicorn: launch::python::chunk_facts(tree.root_node(), src),
                ..LaunchFacts::default()
            },
        ),
        Language::Yaml => {
            let root = yaml::document_root(tree.root_node());
            // The facts the tree would give, read from the lines when they can be: walking
            // the tree for them costs more than reading the lines again.
            PARSED_DOCS.fetch_add(1, Ordering::Relaxed);
            let from_lines = match lines {
                Lines::Try if !templated && prefilter.reads_lines() => {
                    launch::yaml::light_facts(src).map(|(o, l)| (Arc::new(o), l))
                }
                Lines::Read(read) => Some(*read),
                _ => None,
            };
            if from_lines.is_some() {
                PARSED_DOCS_FROM_LINES.fetch_add(1, Ordering::Relaxed);
            }
            let (obj, launch) = match from_lines {
                Some((obj, launch)) => (Some(obj), launch),
                None => (
                    root.and_then(|r| yaml::k8s_object(r, src)).map(Arc::new),
                    launch::yaml::facts(root, src),
                ),
            };
            kustomization = root
                .filter(|_| {
                    obj.as_ref()
                        .is_none_or(|o| o.kind == "Kustomization" || o.kind == "Component")
                })
                .and_then(|r| crate::syntax::kustomize::read(r, src))
                .map(Arc::new);
            if obj.is_none() && src.contains("podAnnotations") {
                if let Some(r) = root {
                    values_pods = yaml::values_pods(r, src)
                        .into_iter()
                        .map(Arc::new)
                        .collect();
                }
            }
            (ChunkFacts::Yaml(obj), launch)
        }
        Language::Dockerfile => (ChunkFacts::Launch, launch::dockerfile::facts(src)),
        Language::Shell => (
            ChunkFacts::Launch,
            launch::shell::file_facts(tree.root_node(), src),
        ),
        Language::Procfile => (ChunkFacts::Launch, launch::procfile::facts(src)),
        Language::Ini => (ChunkFacts::Launch, launch::ini::facts(src)),
        Language::Makefile => (ChunkFacts::Launch, launch::makefile::facts(src)),
        Language::DotEnv => (ChunkFacts::Launch, launch::dotenv::facts(src)),
    };
    Chunk {
        id,
        start,
        len: end - start,
        needles,
        vendor_distro,
        templated,
        multiline: OnceLock::new(),
        tree: Some(tree),
        facts,
        launch,
        kustomization,
        values_pods,
        light: false,
    }
}

/// A chunk id not given before (see [`Chunk::id`]).
fn next_chunk_id() -> u64 {
    static NEXT_ID: AtomicU64 = AtomicU64::new(1);
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts `import` and `kind:` as needles, so some chunks are wanted and some are not.
    struct Words;
    impl Prefilter for Words {
        fn scan(&self, _: Language, text: &str) -> u128 {
            u128::from(text.contains("import")) | (u128::from(text.contains("kind:")) << 1)
        }
    }

    fn new(lang: Language, text: String) -> SourceFile {
        SourceFile::new(lang, text, &Words, Wanted::All)
    }

    /// Every edit must leave the same chunks, trees and facts as parsing from scratch.
    fn assert_same_as_fresh(f: &SourceFile) {
        let fresh = SourceFile::new(f.lang, f.text.clone(), &Words, f.wanted);
        let a: Vec<(usize, usize)> = f.chunks.iter().map(|c| (c.start, c.len)).collect();
        let b: Vec<(usize, usize)> = fresh.chunks.iter().map(|c| (c.start, c.len)).collect();
        // Cut where a fresh read cuts (`chunk::starts_chunk` is what makes that hold after
        // any history of edits), and contiguous.
        assert_eq!(
            a, b,
            "the edited file is cut where a fresh read of its text is"
        );
        assert_eq!(a.iter().map(|x| x.1).sum::<usize>(), f.text.len());
        assert_eq!(a.first().map(|x| x.0), Some(0));
        for w in a.windows(2) {
            assert_eq!(w[0].0 + w[0].1, w[1].0, "chunks are contiguous");
        }
        for c in &f.chunks {
            let t = crate::syntax::parse_chunk(f.lang, &f.text[c.start..c.start + c.len], None);
            if let Some(tree) = c.tree() {
                assert_eq!(t.root_node().to_sexp(), tree.root_node().to_sexp());
            } else {
                assert!(!f.wanted.wants(c.needles), "an unwanted chunk has no tree");
            }
        }
        assert_eq!(f.facts(), fresh.facts());
        assert_eq!(f.launch(), fresh.launch());
    }

    fn big_python() -> String {
        let mut s = String::from("import os\nfrom opentelemetry import trace\n");
        for i in 0..3000 {
            s.push_str(&format!(
                "def f{i}(x):\n    if x:\n        return {i}\n    return (x,\n        {i})\n\n"
            ));
        }
        s
    }

    #[test]
    fn edits_match_fresh_parse_python() {
        let mut f = new(Language::Python, big_python());
        assert!(f.chunks.len() > 10);
        let mid = f.text.len() / 2;
        let at = f.text[mid..].find("return").unwrap() + mid;
        f.edit(at, at, "x");
        assert_same_as_fresh(&f);
        f.edit(at, at + 1, "");
        assert_same_as_fresh(&f);
        // An unclosed triple quote swallows the rest, then closing it splits again.
        f.edit(at, at, "\"\"\"");
        assert_same_as_fresh(&f);
        f.edit(at, at + 3, "");
        assert_same_as_fresh(&f);
        // Joining statements and an `else:` at column 0.
        let nl = f.text[mid..].find("\ndef").unwrap() + mid;
        f.edit(nl, nl + 1, " ");
        assert_same_as_fresh(&f);
        f.edit(0, 0, "else:\n");
        assert_same_as_fresh(&f);
        let len = f.text.len();
        f.edit(len, len, "\ny = 1\n");
        assert_same_as_fresh(&f);
        f.edit(0, f.text.len(), "");
        assert_same_as_fresh(&f);
        f.edit(0, 0, "a = 1\n");
        assert_same_as_fresh(&f);
    }

    /// Many small edits anywhere, in statements of all sizes: after each, the cuts are a
    /// fresh read's (greedy grouping to a minimum size made them depend on the history).
    #[test]
    fn cuts_do_not_depend_on_the_edit_history() {
        let mut s = String::from("import os\n");
        for i in 0..1000 {
            match i % 5 {
                0 => s.push_str(&format!("x{i} = {i}\n")),
                1 => s.push_str(&format!("def f{i}(a):\n    return a + {i}\n\n")),
                2 => s.push_str(&format!(
                    "@dec\nclass C{i}:\n    y = [\n        {i},\n    ]\n"
                )),
                3 => s.push_str(&format!("if x{i}:\n    pass\nelse:\n    z = {i}\n")),
                _ => s.push_str(&format!("s{i} = '''\n{}\n'''\n", "word ".repeat(i % 97))),
            }
        }
        let mut f = new(Language::Python, s);
        let mut seed: u64 = 7;
        let mut next = |n: usize| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((seed >> 33) as usize) % n.max(1)
        };
        assert!(f.chunks.len() > 5, "{} chunks", f.chunks.len());
        // Unbalanced brackets and quotes come and go, so some states are one chunk.
        let mut several = 0;
        let inserts = [
            "x",
            "\n",
            "\ny = (",
            ")\n",
            "'''",
            "# c\n",
            "else:\n",
            "    ",
            "def g():\n",
        ];
        for _ in 0..150 {
            let len = f.text.len();
            let at = next(len + 1);
            if next(3) == 0 && at < len {
                let end = (at + 1 + next(40)).min(len);
                f.edit(at, end, "");
            } else {
                let t = inserts[next(inserts.len())];
                f.edit(at, at, t);
            }
            let cuts: Vec<usize> = f.chunks.iter().map(|c| c.start).collect();
            assert_eq!(cuts, chunk::boundaries(Language::Python, &f.text));
            several += usize::from(cuts.len() > 5);
        }
        assert!(several > 30, "only {several} states with several chunks");
        assert_same_as_fresh(&f);
    }

    #[test]
    fn edits_match_fresh_parse_yaml() {
        let mut s = String::new();
        for i in 0..50 {
            s.push_str(&format!(
                "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c{i}\n"
            ));
        }
        let mut f = new(Language::Yaml, s);
        assert_eq!(f.chunks.len(), 50);
        let at = f.text.find("c25").unwrap();
        f.edit(at, at + 3, "renamed");
        assert_same_as_fresh(&f);
        f.edit(at, at, "\n---\n");
        assert_same_as_fresh(&f);
        let at = f
            .text
            .find("---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c30")
            .unwrap();
        f.edit(at, at + 3, "");
        assert_same_as_fresh(&f);
    }

    #[test]
    fn insertion_at_a_chunk_start_reparses_that_chunk() {
        let mut f = new(Language::Python, big_python());
        let second = f.chunks[1].start;
        f.edit(second, second, "x = 1\n");
        assert_same_as_fresh(&f);
        f.edit(0, 0, "# header\n");
        assert_same_as_fresh(&f);
        let mut y = new(Language::Yaml, "a: 1\n---\nb: 2\n".into());
        y.edit(5, 5, "c: 3\n");
        assert_same_as_fresh(&y);
        y.edit(0, 0, "z: 0\n");
        assert_same_as_fresh(&y);
    }

    /// An edit inside a `---` line that unmakes it joins the two documents (found by the
    /// fuzzer: the chunk boundary stayed, and the documents' facts with it).
    #[test]
    fn unmaking_a_document_marker_joins_the_documents() {
        let mut y = new(Language::Yaml, "a: 1\n---\nb: 2\n---\nc: 3\n".into());
        assert_eq!(y.chunks.len(), 3);
        y.edit(6, 7, "");
        assert_eq!(y.text(), "a: 1\n--\nb: 2\n---\nc: 3\n");
        assert_eq!(y.chunks.len(), 2);
        assert_same_as_fresh(&y);
        y.edit(16, 16, "x");
        assert_eq!(y.text(), "a: 1\n--\nb: 2\n---x\nc: 3\n");
        assert_eq!(y.chunks.len(), 1);
        assert_same_as_fresh(&y);
        y.edit(16, 17, "");
        assert_eq!(y.chunks.len(), 2);
        assert_same_as_fresh(&y);
    }

    #[test]
    fn edit_offsets_are_clamped() {
        let mut f = new(Language::Python, "é = 1\n".into());
        f.edit(1, 100, "x");
        assert_eq!(f.text(), "x");
        assert_same_as_fresh(&f);
    }
}

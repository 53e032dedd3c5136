//! Language-specific views of syntax trees: chunking, Python module facts, YAML objects, and
//! the one place trees are made.

pub mod chunk;
pub mod comments;
pub mod helm;
pub mod kustomize;
pub mod python;
pub mod yaml;
pub mod yaml_lines;
pub mod yaml_skip;
pub mod yaml_view;

use crate::language::Language;
use std::cell::RefCell;
use tree_sitter::{Parser, Tree};

thread_local! {
    static PARSERS: RefCell<Vec<(Language, Parser)>> = const { RefCell::new(Vec::new()) };
}

/// Parses one chunk of a file: [`parse`], except that a YAML document whose only Helm
/// templates are in its metadata is read through its [`helm::mask`] (same byte offsets). A
/// YAML text with templates is never parsed incrementally (the old tree may come from a mask
/// the new text no longer gets); callers give no old tree of a text that had templates.
pub fn parse_chunk(lang: Language, text: &str, old: Option<&Tree>) -> Tree {
    if lang == Language::Yaml && helm::has_template(text) {
        return match helm::mask(text) {
            Some(masked) => parse(lang, &masked, None),
            None => parse(lang, text, None),
        };
    }
    parse(lang, text, old)
}

/// Parses `text` with the language's grammar, reusing `old` when given (already edited).
/// One parser per language and thread, kept for the thread's life.
pub fn parse(lang: Language, text: &str, old: Option<&Tree>) -> Tree {
    parse_skipping(lang, text, old, &[])
}

/// [`parse`], leaving out the byte ranges `skip` (sorted, apart, on line starts; see
/// [`yaml_skip`]): nodes keep their places in `text`, and the parser never reads those bytes.
pub fn parse_skipping(
    lang: Language,
    text: &str,
    old: Option<&Tree>,
    skip: &[std::ops::Range<usize>],
) -> Tree {
    // The YAML scanner takes a NUL byte for the end of the input: the rest of the document
    // would silently vanish from the tree, with no error (a value after it unseen, a fix
    // added again and again). YAML allows no NUL (`kubectl` refuses the file); read as a
    // space, the tree keeps every node in its place and sees the whole text.
    if lang == Language::Yaml && memchr::memchr(0, text.as_bytes()).is_some() {
        let spaced = text.replace('\0', " ");
        return parse_skipping(lang, &spaced, old, skip);
    }
    PARSERS.with(|cell| {
        let mut parsers = cell.borrow_mut();
        let idx = match parsers.iter().position(|(l, _)| *l == lang) {
            Some(i) => i,
            None => {
                let mut p = Parser::new();
                p.set_language(&lang.grammar())
                    .expect("grammar version is compatible with the tree-sitter runtime");
                parsers.push((lang, p));
                parsers.len() - 1
            }
        };
        let parser = &mut parsers[idx].1;
        let ranges = if skip.is_empty() {
            Vec::new()
        } else {
            included(text, skip)
        };
        // An empty list means the whole text; a list that does not fit (never: the ranges
        // come from the same text) falls back to it too.
        if parser.set_included_ranges(&ranges).is_err() {
            let _ = parser.set_included_ranges(&[]);
        }
        // Error recovery is not incremental: re-parsing broken code from an edited tree can
        // recover differently from a fresh parse (an unclosed string in a shell script gave
        // an ERROR node in one and a MISSING quote in the other), and then the editor's facts
        // and findings differ from `check`'s. So a tree with an error comes from a fresh
        // parse: an old tree that had one is not reused, and an incremental result that has
        // one is parsed again. Code without errors keeps the incremental speed.
        let old = old.filter(|t| !t.root_node().has_error());
        // Without a timeout or cancellation flag, parse only returns None when no language is
        // set; retry without the old tree to be safe, then give up on an empty tree.
        let mut tree = parser
            .parse(text, old)
            .or_else(|| parser.parse(text, None))
            .or_else(|| parser.parse("", None))
            .expect("tree-sitter parses the empty string");
        if old.is_some() && tree.root_node().has_error() {
            if let Some(fresh) = parser.parse(text, None) {
                tree = fresh;
            }
        }
        if !ranges.is_empty() {
            let _ = parser.set_included_ranges(&[]);
        }
        tree
    })
}

/// The ranges of `text` outside `skip`, with their points.
fn included(text: &str, skip: &[std::ops::Range<usize>]) -> Vec<tree_sitter::Range> {
    // Points of increasing offsets, counting rows from the last one.
    let (mut row, mut line_start, mut seen) = (0, 0, 0);
    let mut point = |at: usize| {
        for nl in memchr::memchr_iter(b'\n', &text.as_bytes()[seen..at]) {
            row += 1;
            line_start = seen + nl + 1;
        }
        seen = at;
        tree_sitter::Point::new(row, at - line_start)
    };
    let mut out = Vec::with_capacity(skip.len() + 1);
    let mut at = 0;
    for r in skip
        .iter()
        .chain(std::iter::once(&(text.len()..text.len())))
    {
        let (start, end) = (r.start.clamp(at, text.len()), r.end.clamp(at, text.len()));
        if start > at {
            let (sp, ep) = (point(at), point(start));
            out.push(tree_sitter::Range {
                start_byte: at,
                end_byte: start,
                start_point: sp,
                end_point: ep,
            });
        }
        if end > start {
            point(end);
        }
        at = end.max(at);
    }
    out
}

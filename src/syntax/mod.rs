//! Language-specific views of syntax trees: chunking, Python module facts, YAML objects, and
//! the one place trees are made.

pub mod chunk;
pub mod comments;
pub mod helm;
pub mod kustomize;
pub mod python;
pub mod yaml;

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
        // Without a timeout or cancellation flag, parse only returns None when no language is
        // set; retry without the old tree to be safe, then give up on an empty tree.
        parser
            .parse(text, old)
            .or_else(|| parser.parse(text, None))
            .or_else(|| parser.parse("", None))
            .expect("tree-sitter parses the empty string")
    })
}

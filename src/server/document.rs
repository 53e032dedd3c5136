//! An open document as the protocol handlers see it: the rope (for positions), the version,
//! the byte edits the linting worker has not applied yet, and the diagnostics cached for the
//! last version it linted.
//!
//! The parsed `SourceFile` itself belongs to the worker (see `worker.rs`): handlers only do
//! rope work (microseconds), so the protocol loop never waits for tree-sitter.

use super::convert::{self, Encoding};
use otel_lsp::diagnostic::{Diagnostic, Span};
use otel_lsp::language::Language;
use ropey::Rope;
use std::path::PathBuf;
use std::sync::Arc;
use tower_lsp_server::ls_types::{self as lsp, TextDocumentContentChangeEvent};

/// A change the worker must apply to its parsed copy of the document, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pending {
    /// Start over from this text (open, or a full-document change).
    Reset(String),
    /// Replace the bytes `start..end` with `text`.
    Edit {
        /// First byte replaced.
        start: usize,
        /// One past the last byte replaced.
        end: usize,
        /// The new text.
        text: String,
    },
}

/// What the worker found for one version of a document.
#[derive(Debug, Clone)]
pub struct Linted {
    /// The document version these diagnostics belong to.
    pub version: i32,
    /// The engine's diagnostics (byte spans into that version's text).
    pub diagnostics: Vec<Diagnostic>,
    /// The same, as LSP diagnostics, in the same order.
    pub lsp: Vec<lsp::Diagnostic>,
    /// Per diagnostic: whether a `# noqa` comment may be appended to its line (the line does
    /// not end inside a string or block scalar, where it would change the value).
    pub noqa_ok: Vec<bool>,
    /// Identifies the content of `lsp` for pull diagnostics' "unchanged" answers.
    pub result_id: String,
}

/// One open document.
#[derive(Debug)]
pub struct Document {
    /// The grammar and rules it gets.
    pub lang: Language,
    /// Its file path, when the URI is a `file:` URI.
    pub path: Option<PathBuf>,
    /// The client's version of the text.
    pub version: i32,
    /// The text, for position conversion and for reading lines.
    pub rope: Rope,
    /// Distinguishes a re-opened document from the one closed before it.
    pub open_id: u64,
    /// Edits not yet applied by the worker, oldest first.
    pub pending: Vec<Pending>,
    /// The diagnostics of the last linted version, if any.
    pub linted: Option<Arc<Linted>>,
}

impl Document {
    /// A freshly opened document.
    pub fn new(
        lang: Language,
        path: Option<PathBuf>,
        version: i32,
        text: String,
        open_id: u64,
    ) -> Self {
        Document {
            lang,
            path,
            version,
            rope: Rope::from_str(&text),
            open_id,
            pending: vec![Pending::Reset(text)],
            linted: None,
        }
    }

    /// Applies the client's content changes, in order, to the rope, recording the byte edits
    /// for the worker. Each range is converted with the rope as it is before that change.
    pub fn apply(
        &mut self,
        version: i32,
        changes: Vec<TextDocumentContentChangeEvent>,
        enc: Encoding,
    ) {
        for change in changes {
            match change.range {
                None => {
                    self.rope = Rope::from_str(&change.text);
                    // A reset makes every earlier pending edit moot.
                    self.pending.clear();
                    self.pending.push(Pending::Reset(change.text));
                }
                Some(range) => {
                    let Span { start, end } = convert::span(&self.rope, range, enc);
                    let (cs, ce) = (self.rope.byte_to_char(start), self.rope.byte_to_char(end));
                    self.rope.remove(cs..ce);
                    self.rope.insert(cs, &change.text);
                    self.pending.push(Pending::Edit {
                        start,
                        end,
                        text: change.text,
                    });
                }
            }
        }
        self.version = version;
    }

    /// The cached diagnostics, when they belong to the current version.
    pub fn current(&self) -> Option<Arc<Linted>> {
        self.linted.clone().filter(|l| l.version == self.version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower_lsp_server::ls_types::{Position, Range};

    fn change(l0: u32, c0: u32, l1: u32, c1: u32, text: &str) -> TextDocumentContentChangeEvent {
        TextDocumentContentChangeEvent {
            range: Some(Range::new(Position::new(l0, c0), Position::new(l1, c1))),
            range_length: None,
            text: text.into(),
        }
    }

    #[test]
    fn incremental_changes_use_the_rope_before_each_change() {
        let mut d = Document::new(Language::Python, None, 1, "é = 1\nx = 2\n".into(), 1);
        d.pending.clear();
        d.apply(
            2,
            vec![change(0, 4, 0, 5, "42"), change(1, 0, 1, 1, "🎉")],
            Encoding::Utf16,
        );
        assert_eq!(d.rope.to_string(), "é = 42\n🎉 = 2\n");
        assert_eq!(
            d.pending,
            vec![
                Pending::Edit {
                    start: 5,
                    end: 6,
                    text: "42".into()
                },
                Pending::Edit {
                    start: 8,
                    end: 9,
                    text: "🎉".into()
                },
            ]
        );
        assert_eq!(d.version, 2);
    }
}

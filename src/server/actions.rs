//! Code actions and hover, computed from a snapshot of a document and the diagnostics cached
//! for its current version: nothing here re-lints.

use super::convert::{self, Encoding};
use super::document::Linted;
use otel_lsp::diagnostic::{Applicability, Edit, Span};
use otel_lsp::engine::{fix, suppress};
use otel_lsp::rules::{self, Rule};
use ropey::Rope;
use std::collections::HashMap;
use std::sync::Arc;
use tower_lsp_server::ls_types::{self as lsp, CodeActionKind, Uri};

/// The kind of our fix-all source action.
pub const FIX_ALL: &str = "source.fixAll.otel-lsp";

/// A consistent view of one document: its text and the diagnostics of that same version.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The document.
    pub uri: Uri,
    /// Its version.
    pub version: i32,
    /// Its text.
    pub rope: Rope,
    /// The diagnostics of exactly this version.
    pub linted: Arc<Linted>,
    /// The negotiated encoding.
    pub enc: Encoding,
    /// The client accepts versioned `documentChanges`.
    pub document_changes: bool,
}

impl Snapshot {
    fn text_edit(&self, e: &Edit) -> lsp::TextEdit {
        lsp::TextEdit::new(
            convert::range(&self.rope, e.span, self.enc),
            e.new_text.clone(),
        )
    }

    fn workspace_edit(&self, edits: Vec<lsp::TextEdit>) -> lsp::WorkspaceEdit {
        if self.document_changes {
            let doc = lsp::TextDocumentEdit {
                text_document: lsp::OptionalVersionedTextDocumentIdentifier {
                    uri: self.uri.clone(),
                    version: Some(self.version),
                },
                edits: edits.into_iter().map(lsp::OneOf::Left).collect(),
            };
            lsp::WorkspaceEdit {
                document_changes: Some(lsp::DocumentChanges::Edits(vec![doc])),
                ..Default::default()
            }
        } else {
            lsp::WorkspaceEdit {
                changes: Some(HashMap::from([(self.uri.clone(), edits)])),
                ..Default::default()
            }
        }
    }

    /// The text of a line without its line break, with the byte offset where it starts.
    fn line(&self, line: usize) -> (usize, String) {
        if line >= self.rope.len_lines() {
            return (self.rope.len_bytes(), String::new());
        }
        let start = self.rope.line_to_byte(line);
        let text = self.rope.line(line).to_string();
        (start, text.trim_end_matches(['\n', '\r']).to_string())
    }
}

/// Whether an action of `kind` was asked for (`context.only` filters by prefix).
fn wanted(only: Option<&[CodeActionKind]>, kind: &str) -> bool {
    only.is_none_or(|o| {
        o.iter().any(|k| {
            let k = k.as_str();
            kind == k || (kind.starts_with(k) && kind.as_bytes().get(k.len()) == Some(&b'.'))
        })
    })
}

/// The code actions for `range`: quick fixes and "disable for this line" of each diagnostic
/// touching it, and the document's fix-all.
pub fn code_actions(
    snap: &Snapshot,
    range: lsp::Range,
    only: Option<&[CodeActionKind]>,
) -> Vec<lsp::CodeActionOrCommand> {
    let mut out = Vec::new();
    let want = convert::span(&snap.rope, range, snap.enc);
    let linted = &snap.linted;
    if wanted(only, CodeActionKind::QUICKFIX.as_str()) {
        for (i, d) in linted.diagnostics.iter().enumerate() {
            if !d.span.intersects(want) {
                continue;
            }
            let lsp_diag = linted.lsp[i].clone();
            let preferred = d
                .fixes
                .iter()
                .position(|f| f.applicability == Applicability::Safe);
            for (j, f) in d.fixes.iter().enumerate() {
                let edits = f.edits.iter().map(|e| snap.text_edit(e)).collect();
                out.push(lsp::CodeActionOrCommand::CodeAction(lsp::CodeAction {
                    title: format!("{} ({})", f.title, d.code),
                    kind: Some(CodeActionKind::QUICKFIX),
                    diagnostics: Some(vec![lsp_diag.clone()]),
                    edit: Some(snap.workspace_edit(edits)),
                    is_preferred: Some(preferred == Some(j)),
                    ..Default::default()
                }));
            }
            if linted.noqa_ok.get(i).copied().unwrap_or(false) {
                if let Some(edit) = noqa_edit(snap, d.span, d.code) {
                    out.push(lsp::CodeActionOrCommand::CodeAction(lsp::CodeAction {
                        title: format!("Disable {} for this line", d.code),
                        kind: Some(CodeActionKind::QUICKFIX),
                        diagnostics: Some(vec![lsp_diag]),
                        edit: Some(snap.workspace_edit(vec![snap.text_edit(&edit)])),
                        is_preferred: Some(false),
                        ..Default::default()
                    }));
                }
            }
        }
    }
    if wanted(only, FIX_ALL) {
        if let Some(action) = fix_all(snap) {
            out.push(action);
        }
    }
    out
}

/// Adds `code` to the line's `# noqa: …` comment, or appends one.
fn noqa_edit(snap: &Snapshot, span: Span, code: &str) -> Option<Edit> {
    let line = snap
        .rope
        .byte_to_line(span.start.min(snap.rope.len_bytes()));
    let (start, text) = snap.line(line);
    match suppress::parse_noqa(&text) {
        // A bare `# noqa` already silences everything.
        Some((codes, _)) if codes.is_empty() => None,
        Some((codes, _)) if codes.iter().any(|c| c.eq_ignore_ascii_case(code)) => None,
        Some((_, r)) => Some(Edit::insert(start + r.end, format!(", {code}"))),
        None => Some(Edit::insert(
            start + text.len(),
            format!("  # noqa: {code}"),
        )),
    }
}

/// Every safe fix of the document at once, through the one fix applier's selection.
fn fix_all(snap: &Snapshot) -> Option<lsp::CodeActionOrCommand> {
    let fixes = fix::eligible(&snap.linted.diagnostics, false);
    if fixes.is_empty() {
        return None;
    }
    let text = snap.rope.to_string();
    let (edits, applied) = fix::select(&text, &fixes);
    if applied == 0 {
        return None;
    }
    let edits = edits.into_iter().map(|e| snap.text_edit(e)).collect();
    Some(lsp::CodeActionOrCommand::CodeAction(lsp::CodeAction {
        title: "Fix all auto-fixable otel-lsp problems".into(),
        kind: Some(CodeActionKind::new(FIX_ALL)),
        edit: Some(snap.workspace_edit(edits)),
        ..Default::default()
    }))
}

/// A rule's documentation as hover Markdown.
pub fn rule_markdown(rule: &Rule) -> String {
    let mut md = format!("**{}** `{}`\n\n", rule.code, rule.name);
    if !rule.docs.is_empty() {
        md.push_str(rule.docs.trim());
    } else if !rule.summary.is_empty() {
        md.push_str(rule.summary);
    } else {
        md.push_str("No documentation yet.");
    }
    if let Some(href) = super::diagnostics::rule_href(rule) {
        md.push_str(&format!("\n\n[Documentation]({})", href.as_str()));
    }
    md
}

fn hover(markdown: String, range: lsp::Range) -> lsp::Hover {
    lsp::Hover {
        contents: lsp::HoverContents::Markup(lsp::MarkupContent {
            kind: lsp::MarkupKind::Markdown,
            value: markdown,
        }),
        range: Some(range),
    }
}

/// Hover: the rule docs of the diagnostics under the cursor, or of the code under the cursor
/// inside a `# noqa:` comment.
pub fn hover_at(snap: &Snapshot, pos: lsp::Position) -> Option<lsp::Hover> {
    let at = convert::offset(&snap.rope, pos, snap.enc);
    let linted = &snap.linted;
    let hits: Vec<usize> = (0..linted.diagnostics.len())
        .filter(|&i| {
            let s = linted.diagnostics[i].span;
            s.start <= at && at <= s.end
        })
        .collect();
    if let Some(&first) = hits.first() {
        let mut seen = Vec::new();
        let mut parts = Vec::new();
        for &i in &hits {
            let code = linted.diagnostics[i].code;
            if seen.contains(&code) {
                continue;
            }
            seen.push(code);
            if let Some(rule) = rules::by_code(code) {
                parts.push(rule_markdown(rule));
            }
        }
        // On a code an OTEL100 finding underlines: that code's rule too.
        let unused = rules::suppression::unused_noqa::RULE.code;
        if seen.contains(&unused) {
            if let Some((rule, _)) = noqa_code(snap, at).filter(|(r, _)| !seen.contains(&r.code)) {
                parts.push(rule_markdown(rule));
            }
        }
        if !parts.is_empty() {
            return Some(hover(parts.join("\n\n---\n\n"), linted.lsp[first].range));
        }
    }
    let (rule, range) = noqa_code(snap, at)?;
    Some(hover(rule_markdown(rule), range))
}

/// The rule whose code is under the cursor inside a `# noqa:` comment, and the code's range.
fn noqa_code(snap: &Snapshot, at: usize) -> Option<(&'static Rule, lsp::Range)> {
    let line = snap.rope.byte_to_line(at.min(snap.rope.len_bytes()));
    let (start, text) = snap.line(line);
    let col = at.checked_sub(start)?;
    let (_, comment) = suppress::parse_noqa(&text)?;
    if !(comment.start..=comment.end).contains(&col) {
        return None;
    }
    // The alphanumeric word under the cursor, within the comment.
    let bytes = text.as_bytes();
    let is_word = |b: u8| b.is_ascii_alphanumeric();
    let mut s = col.min(comment.end);
    while s > comment.start && is_word(bytes[s - 1]) {
        s -= 1;
    }
    let mut e = col.min(comment.end);
    while e < comment.end && is_word(bytes[e]) {
        e += 1;
    }
    let rule = rules::by_code(text.get(s..e)?).filter(|_| s < e)?;
    let range = convert::range(&snap.rope, Span::new(start + s, start + e), snap.enc);
    Some((rule, range))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_filters_by_prefix() {
        let qf = [CodeActionKind::QUICKFIX];
        assert!(wanted(None, FIX_ALL));
        assert!(wanted(Some(&[CodeActionKind::SOURCE]), FIX_ALL));
        assert!(wanted(Some(&[CodeActionKind::SOURCE_FIX_ALL]), FIX_ALL));
        assert!(!wanted(Some(&qf), FIX_ALL));
        assert!(wanted(Some(&qf), "quickfix"));
        assert!(!wanted(Some(&[CodeActionKind::new("source.fix")]), FIX_ALL));
        assert!(!wanted(Some(&[]), "quickfix"));
    }
}

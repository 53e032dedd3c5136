//! YAML text edits for quick fixes: removing a one-line pair (and the mappings it leaves
//! empty), and adding an entry under a key path, creating the missing mappings with the
//! document's own indentation. Every helper gives up (`None`) on shapes it cannot edit safely
//! — flow collections, pairs sharing a line, multi-line values — so a fix is only offered when
//! its result is plain block YAML; `verified` re-parses the result to be sure.

use crate::diagnostic as fix;
use crate::diagnostic::{Edit, Span};
use crate::language::Language;
use crate::syntax::yaml::{
    content, document_root, indent_at, key_path, line_after, line_after_node, line_start,
    newline_of, pair, pairs,
};
use tree_sitter::Node;

/// What kind of collection the last key of a path holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leaf {
    /// A mapping: the entry is one `key: value` line.
    Mapping,
    /// A sequence: the entry is an item (`- name: X` / `  value: Y`).
    Sequence,
}

/// A pair taken out of its mapping.
#[derive(Debug, Clone)]
pub struct Removal {
    /// The bytes to delete: whole lines.
    pub span: Span,
    /// The pair's own text (with its trailing comment), without indentation or line break.
    pub text: String,
}

fn path_is_prefix(path: &[String], of: &[&str]) -> bool {
    path.len() <= of.len() && path.iter().zip(of).all(|(a, b)| a == b)
}

/// The end of the text on the line containing `pos` (before `\r\n` / `\n`).
fn line_text_end(src: &str, pos: usize) -> usize {
    let after = line_after(src, pos);
    let mut end = after;
    if end > 0 && src.as_bytes().get(end - 1) == Some(&b'\n') {
        end -= 1;
    }
    if end > 0 && src.as_bytes().get(end - 1) == Some(&b'\r') {
        end -= 1;
    }
    end.max(pos.min(src.len()))
}

/// The row of a node's last character.
fn last_row(node: Node) -> usize {
    let s = node.start_position();
    let e = node.end_position();
    if e.column == 0 && e.row > s.row {
        e.row - 1
    } else {
        e.row
    }
}

/// Removes a block mapping pair that sits alone on its line, with the mappings this leaves
/// empty (an `annotations:` holding only this key, and so on up), but never a top-level key,
/// a mapping that still holds comments, or an ancestor of `keep` (the path the pair moves to).
pub fn remove_pair_line(pair_node: Node, src: &str, keep: &[&str]) -> Option<Removal> {
    if pair_node.kind() != "block_mapping_pair" {
        return None;
    }
    let start = pair_node.start_byte();
    indent_at(src, start)?;
    if last_row(pair_node) != pair_node.start_position().row {
        return None;
    }
    let text_end = line_text_end(src, start);
    let rest = src
        .get(pair_node.end_byte().min(text_end)..text_end)?
        .trim();
    if !(rest.is_empty() || rest.starts_with('#')) {
        return None;
    }
    let text = src.get(start..text_end)?.trim_end().to_string();
    let row = pair_node.start_position().row;
    let mut span = Span::new(line_start(src, start), line_after(src, start));
    let mut cur = pair_node;
    while let Some(mapping) = cur.parent().filter(|m| m.kind() == "block_mapping") {
        if pairs(mapping).len() != 1 {
            break;
        }
        let Some(holder) = mapping
            .parent()
            .and_then(|n| n.parent())
            .filter(|n| n.kind() == "block_mapping_pair")
        else {
            break;
        };
        // A comment in the emptied mapping (a commented-out key, a note) keeps it.
        if has_comment_off_row(holder, row) {
            break;
        }
        let path = key_path(holder, src);
        if path.len() < 2
            || path_is_prefix(&path, keep)
            || indent_at(src, holder.start_byte()).is_none()
        {
            break;
        }
        span = Span::new(
            line_start(src, holder.start_byte()),
            line_after_node(src, holder).max(span.end),
        );
        cur = holder;
    }
    // At the end of a text with no final line break, take the line break before instead.
    if span.end == src.len() && !src.ends_with('\n') && span.start > 0 {
        span.start -= 1;
        if span.start > 0 && src.as_bytes()[span.start - 1] == b'\r' {
            span.start -= 1;
        }
    }
    Some(Removal { span, text })
}

/// Whether `node` holds a comment on another row than `row`.
fn has_comment_off_row(node: Node, row: usize) -> bool {
    let mut c = node.walk();
    let mut stack = vec![node];
    while let Some(n) = stack.pop() {
        if n.kind() == "comment" && n.start_position().row != row {
            return true;
        }
        stack.extend(n.children(&mut c));
    }
    false
}

/// The indentation step of a document: how far the first nested block mapping is indented
/// past its key (2 when nothing tells).
fn step_of(root: Node) -> usize {
    fn walk(n: Node) -> Option<usize> {
        for p in pairs(n) {
            if let Some(v) = p.child_by_field_name("value") {
                let v = content(v);
                if v.kind() == "block_mapping" {
                    let child = pairs(v).first()?.start_position().column;
                    let key = p.start_position().column;
                    if child > key {
                        return Some(child - key);
                    }
                }
            }
        }
        None
    }
    walk(root).unwrap_or(2).clamp(1, 8)
}

fn creation(keys: &[&str], col: usize, step: usize, entry: &[String], nl: &str) -> String {
    let mut s = String::new();
    let mut c = col;
    for k in keys {
        s.push_str(&" ".repeat(c));
        s.push_str(k);
        s.push(':');
        s.push_str(nl);
        c += step;
    }
    for line in entry {
        s.push_str(&" ".repeat(c));
        s.push_str(line);
        s.push_str(nl);
    }
    s
}

fn is_null(v: Node) -> bool {
    v.kind() == "plain_scalar" && v.named_child(0).is_some_and(|n| n.kind() == "null_scalar")
}

fn is_empty_flow(v: Node, kind: &str) -> bool {
    v.kind() == kind && v.named_child_count() == 0
}

/// An insertion of `text` (whole lines) at the line start `at`, minding a text with no final
/// line break.
fn insert_lines(src: &str, at: usize, text: String, nl: &str) -> Edit {
    if at == src.len() && !src.is_empty() && !src.ends_with('\n') {
        Edit::insert(at, format!("{nl}{}", text.trim_end_matches(nl)))
    } else {
        Edit::insert(at, text)
    }
}

/// Adds `entry` (lines, relative indentation) under the key path `path` from the document's
/// root mapping, creating missing mappings (indented like their siblings) and filling an empty
/// value (`key:`, `key: {}`, `key: ~`). `None` when a flow collection or a scalar is in the way.
pub fn add_under(
    root: Node,
    src: &str,
    path: &[&str],
    leaf: Leaf,
    entry: &[String],
) -> Option<Edit> {
    let nl = newline_of(src);
    let step = step_of(root);
    let mut node = content(root);
    for (i, key) in path.iter().enumerate() {
        if node.kind() != "block_mapping" {
            return None;
        }
        let ps = pairs(node);
        let first = *ps.first()?;
        let col = first.start_position().column;
        let last = i + 1 == path.len();
        let Some(p) = pair(node, key, src) else {
            let text = creation(&path[i..], col, step, entry, nl);
            // A new `metadata:` goes first, as Kubernetes manifests are written; anything else
            // after the last sibling.
            let at = if *key == "metadata" && indent_at(src, first.start_byte()).is_some() {
                line_start(src, first.start_byte())
            } else {
                line_after_node(src, *ps.last()?)
            };
            return Some(insert_lines(src, at, text, nl));
        };
        let value = p.child_by_field_name("value").map(content);
        let empty = match value {
            None => true,
            Some(v) => {
                is_null(v)
                    || (is_empty_flow(v, "flow_mapping") && (!last || leaf == Leaf::Mapping))
                    || (is_empty_flow(v, "flow_sequence") && last && leaf == Leaf::Sequence)
            }
        };
        if empty {
            if last_row(p) != p.start_position().row {
                return None;
            }
            let colon = {
                let mut c = p.walk();
                let found = p.children(&mut c).find(|n| n.kind() == ":");
                found?
            };
            let from = colon.end_byte();
            let to = value.map_or(from, |v| v.end_byte());
            let key_col = p.start_position().column;
            let body = creation(&path[i + 1..], key_col + step, step, entry, nl);
            let text = format!("{nl}{}", body.trim_end_matches(nl));
            return Some(Edit::replace(Span::new(from, to), text));
        }
        let v = value?;
        if !last {
            node = v;
            continue;
        }
        return match (leaf, v.kind()) {
            (Leaf::Mapping, "block_mapping") => {
                let ps = pairs(v);
                let col = ps.first()?.start_position().column;
                let at = line_after_node(src, *ps.last()?);
                Some(insert_lines(
                    src,
                    at,
                    creation(&[], col, step, entry, nl),
                    nl,
                ))
            }
            (Leaf::Sequence, "block_sequence") => {
                let mut c = v.walk();
                let its: Vec<Node> = v
                    .named_children(&mut c)
                    .filter(|n| n.kind() == "block_sequence_item")
                    .collect();
                let col = its.first()?.start_position().column;
                indent_at(src, its.first()?.start_byte())?;
                let at = line_after_node(src, *its.last()?);
                Some(insert_lines(
                    src,
                    at,
                    creation(&[], col, step, entry, nl),
                    nl,
                ))
            }
            _ => None,
        };
    }
    None
}

/// Applies chunk-relative edits to `src` and re-parses: the edited document and its root
/// mapping, or `None` when the edits clash or the result has a syntax error.
pub fn verified(src: &str, edits: &[Edit], check: impl Fn(Node, &str) -> bool) -> Option<String> {
    let f = crate::diagnostic::Fix::safe("", edits.to_vec());
    let (out, n) = fix::apply(src, &[&f]);
    if n != 1 {
        return None;
    }
    let tree = crate::syntax::parse_chunk(Language::Yaml, &out, None);
    if tree.root_node().has_error() {
        return None;
    }
    let root = document_root(tree.root_node())?;
    check(root, &out).then_some(out)
}

/// A removal and an insertion as non-clashing edits: an insertion at the very start of the
/// removed lines becomes one replacement; an insertion strictly inside them is refused.
pub fn move_edits(removal: &Removal, add: Edit) -> Option<Vec<Edit>> {
    let r = removal.span;
    let a = add.span;
    if a.start == a.end && a.start == r.start {
        return Some(vec![Edit::replace(r, add.new_text)]);
    }
    if a.start < r.end && r.start < a.end.max(a.start + 1) {
        return None;
    }
    Some(vec![Edit::delete(r), add])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_tree<R>(src: &str, f: impl FnOnce(Node) -> R) -> R {
        let tree = crate::syntax::parse(Language::Yaml, src, None);
        f(document_root(tree.root_node()).unwrap())
    }

    fn apply(src: &str, edits: Vec<Edit>) -> String {
        let f = crate::diagnostic::Fix::safe("", edits);
        fix::apply(src, &[&f]).0
    }

    #[test]
    fn add_under_creates_missing_keys_with_sibling_indentation() {
        let src = "spec:\n    template:\n        spec:\n            x: 1\n";
        let e = with_tree(src, |root| {
            add_under(
                root,
                src,
                &["spec", "template", "metadata", "annotations"],
                Leaf::Mapping,
                &["k: v".into()],
            )
        });
        assert_eq!(
            apply(src, vec![e.unwrap()]),
            "spec:\n    template:\n        metadata:\n            annotations:\n                k: v\n        spec:\n            x: 1\n"
        );
    }

    #[test]
    fn add_under_appends_to_sequences_and_fills_empty_values() {
        let src = "spec:\n  env:\n  - name: A\n    value: a\n  python: ~\n";
        let entry = ["- name: B".to_string(), "  value: b".to_string()];
        let e = with_tree(src, |root| {
            add_under(root, src, &["spec", "env"], Leaf::Sequence, &entry)
        });
        assert_eq!(
            apply(src, vec![e.unwrap()]),
            "spec:\n  env:\n  - name: A\n    value: a\n  - name: B\n    value: b\n  python: ~\n"
        );
        let e = with_tree(src, |root| {
            add_under(
                root,
                src,
                &["spec", "python", "env"],
                Leaf::Sequence,
                &entry,
            )
        });
        assert_eq!(
            apply(src, vec![e.unwrap()]),
            "spec:\n  env:\n  - name: A\n    value: a\n  python:\n    env:\n      - name: B\n        value: b\n"
        );
        // A flow mapping in the way: no edit.
        let src = "spec: {env: []}\n";
        assert!(with_tree(src, |root| add_under(
            root,
            src,
            &["spec", "env"],
            Leaf::Sequence,
            &entry
        ))
        .is_none());
    }

    #[test]
    fn remove_pair_line_takes_emptied_mappings_but_not_comments_or_the_target() {
        let src = "metadata:\n  name: x\n  annotations:\n    k: v # note\nspec: {}\n";
        let r = with_tree(src, |root| {
            let ann =
                crate::syntax::yaml::get_path(root, &["metadata", "annotations"], src).unwrap();
            remove_pair_line(pairs(ann)[0], src, &["spec"])
        })
        .unwrap();
        assert_eq!(r.text, "k: v # note");
        assert_eq!(
            apply(src, vec![Edit::delete(r.span)]),
            "metadata:\n  name: x\nspec: {}\n"
        );

        let src = "metadata:\n  name: x\n  annotations:\n    # keep me\n    k: v\n";
        let r = with_tree(src, |root| {
            let ann =
                crate::syntax::yaml::get_path(root, &["metadata", "annotations"], src).unwrap();
            remove_pair_line(pairs(ann)[0], src, &[])
        })
        .unwrap();
        assert_eq!(
            apply(src, vec![Edit::delete(r.span)]),
            "metadata:\n  name: x\n  annotations:\n    # keep me\n"
        );

        // Sharing a line with other content: no removal.
        let src = "a: {k: v}\n";
        assert!(with_tree(src, |root| {
            let a = crate::syntax::yaml::get(root, "a", src).unwrap();
            remove_pair_line(pairs(a)[0], src, &[])
        })
        .is_none());
    }
}

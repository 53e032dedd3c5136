//! A reader of plain block YAML documents from their lines, without a parser: what the
//! command line uses to learn the facts of a Kubernetes object (`launch::yaml::light_facts`)
//! without building its tree-sitter tree, or beside the tree a rule needs (reading the
//! facts from lines is cheaper than walking the tree for them).
//!
//! It reads only a strict subset, and says `None` for anything else, so that what it reads
//! is exactly what tree-sitter-yaml reads (`tests/light_facts.rs` and the fuzz target
//! `light_yaml` hold the two equal, through `launch::yaml::light_facts`):
//!
//! - a top-level block mapping; nested block mappings and sequences, indented as YAML's
//!   block structure requires (a sequence may sit at its key's own indentation);
//! - plain keys (`[A-Za-z0-9][A-Za-z0-9_./-]*`), one per line, each followed by `:` and a
//!   space or the line's end;
//! - values on the key's line: a plain one-line scalar of a safe alphabet (commas after its
//!   first character, and a leading `-`/`--` before a letter or digit, allowed), a quoted one
//!   without escapes or inner quotes, `{}`, `[]`, a one-line flow sequence `[a, "b", c:d]`
//!   of plain words and quoted scalars (its items are the node's children), or a block
//!   scalar (`|`, `|-`, `|+`, `>`, `>-`, `>+`, no indentation indicator);
//! - `- value` and `- key: …` sequence items;
//! - comment lines and blank lines (not before a block scalar's first line), a leading
//!   `---` line.
//!
//! Spans are the tree's: a mapping or sequence ends after the comment lines that precede the
//! line closing it (tree-sitter-yaml puts them in the innermost open node), and at the end of
//! the text when nothing but blank and comment lines follow it.
//!
//! Not read: tabs, carriage returns, control characters (C1 ones too), Unicode line
//! separators, byte-order marks and non-characters, Helm templates,
//! anchors, aliases, tags, directives, flow collections beyond the above, multi-line plain or
//! quoted scalars, comments after a value, complex keys, `- - x`, empty block scalars.

use super::yaml_skip::{lines, plain_key, plain_word, quoted, Line};
use super::yaml_view::{Leaf, View};
use crate::diagnostic::Span;

/// What a node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A block mapping; its children are its values, each with its key.
    Map,
    /// A block sequence; its children are its items.
    Seq,
    /// A plain scalar.
    Plain,
    /// A quoted scalar (its span includes the quotes; no escapes inside).
    Quoted,
    /// A block scalar: its span runs from the indicator to the end of its last content line
    /// (trailing spaces left out), or to the end of the text when nothing but blank lines
    /// follows it — as tree-sitter-yaml's node does.
    Block,
    /// `{}`, `[]` or a one-line `[a, b]`: a flow collection; a sequence's children are its
    /// items (plain or quoted scalars).
    Flow,
}

/// One node of a [`Doc`].
#[derive(Debug, Clone)]
pub struct Node {
    pub kind: Kind,
    /// The node's bytes (chunk-relative).
    pub span: Span,
    /// For a mapping's value, its key's bytes (a plain scalar).
    pub key: Option<Span>,
    /// The entry of a mapping has no value (`key:` and nothing below): kept as a child with
    /// an empty span just after the colon, where the tree's pair ends.
    pub empty: bool,
    /// Indexes of the children in [`Doc::nodes`], in order.
    pub children: Vec<u32>,
}

/// A document read from its lines: node 0 is the top-level mapping.
#[derive(Debug)]
pub struct Doc<'s> {
    pub src: &'s str,
    pub nodes: Vec<Node>,
}

impl<'s> Doc<'s> {
    /// The top-level mapping.
    pub fn root(&self) -> &Node {
        &self.nodes[0]
    }

    /// The text of a node or span.
    pub fn text(&self, span: Span) -> &'s str {
        &self.src[span.start..span.end]
    }

    /// The children of a node.
    pub fn children<'d>(&'d self, n: &'d Node) -> impl Iterator<Item = &'d Node> + 'd {
        n.children.iter().map(|&i| &self.nodes[i as usize])
    }

    /// The first value under `key` in the mapping `n` (as `syntax::yaml::get`, which takes
    /// the first pair of a key); `None` when `n` is no mapping, the key is absent, or its
    /// entry has no value.
    pub fn get<'d>(&'d self, n: &'d Node, key: &str) -> Option<&'d Node> {
        if n.kind != Kind::Map {
            return None;
        }
        let v = self
            .children(n)
            .find(|c| c.key.is_some_and(|k| self.text(k) == key))?;
        (!v.empty).then_some(v)
    }

    /// The value at a path of keys.
    pub fn get_path(&self, path: &[&str]) -> Option<&Node> {
        let mut n = self.root();
        for k in path {
            n = self.get(n, k)?;
        }
        Some(n)
    }

    /// The value of a one-line scalar, unquoted (as `syntax::yaml::scalar`).
    pub fn scalar(&self, n: &Node) -> Option<&'s str> {
        match n.kind {
            Kind::Plain => Some(self.text(n.span)),
            Kind::Quoted => {
                let t = self.text(n.span);
                Some(&t[1..t.len() - 1])
            }
            _ => None,
        }
    }
}

/// Characters YAML does not allow in a stream, or reads as line breaks or a byte-order mark:
/// C1 controls (NEL among them), the line and paragraph separators, U+FEFF, U+FFFE, U+FFFF.
fn unprintable(c: char) -> bool {
    matches!(
        c,
        '\u{80}'..='\u{9f}' | '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}'
    )
}

/// The block scalar indicators read.
const BLOCK_HEADERS: &[&str] = &["|", "|-", "|+", ">", ">-", ">+"];

/// Reads a document (one chunk of a YAML stream); `None` when it is not in the subset.
pub fn read(src: &str) -> Option<Doc<'_>> {
    if src.contains("{{")
        || src.bytes().any(|b| (b < b' ' && b != b'\n') || b == 0x7f)
        || (!src.is_ascii() && src.chars().any(unprintable))
    {
        return None;
    }
    let mut ls = lines(src);
    let mut r = Reader {
        src,
        lines: &mut ls,
        at: 0,
        nodes: Vec::new(),
        depth: 0,
    };
    // A `---` line may open the document (the chunk starts at it), after comments.
    let first = r.next_significant()?;
    if r.lines[first].indent == Some(0) && r.lines[first].body == "---" {
        r.at = first + 1;
    }
    let first = r.next_significant()?;
    if r.lines[first].indent != Some(0) {
        return None;
    }
    let root = r.map(0)?;
    debug_assert_eq!(root, 0);
    // Every line read: nothing after the top-level mapping.
    if r.next_significant().is_some() {
        return None;
    }
    Some(Doc {
        src,
        nodes: r.nodes,
    })
}

struct Reader<'s, 'l> {
    src: &'s str,
    lines: &'l mut Vec<Line<'s>>,
    /// The next line to read.
    at: usize,
    nodes: Vec<Node>,
    /// How many mappings and sequences are open (bounded by [`MAX_DEPTH`]).
    depth: usize,
}

/// Nesting deeper than this is not read (a document indented one more space per line would
/// otherwise recurse once per line); real manifests stay far below it.
const MAX_DEPTH: usize = 64;

/// A plain key, what follows its colon (trimmed of spaces) and where that starts in `body`,
/// if the line is `key:` or `key: value`.
fn split_key(body: &str) -> Option<(&str, &str, usize)> {
    let colon = body.find(':')?;
    let (key, rest) = (&body[..colon], &body[colon + 1..]);
    if !plain_key(key) {
        return None;
    }
    if rest.is_empty() {
        return Some((key, "", body.len()));
    }
    let after = rest.strip_prefix(' ')?.trim_start_matches(' ');
    Some((key, after.trim_end_matches(' '), body.len() - after.len()))
}

impl<'s> Reader<'s, '_> {
    /// The index of the next line that is neither blank nor a comment, from `at`.
    fn next_significant(&self) -> Option<usize> {
        (self.at..self.lines.len()).find(|&i| {
            let l = &self.lines[i];
            l.indent.is_some() && !l.body.starts_with('#')
        })
    }

    /// The offset of a line's body.
    fn body_start(&self, i: usize) -> usize {
        let l = &self.lines[i];
        l.start + l.indent.unwrap_or(0)
    }

    fn push(&mut self, node: Node) -> u32 {
        self.nodes.push(node);
        (self.nodes.len() - 1) as u32
    }

    /// A mapping or sequence whose span and children [`Self::close`] sets when read; `None`
    /// past [`MAX_DEPTH`].
    fn open(&mut self, kind: Kind) -> Option<u32> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return None;
        }
        Some(self.push(Node {
            kind,
            span: Span::new(0, 0),
            key: None,
            empty: false,
            children: Vec::new(),
        }))
    }

    /// Closes a mapping or sequence that the next significant line (or the end of the text)
    /// ends. Its span runs as tree-sitter-yaml's node does: past the comment lines before
    /// that line (the tree puts them in the innermost open node, whatever their
    /// indentation), or to the end of the text when no such line follows.
    fn close(&mut self, me: u32, mut span: Span, children: Vec<u32>) -> Option<u32> {
        span.end = self.closed_end(span.end);
        self.depth -= 1;
        let node = &mut self.nodes[me as usize];
        node.span = span;
        node.children = children;
        Some(me)
    }

    /// Where a node whose last line ends at `end` ends in the tree when the next significant
    /// line closes it (see [`Self::close`]).
    fn closed_end(&self, mut end: usize) -> usize {
        for l in &self.lines[self.at..] {
            let Some(k) = l.indent else { continue };
            if !l.body.starts_with('#') {
                return end;
            }
            end = l.start + k + l.body.len();
        }
        self.src.len()
    }

    /// The block mapping whose keys are at indentation `ind`, from the next line.
    fn map(&mut self, ind: usize) -> Option<u32> {
        let me = self.open(Kind::Map)?;
        let mut children = Vec::new();
        let (mut start, mut end) = (None, 0);
        while let Some(i) = self.next_significant() {
            let l = self.lines[i];
            let k = l.indent?;
            if k < ind || (k == ind && l.body.starts_with('-')) {
                break;
            }
            if k > ind {
                return None;
            }
            self.at = i + 1;
            let (key, v, v_at) = split_key(l.body)?;
            let key_start = self.body_start(i);
            let key_span = Span::new(key_start, key_start + key.len());
            start.get_or_insert(key_start);
            let value = if v.is_empty() {
                // The value is on the lines below: deeper, or a sequence at this indentation.
                match self.next_significant() {
                    Some(n) if self.lines[n].indent? > ind => {
                        let nk = self.lines[n].indent?;
                        if self.lines[n].body.starts_with('-') {
                            self.seq(nk)?
                        } else {
                            self.map(nk)?
                        }
                    }
                    Some(n)
                        if self.lines[n].indent == Some(ind)
                            && self.lines[n].body.starts_with("- ") =>
                    {
                        self.seq(ind)?
                    }
                    _ => self.push(Node {
                        kind: Kind::Map,
                        span: Span::new(key_span.end + 1, key_span.end + 1),
                        key: None,
                        empty: true,
                        children: Vec::new(),
                    }),
                }
            } else if BLOCK_HEADERS.contains(&v) {
                self.block(ind, key_start + v_at)?
            } else if one_line_value(v) {
                self.scalar(key_start + v_at, v)
            } else {
                return None;
            };
            let node = &mut self.nodes[value as usize];
            node.key = Some(key_span);
            end = node.span.end.max(key_span.end + 1);
            children.push(value);
        }
        self.close(me, Span::new(start?, end), children)
    }

    /// The block sequence whose `- ` items are at indentation `ind`, from the next line.
    fn seq(&mut self, ind: usize) -> Option<u32> {
        let me = self.open(Kind::Seq)?;
        let mut children = Vec::new();
        let (mut start, mut end) = (None, 0);
        while let Some(i) = self.next_significant() {
            let l = self.lines[i];
            let k = l.indent?;
            if k < ind || (k == ind && !l.body.starts_with('-')) {
                break;
            }
            if k > ind {
                return None;
            }
            let rest = l.body.strip_prefix("- ")?;
            let item = rest.trim_start_matches(' ');
            if item.is_empty() || item == "-" || item.starts_with("- ") || item.starts_with('#') {
                return None;
            }
            let item_ind = ind + (l.body.len() - item.len());
            let at = l.start + item_ind;
            start.get_or_insert(l.start + ind);
            let value = if split_key(item).is_some() && !quoted(item) {
                // `- key: …`: a mapping whose first key is on this line.
                self.lines[i].indent = Some(item_ind);
                self.lines[i].body = item;
                self.map(item_ind)?
            } else if one_line_value(item.trim_end_matches(' ')) {
                self.at = i + 1;
                self.scalar(at, item.trim_end_matches(' '))
            } else {
                return None;
            };
            end = self.nodes[value as usize].span.end;
            children.push(value);
        }
        self.close(me, Span::new(start?, end), children)
    }

    /// A one-line value at offset `at` (one [`one_line_value`] accepts).
    fn scalar(&mut self, at: usize, v: &str) -> u32 {
        let kind = if v.starts_with('[') || v.starts_with('{') {
            Kind::Flow
        } else if quoted(v) {
            Kind::Quoted
        } else {
            debug_assert!(plain(v, false));
            Kind::Plain
        };
        let mut children = Vec::new();
        if let Some(inner) = v.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            // The items of a flow sequence, each at its offset, spaces around it left out.
            let mut from = at + 1;
            for item in inner.split(',').filter(|_| !inner.is_empty()) {
                let t = item.trim_start_matches(' ');
                let start = from + (item.len() - t.len());
                let t = t.trim_end_matches(' ');
                children.push(self.push(Node {
                    kind: if quoted(t) { Kind::Quoted } else { Kind::Plain },
                    span: Span::new(start, start + t.len()),
                    key: None,
                    empty: false,
                    children: Vec::new(),
                }));
                from += item.len() + 1;
            }
        }
        self.push(Node {
            kind,
            span: Span::new(at, at + v.len()),
            key: None,
            empty: false,
            children,
        })
    }

    /// A block scalar whose indicator is at `at`, under a key at indentation `ind`: its
    /// content lines are those indented as its first one, or blank.
    fn block(&mut self, ind: usize, at: usize) -> Option<u32> {
        let mut content: Option<usize> = None;
        let mut end = None;
        let mut i = self.at;
        while i < self.lines.len() {
            let l = self.lines[i];
            match (l.indent, content) {
                (None, None) => {
                    // A blank line before the first content line: only an empty one.
                    let raw_len =
                        self.lines.get(i + 1).map_or(self.src.len(), |n| n.start) - l.start;
                    if raw_len > 1 {
                        return None;
                    }
                }
                (None, Some(_)) => {}
                (Some(k), None) if k > ind => {
                    content = Some(k);
                    end = Some(l.start + k + l.body.trim_end_matches(' ').len());
                }
                (Some(_), None) => return None,
                (Some(k), Some(c)) if k >= c => {
                    end = Some(l.start + k + l.body.trim_end_matches(' ').len())
                }
                (Some(k), Some(_)) => {
                    // The scalar ended; what follows must belong to an outer level.
                    if k > ind {
                        return None;
                    }
                    break;
                }
            }
            i += 1;
        }
        let mut end = end?;
        // At the end of the document (blank lines at most follow), the scalar runs to the
        // end of the text, as tree-sitter-yaml's does.
        if self.lines[i..].iter().all(|l| l.indent.is_none()) {
            end = self.src.len();
        }
        self.at = i;
        Some(self.push(Node {
            kind: Kind::Block,
            span: Span::new(at, end),
            key: None,
            empty: false,
            children: Vec::new(),
        }))
    }
}

/// A plain one-line scalar the reader reads: [`plain_word`]'s, and also one that starts
/// with `-` or `--` before a letter or digit (`-c`, `--bind=…`: no indicator), and, outside
/// flow collections, one with commas after its first character (`celery,redis`).
fn plain(s: &str, in_flow: bool) -> bool {
    let body = match s.strip_prefix("--").or_else(|| s.strip_prefix('-')) {
        Some(r) if r.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric()) => r,
        Some(_) => return false,
        None => s,
    };
    if in_flow || !body.contains(',') {
        return plain_word(body);
    }
    !s.starts_with(',') && plain_word(&body.replace(',', "_"))
}

/// A value on its key's line (or after `- `) that the reader reads: a [`plain`] or quoted
/// scalar, `{}`, `[]`, or a one-line flow sequence of plain words (no spaces) and quoted
/// scalars.
fn one_line_value(v: &str) -> bool {
    if v == "{}" || v == "[]" {
        return true;
    }
    if let Some(inner) = v.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        return inner.split(',').all(|item| {
            let item = item.trim_matches(' ');
            (plain(item, true) && !item.contains(' ')) || quoted(item)
        });
    }
    plain(v, false) || quoted(v)
}

/// The facts code's [`View`] of a [`Doc`].
#[derive(Clone, Copy)]
pub struct LineView<'d, 's> {
    doc: &'d Doc<'s>,
}

impl<'d, 's> LineView<'d, 's> {
    /// The view of a document read from its lines.
    pub fn new(doc: &'d Doc<'s>) -> Self {
        LineView { doc }
    }
}

impl<'d, 's> View<'s> for LineView<'d, 's> {
    type Node = &'d Node;
    type Pair = &'d Node;

    fn src(self) -> &'s str {
        self.doc.src
    }

    fn get(self, n: &'d Node, key: &str) -> Option<&'d Node> {
        self.doc.get(n, key)
    }

    fn items(self, n: &'d Node) -> Vec<&'d Node> {
        match n.kind {
            Kind::Seq | Kind::Flow => self.doc.children(n).collect(),
            _ => Vec::new(),
        }
    }

    fn pairs(self, n: &'d Node) -> Vec<&'d Node> {
        match n.kind {
            Kind::Map if !n.empty => self.doc.children(n).collect(),
            _ => Vec::new(),
        }
    }

    fn key(self, p: &'d Node) -> Option<Leaf<'s>> {
        let k = p.key?;
        Some(Leaf::Scalar {
            value: self.doc.text(k),
            quote: None,
            span: k,
        })
    }

    fn value(self, p: &'d Node) -> Option<&'d Node> {
        (!p.empty).then_some(p)
    }

    fn pair_span(self, p: &'d Node) -> Span {
        let k = p.key.unwrap_or(p.span);
        Span::new(k.start, p.span.end.max(k.end + 1))
    }

    fn span(self, n: &'d Node) -> Span {
        n.span
    }

    fn leaf(self, n: &'d Node) -> Option<Leaf<'s>> {
        let text = self.doc.text(n.span);
        match n.kind {
            Kind::Plain => Some(Leaf::Scalar {
                value: text,
                quote: None,
                span: n.span,
            }),
            Kind::Quoted => Some(Leaf::Scalar {
                value: &text[1..text.len() - 1],
                quote: text.chars().next(),
                span: n.span,
            }),
            Kind::Block => Some(Leaf::Block { span: n.span }),
            Kind::Map | Kind::Seq | Kind::Flow => None,
        }
    }

    /// A document the reader reads parses without error (what `tests/light_facts.rs` holds).
    fn has_error(self, _: &'d Node) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_config_map() {
        let src = "---\n# c\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  labels:\n    a: b\ndata:\n  a: |\n    line1\n\n    line2\n\n\n  b:\n  c: >-\n    folded\n  d: 'q'\nlist:\n- a\n- k: v\n  j: w\nother: 1\n";
        let d = read(src).expect("in the subset");
        let data = d.get(d.root(), "data").unwrap();
        let kids: Vec<_> = d.children(data).collect();
        assert_eq!(kids.len(), 4);
        assert_eq!(d.text(kids[0].span), "|\n    line1\n\n    line2");
        assert!(kids[1].empty);
        assert_eq!(d.text(kids[2].span), ">-\n    folded");
        assert_eq!(d.scalar(kids[3]), Some("q"));
        assert_eq!(
            d.get_path(&["metadata", "name"]).and_then(|n| d.scalar(n)),
            Some("x")
        );
        let list = d.get(d.root(), "list").unwrap();
        assert_eq!(list.kind, Kind::Seq);
        assert_eq!(list.children.len(), 2);
    }

    #[test]
    fn reads_commas_dashes_and_flow_items_with_their_spans() {
        let src = "a: celery,redis\nb:\n- -c\n- --bind=0.0.0.0:8000\nc: [app.main:app, \"--port\" , 8000]\n";
        let d = read(src).expect("in the subset");
        assert_eq!(
            d.get(d.root(), "a").and_then(|n| d.scalar(n)),
            Some("celery,redis")
        );
        let b: Vec<_> = d
            .children(d.get(d.root(), "b").unwrap())
            .map(|n| d.text(n.span))
            .collect();
        assert_eq!(b, ["-c", "--bind=0.0.0.0:8000"]);
        let c = d.get(d.root(), "c").unwrap();
        assert_eq!(c.kind, Kind::Flow);
        let items: Vec<_> = d.children(c).map(|n| (n.kind, d.text(n.span))).collect();
        assert_eq!(
            items,
            [
                (Kind::Plain, "app.main:app"),
                (Kind::Quoted, "\"--port\""),
                (Kind::Plain, "8000")
            ]
        );
    }

    #[test]
    fn a_node_closed_after_comments_ends_after_them_and_the_last_at_the_end() {
        let src = "env:\n- name: A\n  value: b\n  # one\n# two  \n- name: B\nk: v\n\n";
        let d = read(src).expect("in the subset");
        let env = d.get(d.root(), "env").unwrap();
        let items: Vec<_> = d.children(env).map(|n| d.text(n.span)).collect();
        assert_eq!(items, ["name: A\n  value: b\n  # one\n# two  ", "name: B"]);
        assert_eq!(d.root().span.end, src.len());
    }

    #[test]
    fn deep_nesting_is_turned_away_not_recursed_into() {
        let deep: String = (0..5_000)
            .map(|i| format!("{}k{i}:\n", " ".repeat(i)))
            .collect();
        assert!(read(&deep).is_none());
        let shallow: String = (0..40)
            .map(|i| format!("{}k{i}:\n", " ".repeat(i)))
            .collect();
        assert!(read(&format!("{shallow}{}v: 1\n", " ".repeat(40))).is_some());
    }

    #[test]
    fn turns_away_what_it_does_not_read() {
        for src in [
            "a: &x 1\n",
            "a: *x\n",
            "a: !!str 1\n",
            "a: b # c\n",
            "a:\n  b\n",
            "a: \"x\\n\"\n",
            "a: b\n  c: d\n",
            "a:\n\tb: c\n",
            "a: {{ .Values.x }}\n",
            "- a\n",
            "a: |\n",
            "a: |2\n  x\n",
            "a: |\n    x\n  y: z\n",
            "a:\n- - x\n",
            "a:\n- -\n",
            "a: - x\n",
            "a: ,b\n",
            "a: --\n",
            "a: [b c]\n",
            "a: [b, ]\n",
            "a: [b:]\n",
            "a: [b, {c: d}]\n",
            "\"a\": b\n",
            "a: b\n---\nc: d\n",
            "%YAML 1.2\n---\na: b\n",
            "a: b\r\n",
            "a:\n  b: c\n d: e\n",
            "a: |\n  x\u{90}y\n",
            "a: b\u{2028}\n",
            "\u{feff}a: b\n",
        ] {
            assert!(read(src).is_none(), "{src:?}");
        }
    }
}

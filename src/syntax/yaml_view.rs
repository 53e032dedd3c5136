//! One view of a YAML document for the code that reads its facts, over either reader: a
//! tree-sitter tree ([`TreeView`]) or the line reader's nodes
//! ([`crate::syntax::yaml_lines::LineView`]). The summary of a Kubernetes object
//! (`syntax::yaml::object_in`) and its launch facts (`launch::yaml::k8s_in`) are written once
//! against [`View`], so the two readers can differ only in what these few look-ups answer —
//! which `tests/light_facts.rs` and the fuzz target `light_yaml` hold equal.

use crate::diagnostic::Span;
use crate::syntax::yaml::{self as y, content, kind};
use tree_sitter::Node;

/// A scalar node as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leaf<'s> {
    /// A plain or quoted one: its value (a plain one trimmed, a quoted one without its
    /// quotes, escapes not interpreted), the quote character, and its bytes (quotes
    /// included).
    Scalar {
        value: &'s str,
        quote: Option<char>,
        span: Span,
    },
    /// A block scalar (`|`, `>`…): its bytes, from the indicator.
    Block { span: Span },
}

/// What the facts of a document ask of its reader: mapping look-ups by key, sequence items,
/// scalars and the bytes of nodes — what `syntax::yaml`'s helpers of the same names answer
/// on a tree.
pub trait View<'s>: Copy {
    /// A value (a mapping, a sequence, a scalar).
    type Node: Copy;
    /// One entry of a mapping.
    type Pair: Copy;

    /// The document's text (chunk-relative offsets, like the nodes').
    fn src(self) -> &'s str;
    /// The value of the first entry with key `key` in the mapping `n` (none when that entry
    /// has no value, or `n` is no mapping).
    fn get(self, n: Self::Node, key: &str) -> Option<Self::Node>;
    /// The items of the sequence `n` (none when it is no sequence).
    fn items(self, n: Self::Node) -> Vec<Self::Node>;
    /// The entries of the mapping `n` (none when it is no mapping).
    fn pairs(self, n: Self::Node) -> Vec<Self::Pair>;
    /// An entry's key, when it is a scalar.
    fn key(self, p: Self::Pair) -> Option<Leaf<'s>>;
    /// An entry's value, when it has one.
    fn value(self, p: Self::Pair) -> Option<Self::Node>;
    /// The bytes of an entry, from its key to the end of its value.
    fn pair_span(self, p: Self::Pair) -> Span;
    /// The bytes of a value.
    fn span(self, n: Self::Node) -> Span;
    /// The value as a scalar, when it is one.
    fn leaf(self, n: Self::Node) -> Option<Leaf<'s>>;
    /// Whether the document the node is in failed to parse.
    fn has_error(self, n: Self::Node) -> bool;

    /// The value at a path of keys.
    fn get_path(self, n: Self::Node, path: &[&str]) -> Option<Self::Node> {
        let mut n = n;
        for k in path {
            n = self.get(n, k)?;
        }
        Some(n)
    }

    /// The value of a plain or quoted scalar (what `syntax::yaml::scalar` gives as `value`).
    fn scalar(self, n: Self::Node) -> Option<&'s str> {
        match self.leaf(n)? {
            Leaf::Scalar { value, .. } => Some(value),
            Leaf::Block { .. } => None,
        }
    }

    /// An entry's key text, unquoted (`syntax::yaml::pair_key`).
    fn pair_key(self, p: Self::Pair) -> Option<&'s str> {
        match self.key(p)? {
            Leaf::Scalar { value, .. } => Some(value),
            Leaf::Block { .. } => None,
        }
    }
}

/// A tree-sitter-yaml tree of `src`, through `syntax::yaml`'s helpers.
#[derive(Clone, Copy)]
pub struct TreeView<'t, 's> {
    src: &'s str,
    _tree: std::marker::PhantomData<Node<'t>>,
}

impl<'s> TreeView<'_, 's> {
    /// The view of the nodes of a tree of `src`.
    pub fn new(src: &'s str) -> Self {
        TreeView {
            src,
            _tree: std::marker::PhantomData,
        }
    }
}

impl<'t, 's> View<'s> for TreeView<'t, 's> {
    type Node = Node<'t>;
    type Pair = Node<'t>;

    fn src(self) -> &'s str {
        self.src
    }

    fn get(self, n: Node<'t>, key: &str) -> Option<Node<'t>> {
        y::get(n, key, self.src)
    }

    fn items(self, n: Node<'t>) -> Vec<Node<'t>> {
        y::items(n)
    }

    fn pairs(self, n: Node<'t>) -> Vec<Node<'t>> {
        y::pairs(n)
    }

    fn key(self, p: Node<'t>) -> Option<Leaf<'s>> {
        self.leaf(y::key_of(p)?)
    }

    fn value(self, p: Node<'t>) -> Option<Node<'t>> {
        y::value_of(p)
    }

    fn pair_span(self, p: Node<'t>) -> Span {
        Span::new(p.start_byte(), p.end_byte())
    }

    fn span(self, n: Node<'t>) -> Span {
        Span::new(n.start_byte(), n.end_byte())
    }

    fn leaf(self, node: Node<'t>) -> Option<Leaf<'s>> {
        let n = content(node);
        let span = Span::new(n.start_byte(), n.end_byte());
        let text = self.src.get(n.byte_range()).unwrap_or("");
        match kind(n) {
            "block_scalar" => Some(Leaf::Block { span }),
            "plain_scalar" => Some(Leaf::Scalar {
                value: text.trim(),
                quote: None,
                span,
            }),
            "double_quote_scalar" | "single_quote_scalar" => {
                let q = text.chars().next()?;
                Some(Leaf::Scalar {
                    value: text.get(1..text.len().saturating_sub(1)).unwrap_or(""),
                    quote: Some(q),
                    span,
                })
            }
            _ => None,
        }
    }

    fn has_error(self, n: Node<'t>) -> bool {
        let mut top = n;
        while let Some(p) = top.parent() {
            top = p;
        }
        top.has_error()
    }
}

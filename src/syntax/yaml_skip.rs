//! The parts of a YAML document no rule and no summary reads, found from its lines before
//! any tree exists, so the parser can leave them out (`tree_sitter::Parser::set_included_ranges`).
//!
//! A workload's `resources:`, probes, `securityContext:`, `volumes:`, labels and selectors
//! are a third of a typical manifest's bytes and more of its tokens; nothing in otel-lsp
//! looks inside them ([`UNREAD`], held by a test over the sources), or only for the
//! Operator's keys, which are needles ([`NEEDLE_READ`]). A block is left out only when
//! leaving it out cannot change what the tree says about the rest, nor whether the document
//! parses:
//!
//! - its key is one of those, nested (never a top-level key), as `key:` alone on its line
//!   (not a `- key:` item, not a flow or block scalar value);
//! - every line of it is a plain block-mapping or block-sequence line with a simple scalar
//!   (checked by [`simple_block`]: indentation consistent, no flow collections beyond `{}`,
//!   `[]` and `[a, b]`, no anchors, aliases, tags, block scalars, multi-line scalars, tabs or
//!   comments after a value), so that the full parse of it has no error either;
//! - its text holds no needle of any rule or of the summary (`may_matter`);
//! - the mapping that holds it keeps its extent, so that an edit placed "at the end of the
//!   mapping" lands where it would: when a sibling key follows, the whole block goes, key
//!   line included; when it is the mapping's last key, its key line and its last line stay
//!   (`key:` with that one deeper line under it is still a block value, and ends where the
//!   whole block ends), and the lines between go.
//!
//! The full path (`engine::parse`, `check --full`) parses everything, and the tests hold that
//! both report the same.

use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

/// Bytes left out so far in this process (`check --stats`).
static SKIPPED: AtomicUsize = AtomicUsize::new(0);

/// How many bytes the parser was told to leave out so far.
pub fn skipped_bytes() -> usize {
    SKIPPED.load(Relaxed)
}

/// Keys whose subtrees no rule, fact or summary reads. A rule that starts reading one must
/// take it out of this list (`tests/rules.rs` fails when a source names one).
pub const UNREAD: &[&str] = &[
    "affinity",
    "behavior",
    "dnsConfig",
    "imagePullSecrets",
    "lifecycle",
    "livenessProbe",
    "nodeSelector",
    "ports",
    "readinessProbe",
    "resources",
    "rollingUpdate",
    "securityContext",
    "startupProbe",
    "strategy",
    "tolerations",
    "topologySpreadConstraints",
    "volumeMounts",
    "volumes",
];

/// Keys whose subtrees are read only for the Operator's annotation keys (an inject key
/// misplaced under `labels:`, a selector that names one), which are needles: a block of
/// them without a needle is one no rule looks into.
pub const NEEDLE_READ: &[&str] = &["labels", "selector"];

/// Blocks below this size are parsed: leaving them out would not pay for the ranges.
const MIN_BLOCK: usize = 48;

#[derive(Clone, Copy)]
pub(super) struct Line<'t> {
    pub(super) start: usize,
    /// Indentation in spaces; `None` for a blank line.
    pub(super) indent: Option<usize>,
    /// The text after the indentation, without the line break.
    pub(super) body: &'t str,
}

pub(super) fn lines(text: &str) -> Vec<Line<'_>> {
    let mut out = Vec::new();
    let mut start = 0;
    for raw in text.split_inclusive('\n') {
        let body = raw.trim_end_matches('\n').trim_end_matches('\r');
        let trimmed = body.trim_start_matches(' ');
        let indent = (!trimmed.is_empty()).then_some(body.len() - trimmed.len());
        out.push(Line {
            start,
            indent,
            body: trimmed,
        });
        start += raw.len();
    }
    out
}

/// The byte ranges of `text` (one YAML document, or a document's part of a stream) that the
/// parser may leave out; `may_matter` says whether a block's text holds a needle.
pub fn unread(text: &str, may_matter: &dyn Fn(&str) -> bool) -> Vec<Range<usize>> {
    let keys = || UNREAD.iter().chain(NEEDLE_READ);
    if !keys().any(|k| text.contains(k)) || text.contains('\t') {
        return Vec::new();
    }
    let ls = lines(text);
    let mut out: Vec<Range<usize>> = Vec::new();
    let mut i = 0;
    while i < ls.len() {
        let l = &ls[i];
        let Some(ind) = l.indent.filter(|&n| n > 0) else {
            i += 1;
            continue;
        };
        let Some(key) = l.body.strip_suffix(':') else {
            i += 1;
            continue;
        };
        if !keys().any(|k| *k == key) {
            i += 1;
            continue;
        }
        // The block: the lines below that are deeper, or `- ` items at the key's own
        // indentation right under it; then the sibling key that must follow.
        let first = ls[i + 1..].iter().find(|n| n.indent.is_some());
        let seq_here = first.is_some_and(|n| n.indent == Some(ind) && n.body.starts_with("- "));
        let mut j = i + 1;
        while j < ls.len() {
            match ls[j].indent {
                None => j += 1,
                Some(k) if k > ind => j += 1,
                Some(k) if k == ind && seq_here && ls[j].body.starts_with("- ") => j += 1,
                Some(_) => break,
            }
        }
        // Blank lines at the end stay with what follows.
        let mut end = j;
        while end > i + 1 && ls[end - 1].indent.is_none() {
            end -= 1;
        }
        let sibling = ls
            .get(j)
            .is_some_and(|n| n.indent == Some(ind) && is_key_line(n.body));
        // The mapping's last key: what follows is shallower, or nothing.
        let last = ls.get(j).is_none_or(|n| n.indent.is_some_and(|k| k < ind));
        if end <= i + 1 || !(sibling || last) {
            i = j;
            continue;
        }
        let range = if sibling {
            l.start..ls.get(end).map_or(text.len(), |n| n.start)
        } else {
            // Its key line and its last line stay.
            ls[i + 1].start..ls[end - 1].start
        };
        if range.len() >= MIN_BLOCK
            && simple_block(ind, &ls[i + 1..end])
            && !may_matter(&text[l.start..ls.get(end).map_or(text.len(), |n| n.start)])
        {
            SKIPPED.fetch_add(range.len(), Relaxed);
            out.push(range);
        }
        i = j;
    }
    out
}

/// `key:` or `key: value` with a simple key (what a sibling of the block must be).
fn is_key_line(body: &str) -> bool {
    split_key(body).is_some()
}

/// Whether `key` is a plain key of the safe alphabet (`[A-Za-z0-9][A-Za-z0-9_./-]*`).
pub(super) fn plain_key(key: &str) -> bool {
    key.bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphanumeric())
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'/'))
}

/// A plain key and what follows its colon (`""` for none).
fn split_key(body: &str) -> Option<(&str, &str)> {
    let colon = body.find(':')?;
    let (key, rest) = (&body[..colon], &body[colon + 1..]);
    if !plain_key(key) {
        return None;
    }
    match rest.strip_prefix(' ') {
        Some(v) if simple_value(v.trim_end_matches(' ')) => Some((key, v)),
        None if rest.is_empty() => Some((key, "")),
        _ => None,
    }
}

pub(super) fn plain_word(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && !matches!(
            b[0],
            b'-' | b'?'
                | b':'
                | b','
                | b'['
                | b']'
                | b'{'
                | b'}'
                | b'#'
                | b'&'
                | b'*'
                | b'!'
                | b'|'
                | b'>'
                | b'\''
                | b'"'
                | b'%'
                | b'@'
                | b'`'
        )
        && b[b.len() - 1] != b':'
        && !s.contains(": ")
        && !s.contains(" #")
        && b.iter().all(|&c| {
            c.is_ascii_alphanumeric()
                || matches!(
                    c,
                    b' ' | b'_'
                        | b'-'
                        | b'.'
                        | b'/'
                        | b'+'
                        | b'%'
                        | b'='
                        | b'('
                        | b')'
                        | b'$'
                        | b':'
                        | b'@'
                        | b'~'
                )
        })
        && !s.ends_with(' ')
        && !s.starts_with(' ')
}

pub(super) fn quoted(s: &str) -> bool {
    let dq = s.len() >= 2
        && s.starts_with('"')
        && s.ends_with('"')
        && !s[1..s.len() - 1].contains(['"', '\\']);
    let sq = s.len() >= 2
        && s.starts_with('\'')
        && s.ends_with('\'')
        && !s[1..s.len() - 1].contains('\'');
    (dq || sq) && s.is_ascii()
}

/// A one-line scalar or an empty or simple flow collection.
pub(super) fn simple_value(v: &str) -> bool {
    if v == "{}" || v == "[]" {
        return true;
    }
    if let Some(inner) = v.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        return inner.split(',').all(|item| {
            let item = item.trim_matches(' ');
            (plain_word(item) && !item.contains([' ', ':'])) || quoted(item)
        });
    }
    plain_word(v) || quoted(v)
}

/// What a line of a block is.
enum Shape<'t> {
    /// `key:` — its value is on the lines below.
    Opens,
    /// `key: value`, or `- value`.
    Leaf,
    /// `- key...`: an item that starts a mapping at `indent + 2`; `Opens` or `Leaf` within.
    Item(&'t str),
}

fn shape(body: &str) -> Option<Shape<'_>> {
    if let Some(rest) = body.strip_prefix("- ") {
        if split_key(rest).is_some() {
            return Some(Shape::Item(rest));
        }
        return simple_value(rest).then_some(Shape::Leaf);
    }
    let (_, v) = split_key(body)?;
    Some(if v.is_empty() {
        Shape::Opens
    } else {
        Shape::Leaf
    })
}

/// Whether the lines under a `key:` at indentation `ind` are plain block YAML whose parse
/// cannot fail: each a simple `key:`/`key: value`/`- …` line, indented as YAML's block
/// structure requires.
fn simple_block(ind: usize, body: &[Line]) -> bool {
    #[derive(PartialEq, Clone, Copy)]
    enum Level {
        Map,
        Seq,
    }
    // Open levels (indentation, kind); the key's own mapping at the bottom.
    let mut stack: Vec<(usize, Level)> = vec![(ind, Level::Map)];
    // `Some(parent indentation)` when the previous line opened a value below it.
    let mut open: Option<usize> = Some(ind);
    for l in body {
        let Some(k) = l.indent else { continue };
        let Some(sh) = shape(l.body) else {
            return false;
        };
        let is_item = matches!(sh, Shape::Item(_)) || l.body.starts_with("- ");
        let level = if is_item { Level::Seq } else { Level::Map };
        match open.take() {
            Some(p) => {
                let ok = if is_item { k >= p } else { k > p };
                // A sequence at its key's own indentation is a value of that key only.
                if !ok || (k == p && stack.last().is_some_and(|t| t.0 == p && t.1 == Level::Seq)) {
                    return false;
                }
                stack.push((k, level));
            }
            None => {
                while stack.last().is_some_and(|t| t.0 > k) {
                    stack.pop();
                }
                // A `- ` line at a mapping's indentation continues a sequence that was the
                // value of that mapping's last key: the sequence level sits above it.
                match stack.last() {
                    Some(&(t, lv)) if t == k && lv == level && stack.len() > 1 => {}
                    _ => return false,
                }
            }
        }
        match sh {
            Shape::Opens => open = Some(k),
            Shape::Leaf => {}
            Shape::Item(rest) => {
                stack.push((k + 2, Level::Map));
                if split_key(rest).is_some_and(|(_, v)| v.is_empty()) {
                    open = Some(k + 2);
                }
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn skipped(text: &str) -> Vec<&str> {
        unread(text, &|_| false)
            .into_iter()
            .map(|r| &text[r])
            .collect()
    }

    const POD: &str = "spec:
  containers:
  - name: app
    image: app:1
    resources:
      requests:
        cpu: 500m
        memory: 128Mi
      limits:
        memory: 256Mi
    securityContext:
      runAsNonRoot: true
      capabilities:
        drop: [ALL]
    env:
    - name: A
      value: b
  volumes:
  - name: tmp
    emptyDir: {}
  - name: config
    configMap:
      name: app-config
  restartPolicy: Always
";

    #[test]
    fn unread_blocks_with_a_sibling_after_them_are_left_out() {
        let s = skipped(POD);
        assert_eq!(s.len(), 3, "{s:?}");
        assert!(s[0].starts_with("    resources:\n") && s[0].ends_with("256Mi\n"));
        assert!(s[1].starts_with("    securityContext:") && s[1].ends_with("[ALL]\n"));
        assert!(s[2].starts_with("  volumes:\n") && s[2].ends_with("app-config\n"));
    }

    #[test]
    fn the_last_key_of_a_mapping_keeps_its_first_and_last_lines_and_top_level_keys_stay() {
        let last = "spec:\n  containers:\n  - name: a\n    resources:\n      limits:\n        memory: 256Mi\n        cpu: 1000m\n        gpu: 1\n";
        assert_eq!(
            skipped(last),
            ["      limits:\n        memory: 256Mi\n        cpu: 1000m\n"]
        );
        // Before a dedent: the next container.
        let next = last.replace("gpu: 1\n", "gpu: 1\n  - name: b\n    image: b\n");
        assert_eq!(skipped(&next).len(), 1);
        // A line at the key's own indentation that is not a key: kept whole.
        let odd = last.replace("gpu: 1\n", "gpu: 1\n    # a note\n");
        assert!(skipped(&odd).is_empty());
        let top = "resources:\n  limits:\n    memory: 256Mi\n    cpu: 1000m\n    x: yyyyyyyyy\nkind: Pod\n";
        assert!(skipped(top).is_empty());
        // A key on the last line, with or without a line break.
        for end in [
            "spec:\n  labels:",
            "spec:\n  labels:\n",
            "spec:\n  labels:\n\n",
        ] {
            assert!(skipped(end).is_empty());
        }
    }

    #[test]
    fn labels_and_selectors_without_an_operator_key_are_left_out() {
        let text = "spec:\n  selector:\n    matchLabels:\n      app.kubernetes.io/name: billing\n  template:\n    metadata:\n      labels:\n        app.kubernetes.io/name: billing\n        app.kubernetes.io/part-of: identity\n      annotations:\n        a: b\n";
        assert_eq!(skipped(text).len(), 2, "{:?}", skipped(text));
        let needle = |t: &str| t.contains("instrumentation.opentelemetry.io/");
        let misplaced = text.replace(
            "part-of: identity",
            "part-of: identity\n        instrumentation.opentelemetry.io/inject-python: \"true\"",
        );
        assert_eq!(unread(&misplaced, &needle).len(), 1);
    }

    #[test]
    fn blocks_that_may_not_parse_or_hold_needles_stay() {
        for odd in [
            "      requests: &r\n        cpu: 500m\n        memory: 128Mi\n        more: xxxxxxxxxx\n",
            "      requests:\n        cpu: {a: 1}\n        memory: 128Mi\n        more: xxxxxxxxxx\n",
            "      requests:\n        cpu: |\n          500m\n        memory: 128Mi\n        more: x\n",
            "      requests:\n        cpu: 500m\n       memory: 128Mi\n        more: xxxxxxxxxx\n",
            "      requests:\n        cpu: 500m\n          memory: 128Mi\n        more: xxxxxxxxxx\n",
            "      requests:\n        cpu: 500m # half\n        memory: 128Mi\n        more: xxxxxx\n",
            "      requests:\n        cpu: \"500m\n        memory: 128Mi\n        more: xxxxxxxxxx\n",
            "      requests:\n        - cpu: 1\n        memory: 128Mi\n        more: xxxxxxxxxx\n",
        ] {
            let text = format!("spec:\n  template:\n    resources:\n{odd}    env: []\n");
            assert!(skipped(&text).is_empty(), "{text}");
        }
        let text = "spec:\n  x:\n    resources:\n      requests:\n        cpu: 500m\n        memory: 128Mi\n    env: []\n";
        assert_eq!(skipped(text).len(), 1);
        assert!(unread(text, &|t| t.contains("500m")).is_empty());
    }

    #[test]
    fn every_left_out_block_parses_cleanly_and_the_rest_parses_the_same() {
        let tail =
            "    lifecycle:\n      preStop:\n        exec:\n          command: [sleep, '5']\n";
        let pod = POD.replace("  restartPolicy: Always\n", "") + tail;
        for text in [POD, pod.as_str()] {
            same_rest(text);
        }
    }

    fn same_rest(text: &str) {
        use crate::language::Language;
        let tree = crate::syntax::parse(Language::Yaml, text, None);
        assert!(!tree.root_node().has_error());
        let ranges = unread(text, &|_| false);
        assert!(!ranges.is_empty());
        let masked = crate::syntax::parse_skipping(Language::Yaml, text, None, &ranges);
        assert!(!masked.root_node().has_error());
        assert_eq!(masked.root_node().end_byte(), tree.root_node().end_byte());
        // Without the left-out text the tree is the one of the text without those lines.
        let mut cut = String::new();
        let mut at = 0;
        for r in &ranges {
            cut.push_str(&text[at..r.start]);
            at = r.end;
        }
        cut.push_str(&text[at..]);
        let plain = crate::syntax::parse(Language::Yaml, &cut, None);
        let nodes = |t: &tree_sitter::Tree| {
            let mut all = Vec::new();
            let mut c = t.walk();
            let mut stack = vec![t.root_node()];
            while let Some(n) = stack.pop() {
                all.push((n.kind(), n.start_byte(), n.end_byte()));
                stack.extend(n.children(&mut c));
            }
            all
        };
        let shape = |t: &tree_sitter::Tree| nodes(t).into_iter().map(|n| n.0).collect::<Vec<_>>();
        assert_eq!(shape(&masked), shape(&plain));
        // Every node that starts outside a left-out block (from the line before it to the
        // end of the line after it) is in both trees, with the same extent.
        let line_start = |at: usize| {
            text[..at.saturating_sub(1)]
                .rfind('\n')
                .map_or(0, |i| i + 1)
        };
        let line_end = |at: usize| text[at..].find('\n').map_or(text.len(), |i| at + i);
        let regions: Vec<Range<usize>> = ranges
            .iter()
            .map(|r| line_start(r.start)..line_end(r.end))
            .collect();
        let outside = |t: &tree_sitter::Tree| {
            let mut v: Vec<_> = nodes(t)
                .into_iter()
                .filter(|n| !regions.iter().any(|r| r.contains(&n.1)))
                .collect();
            v.sort();
            v
        };
        assert_eq!(outside(&masked), outside(&tree));
    }

    /// The promise of [`UNREAD`]: no source names one of its keys as a string or a query
    /// literal (a rule that starts reading one takes it out of the list).
    #[test]
    fn no_source_reads_an_unread_key() {
        fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
            for e in std::fs::read_dir(dir).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, out);
                } else if p.extension().is_some_and(|x| x == "rs" || x == "scm") {
                    out.push(p);
                }
            }
        }
        let mut files = Vec::new();
        walk(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut files,
        );
        assert!(files.len() > 50);
        for f in files.iter().filter(|f| !f.ends_with("syntax/yaml_skip.rs")) {
            let text = std::fs::read_to_string(f).unwrap();
            for k in UNREAD {
                // A kustomization's `resources:` is a top-level key, which is never left out;
                // OTEL061's `resources` is the Python SDK module's name.
                let other_resources = ["syntax/kustomize.rs", "advisory/missing_service_name.rs"];
                if *k == "resources" && other_resources.iter().any(|o| f.ends_with(o)) {
                    continue;
                }
                assert!(
                    !text.contains(&format!("\"{k}\"")),
                    "{} names `{k}`: take it out of yaml_skip::UNREAD",
                    f.display()
                );
            }
        }
    }
}

//! A tolerant reading of Helm (Go template) documents.
//!
//! A chart template is not YAML: `{{- with .Values.labels }}` lines break the parse and a
//! templated value can be anything once rendered. Most Instrumentation templates, though,
//! template only their identity — `name: {{ include "x.fullname" . }}`,
//! `namespace: {{ .Release.Namespace }}`, a `labels:` block filled by `include` — and keep a
//! literal `spec`, which renders the same in every installation. [`mask`] gives such a document
//! a parseable twin of the same length: each template line of the top-level `metadata:` block is
//! blanked (whole-line actions) or has its value replaced by a placeholder of the same bytes,
//! so every node keeps its byte offsets and the original text under a placeholder still reads
//! `{{ … }}` (which every reader of names and values already takes as unknown). Whole-line
//! actions wrapping the document (`{{- if .Values.enabled }}` … `{{- end }}`) are blanked too.
//! A document with a template anywhere else is left alone: it stays unparsed, and silent.
//!
//! [`template_spans`] gives the `{{ … }}` ranges of a text, so that nothing is ever reported on
//! a templated value and no fix edits a templated line.

use std::ops::Range;

/// Whether `text` holds a Go template action (`{{`, not a GitHub Actions `${{`).
pub fn has_template(text: &str) -> bool {
    let b = text.as_bytes();
    memchr::memmem::find_iter(b, b"{{").any(|i| i == 0 || b[i - 1] != b'$')
}

/// The byte ranges of the template actions (`{{ … }}`, through the closing `}}` or the line's
/// end when unclosed) of `text`; `${{ … }}` expressions are not Go templates.
pub fn template_spans(text: &str) -> Vec<Range<usize>> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(n) = memchr::memmem::find(&b[i..], b"{{") {
        let s = i + n;
        let line_end = memchr::memchr(b'\n', &b[s..]).map_or(b.len(), |k| s + k);
        let e =
            memchr::memmem::find(&b[s + 2..line_end], b"}}").map_or(line_end, |k| s + 2 + k + 2);
        if s == 0 || b[s - 1] != b'$' {
            out.push(s..e);
        }
        i = e.max(s + 2);
    }
    out
}

/// The byte ranges of the lines (without their line break) that hold a template action.
pub fn template_lines(text: &str) -> Vec<Range<usize>> {
    let mut out: Vec<Range<usize>> = Vec::new();
    for r in template_spans(text) {
        let s = crate::syntax::yaml::line_start(text, r.start);
        let e =
            memchr::memchr(b'\n', &text.as_bytes()[r.start..]).map_or(text.len(), |k| r.start + k);
        match out.last_mut() {
            Some(last) if last.start == s => last.end = last.end.max(e),
            _ => out.push(s..e),
        }
    }
    out
}

/// How a line of a template document reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Line {
    /// Blank, a comment, `---` or `...`.
    Empty,
    /// Only template actions (`{{- if … }}`, `{{- include … | nindent 4 }}`).
    Action,
    /// `key: …{{ … }}…` or `- …{{ … }}…`: the value from this byte (of the line) on is
    /// templated.
    Value(usize),
    /// A template in some other place (a templated key, an unclosed action).
    Other,
    /// YAML without templates.
    Literal,
}

fn classify(line: &str) -> Line {
    let body = line.trim_end_matches('\r');
    let t = body.trim_start_matches(' ');
    if t.is_empty() || t.starts_with('#') || t.starts_with("---") || t.starts_with("...") {
        return if has_template(t) && !t.starts_with('#') {
            Line::Other
        } else {
            Line::Empty
        };
    }
    if !has_template(t) {
        return if t.contains("${{") {
            Line::Other
        } else {
            Line::Literal
        };
    }
    if t.contains("${{") {
        return Line::Other;
    }
    // Every action must close on its line.
    let spans = template_spans(t);
    if spans
        .iter()
        .any(|r| !t[r.clone()].ends_with("}}") || r.len() < 4)
    {
        return Line::Other;
    }
    if t.starts_with("{{") {
        // Only actions and white space between them.
        let mut at = 0;
        for r in &spans {
            if !t[at..r.start].trim().is_empty() {
                return Line::Other;
            }
            at = r.end;
        }
        return if t[at..].trim().is_empty() {
            Line::Action
        } else {
            Line::Other
        };
    }
    let indent = body.len() - t.len();
    let first = spans[0].start;
    let head = &t[..first];
    let value = match head.find(": ") {
        Some(c) => c + 2,
        None if t.starts_with("- ") => 2,
        None => return Line::Other,
    };
    if head[..value].contains(['"', '\'', '{', '[']) && !t.starts_with("- ") {
        return Line::Other;
    }
    let value = value + (t[value..].len() - t[value..].trim_start_matches(' ').len());
    Line::Value(indent + value)
}

/// Whether a line of actions only controls what is rendered (`if`, `else`, `end`, `with`,
/// comments), outputting nothing itself.
fn is_control(line: &str) -> bool {
    template_spans(line).iter().all(|r| {
        let inner = line[r.clone()]
            .trim_start_matches("{{")
            .trim_start_matches('-')
            .trim_start();
        inner.starts_with("/*")
            || ["if ", "else", "end", "with "]
                .iter()
                .any(|k| inner.starts_with(k))
    })
}

/// The top-level key a literal line at column 0 starts (`metadata` of `metadata:`).
fn top_key(line: &str) -> Option<&str> {
    if line.starts_with([' ', '-', '#', '\t']) {
        return None;
    }
    let (k, _) = line.split_once(':')?;
    Some(k.trim_matches(['"', '\'']))
}

/// A parseable twin of a template document of the same length, when its only templates are
/// in its top-level `metadata:` block or are whole-line actions before its first or after its
/// last key; `None` otherwise (and for texts without templates).
pub fn mask(src: &str) -> Option<String> {
    if !has_template(src) {
        return None;
    }
    let lines: Vec<(usize, &str)> = {
        let mut v = Vec::new();
        let mut at = 0;
        for l in src.split_inclusive('\n') {
            v.push((at, l.strip_suffix('\n').unwrap_or(l)));
            at += l.len();
        }
        v
    };
    let kinds: Vec<Line> = lines.iter().map(|(_, l)| classify(l)).collect();
    let first_literal = kinds
        .iter()
        .position(|k| *k != Line::Empty && *k != Line::Action);
    let last_literal = kinds
        .iter()
        .rposition(|k| *k != Line::Empty && *k != Line::Action);
    let mut out = src.as_bytes().to_vec();
    let mut top: Option<&str> = None;
    for (i, ((at, line), kind)) in lines.iter().zip(&kinds).enumerate() {
        let indent = line.len() - line.trim_start_matches(' ').len();
        let in_metadata = || {
            top == Some("metadata")
                && (indent > 0
                    || kinds[i + 1..]
                        .iter()
                        .zip(&lines[i + 1..])
                        .find(|(k, _)| !matches!(k, Line::Empty | Line::Action))
                        .is_some_and(|(_, (_, l))| l.starts_with(' ')))
        };
        match *kind {
            Line::Empty => {}
            Line::Literal => {
                if indent == 0 {
                    if let Some(k) = top_key(line) {
                        top = Some(k);
                    }
                }
            }
            Line::Action => {
                let wraps = indent == 0
                    && is_control(line)
                    && (first_literal.is_none_or(|f| i < f) || last_literal.is_none_or(|l| i > l));
                if !wraps && !in_metadata() {
                    return None;
                }
                let body = line.trim_end_matches('\r').len();
                out[*at..*at + body].fill(b' ');
            }
            Line::Value(v) => {
                if indent == 0 || !in_metadata() {
                    return None;
                }
                let body = line.trim_end_matches(['\r', ' ']).len();
                out[*at + v..*at + body].fill(b'_');
            }
            Line::Other => return None,
        }
    }
    // Only ASCII bytes replaced whole characters' bytes: still UTF-8.
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const INSTRUMENTATION: &str = "{{- if .Values.otel.enabled }}\napiVersion: opentelemetry.io/v1alpha1\nkind: Instrumentation\nmetadata:\n  name: {{ include \"shop.fullname\" . }}\n  namespace: {{ .Release.Namespace }}\n  labels:\n    {{- include \"shop.labels\" . | nindent 4 }}\n  {{- with .Values.annotations }}\n  annotations:\n    {{- toYaml . | nindent 4 }}\n  {{- end }}\nspec:\n  exporter:\n    endpoint: http://otel-collector:4317\n  python: {}\n{{- end }}\n";

    #[test]
    fn metadata_templates_are_masked_in_place() {
        let m = mask(INSTRUMENTATION).unwrap();
        assert_eq!(m.len(), INSTRUMENTATION.len());
        assert!(!m.contains("{{"), "{m}");
        assert!(m.contains("  name: ______"), "{m}");
        assert!(m.contains("spec:\n  exporter:\n    endpoint: http://otel-collector:4317\n"));
        let tree = crate::syntax::parse(crate::language::Language::Yaml, &m, None);
        assert!(!tree.root_node().has_error(), "{m}");
    }

    #[test]
    fn templates_outside_metadata_are_left_alone() {
        for t in [
            "kind: Instrumentation\nspec:\n  exporter:\n    endpoint: {{ .Values.endpoint }}\n",
            "kind: {{ .Values.kind }}\n",
            "metadata:\n  name: x\nspec:\n  {{- toYaml .Values.spec | nindent 2 }}\n",
            "metadata:\n  {{ .Values.key }}: x\n",
            "metadata:\n  name: {{ include \"x\"\n",
            "metadata:\n  name: x\n{{- if .Values.python }}\nspec:\n  python: {}\n{{- end }}\nstatus: {}\n",
            "metadata:\n  name: ${{ matrix.name }}\n",
            "a: 1\n",
        ] {
            assert_eq!(mask(t), None, "{t}");
        }
    }

    #[test]
    fn spans_and_lines() {
        let t = "a: {{ x }} {{ y }}\nb: ${{ z }}\n  {{- end }}\n";
        let s: Vec<&str> = template_spans(t).into_iter().map(|r| &t[r]).collect();
        assert_eq!(s, ["{{ x }}", "{{ y }}", "{{- end }}"]);
        let l: Vec<&str> = template_lines(t).into_iter().map(|r| &t[r]).collect();
        assert_eq!(l, ["a: {{ x }} {{ y }}", "  {{- end }}"]);
        assert!(!has_template("run: ${{ x }}"));
    }
}

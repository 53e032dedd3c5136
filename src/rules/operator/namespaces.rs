//! What OTEL032 and OTEL033 share: the inject annotation's string value at a place the
//! Operator reads, with the pod's explicit namespace.

use super::inject_annotation_invalid_value::locate;
use crate::rules::Match;
use crate::syntax::yaml::{scalar, Scalar};

/// An inject annotation the Operator reads, with a string value and an explicit pod
/// namespace: `(value scalar, pod namespace)`. Templated and substituted values are unknown.
/// `accept` sees the scalar's value first: where the value alone rules the case out, the
/// (costlier) placement is never worked out.
pub fn judged(m: &Match, accept: impl Fn(&str) -> bool) -> Option<(Scalar, String)> {
    let pair = m.get("pair")?;
    let key = crate::syntax::yaml::key_of(pair)?;
    if !m.text(key).contains("/inject-") {
        return None;
    }
    let early = scalar(crate::syntax::yaml::value_of(pair)?, m.chunk)?;
    if !accept(&early.value) {
        return None;
    }
    let at = locate(m, pair)?;
    if !at.full {
        return None;
    }
    let ns = at.pod_ns??;
    let s = scalar(at.value_node?, m.chunk)?;
    let v = s.value.as_str();
    if v.contains("{{") || v.contains('$') || (v.starts_with('(') && v.ends_with(')')) {
        return None;
    }
    // A YAML boolean is OTEL004's (not a string); only a quoted `"true"` is a string.
    if s.is_plain() && crate::rules::operator::model::yaml11_bool(v).is_some() {
        return None;
    }
    Some((s, ns))
}

/// The replacement text for a scalar, in its own quoting (double quotes for a plain one),
/// escaped as that quoting needs.
pub fn quoted(s: &Scalar, v: &str) -> String {
    match s.quote {
        Some('\'') => format!("'{}'", v.replace('\'', "''")),
        _ => format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::Span;

    /// A replacement with a quote or backslash in it stays one scalar of its own style
    /// (the fix fuzzer wrote `"y"]"` for an Instrumentation named `y"]`).
    #[test]
    fn quoted_escapes_what_its_style_needs() {
        let style = |quote| Scalar {
            value: String::new(),
            quote,
            span: Span::new(0, 0),
        };
        assert_eq!(quoted(&style(None), "otel"), "\"otel\"");
        assert_eq!(quoted(&style(Some('"')), r#"y"]\"#), r#""y\"]\\""#);
        assert_eq!(quoted(&style(Some('\'')), "it's"), "'it''s'");
        for v in [r#"y"]"#, r"a\b", "it's"] {
            for q in [None, Some('"'), Some('\'')] {
                let doc = format!("k: {}\n", quoted(&style(q), v));
                let tree = crate::syntax::parse(crate::language::Language::Yaml, &doc, None);
                assert!(!tree.root_node().has_error(), "{doc}");
            }
        }
    }
}

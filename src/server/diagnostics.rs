//! Engine diagnostics as LSP diagnostics: range, code, `source: "otel-lsp"`, severity and a
//! `codeDescription` link to the rule's documentation.

use super::convert::{self, Encoding};
use otel_lsp::diagnostic::{Diagnostic, Severity};
use otel_lsp::engine::suppress;
use otel_lsp::engine::SourceFile;
use otel_lsp::rules::{self, Rule};
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::OnceLock;
use tower_lsp_server::ls_types::{self as lsp, Uri};

/// The `source` of every diagnostic we publish.
pub const SOURCE: &str = "otel-lsp";

/// Where a rule is documented: its upstream page, else the README's rule section when the
/// crate names its repository.
pub fn rule_href(rule: &Rule) -> Option<Uri> {
    if !rule.url.is_empty() {
        return rule.url.parse().ok();
    }
    let repo = option_env!("CARGO_PKG_REPOSITORY").filter(|r| !r.is_empty())?;
    format!(
        "{}#{}",
        repo.trim_end_matches('/'),
        rule.code.to_ascii_lowercase()
    )
    .parse()
    .ok()
}

fn severity(s: Severity) -> lsp::DiagnosticSeverity {
    match s {
        Severity::Error => lsp::DiagnosticSeverity::ERROR,
        Severity::Warning => lsp::DiagnosticSeverity::WARNING,
        Severity::Info => lsp::DiagnosticSeverity::INFORMATION,
        Severity::Hint => lsp::DiagnosticSeverity::HINT,
    }
}

/// The documentation link of each rule, parsed once.
fn href_of(code: &str) -> Option<Uri> {
    static HREFS: OnceLock<HashMap<&'static str, Uri>> = OnceLock::new();
    HREFS
        .get_or_init(|| {
            rules::ALL
                .iter()
                .filter_map(|r| Some((r.code, rule_href(r)?)))
                .collect()
        })
        .get(code)
        .cloned()
}

/// One engine diagnostic in LSP terms, its positions found by `at` (a walk over the text
/// the diagnostic's span is in).
pub fn to_lsp(d: &Diagnostic, at: &mut convert::Positions, enc: Encoding) -> lsp::Diagnostic {
    lsp::Diagnostic {
        range: at.range(d.span, enc),
        severity: Some(severity(d.severity)),
        code: Some(lsp::NumberOrString::String(d.code.to_string())),
        code_description: href_of(d.code).map(|href| lsp::CodeDescription { href }),
        source: Some(SOURCE.to_string()),
        message: d.message.clone(),
        related_information: None,
        tags: None,
        data: None,
    }
}

/// A result id that changes exactly when the published diagnostics change. Every field is
/// hashed as it is; a field this server never sets (related information, data) is hashed
/// through its JSON.
pub fn result_id(session: u64, diags: &[lsp::Diagnostic]) -> String {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    diags.len().hash(&mut h);
    for d in diags {
        let lsp::Diagnostic {
            range,
            severity,
            code,
            code_description,
            source,
            message,
            related_information,
            tags,
            data,
        } = d;
        range.hash(&mut h);
        let rank = |s: lsp::DiagnosticSeverity| match s {
            lsp::DiagnosticSeverity::ERROR => 1u8,
            lsp::DiagnosticSeverity::WARNING => 2,
            lsp::DiagnosticSeverity::INFORMATION => 3,
            lsp::DiagnosticSeverity::HINT => 4,
            _ => 0,
        };
        severity.map(rank).hash(&mut h);
        code.hash(&mut h);
        code_description
            .as_ref()
            .map(|c| c.href.as_str())
            .hash(&mut h);
        (source, message).hash(&mut h);
        tags.as_ref()
            .map(|t| t.iter().map(|t| format!("{t:?}")).collect::<Vec<_>>())
            .hash(&mut h);
        if related_information.is_some() || data.is_some() {
            serde_json::to_string(&(related_information, data))
                .unwrap_or_default()
                .hash(&mut h);
        }
    }
    format!("{session:x}-{:x}", h.finish())
}

/// Whether a `# noqa` comment can be appended to the line where `pos` sits without changing
/// what the line means: not after a backslash continuation, and not inside a string or a
/// YAML scalar that goes on past the line.
pub fn noqa_allowed(file: &SourceFile, pos: usize) -> bool {
    let text = file.text();
    let start = suppress::line_start(text, pos);
    let end = suppress::line_end(text, pos);
    if text[start..end].trim_end().ends_with('\\') {
        return false;
    }
    let chunks = file.chunks();
    let Some(chunk) = chunks
        .get(chunks.partition_point(|c| c.start + c.len < end))
        .filter(|c| c.start <= end)
    else {
        return true;
    };
    // Inside a string or scalar that goes on past the line's end?
    let rel = end - chunk.start;
    !chunk
        .multiline_literals(file.language(), text)
        .iter()
        .any(|&(s, e)| s < rel && rel < e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use otel_lsp::language::Language;

    #[test]
    fn noqa_is_refused_inside_multiline_strings() {
        let py = "x = 1\ny = '''a\nb'''\nz = f(1,\n  2)\nw = 1 + \\\n  2\n";
        let f = otel_lsp::engine::parse(Language::Python, py.into());
        assert!(noqa_allowed(&f, 0));
        assert!(!noqa_allowed(&f, py.find("y =").unwrap()));
        assert!(noqa_allowed(&f, py.find("z =").unwrap()));
        assert!(!noqa_allowed(&f, py.find("w =").unwrap()));
        let yaml = "a: |\n  one\n  two\nb: plain\nc: \"x\n  y\"\n";
        let f = otel_lsp::engine::parse(Language::Yaml, yaml.into());
        assert!(!noqa_allowed(&f, yaml.find("one").unwrap()));
        assert!(noqa_allowed(&f, yaml.find("b:").unwrap()));
        assert!(!noqa_allowed(&f, yaml.find("c:").unwrap()));
        // Nested deep in a manifest, and in a call's argument.
        let yaml = "spec:\n  containers:\n    - name: a\n      args:\n        - |\n          one\n          two\n      image: x\n";
        let f = otel_lsp::engine::parse(Language::Yaml, yaml.into());
        assert!(!noqa_allowed(&f, yaml.find("one").unwrap()));
        assert!(noqa_allowed(&f, yaml.find("image").unwrap()));
        assert!(noqa_allowed(&f, yaml.find("name").unwrap()));
        let py = "def f():\n    g(x, '''a\n    b''')\n    h(1)\n";
        let f = otel_lsp::engine::parse(Language::Python, py.into());
        assert!(!noqa_allowed(&f, py.find("g(").unwrap()));
        assert!(noqa_allowed(&f, py.find("h(").unwrap()));
        assert!(noqa_allowed(&f, py.find("def").unwrap()));
    }

    #[test]
    fn lsp_diagnostic_carries_code_source_and_link() {
        let text = "🎉 app.run(debug=True)\n";
        let d = Diagnostic {
            code: "OTEL001",
            name: "flask-debug-reloader",
            severity: Severity::Warning,
            span: otel_lsp::diagnostic::Span::new(5, 12),
            message: "m".into(),
            fixes: vec![],
        };
        let l = to_lsp(&d, &mut convert::Positions::new(text), Encoding::Utf16);
        assert_eq!(l.range.start, lsp::Position::new(0, 3));
        assert_eq!(l.source.as_deref(), Some("otel-lsp"));
        assert_eq!(l.severity, Some(lsp::DiagnosticSeverity::WARNING));
        assert!(l
            .code_description
            .as_ref()
            .unwrap()
            .href
            .as_str()
            .starts_with("https://opentelemetry.io/"));
        let id = result_id(1, std::slice::from_ref(&l));
        assert_eq!(id, result_id(1, std::slice::from_ref(&l)));
        assert_ne!(id, result_id(1, &[]));
        assert_ne!(id, result_id(2, std::slice::from_ref(&l)));
        // Any field that reaches the client changes the id.
        let changed = [
            lsp::Diagnostic {
                message: "n".into(),
                ..l.clone()
            },
            lsp::Diagnostic {
                range: lsp::Range::new(l.range.start, lsp::Position::new(0, 9)),
                ..l.clone()
            },
            lsp::Diagnostic {
                severity: Some(lsp::DiagnosticSeverity::ERROR),
                ..l.clone()
            },
            lsp::Diagnostic {
                code: Some(lsp::NumberOrString::String("OTEL002".into())),
                ..l.clone()
            },
            lsp::Diagnostic {
                data: Some(serde_json::json!({"fix": 1})),
                ..l.clone()
            },
        ];
        for c in changed {
            assert_ne!(id, result_id(1, std::slice::from_ref(&c)), "{c:?}");
        }
        assert_ne!(id, result_id(1, &[l.clone(), l]));
    }
}

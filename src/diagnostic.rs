//! The engine's output vocabulary: byte spans, severities, edits, fixes and diagnostics.
//!
//! Everything here speaks UTF-8 byte offsets into the file's text. Editor positions (UTF-16
//! code units, lines) exist only at the edges: `server/convert.rs` and the CLI printers.

use serde::Serialize;

/// A half-open range of UTF-8 byte offsets into a file's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize)]
pub struct Span {
    /// First byte of the range.
    pub start: usize,
    /// One past the last byte of the range (equal to `start` for an empty range).
    pub end: usize,
}

impl Span {
    /// A span from `start` to `end`.
    pub const fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }

    /// An empty span at `at`, the place an insertion goes.
    pub const fn empty(at: usize) -> Self {
        Span { start: at, end: at }
    }

    /// The span moved right by `by` bytes.
    pub const fn shift(self, by: usize) -> Self {
        Span {
            start: self.start + by,
            end: self.end + by,
        }
    }

    /// Whether the two spans share at least one byte, or touch when either is empty (a
    /// cursor at either end of a diagnostic is "on" it; two adjacent ranges are not).
    pub fn intersects(self, other: Span) -> bool {
        if self.start == self.end || other.start == other.end {
            self.start <= other.end && other.start <= self.end
        } else {
            self.start < other.end && other.start < self.end
        }
    }
}

/// How serious a diagnostic is; rules have a default that configuration may override.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Telemetry is certainly lost or the manifest is rejected.
    Error,
    /// Telemetry is very likely lost, or one signal breaks.
    Warning,
    /// Hygiene and advice; the app still exports telemetry.
    Info,
    /// A faint suggestion.
    Hint,
}

impl Severity {
    /// The lower-case name used in configuration, JSON and fixtures.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
            Severity::Hint => "hint",
        }
    }

    /// Parses a configuration value (`"error"`, `"warning"`, `"info"`, `"hint"`).
    pub fn parse(s: &str) -> Option<Severity> {
        match s.to_ascii_lowercase().as_str() {
            "error" => Some(Severity::Error),
            "warning" | "warn" => Some(Severity::Warning),
            "info" | "information" => Some(Severity::Info),
            "hint" => Some(Severity::Hint),
            _ => None,
        }
    }
}

/// Replace the bytes of `span` with `new_text`; an empty span inserts.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Edit {
    /// The bytes replaced.
    pub span: Span,
    /// The replacement text.
    pub new_text: String,
}

impl Edit {
    /// Replace `span` with `text`.
    pub fn replace(span: Span, text: impl Into<String>) -> Self {
        Edit {
            span,
            new_text: text.into(),
        }
    }

    /// Insert `text` at byte `at`.
    pub fn insert(at: usize, text: impl Into<String>) -> Self {
        Edit::replace(Span::empty(at), text)
    }

    /// Delete the bytes of `span`.
    pub fn delete(span: Span) -> Self {
        Edit::replace(span, "")
    }
}

/// Whether a fix may be applied without a human looking at it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Applicability {
    /// Keeps the program's meaning apart from the pitfall: `--fix` and `source.fixAll` apply it.
    Safe,
    /// Changes behaviour a human should review: only `--unsafe-fixes` and explicit code actions.
    Unsafe,
}

/// One way to repair a finding: a set of non-overlapping edits applied together.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Fix {
    /// What the fix does, shown as the code action title.
    pub title: String,
    /// The edits, non-overlapping, in any order.
    pub edits: Vec<Edit>,
    /// Whether it is applied automatically.
    pub applicability: Applicability,
}

impl Fix {
    /// A safe fix.
    pub fn safe(title: impl Into<String>, edits: Vec<Edit>) -> Self {
        Fix {
            title: title.into(),
            edits,
            applicability: Applicability::Safe,
        }
    }

    /// An unsafe fix.
    pub fn unsafe_(title: impl Into<String>, edits: Vec<Edit>) -> Self {
        Fix {
            title: title.into(),
            edits,
            applicability: Applicability::Unsafe,
        }
    }

    /// The fix with every edit moved right by `by` bytes.
    pub fn shifted(mut self, by: usize) -> Self {
        for e in &mut self.edits {
            e.span = e.span.shift(by);
        }
        self
    }
}

/// What a rule's `check` returns: where, what, and how to repair it.
///
/// The engine stamps code, name and severity from the rule table, so a rule cannot
/// misreport itself; a rule with sub-cases of different severity sets `severity`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Finding {
    /// The reported bytes; the diagnostic's line is the line of `span.start`.
    pub span: Span,
    /// The message shown to the user.
    pub message: String,
    /// Repairs, the preferred one first.
    pub fixes: Vec<Fix>,
    /// A sub-case severity that replaces the rule's default (configuration still wins).
    pub severity: Option<Severity>,
}

impl Finding {
    /// A finding with no fix.
    pub fn new(span: Span, message: impl Into<String>) -> Self {
        Finding {
            span,
            message: message.into(),
            fixes: Vec::new(),
            severity: None,
        }
    }

    /// Adds a fix.
    pub fn with_fix(mut self, fix: Fix) -> Self {
        self.fixes.push(fix);
        self
    }

    /// Sets the sub-case severity.
    pub fn with_severity(mut self, severity: Severity) -> Self {
        self.severity = Some(severity);
        self
    }
}

/// A finding stamped with its rule's identity: what both faces show.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Diagnostic {
    /// Stable rule code, `OTEL001`.
    pub code: &'static str,
    /// Rule name, `flask-debug-reloader`.
    pub name: &'static str,
    /// Effective severity after configuration.
    pub severity: Severity,
    /// The reported bytes.
    pub span: Span,
    /// The message.
    pub message: String,
    /// Repairs, the preferred one first.
    pub fixes: Vec<Fix>,
}

impl Diagnostic {
    /// Whether any fix of this diagnostic is safe.
    pub fn has_safe_fix(&self) -> bool {
        self.fixes
            .iter()
            .any(|f| f.applicability == Applicability::Safe)
    }
}

/// Applies the edits of `fixes` to `text`, skipping any fix that overlaps one already taken.
/// Returns the new text and how many fixes were applied.
pub fn apply(text: &str, fixes: &[&Fix]) -> (String, usize) {
    let (taken, applied) = select(text, fixes);
    let mut out = String::with_capacity(text.len() + 64);
    let mut pos = 0;
    for e in taken {
        out.push_str(&text[pos..e.span.start]);
        out.push_str(&e.new_text);
        pos = e.span.end;
    }
    out.push_str(&text[pos..]);
    (out, applied)
}

/// The edits `apply` would make, sorted by position, and how many fixes they come from.
/// The language server sends these as the edits of `source.fixAll`.
pub fn select<'a>(text: &str, fixes: &[&'a Fix]) -> (Vec<&'a Edit>, usize) {
    let mut taken: Vec<&Edit> = Vec::new();
    let mut applied = 0;
    'fixes: for fix in fixes {
        // A fix whose own edits overlap is malformed: skip it rather than slice backwards.
        let mut own: Vec<&Edit> = fix.edits.iter().collect();
        own.sort_by_key(|e| (e.span.start, e.span.end));
        if own.windows(2).any(|w| w[0].span.end > w[1].span.start) {
            continue 'fixes;
        }
        for e in &fix.edits {
            if e.span.end > text.len()
                || e.span.start > e.span.end
                || !text.is_char_boundary(e.span.start)
                || !text.is_char_boundary(e.span.end)
            {
                continue 'fixes;
            }
            let clash = taken.iter().any(|t| {
                let (a, b) = (t.span, e.span);
                // Two insertions at the same point are ambiguous; otherwise strict overlap.
                (a.start < b.end && b.start < a.end)
                    || (a.start == b.start && (a.start == a.end || b.start == b.end))
            });
            if clash {
                continue 'fixes;
            }
        }
        taken.extend(fix.edits.iter());
        applied += 1;
    }
    taken.sort_by_key(|e| (e.span.start, e.span.end));
    (taken, applied)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intersects_is_strict_for_ranges_and_touching_for_cursors() {
        let s = Span::new(5, 10);
        assert!(s.intersects(Span::new(9, 12)));
        assert!(
            !s.intersects(Span::new(10, 12)),
            "adjacent ranges do not overlap"
        );
        assert!(!s.intersects(Span::new(0, 5)));
        assert!(
            s.intersects(Span::empty(10)),
            "a cursor at the end is on it"
        );
        assert!(s.intersects(Span::empty(5)));
        assert!(!s.intersects(Span::empty(11)));
        assert!(Span::empty(3).intersects(Span::empty(3)));
    }
}

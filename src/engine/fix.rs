//! The one fix applier: `check --fix`, `source.fixAll` and the tests all go through here.
//!
//! Fixes are byte edits. Overlapping fixes are applied in separate rounds (the later one is
//! re-derived from the re-checked text), and a round whose result no longer parses (when the
//! input did) is refused, so a fix never leaves a broken file behind.

use super::check;
use crate::config::Settings;
use crate::diagnostic::{Applicability, Diagnostic, Fix};
use crate::language::Language;
use crate::workspace::Workspace;
use std::path::Path;

pub use crate::diagnostic::{apply, select};

/// The outcome of fixing a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixOutcome {
    /// The fixed text (the input when nothing applied).
    pub text: String,
    /// Number of fixes applied over all rounds.
    pub applied: usize,
    /// Codes whose fixes were refused because the result would not parse.
    pub refused: Vec<&'static str>,
}

/// The fixes of `diags` that may be applied at this applicability level, preferred first.
pub fn eligible(diags: &[Diagnostic], unsafe_ok: bool) -> Vec<&Fix> {
    diags
        .iter()
        .filter_map(|d| {
            d.fixes
                .iter()
                .find(|f| unsafe_ok || f.applicability == Applicability::Safe)
        })
        .collect()
}

/// Applies fixes until none remain (at most 10 rounds), re-checking between rounds.
pub fn fix_file(
    lang: Language,
    text: &str,
    path: Option<&Path>,
    settings: &Settings,
    workspace: &Workspace,
    unsafe_ok: bool,
) -> FixOutcome {
    let mut current = text.to_string();
    let mut applied = 0;
    let mut refused: Vec<&'static str> = Vec::new();
    let input_broken = super::parse(lang, current.clone()).has_syntax_error();
    for _ in 0..10 {
        let file = super::parse(lang, current.clone());
        let diags: Vec<Diagnostic> = check(&file, path, settings, workspace)
            .into_iter()
            .filter(|d| !refused.contains(&d.code))
            .collect();
        let fixes = eligible(&diags, unsafe_ok);
        if fixes.is_empty() {
            break;
        }
        let (next, n) = apply(&current, &fixes);
        if n == 0 || next == current {
            break;
        }
        if !input_broken && super::parse(lang, next.clone()).has_syntax_error() {
            // Find the culprits one by one so the good fixes still land.
            let mut any = false;
            for d in diags
                .iter()
                .filter(|d| !eligible(std::slice::from_ref(*d), unsafe_ok).is_empty())
            {
                let fix = eligible(std::slice::from_ref(d), unsafe_ok)[0];
                let (one, _) = apply(&current, &[fix]);
                if super::parse(lang, one.clone()).has_syntax_error() {
                    if !refused.contains(&d.code) {
                        refused.push(d.code);
                    }
                } else {
                    any = true;
                }
            }
            if !any {
                break;
            }
            continue;
        }
        current = next;
        applied += n;
    }
    FixOutcome {
        text: current,
        applied,
        refused,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::{Edit, Span};

    #[test]
    fn applies_non_overlapping_and_skips_clashes() {
        let a = Fix::safe("a", vec![Edit::replace(Span::new(0, 1), "A")]);
        let b = Fix::safe("b", vec![Edit::replace(Span::new(0, 2), "BB")]);
        let c = Fix::safe("c", vec![Edit::insert(3, "!")]);
        let (out, n) = apply("xyz", &[&a, &b, &c]);
        assert_eq!((out.as_str(), n), ("Ayz!", 2));
    }

    #[test]
    fn skips_a_fix_whose_own_edits_overlap() {
        let bad = Fix::safe(
            "bad",
            vec![
                Edit::replace(Span::new(0, 5), "x"),
                Edit::replace(Span::new(2, 3), "y"),
            ],
        );
        let good = Fix::safe("good", vec![Edit::insert(7, "!")]);
        assert_eq!(
            apply("0123456", &[&bad, &good]),
            ("0123456!".to_string(), 1)
        );
    }

    #[test]
    fn rejects_out_of_range_edits() {
        let a = Fix::safe("a", vec![Edit::replace(Span::new(2, 9), "")]);
        assert_eq!(apply("xyz", &[&a]), ("xyz".to_string(), 0));
    }
}

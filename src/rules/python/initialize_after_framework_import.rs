//! OTEL002 `initialize-after-framework-import` (placeholder, being written).

use crate::diagnostic::{Finding, Severity};
use crate::language::Language;
use crate::rules::{always, FixKind, Match, Rule};

/// The rule.
pub static RULE: Rule = Rule {
    code: "OTEL002",
    name: "initialize-after-framework-import",
    language: Language::Python,
    also: &[],
    severity: Severity::Error,
    summary: "",
    docs: "",
    url: "",
    fix: FixKind::None,
    query: include_str!("../../../queries/python/initialize_after_framework_import.scm"),
    needles: &[],
    gate: always,
    check,
    scan: None,
};

fn check(_m: &Match) -> Option<Finding> {
    None
}

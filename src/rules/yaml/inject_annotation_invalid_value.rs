//! OTEL004 `inject-annotation-invalid-value` (placeholder, being written).

use crate::diagnostic::{Finding, Severity};
use crate::language::Language;
use crate::rules::{always, FixKind, Match, Rule};

/// The rule.
pub static RULE: Rule = Rule {
    code: "OTEL004",
    name: "inject-annotation-invalid-value",
    language: Language::Yaml,
    also: &[],
    severity: Severity::Error,
    summary: "",
    docs: "",
    url: "",
    fix: FixKind::None,
    query: include_str!("../../../queries/yaml/inject_annotation_invalid_value.scm"),
    needles: &[],
    gate: always,
    check,
    scan: None,
};

fn check(_m: &Match) -> Option<Finding> {
    None
}

//! OTEL003 `inject-annotation-wrong-location` (placeholder, being written).

use crate::diagnostic::{Finding, Severity};
use crate::language::Language;
use crate::rules::{always, FixKind, Match, Rule};

/// The rule.
pub static RULE: Rule = Rule {
    code: "OTEL003",
    name: "inject-annotation-wrong-location",
    language: Language::Yaml,
    also: &[],
    severity: Severity::Error,
    summary: "",
    docs: "",
    url: "",
    fix: FixKind::None,
    query: include_str!("../../../queries/yaml/inject_annotation_wrong_location.scm"),
    needles: &[],
    gate: always,
    check,
    scan: None,
};

fn check(_m: &Match) -> Option<Finding> {
    None
}

//! OTEL005 `python-operator-endpoint-4317` (placeholder, being written).

use crate::diagnostic::{Finding, Severity};
use crate::language::Language;
use crate::rules::{always, FixKind, Match, Rule};

/// The rule.
pub static RULE: Rule = Rule {
    code: "OTEL005",
    name: "python-operator-endpoint-4317",
    language: Language::Yaml,
    also: &[],
    severity: Severity::Error,
    summary: "",
    docs: "",
    url: "",
    fix: FixKind::None,
    query: include_str!("../../../queries/yaml/python_operator_endpoint_4317.scm"),
    needles: &[],
    gate: always,
    check,
    scan: None,
};

fn check(_m: &Match) -> Option<Finding> {
    None
}

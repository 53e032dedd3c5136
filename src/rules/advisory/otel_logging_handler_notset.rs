//! OTEL062 `otel-logging-handler-notset`: an OpenTelemetry `LoggingHandler` attached with
//! level NOTSET in a module that sets no log level — the root logger's default WARNING
//! filters INFO and DEBUG records before the handler ever sees them.

use super::{from_opentelemetry, imports_test_framework, non_production};
use crate::diagnostic::{Finding, Severity};
use crate::language::Language;
use crate::rules::{always, in_otel_context, Facts, FixKind, Match, Pre, Query, Rule, Topic};
use crate::syntax::python::{NotableCall, PyFacts};
use tree_sitter::Node;

/// The rule.
pub static RULE: Rule = Rule {
    code: "OTEL062",
    name: "otel-logging-handler-notset",
    topic: Topic::Advisory,
    language: Language::Python,
    also: &[],
    severity: Severity::Info,
    summary: "OpenTelemetry `LoggingHandler` at level NOTSET and no log level set: INFO records are not exported",
    docs: DOCS,
    url: "https://opentelemetry.io/docs/languages/python/instrumentation/#logs",
    fix: FixKind::None,
    query: Some(Query {
        text: include_str!("otel_logging_handler_notset.scm"),
        check,
    }),
    pre: &[Pre {
        langs: &[Language::Python],
        needles: &["LoggingHandler"],
        facts: Facts::Needles(FACT_NEEDLES),
        file: &[],
        relevant: in_otel_context,
    }],
    gate: always,
    scan: None,
    scan_per_document: false,
    trees: crate::syntax::yaml::Classes::NONE,
};

/// What the module's facts must hold: the imports that name the handler, and every call
/// that sets a level or attaches a handler, wherever it is.
const FACT_NEEDLES: &[&str] = &[
    "opentelemetry",
    "pytest",
    "unittest",
    "setLevel",
    "basicConfig",
    "dictConfig",
    "fileConfig",
    "addHandler",
    "set_logging_format",
];

const MESSAGE: &str = "This OpenTelemetry `LoggingHandler` has level NOTSET and nothing in this module sets a log level: the root logger's default WARNING drops INFO and DEBUG records before they reach the handler, so they are never exported. Set a level (`logging.basicConfig(level=logging.INFO)` or `logger.setLevel(logging.INFO)`).";

/// Whether a level argument is NOTSET (`logging.NOTSET`, `NOTSET`, `0`).
fn is_notset(t: &str) -> bool {
    matches!(
        t,
        "logging.NOTSET" | "NOTSET" | "0" | "\"NOTSET\"" | "'NOTSET'"
    )
}

/// Whether a level argument is a literal at WARNING or above (such a level never lets INFO
/// through).
fn at_least_warning(t: &str) -> bool {
    let name = t.trim_matches(['"', '\'']).rsplit('.').next().unwrap_or(t);
    matches!(
        name,
        "WARNING" | "WARN" | "ERROR" | "CRITICAL" | "FATAL" | "30" | "40" | "50"
    )
}

/// Whether a receiver is `logging.getLogger("<name>")` with a literal name other than the
/// root's: a library's logger (`getLogger("urllib3")`).
fn named_library_logger(receiver: &str) -> bool {
    let Some(arg) = receiver
        .strip_suffix(')')
        .and_then(|r| r.rsplit_once("getLogger("))
        .map(|(_, a)| a)
    else {
        return false;
    };
    let name = arg.trim_matches(['"', '\'']);
    arg.len() >= 2
        && (arg.starts_with('"') || arg.starts_with('\''))
        && !name.is_empty()
        && name != "root"
}

/// Whether a call sets a level that may let INFO records through: `basicConfig(level=…)`,
/// `dictConfig`/`fileConfig` (whatever they say), `LoggingInstrumentor().instrument(
/// set_logging_format=True)` (it calls `basicConfig` with a level), and any `setLevel(…)`
/// but a library logger's quieting (`getLogger("urllib3").setLevel(logging.WARNING)`).
fn sets_level(c: &NotableCall) -> bool {
    match c.name() {
        "basicConfig" => c.keyword("level").is_some() || c.keyword("**").is_some(),
        "dictConfig" | "fileConfig" => true,
        "instrument" => c
            .keyword("set_logging_format")
            .is_some_and(|v| v != "False"),
        "setLevel" => {
            let quieting = c.args.first().is_some_and(|a| at_least_warning(a))
                && c.receiver().is_some_and(named_library_logger);
            !quieting
        }
        _ => false,
    }
}

/// Whether the handler is attached to a logger in this module: the call is an argument of
/// `addHandler(...)` or an item of `basicConfig(handlers=[...])`, or the name it is bound to
/// is.
fn attached(m: &Match, py: &PyFacts, call: Node) -> bool {
    let Some(p) = call.parent() else {
        return false;
    };
    let direct = match p.kind() {
        "argument_list" => p
            .parent()
            .and_then(|c| c.child_by_field_name("function"))
            .is_some_and(|f| m.text(f).trim_end().ends_with("addHandler")),
        "list" | "tuple" => p
            .parent()
            .filter(|k| k.kind() == "keyword_argument")
            .and_then(|k| k.child_by_field_name("name"))
            .is_some_and(|n| m.text(n) == "handlers"),
        _ => false,
    };
    if direct {
        return true;
    }
    let Some(name) = (p.kind() == "assignment")
        .then(|| p.child_by_field_name("left"))
        .flatten()
        .filter(|l| matches!(l.kind(), "identifier" | "attribute"))
        .map(|l| m.text(l).replace(char::is_whitespace, ""))
    else {
        return false;
    };
    py.notable_calls.iter().any(|c| match c.name() {
        "addHandler" => c.args.first().is_some_and(|a| *a == name),
        "basicConfig" => c.keyword("handlers").is_some_and(|h| {
            h.trim_matches(['[', ']', '(', ')'])
                .split(',')
                .any(|x| x == name)
        }),
        _ => false,
    })
}

/// The handler's level argument: the first positional, or `level=`.
fn level_arg<'a>(m: &Match<'a, '_>, args: Node) -> Option<&'a str> {
    let mut c = args.walk();
    let kids: Vec<Node> = args
        .named_children(&mut c)
        .filter(|n| n.kind() != "comment")
        .collect();
    for k in &kids {
        if k.kind() == "keyword_argument"
            && k.child_by_field_name("name").map(|n| m.text(n)) == Some("level")
        {
            return k.child_by_field_name("value").map(|v| m.text(v));
        }
    }
    kids.first()
        .filter(|k| {
            !matches!(
                k.kind(),
                "keyword_argument" | "list_splat" | "dictionary_splat"
            )
        })
        .map(|k| m.text(*k))
}

fn check(m: &Match) -> Option<Finding> {
    let py = m.ctx.python()?;
    if non_production(m.ctx.path) || imports_test_framework(py) {
        return None;
    }
    let call = m.get("call")?;
    let func = m.get("func")?;
    let args = m.get("args")?;
    if call.has_error() {
        return None;
    }
    let callee = m.text(func).replace(char::is_whitespace, "");
    if !from_opentelemetry(py, &callee) {
        return None;
    }
    // `**kwargs` may carry a level.
    let mut c = args.walk();
    if args
        .named_children(&mut c)
        .any(|a| matches!(a.kind(), "list_splat" | "dictionary_splat"))
    {
        return None;
    }
    if let Some(level) = level_arg(m, args) {
        if !is_notset(&level.replace(char::is_whitespace, "")) {
            return None;
        }
    }
    if !attached(m, py, call) || py.notable_calls.iter().any(sets_level) {
        return None;
    }
    Some(Finding::new(m.span(call), MESSAGE))
}

const DOCS: &str = r#"## What it does
Flags an OpenTelemetry `LoggingHandler(...)` (imported from an `opentelemetry` module) created
with level NOTSET — no level argument, `level=logging.NOTSET` or `0` — and attached to a logger
in the same module (`logger.addHandler(handler)`, `logging.basicConfig(handlers=[handler])`),
when nothing in the module sets a log level.

Setting a level, anywhere in the module (inside functions too), is any of:
`logging.basicConfig(level=…)`; `logging.config.dictConfig(…)` / `fileConfig(…)` (whatever
they configure); `LoggingInstrumentor().instrument(set_logging_format=True)` (it calls
`basicConfig` with a level); and any `….setLevel(…)` — on the root logger, the logger the
handler is added to, the module's own logger or the handler itself — except a library logger
being quieted (`logging.getLogger("urllib3").setLevel(logging.WARNING)`), which lets no INFO
record through. A handler created with an explicit level other than NOTSET, with `**kwargs`,
or not attached in this module (returned by a factory, attached elsewhere) is not judged;
neither is test or example code (as for OTEL060).

## Why is this bad?
A record is first filtered by the level of the logger it is emitted on, inherited up to the
root logger, whose default is WARNING; only then do handlers see it. A NOTSET handler on the
root logger therefore exports WARNING and above only: `logger.info(...)` never reaches
OpenTelemetry, silently. Errors still arrive, so this is a hint.

## Example
```python
handler = LoggingHandler(logger_provider=logger_provider)
logging.getLogger().addHandler(handler)
logging.getLogger(__name__).info("started")  # dropped
```

## Use instead
```python
handler = LoggingHandler(logger_provider=logger_provider)
logging.getLogger().addHandler(handler)
logging.getLogger().setLevel(logging.INFO)
```

## Fix safety
No automatic fix: which level (and on which logger) is a choice about volume and cost.

## Source
- ClickStack Python guide, "Logs not appearing due to log level": the OpenTelemetry logging
  handler uses `logging.NOTSET`, which ends up at WARNING; set the level on the logger
- Python `logging` documentation: logger levels, effective level, handlers
- <https://opentelemetry.io/docs/languages/python/instrumentation/#logs>
"#;

#[cfg(test)]
mod tests {
    use crate::config::Settings;
    use crate::engine::{self, Checker};
    use crate::language::Language;
    use crate::workspace::Workspace;

    /// The level set in a function far below the handler (another chunk) counts, and typing
    /// it away inside that function body is seen by the editor's incremental check.
    #[test]
    fn a_level_in_another_chunk_counts_through_edits() {
        let mut src = String::from(
            "import logging\nfrom opentelemetry.sdk._logs import LoggingHandler\n\nlogging.getLogger().addHandler(LoggingHandler())\n",
        );
        // Enough statements for several chunks (about one cut per 4 KB).
        for i in 0..2000 {
            src.push_str(&format!("\n\ndef f{i}():\n    return {i}\n"));
        }
        src.push_str("\n\ndef main():\n    logging.getLogger().setLevel(logging.INFO)\n");
        let settings = Settings::default();
        let ws = Workspace::new();
        let mut file = engine::parse(Language::Python, src.clone());
        assert!(file.chunks().len() > 1);
        let mut checker = Checker::new();
        let codes =
            |d: &[crate::diagnostic::Diagnostic]| d.iter().filter(|d| d.code == "OTEL062").count();
        assert_eq!(codes(&checker.check(&file, None, &settings, &ws)), 0);
        let at = file.text().find("setLevel").unwrap();
        file.edit(at, at + "setLevel".len(), "getEffectiveLevel");
        let got = checker.check(&file, None, &settings, &ws);
        assert_eq!(got, engine::check(&file, None, &settings, &ws));
        assert_eq!(codes(&got), 1);
    }
}

//! Every Python rule on half-typed code: no panic in a gate, a check, a scan or the facts.

use crate::engine::FileFacts;
use crate::language::Language;
use crate::rules::{self, Context, Match};
use crate::workspace::Workspace;
use std::sync::OnceLock;
use tree_sitter::{Query, QueryCursor, StreamingIterator};

/// The Python rules with their compiled queries, if they have one (compiling is the slow
/// part).
type Compiled = (&'static rules::Rule, Option<Query>);
fn python_rules() -> &'static [Compiled] {
    static RULES: OnceLock<Vec<Compiled>> = OnceLock::new();
    RULES.get_or_init(|| {
        rules::for_language(Language::Python)
            .map(|(_, r)| {
                let query = r
                    .query
                    .as_ref()
                    .filter(|_| r.language == Language::Python)
                    .map(|q| {
                        Query::new(&Language::Python.grammar(), q.text).expect("query compiles")
                    });
                (r, query)
            })
            .collect()
    })
}

/// Runs every Python rule on `text` the way the engine does, but without its
/// `catch_unwind` (and without needles, so every query runs on every chunk): a panic in
/// a gate, a check, a scan or the module facts fails the test.
fn run_uncaught(text: &str) -> usize {
    let file = crate::engine::parse(Language::Python, text.to_string());
    assert!(matches!(file.facts(), FileFacts::Python(_)));
    let ws = Workspace::new();
    let ctx = Context::new(&file, None, &ws);
    let mut found = 0;
    for (rule, query) in python_rules() {
        let _ = (rule.gate)(&ctx);
        if let Some(scan) = rule.scan {
            found += scan(&ctx).len();
        }
        let (Some(query), Some(q)) = (query, rule.query.as_ref()) else {
            continue;
        };
        let mut cursor = QueryCursor::new();
        for chunk in file.chunks() {
            let src = &file.text()[chunk.start..chunk.start + chunk.len];
            let root = chunk.tree().expect("parsed whole").root_node();
            let mut matches = cursor.matches(query, root, src.as_bytes());
            while let Some(m) = matches.next() {
                let mt = Match {
                    ctx: &ctx,
                    chunk: src,
                    offset: chunk.start,
                    captures: m.captures,
                    names: query.capture_names(),
                    root,
                };
                if let Some(f) = (q.check)(&mt) {
                    assert!(f.span.start <= f.span.end && f.span.end <= text.len());
                    for fix in &f.fixes {
                        let _ = crate::engine::fix::apply(text, &[fix]);
                    }
                    found += 1;
                }
            }
        }
    }
    found
}

/// Every prefix of every Python fixture (half-typed code), cut at a few points per line.
#[test]
fn half_typed_code_never_panics() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/python");
    let mut texts: Vec<String> = std::fs::read_dir(dir)
        .expect("fixtures exist")
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .collect();
    texts.sort();
    assert!(!texts.is_empty());
    for text in &texts {
        let mut cut = 0;
        while cut < text.len() {
            run_uncaught(&text[..cut]);
            // Also with the rest of the file after a hole: an unclosed bracket or quote.
            run_uncaught(&format!("{}(\"\n{}", &text[..cut], &text[cut..]));
            cut += 17;
            while cut < text.len() && !text.is_char_boundary(cut) {
                cut += 1;
            }
        }
    }
}

#[test]
fn odd_inputs_never_panic() {
    for text in [
        "",
        "\n",
        "\u{feff}from flask import Flask\n",
        "from opentelemetry.instrumentation.auto_instrumentation import\ninitialize()\n",
        "from opentelemetry.instrumentation.auto_instrumentation import initialize as\n",
        "import opentelemetry.instrumentation.auto_instrumentation as\n",
        "from fastapi import FastAPI\nfrom opentelemetry.instrumentation.auto_instrumentation import initialize\ninitialize(",
        "from fastapi import FastAPI\nfrom opentelemetry.instrumentation.auto_instrumentation import initialize\n\tinitialize()\n",
        "from fastapi import FastAPI\r\nfrom opentelemetry.instrumentation.auto_instrumentation import initialize\r\ninitialize()\r",
        "from flask import Flask\nfrom opentelemetry import trace\napp = Flask(\napp.run(debug=True\n",
        "from opentelemetry import trace\napp.run(debug=)\napp.run(use_reloader=)\n().run(debug=True)\n",
        "from opentelemetry import trace\n\"\"\"unclosed\napp.run(debug=True)\n",
        "é = 1; from fastapi import FastAPI; from opentelemetry.instrumentation.auto_instrumentation import initialize; initialize()",
    ] {
        run_uncaught(text);
    }
}

//! The byte-level pre-filter: which of a language's needles a text contains.
//!
//! Each rule lists literal needles its matches must contain. One Aho-Corasick automaton per
//! language finds them all in a single pass; a chunk (or a whole file, in the CLI) with none
//! of a rule's needles is never queried for that rule, and a file with no needle of any rule
//! is never parsed.

use crate::language::Language;
use crate::rules;
use aho_corasick::{AhoCorasick, MatchKind};
use std::sync::OnceLock;

struct Table {
    lang: Language,
    ac: Option<AhoCorasick>,
}

fn tables() -> &'static [Table] {
    static T: OnceLock<Vec<Table>> = OnceLock::new();
    T.get_or_init(|| {
        Language::ALL
            .iter()
            .map(|&lang| {
                let pats = needles_of(lang);
                assert!(pats.len() <= 128, "too many needles for {lang:?}");
                let ac = (!pats.is_empty()).then(|| {
                    AhoCorasick::builder()
                        .match_kind(MatchKind::Standard)
                        .build(&pats)
                        .expect("needles are plain literals")
                });
                Table { lang, ac }
            })
            .collect()
    })
}

/// The distinct needles of a language's rules, in a stable order.
fn needles_of(lang: Language) -> Vec<&'static str> {
    let mut v: Vec<&'static str> = Vec::new();
    for (_, r) in rules::for_language(lang) {
        for n in r.needles {
            if !v.contains(n) {
                v.push(n);
            }
        }
    }
    v
}

/// Byte strings that make a file worth summarizing for the workspace even when no rule of
/// its language could match: launcher and environment keys of YAML, gunicorn settings and
/// hooks of Python config modules, framework imports (they choose fixes elsewhere).
const SUMMARY_NEEDLES: &[(Language, &[&str])] = &[
    (
        Language::Yaml,
        &["command", "args:", "env:", "environment", "services:"],
    ),
    (
        Language::Python,
        &[
            "workers",
            "worker_class",
            "post_fork",
            "fastapi",
            "flask",
            "starlette",
            "django",
        ],
    ),
];

/// The bit set of the language's needles occurring in `text`.
pub fn scan(lang: Language, text: &str) -> u128 {
    let Some(t) = tables().iter().find(|t| t.lang == lang) else {
        return 0;
    };
    let Some(ac) = &t.ac else {
        return 0;
    };
    let mut bits = 0u128;
    for m in ac.find_overlapping_iter(text) {
        bits |= 1 << m.pattern().as_usize();
    }
    bits
}

/// The needle bits of rule `idx` of `rules::ALL` in files of `lang` (a rule may run on
/// several languages, each with its own needle table); 0 when the rule has no needles
/// (always runs).
pub fn rule_mask(idx: usize, lang: Language) -> u128 {
    static MASKS: OnceLock<Vec<Vec<u128>>> = OnceLock::new();
    let masks = MASKS.get_or_init(|| {
        rules::ALL
            .iter()
            .map(|r| {
                Language::ALL
                    .iter()
                    .map(|&l| {
                        let all = needles_of(l);
                        r.needles.iter().fold(0u128, |m, n| {
                            m | all.iter().position(|x| x == n).map_or(0, |i| 1 << i)
                        })
                    })
                    .collect()
            })
            .collect()
    });
    let li = Language::ALL.iter().position(|&l| l == lang).unwrap_or(0);
    masks.get(idx).and_then(|m| m.get(li)).copied().unwrap_or(0)
}

/// Whether a whole file could match any rule of its language or carries workspace facts
/// (the CLI's skip test). Launcher kinds (Dockerfile, shell, Procfile, ini) are always
/// read: they are small and other files' diagnostics depend on them.
pub fn worth_parsing(lang: Language, text: &str) -> bool {
    worth_parsing_with(lang, text, || scan(lang, text))
}

/// [`worth_parsing`] for a parsed file: the needle bits its chunks already hold stand in for
/// a new scan (needles never contain a newline, and chunks are cut at line starts).
pub fn worth_parsing_parsed(file: &crate::engine::SourceFile) -> bool {
    worth_parsing_with(file.language(), file.text(), || {
        file.chunks().iter().fold(0, |bits, c| bits | c.needles)
    })
}

fn worth_parsing_with(lang: Language, text: &str, bits: impl FnOnce() -> u128) -> bool {
    if lang.is_launcher_kind() {
        return true;
    }
    let always = rules::for_language(lang).any(|(_, r)| r.needles.is_empty());
    always
        || bits() != 0
        || SUMMARY_NEEDLES
            .iter()
            .filter(|(l, _)| *l == lang)
            .any(|(_, ns)| {
                ns.iter()
                    .any(|n| memchr::memmem::find(text.as_bytes(), n.as_bytes()).is_some())
            })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsed_and_text_agree() {
        for (lang, text) in [
            (Language::Python, "import os\nprint(1)\n"),
            (Language::Python, "from opentelemetry import trace\napp.run(debug=True)\n"),
            (Language::Yaml, "apiVersion: v1\nkind: ConfigMap\n"),
            (Language::Yaml, "metadata:\n  annotations:\n    instrumentation.opentelemetry.io/inject-python: 'true'\n"),
        ] {
            let file = crate::engine::SourceFile::new(lang, text.to_string());
            assert_eq!(worth_parsing(lang, text), worth_parsing_parsed(&file), "{text}");
        }
    }
}

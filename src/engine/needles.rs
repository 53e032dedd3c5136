//! The byte-level pre-filter: one needle table per file kind, made from every rule's
//! [`Pre`](crate::rules::Pre) and the workspace summary's own strings, and the masks that
//! say which chunks a rule or the summary can look at.
//!
//! One Aho-Corasick automaton per kind finds every needle of a text in a single pass
//! ([`PREFILTER`], the [`Prefilter`] the source model asks). A chunk's bits then decide,
//! before any tree exists, whether it is parsed ([`crate::source::Wanted`]) and which rules'
//! queries run on it.

use crate::language::Language;
use crate::rules::{self, Facts, Rule};
use crate::source::{Prefilter, Wanted};
use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use std::sync::OnceLock;

/// Strings a file's workspace summary is made from, beyond the rules' own: what chunks the
/// summary needs parsed. YAML: the launcher and environment keys (a container, a compose
/// service, `envFrom:`) and the Operator's objects and annotations (its Instrumentations,
/// injected pods, ConfigMaps, Namespaces, collectors, and the Services whose names OTLP
/// endpoints name). Python summaries are made from every chunk (see
/// `engine::summary_wanted`), so they list none.
const SUMMARY_NEEDLES: &[(Language, &[&str])] = &[(
    Language::Yaml,
    &[
        "command",
        "args:",
        "env:",
        "envFrom",
        "env_file",
        "environment",
        "services:",
        "Instrumentation",
        "instrumentation.opentelemetry.io",
        "ConfigMap",
        "Namespace",
        "OpenTelemetryCollector",
        "kind: Service",
    ],
)];

struct Table {
    lang: Language,
    patterns: Vec<&'static str>,
    ac: Option<AhoCorasick>,
}

fn pre_strings(p: &rules::Pre) -> impl Iterator<Item = &'static str> {
    let facts: &'static [&'static str] = match p.facts {
        Facts::Needles(n) | Facts::Named(n, _) => n,
        Facts::All => &[],
    };
    p.needles.iter().chain(facts).chain(p.file).copied()
}

fn tables() -> &'static [Table] {
    static T: OnceLock<Vec<Table>> = OnceLock::new();
    T.get_or_init(|| {
        Language::ALL
            .iter()
            .map(|&lang| {
                let mut patterns: Vec<&'static str> = Vec::new();
                let mut add = |n: &'static str| {
                    if !patterns.contains(&n) {
                        patterns.push(n);
                    }
                };
                for r in rules::ALL {
                    if let Some(p) = r.pre_for(lang) {
                        pre_strings(p).for_each(&mut add);
                    }
                }
                for (l, ns) in SUMMARY_NEEDLES {
                    if *l == lang {
                        ns.iter().copied().for_each(&mut add);
                    }
                }
                assert!(patterns.len() <= 128, "too many needles for {lang:?}");
                let ac = (!patterns.is_empty()).then(|| {
                    AhoCorasick::builder()
                        .match_kind(MatchKind::Standard)
                        .kind(Some(AhoCorasickKind::DFA))
                        .build(&patterns)
                        .expect("needles are plain literals")
                });
                Table { lang, patterns, ac }
            })
            .collect()
    })
}

fn table(lang: Language) -> &'static Table {
    let t = tables();
    t.iter().find(|t| t.lang == lang).unwrap_or(&t[0])
}

/// The needle table of every file kind, as the source model's [`Prefilter`].
pub struct RuleNeedles;

/// The one prefilter of the process.
pub static PREFILTER: RuleNeedles = RuleNeedles;

impl Prefilter for RuleNeedles {
    fn scan(&self, lang: Language, text: &str) -> u128 {
        scan(lang, text)
    }

    fn skips_unread(&self) -> bool {
        true
    }

    fn reads_lines(&self) -> bool {
        true
    }
}

/// The same needles for the full path: every byte of every chunk is parsed.
pub struct FullNeedles;

/// The full path's prefilter ([`crate::engine::parse`]).
pub static FULL: FullNeedles = FullNeedles;

impl Prefilter for FullNeedles {
    fn scan(&self, lang: Language, text: &str) -> u128 {
        scan(lang, text)
    }
}

/// The bit set of the language's needles occurring in `text`.
pub fn scan(lang: Language, text: &str) -> u128 {
    let Some(ac) = &table(lang).ac else {
        return 0;
    };
    let mut bits = 0u128;
    for m in ac.find_overlapping_iter(text) {
        bits |= 1 << m.pattern().as_usize();
    }
    bits
}

/// The bytes of `text` from the first to the end of the last occurrence of a needle in
/// `mask`: every match a rule reports on contains one of its needles, so its query need
/// not look outside (`QueryCursor::set_byte_range`). `None` when none occurs.
pub fn span_of(lang: Language, mask: u128, text: &str) -> Option<std::ops::Range<usize>> {
    let ac = table(lang).ac.as_ref()?;
    let mut span: Option<std::ops::Range<usize>> = None;
    for m in ac.find_overlapping_iter(text) {
        if mask & (1 << m.pattern().as_usize()) == 0 {
            continue;
        }
        span = Some(match span {
            None => m.start()..m.end(),
            Some(s) => s.start.min(m.start())..s.end.max(m.end()),
        });
    }
    span
}

/// Where one needle occurs in a text: its bit, from the start of its first occurrence to
/// the end of its last.
pub type Place = (u128, std::ops::Range<usize>);

/// Every needle's [`Place`] in `text`, from one pass: what [`span_in`] answers from for each
/// rule's mask (instead of one [`span_of`] pass per rule).
pub fn places(lang: Language, text: &str) -> Vec<Place> {
    let Some(ac) = &table(lang).ac else {
        return Vec::new();
    };
    let mut out: Vec<Place> = Vec::new();
    for m in ac.find_overlapping_iter(text) {
        let bit = 1u128 << m.pattern().as_usize();
        match out.iter_mut().find(|p| p.0 == bit) {
            Some(p) => p.1 = p.1.start.min(m.start())..p.1.end.max(m.end()),
            None => out.push((bit, m.start()..m.end())),
        }
    }
    out
}

/// [`span_of`] from the text's [`places`].
pub fn span_in(places: &[Place], mask: u128) -> Option<std::ops::Range<usize>> {
    places
        .iter()
        .filter(|p| p.0 & mask != 0)
        .map(|p| p.1.clone())
        .reduce(|a, b| a.start.min(b.start)..a.end.max(b.end))
}

/// The bit of needle `s` in `lang`'s table, if it has one.
pub fn bit_of(lang: Language, s: &str) -> Option<u128> {
    table(lang)
        .patterns
        .iter()
        .position(|p| *p == s)
        .map(|i| 1u128 << i)
}

/// The bits of these strings in `lang`'s table (strings it lacks add nothing).
pub fn mask_of(lang: Language, strings: &[&str]) -> u128 {
    strings
        .iter()
        .filter_map(|s| bit_of(lang, s))
        .fold(0, |m, b| m | b)
}

/// Per rule and file kind: the rule's chunk needles (0: every chunk) and the chunks it
/// wants parsed (its needles and fact needles, or every chunk).
struct RuleMasks {
    needles: u128,
    wanted: Wanted,
}

fn rule_masks(idx: usize, lang: Language) -> Option<&'static RuleMasks> {
    static MASKS: OnceLock<Vec<Vec<Option<RuleMasks>>>> = OnceLock::new();
    let masks = MASKS.get_or_init(|| {
        rules::ALL
            .iter()
            .map(|r| {
                Language::ALL
                    .iter()
                    .map(|&l| {
                        let p = r.pre_for(l)?;
                        let needles = mask_of(l, p.needles);
                        let wanted = match (p.facts, p.needles.is_empty()) {
                            // It reads YAML comments from the tree, the others' without one.
                            _ if rules::is_unused_noqa(r) && l == Language::Yaml => {
                                Wanted::Bits(needles)
                            }
                            _ if rules::is_unused_noqa(r) => Wanted::Bits(0),
                            (Facts::All, _) | (_, true) => Wanted::All,
                            (Facts::Needles(f) | Facts::Named(f, _), false) => {
                                Wanted::Bits(needles | mask_of(l, f))
                            }
                        };
                        Some(RuleMasks { needles, wanted })
                    })
                    .collect()
            })
            .collect()
    });
    let li = Language::ALL.iter().position(|&l| l == lang)?;
    masks.get(idx)?.get(li)?.as_ref()
}

/// The needle bits of rule `idx` of `rules::ALL` in files of `lang`: its query runs on the
/// chunks that have one, its scan on files that do; 0 when it has none (every chunk).
pub fn rule_mask(idx: usize, lang: Language) -> u128 {
    rule_masks(idx, lang).map_or(0, |m| m.needles)
}

/// The chunks rule `idx` wants parsed in a file of `lang` it is relevant to.
pub fn rule_wanted(idx: usize, lang: Language) -> Wanted {
    rule_masks(idx, lang).map_or(Wanted::Bits(0), |m| m.wanted)
}

/// Whether rule `idx`'s needles occur in a file with these needle bits.
pub fn has_needles(idx: usize, lang: Language, bits: u128) -> bool {
    let m = rule_mask(idx, lang);
    m == 0 || bits & m != 0
}

/// The chunks a YAML stream's summary needs: its documents with a needle of any rule or of
/// the summary (Kubernetes objects, launchers and settings come from them) — but OTEL100
/// `unused-noqa`, which judges comments, not objects (its documents are parsed for its
/// check, [`rule_wanted`]).
pub fn yaml_summary_mask() -> u128 {
    static M: OnceLock<u128> = OnceLock::new();
    *M.get_or_init(|| {
        let lang = Language::Yaml;
        let mut m = 0;
        for r in rules::ALL.iter().filter(|r| !rules::is_unused_noqa(r)) {
            if let Some(p) = r.pre_for(lang) {
                m |= pre_strings(p).fold(0, |m, s| m | bit_of(lang, s).unwrap_or(0));
            }
        }
        for (l, ns) in SUMMARY_NEEDLES {
            if *l == lang {
                m |= mask_of(lang, ns);
            }
        }
        m
    })
}

/// Every needle of `lang`'s table, in bit order: the rules' and the summary's strings (the
/// fuzz dictionary, `fuzz/otel.dict`, is checked to hold them all).
pub fn patterns(lang: Language) -> &'static [&'static str] {
    &table(lang).patterns
}

/// The rule table's needles for one rule and kind, for tests and `otel-lsp rules`.
pub fn needles_of(rule: &Rule, lang: Language) -> &'static [&'static str] {
    rule.pre_for(lang).map_or(&[], |p| p.needles)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_fits_in_128_bits_and_bits_are_found() {
        for &lang in Language::ALL {
            let t = table(lang);
            assert!(t.patterns.len() <= 128);
            for (i, p) in t.patterns.iter().enumerate() {
                assert_eq!(scan(lang, &format!("x {p} y")) & (1 << i), 1 << i, "{p}");
                assert!(!p.contains('\n'), "needles never span lines: {p:?}");
            }
        }
    }

    #[test]
    fn spans_from_places_equal_spans_from_a_pass_per_mask() {
        let text = "env:\n- name: OTEL_EXPORTER_OTLP_ENDPOINT\n  value: http://c:4317\ncommand: [gunicorn, -w, '4']\nargs: [--reload]\n";
        let places = places(Language::Yaml, text);
        assert!(places.len() > 4);
        let bits: Vec<u128> = places.iter().map(|p| p.0).collect();
        let masks = [
            0b1,
            0b110,
            u128::MAX,
            bits[0],
            bits[1] | bits[3],
            bits[2] | (1 << 127),
        ];
        for m in masks {
            assert_eq!(
                span_in(&places, m),
                span_of(Language::Yaml, m, text),
                "{m:b}"
            );
        }
        assert_eq!(span_in(&[], u128::MAX), None);
    }
}

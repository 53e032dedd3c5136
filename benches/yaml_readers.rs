//! What a YAML tree costs: tree-sitter-yaml's parse of every document of a manifest corpus
//! against the line reader's (`syntax::yaml_lines`), alternated round by round on the same
//! documents, with how many of them the line reader takes. This is the figure behind the plan
//! in the README's performance section (rules on the line reader's tree instead of
//! tree-sitter's): it bounds what that change can buy.
//!
//!     cargo bench --bench yaml_readers [-- DIR [ROUNDS]]
//!
//! DIR defaults to `target/bench-anchors/corpus/yaml-gen` (built by `bench/compare yaml`).

use otel_lsp::engine;
use otel_lsp::language::Language;
use otel_lsp::syntax::{self, yaml_lines};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|x| x == "yaml" || x == "yml") {
            out.push(p);
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = args
        .first()
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target/bench-anchors/corpus/yaml-gen"));
    let rounds: usize = args.get(1).and_then(|r| r.parse().ok()).unwrap_or(5);
    let mut paths = Vec::new();
    files(&dir, &mut paths);
    paths.sort();
    if paths.is_empty() {
        eprintln!(
            "yaml_readers: no YAML under {} (run `bench/compare yaml` once to build the corpus)",
            dir.display()
        );
        return;
    }
    // Every document of every file, as the engine splits a stream.
    let mut docs: Vec<String> = Vec::new();
    for p in &paths {
        let Ok(text) = std::fs::read_to_string(p) else {
            continue;
        };
        let starts: Vec<usize> = engine::layout(Language::Yaml, &text)
            .iter()
            .map(|c| c.0)
            .collect();
        for (i, &s) in starts.iter().enumerate() {
            let e = starts.get(i + 1).copied().unwrap_or(text.len());
            docs.push(text[s..e].to_string());
        }
    }
    let bytes: usize = docs.iter().map(String::len).sum();
    let taken: Vec<bool> = docs.iter().map(|d| yaml_lines::read(d).is_some()).collect();
    let taken_bytes: usize = docs
        .iter()
        .zip(&taken)
        .filter(|(_, t)| **t)
        .map(|(d, _)| d.len())
        .sum();
    let mut ts = Vec::new();
    let mut lines = Vec::new();
    for _ in 0..rounds {
        let t = Instant::now();
        let mut nodes = 0usize;
        for d in &docs {
            nodes += syntax::parse(Language::Yaml, d, None)
                .root_node()
                .descendant_count();
        }
        ts.push(t.elapsed());
        let t = Instant::now();
        let mut taken_now = 0usize;
        for d in &docs {
            taken_now += usize::from(yaml_lines::read(d).is_some());
        }
        lines.push(t.elapsed());
        assert!(nodes > 0 && taken_now <= docs.len());
    }
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let (t, l) = (median(&mut ts), median(&mut lines));
    println!(
        "{} files, {} documents, {:.1} MB; the line reader takes {} documents ({:.1} MB, {:.0} %)",
        paths.len(),
        docs.len(),
        bytes as f64 / 1e6,
        taken.iter().filter(|t| **t).count(),
        taken_bytes as f64 / 1e6,
        100.0 * taken_bytes as f64 / bytes as f64
    );
    println!(
        "one thread, median of {rounds} alternated rounds: tree-sitter-yaml {:.0} ms ({:.1} MB/s), line reader {:.0} ms ({:.1} MB/s): {:.2}x",
        t.as_secs_f64() * 1e3,
        bytes as f64 / 1e6 / t.as_secs_f64(),
        l.as_secs_f64() * 1e3,
        bytes as f64 / 1e6 / l.as_secs_f64(),
        l.as_secs_f64() / t.as_secs_f64()
    );
}

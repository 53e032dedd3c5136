//! The line reader (`syntax::yaml_lines`, through `launch::yaml::light_facts`) reads what
//! tree-sitter-yaml reads: for every document of the fixtures, `examples/`, `tests/corpus/`
//! and a generated manifest stream that it accepts — and for thousands of mutations of
//! them — the document parses without error and its object and launch facts equal those of
//! its tree, every field of both (`fuzz/harness.rs::light_agrees`): workloads' containers,
//! scopes, imports and launchers with their spans and tokens, Instrumentations' specs. The fuzz target `light_yaml` checks the same property on what libFuzzer makes.

#[allow(dead_code)]
#[path = "../fuzz/harness.rs"]
mod harness;

use otel_lsp::engine;
use otel_lsp::language::Language;
use otel_lsp::launch::yaml::light_facts;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            yaml_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "yaml" || x == "yml") {
            out.push(p);
        }
    }
}

/// The documents of a stream.
fn documents(text: &str) -> Vec<&str> {
    let layout = engine::layout(Language::Yaml, text);
    layout
        .iter()
        .enumerate()
        .map(|(i, &(s, _))| &text[s..layout.get(i + 1).map_or(text.len(), |n| n.0)])
        .collect()
}

/// The property, as the fuzz target `light_yaml` checks it (`fuzz/harness.rs`).
fn agrees(src: &str) -> Result<bool, String> {
    harness::light_agrees(src)
}

fn generated() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let status = Command::new("python3")
        .arg(root().join("bench/gen_k8s_yaml.py"))
        .args([
            "--out",
            dir.path().to_str().unwrap(),
            "-n",
            "200",
            "--seed",
            "5",
        ])
        .stdout(std::process::Stdio::null())
        .status()
        .expect("python3 runs the generator");
    assert!(status.success());
    dir
}

fn inputs(generated: &Path) -> Vec<String> {
    let mut files = Vec::new();
    for d in ["tests/fixtures", "examples", "tests/corpus"] {
        yaml_files(&root().join(d), &mut files);
    }
    yaml_files(generated, &mut files);
    // The real manifests of the shared bench data, where this checkout has them.
    yaml_files(&root().join("../shared/bench-data/k8s-real"), &mut files);
    files.sort();
    files
        .iter()
        .filter_map(|f| std::fs::read_to_string(f).ok())
        .collect()
}

#[test]
fn every_document_read_from_its_lines_has_the_facts_of_its_tree() {
    let gen = generated();
    let texts = inputs(gen.path());
    let (mut docs, mut read, mut launching) = (0, 0, 0);
    let mut kinds = std::collections::BTreeSet::new();
    for text in &texts {
        for doc in documents(text) {
            docs += 1;
            match agrees(doc) {
                Ok(true) => {
                    read += 1;
                    if let Some((o, f)) = light_facts(doc) {
                        kinds.insert(o.kind);
                        launching += usize::from(!f.launchers.is_empty());
                    }
                }
                Ok(false) => {}
                Err(e) => panic!("{e}"),
            }
        }
    }
    // The reader is used: most documents of the generated stream, workloads among them,
    // with their containers' command lines.
    assert!(
        read * 2 > docs,
        "{read} of {docs} documents read from lines"
    );
    for k in [
        "ConfigMap",
        "Service",
        "ServiceAccount",
        "Deployment",
        "StatefulSet",
        "CronJob",
        "Job",
        "Instrumentation",
    ] {
        assert!(kinds.contains(k), "no {k} read from lines: {kinds:?}");
    }
    assert!(
        launching * 10 > read,
        "{launching} of {read} launch something"
    );
}

/// A small deterministic generator (the test must not depend on a seed from outside).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % n.max(1)
    }
}

#[test]
fn mutations_of_read_documents_are_read_the_same_or_not_at_all() {
    let gen = generated();
    let texts = inputs(gen.path());
    let read: Vec<&str> = texts
        .iter()
        .flat_map(|t| documents(t))
        .filter(|d| light_facts(d).is_some())
        .collect();
    assert!(!read.is_empty());
    // What typing and careless editing put into YAML.
    const PIECES: &[&str] = &[
        " ",
        "  ",
        ":",
        ": ",
        "-",
        "- ",
        "#",
        " #",
        "\n",
        "\n  ",
        "'",
        "\"",
        "|",
        ">",
        "{",
        "[",
        "]",
        "}",
        ",",
        "&a ",
        "*a",
        "!t ",
        "? ",
        "kind: Service\n",
        "data:\n",
        "  x: |\n",
        "---\n",
        "script: x\n",
        "\\",
        "%",
        "@",
        "`",
        "metadata:\n  name: y\n",
    ];
    let mut rng = Lcg(0x5eed);
    let (mut tried, mut still_read) = (0, 0);
    for doc in read.iter().cycle().take(6000) {
        let mut s = doc.to_string();
        for _ in 0..1 + rng.next(3) {
            let mut at = rng.next(s.len() + 1);
            while !s.is_char_boundary(at) {
                at -= 1;
            }
            match rng.next(3) {
                0 => s.insert_str(at, PIECES[rng.next(PIECES.len())]),
                1 if at < s.len() => {
                    let mut end = at + 1;
                    while !s.is_char_boundary(end) {
                        end += 1;
                    }
                    s.replace_range(at..end, "");
                }
                _ => {
                    // Re-indent a line: the block structure is what the reader must judge.
                    let line = s[..at].rfind('\n').map_or(0, |i| i + 1);
                    if rng.next(2) == 0 {
                        s.insert(line, ' ');
                    } else if s[line..].starts_with(' ') {
                        s.remove(line);
                    }
                }
            }
        }
        tried += 1;
        match agrees(&s) {
            Ok(r) => still_read += usize::from(r),
            Err(e) => panic!("after mutation: {e}"),
        }
    }
    assert!(
        still_read > tried / 10 && still_read < tried,
        "{still_read} of {tried} mutations read"
    );
}

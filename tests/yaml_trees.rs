//! Each rule reads the trees of the YAML documents it declares (`rules::Rule::trees`) and no
//! others: the command line parses a document a rule's needles are in only when it holds an
//! object of a class some rule wanting it reads, and reads the others' facts from their
//! lines. Here every rule that declares fewer than every tree is run on every YAML file of the
//! fixtures, `examples/`, `tests/corpus/`, a generated manifest stream and the shared real
//! manifests (where present) twice, on the full path (every rule everywhere, without needle
//! gates): once with every document parsed, once with only the declared trees (the other
//! documents read from their lines where the reader can); the two must report the same.
//! A declaration narrowed on purpose is shown to fail.

use otel_lsp::config::Settings;
use otel_lsp::diagnostic::Diagnostic;
use otel_lsp::engine::{self, Need};
use otel_lsp::language::Language;
use otel_lsp::rules::{self, Rule};
use otel_lsp::syntax::yaml::Classes;
use otel_lsp::workspace::Workspace;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn files(dir: &Path, out: &mut Vec<(PathBuf, Language, String)>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            files(&p, out);
        } else if let Some(lang) = Language::from_path(&p) {
            if let Ok(text) = std::fs::read_to_string(&p) {
                out.push((p, lang, text));
            }
        }
    }
}

/// A workspace of files, every one summarised whole.
struct Set {
    files: Vec<(PathBuf, Language, String)>,
    ws: Workspace,
}

fn set_of(dir: &Path) -> Set {
    let mut fs = Vec::new();
    files(dir, &mut fs);
    let mut ws = Workspace::new();
    for (path, lang, text) in &fs {
        ws.update(
            path.clone(),
            engine::summarize(&engine::parse(*lang, text.clone())),
        );
    }
    Set { files: fs, ws }
}

/// Every finding in a YAML text on the full path, with the trees `classes` says, or every
/// tree.
fn findings(classes: Option<Classes>, path: &Path, text: &str, ws: &Workspace) -> Vec<Diagnostic> {
    let file = match classes {
        None => engine::parse(Language::Yaml, text.to_string()),
        Some(c) => {
            let need = Need::trees_of(c);
            let layout = engine::layout(Language::Yaml, text);
            engine::read_layout(Language::Yaml, text.to_string(), &layout, &|_, _| need)
        }
    };
    engine::check_full(&file, Some(path), &Settings::default(), ws)
}

fn of(rule: &Rule, found: &[Diagnostic]) -> Vec<String> {
    found
        .iter()
        .filter(|d| d.code == rule.code)
        .map(|d| format!("{:?} {} {} {:?}", d.span, d.code, d.message, d.fixes))
        .collect()
}

/// The rules that read YAML and declare fewer than every tree.
fn declaring() -> Vec<&'static Rule> {
    rules::ALL
        .iter()
        .copied()
        .filter(|r| r.pre_for(Language::Yaml).is_some() && r.trees != Classes::ALL)
        .collect()
}

/// Every declaring rule on every YAML file of the set (one check per declared set of
/// classes); counts the full path's findings per rule code.
fn holds(set: &Set, counts: &mut std::collections::BTreeMap<&'static str, usize>) {
    let rules = declaring();
    let mut classes: Vec<Classes> = rules.iter().map(|r| r.trees).collect();
    classes.dedup();
    classes.sort_by_key(|c| c.0);
    classes.dedup();
    for (path, lang, text) in &set.files {
        if *lang != Language::Yaml {
            continue;
        }
        let all = findings(None, path, text, &set.ws);
        for &c in &classes {
            let declared = findings(Some(c), path, text, &set.ws);
            for rule in rules.iter().filter(|r| r.trees == c) {
                assert_eq!(
                    of(rule, &all),
                    of(rule, &declared),
                    "{} {}: with only the trees it declares ({c:?}) it reports otherwise in {}",
                    rule.code,
                    rule.name,
                    path.display()
                );
                *counts.entry(rule.code).or_default() += of(rule, &all).len();
            }
        }
    }
}

#[test]
fn rules_read_only_the_trees_they_declare() {
    let r = root();
    let mut counts = std::collections::BTreeMap::new();
    let mut dirs = vec![r.join("examples"), r.join("tests/corpus")];
    // The fixtures: the top-level ones as one workspace, each workspace folder as its own.
    let fixtures = r.join("tests/fixtures");
    let mut top = Set {
        files: Vec::new(),
        ws: Workspace::new(),
    };
    for e in std::fs::read_dir(&fixtures).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() && p.file_name().is_some_and(|n| n == "workspaces") {
            let mut ws: Vec<PathBuf> = std::fs::read_dir(&p)
                .unwrap()
                .flatten()
                .map(|e| e.path())
                .collect();
            ws.sort();
            dirs.extend(ws);
        } else if p.is_dir() {
            let s = set_of(&p);
            top.files.extend(s.files);
        }
    }
    for (path, lang, text) in &top.files {
        top.ws.update(
            path.clone(),
            engine::summarize(&engine::parse(*lang, text.clone())),
        );
    }
    holds(&top, &mut counts);
    let real = r.join("../shared/bench-data/k8s-real");
    if real.is_dir() {
        dirs.push(real);
    }
    for d in &dirs {
        holds(&set_of(d), &mut counts);
    }
    let gen = tempfile::tempdir().unwrap();
    let status = Command::new("python3")
        .arg(r.join("bench/gen_k8s_yaml.py"))
        .args([
            "--out",
            gen.path().to_str().unwrap(),
            "-n",
            "150",
            "--seed",
            "17",
        ])
        .stdout(std::process::Stdio::null())
        .status()
        .expect("python3 runs the generator");
    assert!(status.success());
    holds(&set_of(gen.path()), &mut counts);
    // The inputs exercise the declaring rules: each Operator rule and the launcher rules
    // read in YAML report somewhere.
    for code in [
        "OTEL003", "OTEL004", "OTEL005", "OTEL030", "OTEL031", "OTEL032", "OTEL033", "OTEL034",
        "OTEL035", "OTEL036", "OTEL037", "OTEL038", "OTEL039", "OTEL040", "OTEL020", "OTEL041",
    ] {
        assert!(
            counts.get(code).copied().unwrap_or(0) > 0,
            "{code} reports nowhere in the inputs: {counts:?}"
        );
    }
}

/// A declaration that leaves out a tree the rule reads is caught: OTEL100 `unused-noqa`
/// reads the comments of any document from its tree, so declared to read none it misses a
/// `# noqa` in a ConfigMap that the line reader reads.
#[test]
fn a_narrowed_declaration_fails() {
    let noqa = rules::ALL
        .iter()
        .copied()
        .find(|r| r.code == "OTEL100")
        .expect("OTEL100 exists");
    let text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n# noqa: OTEL039\ndata:\n  LOG_LEVEL: info\n";
    let path = root().join("tests/fixtures/deploy/noqa-configmap.yaml");
    let ws = Workspace::new();
    let all = of(noqa, &findings(None, &path, text, &ws));
    assert_eq!(all.len(), 1, "{all:?}");
    assert!(of(noqa, &findings(Some(Classes::NONE), &path, text, &ws)).is_empty());
    assert_eq!(
        of(noqa, &findings(Some(Classes::OTHER), &path, text, &ws)),
        all
    );
}

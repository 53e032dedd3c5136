//! The fuzz properties, one function per target (`run` dispatches by name). The same file is
//! the fuzz crate's library (`fuzz/Cargo.toml`, built by `cargo +nightly fuzz build`) and a
//! module of the stable replay test (`tests/fuzz_replay.rs`, in `cargo test`), so a
//! regression input found by the fuzzer is judged by exactly the same code on stable.
//!
//! It uses otel-lsp's public API only (the server's `serve` and `Framer` are `doc(hidden)`
//! entry points for it), and tower-lsp-server's JSON-RPC types to tell a request from a
//! response the way the server's transport does.
//!
//! Every function returns `Err(what broke)`; a fuzz target panics with it. A panic anywhere
//! is a failure too: libFuzzer's panic hook aborts at once (even inside the engine's
//! `catch_unwind` around each rule), and on stable [`panics`] counts the panics the engine
//! caught.

use arbitrary::{Arbitrary, Unstructured};
use otel_lsp::config::Settings;
use otel_lsp::diagnostic::{Applicability, Diagnostic, Edit, Fix, Span};
use otel_lsp::engine::{self, fix, Checker};
use otel_lsp::language::Language;
use otel_lsp::source::Wanted;
use otel_lsp::workspace::Workspace;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// What a property check says: `Err` names what broke.
pub type Outcome = Result<(), String>;

/// The fuzz targets, by name (their files are `fuzz/fuzz_targets/<name>.rs`).
pub const TARGETS: &[&str] = &[
    "check_python",
    "check_yaml",
    "check_dockerfile",
    "check_shell",
    "check_ini",
    "check_other",
    // Not `incremental`: Cargo reserves that name (its build folder).
    "incremental_edits",
    "fix",
    "transport",
    "light_yaml",
];

/// Runs target `name` on one input.
pub fn run(name: &str, data: &[u8]) -> Outcome {
    let out = match name {
        "check_python" => check_python(data),
        "check_yaml" => check_yaml(data),
        "check_dockerfile" => check_dockerfile(data),
        "check_shell" => check_shell(data),
        "check_ini" => check_ini(data),
        "check_other" => check_other(data),
        "incremental_edits" => incremental(data),
        "fix" => fix(data),
        "transport" => transport(data),
        "light_yaml" => light_yaml(data),
        _ => return Err(format!("no target {name}")),
    };
    out
}

// ---------------------------------------------------------------------------------------
// Panics the engine caught.

/// Panics on the server's threads (its session thread, worker, indexer and tokio's blocking
/// threads): a session's panics happen there.
static SERVER_PANICS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Panics on this thread (other tests' threads are not ours to count).
    static PANICS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// How many panics the harness has seen on this thread and on the server's (a hook
/// installed on first use counts them, then hands them to the hook that was there: the
/// default one prints, libFuzzer's aborts).
pub fn panics() -> usize {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let name = std::thread::current().name().unwrap_or("").to_string();
            if ["otel-lsp", "fuzz-server", "tokio"]
                .iter()
                .any(|p| name.starts_with(p))
            {
                SERVER_PANICS.fetch_add(1, Ordering::SeqCst);
            } else {
                PANICS.with(|p| p.set(p.get() + 1));
            }
            previous(info);
        }));
    });
    PANICS.with(|p| p.get()) + SERVER_PANICS.load(Ordering::SeqCst)
}

/// `work`, failing when it panicked, caught or not (the engine catches a rule's panic).
fn no_panic<T>(what: &str, work: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    let before = panics();
    let out = work();
    let after = panics();
    if after != before {
        return Err(format!("{what}: {} panic(s), see above", after - before));
    }
    out
}

// ---------------------------------------------------------------------------------------
// Inputs: text, file kinds and paths.

/// Text as the engine gets it: invalid UTF-8 replaced (the CLI skips a file that is not
/// UTF-8, the editor sends only UTF-8; the replaced text stands for both).
fn text_of(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

/// Where fuzzed files live (nothing is read from there).
const ROOT: &str = "/nonexistent-otel-fuzz";

/// The kinds and names a selector byte picks from (`check_other`, `incremental`, `fix`).
/// The names matter: kustomizations, compose files and gunicorn configs are known by them.
pub const KINDS: &[&str] = &[
    "app/main.py",
    "deploy/app.yaml",
    "Dockerfile",
    "scripts/start.sh",
    "uwsgi.ini",
    "Procfile",
    "Makefile",
    ".env",
    "kustomization.yaml",
    "docker-compose.yml",
    "gunicorn.conf.py",
    "config/app.env",
    "build/rules.mk",
    "Procfile.dev",
];

/// The file kinds `check_other` picks from: those without a target of their own, and
/// YAML and Python files whose names mean something.
const OTHER: &[&str] = KINDS.split_at(5).1;

fn path_of(name: &str) -> PathBuf {
    Path::new(ROOT).join(name)
}

fn language_of(name: &str) -> Language {
    Language::from_path(Path::new(name)).expect("the harness's names are known kinds")
}

/// Splits an input into the files of a workspace: the text before the first line
/// `##file <name>` is the file `first` (which may be empty); each such line starts another
/// file, named `<name>` (relative to the fuzzed root; names of no kind otel-lsp reads are
/// left out). The fixtures' workspace folders are seeded this way.
pub const FILE_MARKER: &str = "##file ";

fn bundle(first: &str, text: &str) -> Vec<(PathBuf, Language, String)> {
    let mut out = Vec::new();
    let mut name = first.to_string();
    let mut body = String::new();
    let push = |name: &str, body: String, out: &mut Vec<(PathBuf, Language, String)>| {
        if let Some(lang) = Language::from_path(Path::new(name)) {
            out.push((path_of(name), lang, body));
        }
    };
    for line in text.split_inclusive('\n') {
        if let Some(next) = line.strip_prefix(FILE_MARKER) {
            push(&name, std::mem::take(&mut body), &mut out);
            name = next.trim_end_matches(['\n', '\r']).trim().to_string();
        } else {
            body.push_str(line);
        }
    }
    push(&name, body, &mut out);
    out
}

/// The workspace of a bundle, every file summarised as the tests do (whole).
fn workspace_of(files: &[(PathBuf, Language, String)]) -> Workspace {
    let mut ws = Workspace::new();
    for (path, lang, text) in files {
        let file = engine::parse(*lang, text.clone());
        ws.update(path.clone(), engine::summarize(&file));
    }
    ws
}

// ---------------------------------------------------------------------------------------
// check_<kind>: every rule on any text, in a workspace made from the same input.

pub fn check_python(data: &[u8]) -> Outcome {
    check_bundle("app/main.py", data)
}

pub fn check_yaml(data: &[u8]) -> Outcome {
    check_bundle("deploy/app.yaml", data)
}

/// The line reader of YAML documents (`launch::yaml::light_facts`, which the command line
/// uses instead of a parse for documents only a summary reads) agrees with tree-sitter on
/// every document it accepts: the tree has no error, and the object and launch facts are
/// those of the tree.
pub fn light_yaml(data: &[u8]) -> Outcome {
    let text = text_of(data);
    let layout = engine::layout(Language::Yaml, &text);
    for (i, &(s, _)) in layout.iter().enumerate() {
        let e = layout.get(i + 1).map_or(text.len(), |n| n.0);
        no_panic("light_facts", || light_agrees(&text[s..e]))?;
    }
    Ok(())
}

/// [`light_yaml`]'s property on one document; `Ok(true)` when the line reader read it.
pub fn light_agrees(src: &str) -> Result<bool, String> {
    use otel_lsp::launch::yaml::{facts, light_facts};
    use otel_lsp::syntax::{self, yaml};
    let Some((object, launch)) = light_facts(src) else {
        return Ok(false);
    };
    let tree = syntax::parse(Language::Yaml, src, None);
    if tree.root_node().has_error() {
        return Err(format!(
            "read from lines, but its tree has an error:\n{src}"
        ));
    }
    let root = yaml::document_root(tree.root_node());
    let tree_object = root.and_then(|r| yaml::k8s_object(r, src));
    if tree_object.as_ref() != Some(&object) {
        return Err(format!(
            "objects differ:\nlines {object:?}\ntree  {tree_object:?}\n{src}"
        ));
    }
    let tree_launch = facts(root, src);
    if tree_launch != launch {
        return Err(format!(
            "launch facts differ:\nlines {launch:?}\ntree  {tree_launch:?}\n{src}"
        ));
    }
    Ok(true)
}

pub fn check_dockerfile(data: &[u8]) -> Outcome {
    check_bundle("Dockerfile", data)
}

pub fn check_shell(data: &[u8]) -> Outcome {
    check_bundle("scripts/start.sh", data)
}

pub fn check_ini(data: &[u8]) -> Outcome {
    check_bundle("uwsgi.ini", data)
}

/// The first byte picks the kind ([`OTHER`]); the rest is the text.
pub fn check_other(data: &[u8]) -> Outcome {
    let Some((&k, rest)) = data.split_first() else {
        return Ok(());
    };
    check_bundle(OTHER[k as usize % OTHER.len()], rest)
}

/// Every file of the bundle: checked (the reported spans and fixes must fit the text); the
/// lazy path (parse only what `check_wanted` and `prepare` ask) and the full path (every
/// chunk parsed, every rule run) must report the same.
fn check_bundle(first: &str, data: &[u8]) -> Outcome {
    let text = text_of(data);
    let files = bundle(first, &text);
    no_panic("check", || {
        let settings = Settings::default();
        let ws = workspace_of(&files);
        for (path, lang, text) in &files {
            let at = || format!("{} ({})", path.display(), lang.as_str());
            let file = engine::parse(*lang, text.clone());
            let diags = engine::check(&file, Some(path), &settings, &ws);
            spans_fit(text, &diags).map_err(|e| format!("{}: {e}", at()))?;
            let full = engine::check_full(&file, Some(path), &settings, &ws);
            same("check_full", &full, "check", &diags).map_err(|e| format!("{}: {e}", at()))?;
            let lazy = match engine::check_wanted(
                *lang,
                text,
                engine::needle_bits(*lang, text),
                Some(path),
                &settings,
                &ws,
            ) {
                None => Vec::new(),
                Some(wanted) => {
                    let mut f = engine::read(*lang, text.clone(), wanted);
                    engine::prepare(&mut f, Some(path), &settings, &ws);
                    engine::check(&f, Some(path), &settings, &ws)
                }
            };
            same("check of the lazily read file", &lazy, "check", &diags)
                .map_err(|e| format!("{}: {e}", at()))?;
            if *lang == Language::Yaml {
                declared_trees(text, path, &settings, &ws, &full)
                    .map_err(|e| format!("{}: {e}", at()))?;
            }
        }
        Ok(())
    })
}

/// Each rule that declares which YAML trees it reads (`rules::Rule::trees`) reports on the
/// full path with only those trees (the other documents read from their lines where the
/// reader can) what it reports with every tree (`full`).
fn declared_trees(
    text: &str,
    path: &Path,
    settings: &Settings,
    ws: &Workspace,
    full: &[Diagnostic],
) -> Outcome {
    use otel_lsp::source::Need;
    use otel_lsp::syntax::yaml::Classes;
    let rules: Vec<_> = otel_lsp::rules::ALL
        .iter()
        .filter(|r| r.pre_for(Language::Yaml).is_some() && r.trees != Classes::ALL)
        .collect();
    let mut classes: Vec<Classes> = rules.iter().map(|r| r.trees).collect();
    classes.sort_by_key(|c| c.0);
    classes.dedup();
    let layout = engine::layout(Language::Yaml, text);
    for c in classes {
        let need = Need::trees_of(c);
        let file = engine::read_layout(Language::Yaml, text.to_string(), &layout, &|_, _| need);
        let declared = engine::check_full(&file, Some(path), settings, ws);
        for r in rules.iter().filter(|r| r.trees == c) {
            let pick = |d: &[Diagnostic]| -> Vec<Diagnostic> {
                d.iter().filter(|d| d.code == r.code).cloned().collect()
            };
            same(
                "every tree",
                &pick(full),
                &format!("the trees {} declares ({c:?})", r.code),
                &pick(&declared),
            )?;
        }
    }
    Ok(())
}

fn fits(text: &str, s: Span) -> bool {
    s.start <= s.end
        && s.end <= text.len()
        && text.is_char_boundary(s.start)
        && text.is_char_boundary(s.end)
}

/// Every diagnostic's span, and every edit of every fix, lies inside `text` on character
/// boundaries with `start <= end`; a fix has edits, and they do not overlap.
pub fn spans_fit(text: &str, diags: &[Diagnostic]) -> Outcome {
    for d in diags {
        if !fits(text, d.span) {
            return Err(format!(
                "{}: span {}..{} does not fit a text of {} bytes on character boundaries",
                d.code,
                d.span.start,
                d.span.end,
                text.len()
            ));
        }
        for f in &d.fixes {
            if f.edits.is_empty() {
                return Err(format!("{}: fix {:?} has no edit", d.code, f.title));
            }
            let mut spans: Vec<Span> = f.edits.iter().map(|e| e.span).collect();
            if let Some(s) = spans.iter().find(|s| !fits(text, **s)) {
                return Err(format!(
                    "{}: fix {:?} edits {}..{}, which does not fit a text of {} bytes on character boundaries",
                    d.code, f.title, s.start, s.end, text.len()
                ));
            }
            spans.sort();
            if let Some(w) = spans.windows(2).find(|w| w[0].end > w[1].start) {
                return Err(format!(
                    "{}: fix {:?} has overlapping edits {:?} and {:?}",
                    d.code, f.title, w[0], w[1]
                ));
            }
        }
    }
    Ok(())
}

/// The two lists of diagnostics are equal; else what differs.
fn same(a_name: &str, a: &[Diagnostic], b_name: &str, b: &[Diagnostic]) -> Outcome {
    if a == b {
        return Ok(());
    }
    let only = |x: &[Diagnostic], y: &[Diagnostic]| -> Vec<String> {
        x.iter()
            .filter(|d| !y.contains(d))
            .map(|d| {
                format!(
                    "{} {}..{} {:?}",
                    d.code, d.span.start, d.span.end, d.message
                )
            })
            .collect()
    };
    Err(format!(
        "{a_name} and {b_name} differ: only in {a_name}: {:?}; only in {b_name}: {:?}",
        only(a, b),
        only(b, a)
    ))
}

// ---------------------------------------------------------------------------------------
// incremental_edits: the editor's checker through a sequence of edits equals a fresh check.

/// One edit of the fuzzed script: at a position (taken modulo the text's length, moved
/// back to a character boundary), delete some bytes and insert something.
#[derive(Arbitrary, Debug)]
pub struct EditOp {
    at: u16,
    delete: u8,
    insert: Insert,
}

#[derive(Arbitrary, Debug)]
enum Insert {
    /// Any text.
    Text(String),
    /// One of the file kind's needles (what makes rules look).
    Needle(u8),
    /// A copy of a piece of the text (a paste).
    Copy {
        from: u16,
        len: u8,
    },
    Newline,
    /// A YAML document separator or a Python block opener, which move chunk boundaries.
    Boundary(bool),
    Nothing,
}

/// At most this many edits per input, on at most this many bytes of text: each edit costs
/// about seven parses and checks, and an input must stay well under libFuzzer's 1 s limit
/// (a hang) unless the engine itself is slow.
const MAX_EDITS: usize = 8;
const MAX_TEXT: usize = 4096;

fn floor_boundary(text: &str, mut at: usize) -> usize {
    at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn ceil_boundary(text: &str, mut at: usize) -> usize {
    at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at += 1;
    }
    at
}

/// The edit `op` makes of `text`: `(start, end, inserted)` on character boundaries.
fn edit_of(op: &EditOp, text: &str, lang: Language) -> (usize, usize, String) {
    let start = floor_boundary(text, op.at as usize % (text.len() + 1));
    let end = ceil_boundary(text, start + op.delete as usize % 16);
    let insert = match &op.insert {
        Insert::Text(s) => s.clone(),
        Insert::Needle(i) => {
            let n = engine::needles::patterns(lang);
            if n.is_empty() {
                String::new()
            } else {
                n[*i as usize % n.len()].to_string()
            }
        }
        Insert::Copy { from, len } => {
            let a = floor_boundary(text, *from as usize % (text.len() + 1));
            let b = floor_boundary(text, a + *len as usize);
            text[a..b].to_string()
        }
        Insert::Newline => "\n".into(),
        Insert::Boundary(true) => "\n---\n".into(),
        Insert::Boundary(false) => "\nif x:\n    ".into(),
        Insert::Nothing => String::new(),
    };
    (start, end, insert)
}

/// The input: a selector byte ([`KINDS`]), the text up to the first NUL byte (its first
/// [`MAX_TEXT`] bytes), then the edit script (`arbitrary`, from the bytes after it).
pub fn incremental(data: &[u8]) -> Outcome {
    let Some((&k, rest)) = data.split_first() else {
        return Ok(());
    };
    let name = KINDS[k as usize % KINDS.len()];
    let (text, script) = match rest.iter().position(|&b| b == 0) {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &[][..]),
    };
    let mut text = text_of(text);
    text.truncate(floor_boundary(&text, MAX_TEXT));
    let mut u = Unstructured::new(script);
    let mut ops = Vec::new();
    while ops.len() < MAX_EDITS && !u.is_empty() {
        match EditOp::arbitrary(&mut u) {
            Ok(op) => ops.push(op),
            Err(_) => break,
        }
    }
    if ops.is_empty() {
        // Still a script of one edit: type a character in the middle, then take it back.
        let mid = floor_boundary(&text, text.len() / 2);
        ops.push(EditOp {
            at: mid as u16,
            delete: 0,
            insert: Insert::Text("x".into()),
        });
        ops.push(EditOp {
            at: mid as u16,
            delete: 1,
            insert: Insert::Nothing,
        });
    }
    no_panic("incremental", || edits_equal_fresh(name, text, &ops))
}

/// Two editors at once, as `tests/rules.rs` holds on the fixtures: (1) a file parsed whole
/// and edited in place, its `Checker` against `engine::check` of a fresh parse, its summary
/// against `engine::summarize`, its facts against the fresh file's; (2) the language
/// server's lazy path (`worker.rs`: parse what the summary and the relevant rules want,
/// `prepare`, check incrementally) against `engine::check_full` of a fresh parse.
pub fn edits_equal_fresh(name: &str, text: String, ops: &[EditOp]) -> Outcome {
    let settings = Settings::default();
    let lang = language_of(name);
    let path = path_of(name);
    let path = Some(path.as_path());
    let mut ws = Workspace::new();
    let mut whole = engine::parse(lang, text.clone());
    let mut whole_checker = Checker::new();
    ws.update(path_of(name), engine::summarize(&whole));
    let _ = whole_checker.check(&whole, path, &settings, &ws);
    let mut lazy = engine::read(lang, text, Wanted::Bits(0));
    let mut lazy_ws = Workspace::new();
    let mut lazy_checker = Checker::new();
    for (step, op) in ops.iter().enumerate() {
        let (s, e, t) = edit_of(op, whole.text(), lang);
        let before = whole.text().to_string();
        let at = |what: &str| format!("edit {step} ({s}..{e} {t:?}) of {before:?}: {what}");
        whole.edit(s, e, &t);
        lazy.edit(s, e, &t);
        if whole.text() != lazy.text() {
            return Err(at("the two edited texts differ"));
        }
        let fresh = engine::parse(lang, whole.text().to_string());

        // (1) the whole file.
        let summary = engine::summarize(&whole);
        if whole_checker.summarize(&whole) != summary {
            return Err(at("the checker's summary differs from engine::summarize"));
        }
        if summary != engine::summarize(&fresh) {
            return Err(at("the edited file's summary differs from a fresh parse's"));
        }
        if whole.facts() != fresh.facts() {
            return Err(at("the edited file's facts differ from a fresh parse's"));
        }
        if whole.launch() != fresh.launch() {
            return Err(at(
                "the edited file's launch facts differ from a fresh parse's",
            ));
        }
        if whole.has_syntax_error() != fresh.has_syntax_error() {
            return Err(at(
                "the edited file's syntax error differs from a fresh parse's",
            ));
        }
        ws.update(path_of(name), summary);
        let want = engine::check(&fresh, path, &settings, &ws);
        let got = whole_checker.check(&whole, path, &settings, &ws);
        spans_fit(whole.text(), &got).map_err(|e| at(&e))?;
        same("the incremental check", &got, "a fresh check", &want).map_err(|e| at(&e))?;

        // (2) the server's lazy path.
        let bits = lazy.needle_bits();
        let launched = lang == Language::Python && !lazy_ws.launched_by(&path_of(name)).is_empty();
        let summary_wanted = match lang {
            Language::Python if !launched => None,
            _ => engine::summary_wanted_for(lang, bits, path),
        };
        let check_wanted = engine::check_wanted(lang, lazy.text(), bits, path, &settings, &lazy_ws);
        let wanted = [summary_wanted, check_wanted]
            .into_iter()
            .flatten()
            .fold(Wanted::Bits(0), Wanted::or);
        if wanted != lazy.wanted() {
            lazy.want(wanted);
        }
        if check_wanted.is_some() {
            engine::prepare(&mut lazy, path, &settings, &lazy_ws);
        }
        if summary_wanted.is_some() {
            lazy_ws.update(path_of(name), lazy_checker.summarize(&lazy));
        }
        let want = engine::check_full(&fresh, path, &settings, &lazy_ws);
        let got = match check_wanted {
            Some(_) => lazy_checker.check(&lazy, path, &settings, &lazy_ws),
            None => Vec::new(),
        };
        same("the lazy incremental check", &got, "a full check", &want).map_err(|e| at(&e))?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// fix: every fix on its own, and all of them through the fixer.

/// The input: a selector byte ([`KINDS`]), then the text (a bundle, as for `check_*`).
pub fn fix(data: &[u8]) -> Outcome {
    let Some((&k, rest)) = data.split_first() else {
        return Ok(());
    };
    let text = text_of(rest);
    let files = bundle(KINDS[k as usize % KINDS.len()], &text);
    no_panic("fix", || {
        let ws = workspace_of(&files);
        for (path, lang, text) in &files {
            fixes_hold(*lang, text, path, &ws).map_err(|e| format!("{}: {e}", path.display()))?;
        }
        Ok(())
    })
}

/// Where offset `p` of the old text is after `edits` (sorted, non-overlapping): moved by
/// the edits that end at or before it (an insertion at `p` goes before it); inside a
/// replaced range, at the replacement's start.
fn map_offset(p: usize, edits: &[&Edit]) -> usize {
    let mut delta: isize = 0;
    for e in edits {
        if e.span.end <= p {
            delta += e.new_text.len() as isize - (e.span.end - e.span.start) as isize;
        } else if e.span.start <= p && p < e.span.end {
            return (e.span.start as isize + delta) as usize;
        }
    }
    (p as isize + delta) as usize
}

fn line_start(text: &str, at: usize) -> usize {
    text[..floor_boundary(text, at)]
        .rfind('\n')
        .map_or(0, |i| i + 1)
}

/// The finding `d` come back after its own fix: the diagnostics of `after` (the text
/// `fix_edits` made of `before`) with `d`'s code and message on the line where `d`'s line
/// went, unless another diagnostic of that code in `before` went to that line too. (One
/// diagnostic per rule and line is reported, so a second finding of the rule on `d`'s line,
/// with another message, may show once `d` is fixed; a fix may also make a new finding
/// elsewhere. Neither is `d` coming back.)
pub fn come_back<'a>(
    d: &Diagnostic,
    before_diags: &[Diagnostic],
    before: &str,
    fix_edits: &[&Edit],
    after: &str,
    after_diags: &'a [Diagnostic],
) -> Vec<&'a Diagnostic> {
    let line_after = |p: usize| line_start(after, map_offset(line_start(before, p), fix_edits));
    let home = line_after(d.span.start);
    let others: Vec<usize> = before_diags
        .iter()
        .filter(|e| {
            e.code == d.code && line_start(before, e.span.start) != line_start(before, d.span.start)
        })
        .map(|e| line_after(e.span.start))
        .collect();
    after_diags
        .iter()
        .filter(|a| {
            a.code == d.code && a.message == d.message && line_start(after, a.span.start) == home
        })
        .filter(|_| !others.contains(&home))
        .collect()
}

/// For one file: each fix of each diagnostic, on its own, applies, keeps a file that parsed
/// parsing, and does not bring back its own finding on its line; the fixer (`--fix`, and
/// `--fix --unsafe-fixes`) keeps a parsing file parsing, and a second pass changes nothing.
pub fn fixes_hold(lang: Language, text: &str, path: &Path, ws: &Workspace) -> Outcome {
    let settings = Settings::default();
    let file = engine::parse(lang, text.to_string());
    let parsed = !file.has_syntax_error();
    let diags = engine::check(&file, Some(path), &settings, ws);
    spans_fit(text, &diags)?;
    for d in &diags {
        for f in &d.fixes {
            let what = format!("the {} fix {:?} of {}", kind_of(f), f.title, d.code);
            let (fixed, n) = fix::apply(text, &[f]);
            if n != 1 {
                return Err(format!("{what} did not apply"));
            }
            let after = engine::parse(lang, fixed.clone());
            if parsed && after.has_syntax_error() {
                return Err(format!(
                    "{what} leaves a file that does not parse:\n{fixed}"
                ));
            }
            let after_diags = engine::check(&after, Some(path), &settings, ws);
            let mut edits: Vec<&Edit> = f.edits.iter().collect();
            edits.sort_by_key(|e| (e.span.start, e.span.end));
            let back = come_back(d, &diags, text, &edits, &fixed, &after_diags);
            if let Some(b) = back.first() {
                return Err(format!(
                    "{what} at {}..{} does not clear it: it is reported again at {}..{} ({:?}):\n{fixed}",
                    d.span.start, d.span.end, b.span.start, b.span.end, b.message
                ));
            }
        }
    }
    for unsafe_ok in [false, true] {
        let what = if unsafe_ok {
            "--fix --unsafe-fixes"
        } else {
            "--fix"
        };
        let once = fix::fix_file(lang, text, Some(path), &settings, ws, unsafe_ok);
        if parsed && engine::parse(lang, once.text.clone()).has_syntax_error() {
            return Err(format!(
                "{what} leaves a file that does not parse:\n{}",
                once.text
            ));
        }
        let twice = fix::fix_file(lang, &once.text, Some(path), &settings, ws, unsafe_ok);
        if twice.text != once.text {
            return Err(format!(
                "a second {what} still changed the file ({} more fixes):\n{}\n-- became --\n{}",
                twice.applied, once.text, twice.text
            ));
        }
    }
    Ok(())
}

fn kind_of(f: &Fix) -> &'static str {
    match f.applicability {
        Applicability::Safe => "safe",
        Applicability::Unsafe => "unsafe",
    }
}

// ---------------------------------------------------------------------------------------
// transport: the stdin filter's framing, and JSON-RPC sessions with the server.

use serde_json::{json, Value};
use tower_lsp_server::jsonrpc::{Id, Request, Response};

/// The input: a mode byte, then either raw bytes (mode even: what a client might write to
/// the server's stdin) or a message script (mode odd: `arbitrary`). Either way the bytes
/// are framed by the server's filter (`server::Framer`), which must frame alike however the
/// input is split into reads and pass on only well-formed messages; then a session with
/// the real server (in this process, over in-memory pipes) must answer every request it
/// reads before `exit`.
pub fn transport(data: &[u8]) -> Outcome {
    let Some((&mode, rest)) = data.split_first() else {
        return Ok(());
    };
    let stream = if mode & 1 == 0 {
        rest.to_vec()
    } else {
        script(rest)
    };
    let chunk = 1 + (mode >> 1) as usize;
    let frames = no_panic("framing", || framing_holds(&stream, chunk))?;
    let frames: Vec<Vec<u8>> = frames.iter().map(|f| sanitized(f)).collect();
    no_panic("session", || session(&frames))
}

/// The body of a frame `Content-Length: N\r\n\r\n<N bytes>`.
fn body_of(frame: &[u8]) -> Option<&[u8]> {
    let end = frame.windows(4).position(|w| w == b"\r\n\r\n")?;
    let header = std::str::from_utf8(&frame[..end]).ok()?;
    let n: usize = header.strip_prefix("Content-Length: ")?.parse().ok()?;
    let body = &frame[end + 4..];
    (body.len() == n).then_some(body)
}

fn frame(body: &[u8]) -> Vec<u8> {
    let mut f = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    f.extend_from_slice(body);
    f
}

/// The filter's frames of `stream`, read whole and read `chunk` bytes at a time: the same
/// frames and the same unfinished rest either way, each frame well-formed with a body that
/// decodes as a JSON-RPC request or response.
pub fn framing_holds(stream: &[u8], chunk: usize) -> Result<Vec<Vec<u8>>, String> {
    let mut whole = otel_lsp::server::Framer::default();
    let frames = whole.push(stream);
    let mut pieces = otel_lsp::server::Framer::default();
    let mut chunked = Vec::new();
    for piece in stream.chunks(chunk.max(1)) {
        chunked.extend(pieces.push(piece));
    }
    if chunked != frames {
        return Err(format!(
            "reading {chunk} bytes at a time gives other frames ({} instead of {})",
            chunked.len(),
            frames.len()
        ));
    }
    if pieces.pending() != whole.pending() {
        return Err(format!(
            "reading {chunk} bytes at a time leaves another rest ({} bytes instead of {})",
            pieces.pending().len(),
            whole.pending().len()
        ));
    }
    for f in &frames {
        let body = body_of(f).ok_or("a frame passed on is not `Content-Length: N` + N bytes")?;
        if serde_json::from_slice::<Response>(body).is_err()
            && serde_json::from_slice::<Request>(body).is_err()
        {
            return Err(format!(
                "a frame passed on is no JSON-RPC message: {}",
                String::from_utf8_lossy(body)
            ));
        }
    }
    Ok(frames)
}

/// The frame with every `file:` URI in it moved under [`ROOT`] (keeping its file name): a
/// session never reads or indexes a real folder.
fn sanitized(frame_bytes: &[u8]) -> Vec<u8> {
    fn walk(v: &mut Value) {
        match v {
            Value::String(s)
                if s.as_bytes()
                    .get(..5)
                    .is_some_and(|p| p.eq_ignore_ascii_case(b"file:")) =>
            {
                let name: String = s
                    .rsplit('/')
                    .next()
                    .unwrap_or("")
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric() || "._-".contains(*c))
                    .collect();
                *s = format!("file://{ROOT}/{name}");
            }
            Value::Array(a) => a.iter_mut().for_each(walk),
            Value::Object(o) => o.values_mut().for_each(walk),
            _ => {}
        }
    }
    let Some(body) = body_of(frame_bytes) else {
        return frame_bytes.to_vec();
    };
    match serde_json::from_slice::<Value>(body) {
        Ok(mut v) => {
            walk(&mut v);
            frame(v.to_string().as_bytes())
        }
        Err(_) => frame_bytes.to_vec(),
    }
}

/// What the server makes of a frame, as its transport decodes it (a response first).
enum Incoming {
    Response(Response),
    Request(Request),
    Other,
}

fn decode(body: &[u8]) -> Incoming {
    // The server's codec reads a body as UTF-8 first, and ends its stream on one that is
    // not — though `from_slice` would take it for a request: it does not check the UTF-8 of
    // the fields it skips. The server's filter passes on only UTF-8 (`transport::judge`
    // reads the bad bytes as U+FFFD), so a frame that is not UTF-8 expects no answer.
    let Ok(text) = std::str::from_utf8(body) else {
        return Incoming::Other;
    };
    if let Ok(r) = serde_json::from_str::<Response>(text) {
        return Incoming::Response(r);
    }
    match serde_json::from_str::<Request>(text) {
        Ok(r) => Incoming::Request(r),
        Err(_) => Incoming::Other,
    }
}

/// The ids of the requests among `frames` that the server reads: those before the first
/// `exit` (the server stops reading there).
pub fn expected_answers(frames: &[Vec<u8>]) -> Vec<Id> {
    let mut out = Vec::new();
    for f in frames {
        let Some(body) = body_of(f) else { continue };
        if let Incoming::Request(r) = decode(body) {
            if r.method() == "exit" {
                break;
            }
            if let Some(id) = r.id() {
                out.push(id.clone());
            }
        }
    }
    out
}

/// The requests of `expected` that `answered` does not answer (each answer answers one).
pub fn unanswered(expected: &[Id], answered: &[Id]) -> Vec<Id> {
    let mut left = answered.to_vec();
    let mut out = Vec::new();
    for id in expected {
        match left.iter().position(|a| a == id) {
            Some(i) => {
                left.swap_remove(i);
            }
            None => out.push(id.clone()),
        }
    }
    out
}

/// How long a session may take in all (libFuzzer's `-timeout` is shorter).
const SESSION_LIMIT: Duration = Duration::from_secs(20);

/// Plays `frames` to the server (its own thread, in-memory pipes) as a client would:
/// writes them, answers the server's own requests, and closes its input once every request
/// is answered. Fails on a request left unanswered, a panic, or a server that does not end.
pub fn session(frames: &[Vec<u8>]) -> Outcome {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let expected = expected_answers(frames);
    let (mut to_server, server_in) = tokio::io::duplex(1 << 16);
    let (server_out, mut from_server) = tokio::io::duplex(1 << 16);
    let server = std::thread::Builder::new()
        .name("fuzz-server".into())
        .spawn(move || otel_lsp::server::serve(server_in, server_out))
        .map_err(|e| format!("cannot start the server thread: {e}"))?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let frames = frames.to_vec();
    let result: Outcome = rt.block_on(async move {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Option<Vec<u8>>>();
        // The writer: our frames, then the answers to the server's requests; `None` closes.
        let writer = tokio::spawn(async move {
            while let Some(Some(bytes)) = rx.recv().await {
                if to_server.write_all(&bytes).await.is_err() {
                    break;
                }
            }
            let _ = to_server.shutdown().await;
        });
        for f in frames {
            let _ = tx.send(Some(f));
        }
        let mut answered: Vec<Id> = Vec::new();
        let mut buf: Vec<u8> = Vec::new();
        let mut chunk = vec![0u8; 1 << 16];
        let mut closed = false;
        let deadline = tokio::time::Instant::now() + SESSION_LIMIT;
        loop {
            if !closed && unanswered(&expected, &answered).is_empty() {
                let _ = tx.send(None);
                closed = true;
            }
            let n = match tokio::time::timeout_at(deadline, from_server.read(&mut chunk)).await {
                Err(_) => {
                    return Err(format!(
                        "the session did not end within {SESSION_LIMIT:?}; unanswered: {:?}",
                        unanswered(&expected, &answered)
                    ))
                }
                Ok(Ok(0)) | Ok(Err(_)) => break,
                Ok(Ok(n)) => n,
            };
            buf.extend_from_slice(&chunk[..n]);
            while let Some((body, used)) = next_frame(&buf)? {
                match decode(&body) {
                    Incoming::Response(r) => answered.push(r.id().clone()),
                    Incoming::Request(r) => {
                        if let Some(id) = r.id() {
                            // The server asks (configuration, registration): answer.
                            let answer = json!({"jsonrpc": "2.0", "id": id, "result": null});
                            let _ = tx.send(Some(frame(answer.to_string().as_bytes())));
                        }
                    }
                    Incoming::Other => {
                        return Err(format!(
                            "the server wrote something that is no JSON-RPC message: {}",
                            String::from_utf8_lossy(&body)
                        ))
                    }
                }
                buf.drain(..used);
            }
        }
        let _ = tx.send(None);
        let _ = writer.await;
        let left = unanswered(&expected, &answered);
        if !left.is_empty() {
            return Err(format!("requests left unanswered: {left:?}"));
        }
        Ok(())
    });
    let joined = server.join();
    result?;
    match joined {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(format!("the server did not start: {e}")),
        Err(_) => Err("the server thread panicked".into()),
    }
}

/// The first complete frame the server wrote, and how many bytes it took.
fn next_frame(buf: &[u8]) -> Result<Option<(Vec<u8>, usize)>, String> {
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Ok(None);
    };
    let header = std::str::from_utf8(&buf[..end]).map_err(|_| "a header that is not UTF-8")?;
    let n: usize = header
        .split("\r\n")
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| format!("the server wrote a header without Content-Length: {header:?}"))?;
    if buf.len() < end + 4 + n {
        return Ok(None);
    }
    Ok(Some((buf[end + 4..end + 4 + n].to_vec(), end + 4 + n)))
}

/// A message of a fuzzed session script.
#[derive(Arbitrary, Debug)]
enum Msg {
    Initialize {
        pull: bool,
        utf8: bool,
        watch: bool,
        configuration: bool,
        document_changes: bool,
        root: bool,
        options: Option<Config>,
    },
    Initialized,
    Open {
        doc: u8,
        version: i8,
        text: Vec<Piece>,
    },
    Change {
        doc: u8,
        version: i8,
        changes: Vec<Change>,
    },
    Close {
        doc: u8,
    },
    Hover {
        doc: u8,
        at: Pos,
    },
    CodeAction {
        doc: u8,
        start: Pos,
        end: Pos,
        fix_all: bool,
    },
    Diagnostic {
        doc: u8,
        previous: Option<u8>,
    },
    Configuration(Option<Config>),
    WatchedFiles {
        doc: u8,
        config: bool,
    },
    Cancel {
        back: u8,
    },
    Unknown {
        request: bool,
        name: u8,
    },
    Shutdown,
    Exit,
    /// Bytes written as they are (framing garbage, or half a message).
    Junk(Vec<u8>),
    /// A frame around any bytes.
    Framed(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
struct Pos {
    line: u16,
    character: u16,
}

#[derive(Arbitrary, Debug)]
struct Change {
    range: Option<(Pos, Pos)>,
    text: Vec<Piece>,
}

/// Document text, built from pieces that make the rules look.
#[derive(Arbitrary, Debug)]
enum Piece {
    Text(String),
    Needle(u8),
    Newline,
    Indent(u8),
    Line(u8),
}

#[derive(Arbitrary, Debug)]
struct Config {
    select: Option<Vec<u8>>,
    ignore: Vec<u8>,
    severity: Option<(u8, u8)>,
    junk: bool,
}

/// Lines that show the rules something in each kind of file.
const LINES: &[&str] = &[
    "from flask import Flask\n",
    "app = Flask(__name__)\n",
    "app.run(debug=True)\n",
    "from opentelemetry import trace\n",
    "import gunicorn\n",
    "workers = 4\n",
    "apiVersion: v1\nkind: Pod\nmetadata:\n  annotations:\n    instrumentation.opentelemetry.io/inject-python: \"true\"\n",
    "spec:\n  containers:\n    - name: web\n      command: [\"opentelemetry-instrument\", \"gunicorn\", \"-w\", \"4\", \"app:app\"]\n",
    "---\n",
    "CMD [\"opentelemetry-instrument\", \"gunicorn\", \"--workers\", \"4\", \"app:app\"]\n",
    "ENV OTEL_EXPORTER_OTLP_ENDPOINT=http://collector:4317\n",
    "web: opentelemetry-instrument gunicorn -w 4 app:app\n",
    "[uwsgi]\nmodule = app:app\nprocesses = 4\n",
    "OTEL_EXPORTER_OTLP_PROTOCOL=grpc\n",
    "exec opentelemetry-instrument flask run --reload\n",
    "{{ .Values.image }}\n",
    "# noqa: OTEL001\n",
];

/// The documents a script names: file name, languageId.
const DOCS: &[(&str, &str)] = &[
    ("app.py", "python"),
    ("deploy.yaml", "yaml"),
    ("Dockerfile", "dockerfile"),
    ("start.sh", "shellscript"),
    ("uwsgi.ini", "ini"),
    ("Procfile", "plaintext"),
    ("Makefile", "makefile"),
    (".env", "dotenv"),
    ("kustomization.yaml", "yaml"),
    ("notes.txt", "plaintext"),
];

fn doc_uri(doc: u8) -> (String, &'static str, Language) {
    let (name, id) = DOCS[doc as usize % DOCS.len()];
    let lang = Language::from_path(Path::new(name))
        .or_else(|| Language::from_language_id(id))
        .unwrap_or(Language::Python);
    if doc as usize % (2 * DOCS.len()) >= DOCS.len() {
        // The same documents, unsaved (no path: the language comes from the id).
        return (
            format!("untitled:Untitled-{}", doc as usize % DOCS.len()),
            id,
            lang,
        );
    }
    (format!("file://{ROOT}/{name}"), id, lang)
}

fn text_from(pieces: &[Piece], lang: Language) -> String {
    let mut s = String::new();
    for p in pieces.iter().take(64) {
        match p {
            Piece::Text(t) => s.push_str(t),
            Piece::Needle(i) => {
                let n = engine::needles::patterns(lang);
                if !n.is_empty() {
                    s.push_str(n[*i as usize % n.len()]);
                }
            }
            Piece::Newline => s.push('\n'),
            Piece::Indent(n) => s.push_str(&" ".repeat(*n as usize % 12)),
            Piece::Line(i) => s.push_str(LINES[*i as usize % LINES.len()]),
        }
    }
    s
}

fn pos(p: &Pos) -> Value {
    json!({"line": p.line % 64, "character": p.character % 96})
}

fn config(c: &Option<Config>) -> Value {
    let Some(c) = c else { return json!({}) };
    let code = |b: u8| {
        let all = otel_lsp::rules::ALL;
        let r = all[b as usize % all.len()];
        if b & 0x80 != 0 {
            r.name.to_string()
        } else {
            r.code.to_string()
        }
    };
    let mut v = json!({"ignore": c.ignore.iter().take(8).map(|b| code(*b)).collect::<Vec<_>>()});
    if let Some(s) = &c.select {
        v["select"] = json!(s.iter().take(8).map(|b| code(*b)).collect::<Vec<_>>());
    }
    if let Some((r, sev)) = c.severity {
        let sev = ["error", "warning", "info", "hint", "loud"][sev as usize % 5];
        v["severity"] = json!({ code(r): sev });
    }
    if c.junk {
        v["select"] = json!(17);
    }
    json!({ "otel-lsp": v })
}

/// The byte stream a message script writes.
fn script(data: &[u8]) -> Vec<u8> {
    let mut u = Unstructured::new(data);
    let mut out = Vec::new();
    let mut next_id: i64 = 0;
    let mut versions = [0i32; 2 * DOCS.len()];
    for _ in 0..48 {
        let Ok(m) = Msg::arbitrary(&mut u) else { break };
        let cancel_base = next_id;
        let mut request = |method: &str, params: Value, out: &mut Vec<u8>| {
            next_id += 1;
            let m = json!({"jsonrpc": "2.0", "id": next_id, "method": method, "params": params});
            out.extend(frame(m.to_string().as_bytes()));
        };
        let notify = |method: &str, params: Value, out: &mut Vec<u8>| {
            let m = json!({"jsonrpc": "2.0", "method": method, "params": params});
            out.extend(frame(m.to_string().as_bytes()));
        };
        match &m {
            Msg::Initialize {
                pull,
                utf8,
                watch,
                configuration,
                document_changes,
                root,
                options,
            } => {
                let mut caps = json!({
                    "workspace": {
                        "configuration": configuration,
                        "workspaceEdit": {"documentChanges": document_changes},
                        "didChangeWatchedFiles": {"dynamicRegistration": watch},
                        "diagnostics": {"refreshSupport": pull},
                    },
                    "general": {"positionEncodings": if *utf8 { json!(["utf-8", "utf-16"]) } else { json!(["utf-16"]) }},
                });
                if *pull {
                    caps["textDocument"] = json!({"diagnostic": {"dynamicRegistration": false}});
                }
                let mut params = json!({"capabilities": caps, "processId": null});
                if *root {
                    params["rootUri"] = json!(format!("file://{ROOT}"));
                }
                if options.is_some() {
                    params["initializationOptions"] = config(options);
                }
                request("initialize", params, &mut out);
            }
            Msg::Initialized => notify("initialized", json!({}), &mut out),
            Msg::Open { doc, version, text } => {
                let (uri, id, lang) = doc_uri(*doc);
                let v = &mut versions[*doc as usize % versions.len()];
                *v = *version as i32;
                notify(
                    "textDocument/didOpen",
                    json!({"textDocument": {"uri": uri, "languageId": id, "version": v, "text": text_from(text, lang)}}),
                    &mut out,
                );
            }
            Msg::Change {
                doc,
                version,
                changes,
            } => {
                let (uri, _, lang) = doc_uri(*doc);
                let v = &mut versions[*doc as usize % versions.len()];
                // Mostly the next version; sometimes a stale one.
                *v = if *version < 0 {
                    *version as i32
                } else {
                    *v + 1
                };
                let changes: Vec<Value> = changes
                    .iter()
                    .take(8)
                    .map(|c| match &c.range {
                        Some((a, b)) => json!({"range": {"start": pos(a), "end": pos(b)}, "text": text_from(&c.text, lang)}),
                        None => json!({"text": text_from(&c.text, lang)}),
                    })
                    .collect();
                notify(
                    "textDocument/didChange",
                    json!({"textDocument": {"uri": uri, "version": v}, "contentChanges": changes}),
                    &mut out,
                );
            }
            Msg::Close { doc } => notify(
                "textDocument/didClose",
                json!({"textDocument": {"uri": doc_uri(*doc).0}}),
                &mut out,
            ),
            Msg::Hover { doc, at } => request(
                "textDocument/hover",
                json!({"textDocument": {"uri": doc_uri(*doc).0}, "position": pos(at)}),
                &mut out,
            ),
            Msg::CodeAction {
                doc,
                start,
                end,
                fix_all,
            } => {
                let only = if *fix_all {
                    json!(["source.fixAll.otel-lsp"])
                } else {
                    json!(["quickfix"])
                };
                request(
                    "textDocument/codeAction",
                    json!({"textDocument": {"uri": doc_uri(*doc).0}, "range": {"start": pos(start), "end": pos(end)}, "context": {"diagnostics": [], "only": only}}),
                    &mut out,
                );
            }
            Msg::Diagnostic { doc, previous } => {
                let mut p = json!({"textDocument": {"uri": doc_uri(*doc).0}});
                if let Some(n) = previous {
                    p["previousResultId"] = json!(n.to_string());
                }
                request("textDocument/diagnostic", p, &mut out);
            }
            Msg::Configuration(c) => notify(
                "workspace/didChangeConfiguration",
                json!({"settings": config(c)}),
                &mut out,
            ),
            Msg::WatchedFiles { doc, config } => {
                let uri = if *config {
                    format!("file://{ROOT}/otel-lsp.toml")
                } else {
                    doc_uri(*doc).0
                };
                notify(
                    "workspace/didChangeWatchedFiles",
                    json!({"changes": [{"uri": uri, "type": 2}]}),
                    &mut out,
                );
            }
            Msg::Cancel { back } => {
                let id = (cancel_base - *back as i64 % 4).max(0);
                notify("$/cancelRequest", json!({"id": id}), &mut out);
            }
            Msg::Unknown {
                request: true,
                name,
            } => request(&format!("custom/{name}"), json!({}), &mut out),
            Msg::Unknown {
                request: false,
                name,
            } => notify(&format!("$/custom{name}"), json!(null), &mut out),
            Msg::Shutdown => request("shutdown", Value::Null, &mut out),
            Msg::Exit => notify("exit", Value::Null, &mut out),
            Msg::Junk(b) => out.extend(b.iter().take(256)),
            Msg::Framed(b) => out.extend(frame(&b[..b.len().min(256)])),
        }
    }
    out
}

//! The command-line face: `check`, `rules` and `explain`.
//!
//! `check` runs in phases, each parallel over files with rayon, and keeps nothing a later
//! phase does not need: between phases only each file's needle bits and its workspace
//! summary stay in memory, never its text or trees.
//!
//! 1. walk the named paths ([`walk`]) and find each file's configuration;
//! 2. read each file (skip, with a warning, unreadable and non-UTF-8 files) and find its
//!    needles; summarise the launcher files and YAML streams into the workspace, parsing
//!    only the chunks a summary is made from (`engine::summary_wanted`), and kustomization
//!    files whole (their `namespace:` is other files' namespace); every file takes its place
//!    in the workspace, summarised or not;
//! 3. summarise the Python modules the workspace's launchers start (only they are asked
//!    about: framework, gunicorn settings, their own OpenTelemetry setup);
//! 4. check the files in which some enabled rule can report, decided from their needles,
//!    path and the workspace before anything is parsed (`engine::check_wanted`): read again,
//!    parse only the chunks those rules look at, check, and drop the trees; with `--fix`,
//!    fix and rewrite them ([`fix`]) and re-check, so what is reported is what remains;
//! 5. print ([`output`]) and choose the exit code: 0 nothing found, 1 problems found, 2 a
//!    usage, configuration or I/O error.
//!
//! `--full` (hidden, for tests) takes the full path instead: every file summarised and
//! checked with every chunk parsed and every enabled rule run.

mod fix;
mod output;
mod stdin;
pub(crate) use otel_lsp::walk;

use crate::{CheckArgs, Color, Format, RulesFormat};
use anyhow::Context as _;
use otel_lsp::config::{self, Settings};
use otel_lsp::diagnostic::{Applicability, Diagnostic};
use otel_lsp::engine::{self, Need, SourceFile};
use otel_lsp::language::Language;
use otel_lsp::rules;
use otel_lsp::source::Wanted;
use otel_lsp::syntax::kustomize::is_kustomization_path;
use otel_lsp::syntax::yaml::Classes;
use otel_lsp::workspace::FileSummary;
use otel_lsp::workspace::{self, Workspace};
use output::{FileReport, Summary};
use rayon::prelude::*;
use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use walk::{Scopes, Target};

/// Exit code for usage, configuration and I/O errors.
const EXIT_ERROR: u8 = 2;

/// What a check found and did, for the printers.
#[derive(Default)]
pub(crate) struct Checked {
    /// The files with diagnostics, in print order.
    pub reports: Vec<FileReport>,
    /// Files read.
    pub files: usize,
    /// Fixes applied.
    pub fixed: usize,
    /// Files `--fix` could not write.
    pub write_errors: usize,
    /// Warnings not yet printed.
    pub warnings: Vec<String>,
    /// Per file with fixes applied: how many findings of each rule the fixes removed.
    pub fixed_codes: Vec<(String, Vec<FixedCode>)>,
    /// `--diff`: one unified diff per file the fixes would change.
    pub diffs: Vec<String>,
}

/// A rule, and how many of its findings the fixes of one file removed.
pub(crate) type FixedCode = (&'static str, &'static str, usize);

/// What phase 5 did to one file.
#[derive(Default)]
struct FileOutcome {
    report: FileReport,
    applied: usize,
    notes: fix::Notes,
    fixed_codes: Vec<FixedCode>,
    diff: Option<String>,
}

/// How many diagnostics of each rule, by code.
pub(crate) fn code_counts(diags: &[Diagnostic]) -> Vec<FixedCode> {
    let mut counts: Vec<FixedCode> = Vec::new();
    for d in diags {
        match counts.iter_mut().find(|c| c.0 == d.code) {
            Some(c) => c.2 += 1,
            None => counts.push((d.code, d.name, 1)),
        }
    }
    counts.sort();
    counts
}

/// The findings fixing removed: the counts before, less what remains after.
pub(crate) fn fixed_codes(before: Vec<FixedCode>, after: &[Diagnostic]) -> Vec<FixedCode> {
    let after = code_counts(after);
    before
        .into_iter()
        .filter_map(|(code, name, n)| {
            let left = after.iter().find(|c| c.0 == code).map_or(0, |c| c.2);
            (n > left).then_some((code, name, n - left))
        })
        .collect()
}

/// A unified diff of a file's fixes, both sides named by the path as shown (`patch -p0`).
pub(crate) fn unified_diff(path: &str, before: &str, after: &str) -> String {
    similar::TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(3)
        .header(path, path)
        .to_string()
}

/// `otel-lsp check`.
pub fn check(args: CheckArgs) -> ExitCode {
    match run_check(&args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// Reads one file as text. `Err` is a warning: the file is skipped, the rest is still
/// checked.
fn read_text(t: &Target) -> Result<String, String> {
    let bytes = std::fs::read(&t.abs).map_err(|e| format!("skipping {}: {e}", t.path.display()))?;
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let bytes = e.as_bytes();
        let line = memchr::memchr_iter(b'\n', &bytes[..at]).count() + 1;
        format!(
            "skipping {}: not valid UTF-8 (byte 0x{:02x} on line {line})",
            t.path.display(),
            bytes[at]
        )
    })
}

/// What the first phases learn of a file, without its text: what later phases need.
struct Scanned {
    /// Its needle bits (`engine::needle_bits`).
    bits: u128,
    /// A YAML stream's chunks and their needle bits (`engine::layout`).
    layout: Vec<(usize, u128)>,
    /// It names a vendor OpenTelemetry distro (a YAML stream's summary says so).
    vendor: bool,
    /// What phase 2 summarised: a launcher file's summary, a YAML stream's provider
    /// documents.
    early: Option<Early>,
    /// The other documents of a YAML stream (phase 3), until merged into the workspace.
    late: Vec<engine::DocumentPart>,
    /// The diagnostics of a YAML stream's other documents, when phase 3's check against the
    /// early workspace holds.
    speculated: Option<Vec<Diagnostic>>,
}

/// A summary, or the parts of a YAML stream's summary.
enum Early {
    Summary(Box<FileSummary>),
    Parts(Vec<engine::DocumentPart>),
}

impl Scanned {
    /// The file's summary from what is known of it.
    fn summary(&self) -> FileSummary {
        let mut parts = match &self.early {
            Some(Early::Summary(s)) => return (**s).clone(),
            Some(Early::Parts(p)) => p.clone(),
            None if self.late.is_empty() => return FileSummary::default(),
            None => Vec::new(),
        };
        parts.extend(self.late.iter().cloned());
        engine::summary_of_parts(parts, self.vendor)
    }
}

/// What phase 2 learns of a file, or a warning.
type Phase2 = Result<Scanned, String>;

/// How much was read and parsed (`--stats`, on stderr).
#[derive(Default)]
struct Stats {
    read_bytes: AtomicUsize,
    summarised_files: AtomicUsize,
    checked_files: AtomicUsize,
    parsed_bytes: AtomicUsize,
    speculated: AtomicUsize,
    stale: AtomicUsize,
}

impl Stats {
    fn parsed(&self, f: &SourceFile) {
        let n: usize = f
            .chunks()
            .iter()
            .filter(|c| c.is_parsed())
            .map(|c| c.len)
            .sum();
        self.parsed_bytes.fetch_add(n, Relaxed);
    }
}

fn use_colour(choice: Color) -> bool {
    match choice {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && io::stdout().is_terminal()
        }
    }
}

fn run_check(args: &CheckArgs) -> anyhow::Result<ExitCode> {
    config::check_selectors("--select", &args.select).map_err(anyhow::Error::msg)?;
    config::check_selectors("--ignore", &args.ignore).map_err(anyhow::Error::msg)?;
    let cli = Settings {
        select: (!args.select.is_empty()).then(|| args.select.clone()),
        ignore: args.ignore.clone(),
        ..Settings::default()
    };
    let cwd = std::env::current_dir().context("reading the working directory")?;
    let shown = |e: config::ConfigError| anyhow::anyhow!(walk::config_error(&e, &cwd));
    let forced = match &args.config {
        Some(p) => Some(config::load_file(&walk::absolute(p, &cwd)).map_err(shown)?),
        None => None,
    };
    let scopes = Scopes::new(cli, forced).map_err(shown)?;
    let dash = std::path::Path::new(stdin::STDIN);
    let from_stdin = args.paths.iter().any(|p| p == dash)
        || (args.paths.is_empty() && args.stdin_filename.is_some());
    if from_stdin {
        if args.paths.len() > 1 {
            return Ok(stdin::usage(stdin::Usage(
                "`-` (standard input) cannot be checked together with other paths".into(),
            )));
        }
        let run = match stdin::run(args, &cwd, &scopes)? {
            Ok(run) => run,
            Err(usage) => return Ok(stdin::usage(usage)),
        };
        for w in &run.checked.warnings {
            eprintln!("warning: {w}");
        }
        let fixed_text = run.output_text.is_some();
        if let Some(text) = &run.output_text {
            if emit(|out| out.write_all(text.as_bytes())).is_err() {
                return Ok(ExitCode::from(EXIT_ERROR));
            }
        }
        return Ok(finish(args, &cwd, run.checked, fixed_text));
    }
    let dot = [std::path::PathBuf::from(".")];
    let paths = if args.paths.is_empty() {
        &dot[..]
    } else {
        &args.paths[..]
    };
    let walked = std::time::Instant::now();
    let found = walk::collect(paths, &cwd, &scopes, args.force_exclude);
    let walked = walked.elapsed();
    for w in &found.warnings {
        eprintln!("warning: {w}");
    }
    if !found.errors.is_empty() {
        for e in &found.errors {
            eprintln!("error: {e}");
        }
        return Ok(ExitCode::from(EXIT_ERROR));
    }

    let full = args.full;
    let stats = Stats::default();
    let mut timings: Vec<(&str, std::time::Duration)> = vec![("walk", walked)];
    let mut clock = std::time::Instant::now();
    let mut lap = |name: &'static str, timings: &mut Vec<(&str, std::time::Duration)>| {
        timings.push((name, clock.elapsed()));
        clock = std::time::Instant::now();
    };
    let provider = engine::provider_mask();

    // Phase 2: read, find needles; summarise launcher files whole and YAML streams' provider
    // documents (Instrumentations, ConfigMaps, Namespaces). Every file is in the workspace.
    let read: Vec<(Target, Phase2)> = found
        .targets
        .into_par_iter()
        .map(|t| {
            let r = read_text(&t).map(|text| {
                // YAML streams are read three times: split them once.
                let layout = if t.lang == Language::Yaml && !full {
                    engine::layout(t.lang, &text)
                } else {
                    Vec::new()
                };
                let bits = if layout.is_empty() {
                    engine::needle_bits(t.lang, &text)
                } else {
                    layout.iter().fold(0, |b, c| b | c.1)
                };
                stats.read_bytes.fetch_add(text.len(), Relaxed);
                let vendor = otel_lsp::launch::packaging::mentions_vendor_distro(&text);
                let kustomization = is_kustomization_path(&t.path);
                let first = match t.lang {
                    _ if full => Some(Wanted::All),
                    Language::Python => None,
                    // What it lists decides other files' namespaces: read whole, early.
                    Language::Yaml if kustomization => Some(Wanted::All),
                    Language::Yaml => (bits & provider != 0).then_some(Wanted::Bits(provider)),
                    _ => engine::summary_wanted(t.lang, bits),
                };
                let early = first.map(|w| {
                    stats.summarised_files.fetch_add(1, Relaxed);
                    let file = if layout.is_empty() {
                        engine::read(t.lang, text, w)
                    } else {
                        // A summary: plain Kubernetes objects are read from their lines.
                        engine::read_layout(t.lang, text, &layout, &|_, b| match w.wants(b) {
                            true => Need::Facts,
                            false => Need::Nothing,
                        })
                    };
                    stats.parsed(&file);
                    if t.lang == Language::Yaml && !full {
                        Early::Parts(engine::document_parts(&file))
                    } else {
                        Early::Summary(Box::new(engine::summarize(&file)))
                    }
                });
                Scanned {
                    bits,
                    layout,
                    vendor,
                    early,
                    late: Vec::new(),
                    speculated: None,
                }
            });
            (t, r)
        })
        .collect();
    let mut scanned: Vec<(Target, Scanned)> = Vec::with_capacity(read.len());
    let mut workspace = Workspace::new();
    for (t, r) in read {
        match r {
            Ok(s) => {
                workspace.update(t.path.clone(), s.summary());
                scanned.push((t, s));
            }
            Err(w) => eprintln!("warning: {w}"),
        }
    }
    let files_read = scanned.len();
    lap("read+early", &mut timings);

    // Phase 3: the other YAML documents, parsed once: summarised, and checked against the
    // early facts — a check that asks for what the early workspace may lack is done again
    // in phase 5 (`workspace::speculate`).
    if !full {
        workspace.set_partial(true);
        let early = &workspace;
        scanned.par_iter_mut().for_each(|(t, s)| {
            // A kustomization was read whole in phase 2; it is checked in phase 5.
            if t.lang != Language::Yaml || is_kustomization_path(&t.path) {
                return;
            }
            let settings = &t.scope.settings;
            let summary_wanted = engine::summary_wanted(t.lang, s.bits);
            let may_report = engine::may_report(t.lang, s.bits, settings);
            if summary_wanted.is_none() && !may_report {
                return;
            }
            let Ok(text) = read_text(t) else {
                return;
            };
            let check = engine::check_docs(t.lang, &text, s.bits, Some(&t.path), settings, early);
            // A check parses what a rule looks at: the documents its needles are in, when they
            // hold objects whose trees it reads. A document only the summary reads, or only
            // rules that read facts, is read from its lines where it can be. The provider
            // documents are left to phase 5.
            let facts = summary_wanted.map(|w| w.except(provider));
            let file = engine::read_layout(t.lang, text, &s.layout, &|_, b| {
                if b & provider != 0 {
                    return Need::Nothing;
                }
                match check.as_ref().map_or(Need::Nothing, |c| c.need(b)) {
                    Need::Nothing if facts.is_some_and(|w| w.wants(b)) => Need::Facts,
                    need => need,
                }
            });
            stats.parsed(&file);
            s.late = engine::document_parts(&file);
            if check.is_some() {
                let (diags, stale) =
                    workspace::speculate(|| engine::check(&file, Some(&t.path), settings, early));
                stats.speculated.fetch_add(1, Relaxed);
                if stale {
                    stats.stale.fetch_add(1, Relaxed);
                } else {
                    s.speculated = Some(diags);
                }
            }
        });
        workspace.set_partial(false);
        for (t, s) in &mut scanned {
            if t.lang == Language::Yaml && !s.late.is_empty() {
                workspace.update(t.path.clone(), s.summary());
                s.late = Vec::new();
            }
        }
    }

    lap("speculate", &mut timings);

    // Phase 4: the Python modules that launchers start.
    if !full {
        let modules: Vec<(std::path::PathBuf, FileSummary)> = scanned
            .par_iter()
            .filter(|(t, _)| {
                t.lang == Language::Python && !workspace.launched_by(&t.path).is_empty()
            })
            .filter_map(|(t, _)| {
                let text = read_text(t).ok()?;
                stats.summarised_files.fetch_add(1, Relaxed);
                let file = engine::parse(t.lang, text);
                stats.parsed(&file);
                Some((t.path.clone(), engine::summarize(&file)))
            })
            .collect();
        for (path, summary) in modules {
            workspace.update(path, summary);
        }
    }

    lap("modules", &mut timings);

    // Phase 5: check (and fix) the files in which a rule can report, one at a time per
    // thread — for a YAML stream checked in phase 3, its provider documents only.
    let unsafe_ok = args.unsafe_fixes;
    let fixing = args.fix || args.unsafe_fixes;
    let diffing = args.diff;
    let results: Vec<FileOutcome> = scanned
        .into_par_iter()
        .filter_map(|(t, s)| {
            let settings = &t.scope.settings;
            let speculated = s.speculated;
            // Without a needle of any enabled rule, nothing can be reported: not even read.
            if !full && !engine::may_report(t.lang, s.bits, settings) {
                return None;
            }
            let rest = match &speculated {
                Some(_) if s.bits & provider == 0 => None,
                Some(_) => Some(Wanted::Bits(provider)),
                None => Some(Wanted::All),
            };
            // Of the provider documents, a ConfigMap no container reads and no query can
            // match in reports nothing: it is not parsed again.
            let query_mask = engine::query_mask(t.lang, settings);
            let skip: Vec<usize> = match &s.early {
                Some(Early::Parts(parts)) if speculated.is_some() => parts
                    .iter()
                    .filter(|p| p.bits & query_mask == 0)
                    .filter(|p| {
                        p.config_map()
                            .is_some_and(|n| n.is_some_and(|n| !workspace.config_map_read(n)))
                    })
                    .map(|p| p.start)
                    .collect(),
                _ => Vec::new(),
            };
            if rest.is_none() && speculated.as_ref().is_some_and(Vec::is_empty) {
                return None;
            }
            let text = match read_text(&t) {
                Ok(text) => text,
                Err(w) => {
                    let mut notes = fix::Notes::default();
                    notes.warnings.push(w);
                    let empty = FileReport {
                        path: t.path.to_string_lossy().into_owned(),
                        source: output::Source::default(),
                        diagnostics: Vec::new(),
                    };
                    return Some(FileOutcome {
                        report: empty,
                        notes,
                        ..FileOutcome::default()
                    });
                }
            };
            let (file, diags) = if full {
                let file = engine::parse(t.lang, text);
                let diags = engine::check_full(&file, Some(&t.path), settings, &workspace);
                (file, diags)
            } else {
                let wanted = match rest {
                    // Phase 3 checked the other documents.
                    Some(Wanted::Bits(p)) => Some(Wanted::Bits(p)),
                    None => Some(Wanted::Bits(0)),
                    _ => engine::check_wanted(
                        t.lang,
                        &text,
                        s.bits,
                        Some(&t.path),
                        settings,
                        &workspace,
                    ),
                };
                let wanted = wanted?;
                // Phase 3 checked every document (a check may well parse nothing: OTEL100
                // judges the comments of chunks no other rule looks at).
                let checked = rest.is_none();
                let mut file = match wanted {
                    Wanted::Bits(p) if speculated.is_some() && p != 0 => {
                        // The provider documents, with the trees of the objects the relevant
                        // rules read trees of (whichever document their needles are in).
                        let classes = engine::check_docs(
                            t.lang,
                            &text,
                            s.bits,
                            Some(&t.path),
                            settings,
                            &workspace,
                        )
                        .map_or(Classes::ALL, |d| d.classes());
                        let need = Need::trees_of(classes);
                        engine::read_layout(t.lang, text, &s.layout, &|start, bits| {
                            if bits & p != 0 && skip.binary_search(&start).is_err() {
                                need
                            } else {
                                Need::Nothing
                            }
                        })
                    }
                    w => engine::read(t.lang, text, w),
                };
                engine::prepare(&mut file, Some(&t.path), settings, &workspace);
                let mut diags = if checked {
                    Vec::new()
                } else {
                    engine::check(&file, Some(&t.path), settings, &workspace)
                };
                if let Some(early) = speculated {
                    diags.extend(early);
                    diags.sort_by(|a, b| {
                        (a.span.start, a.code, a.span.end).cmp(&(b.span.start, b.code, b.span.end))
                    });
                }
                (file, diags)
            };
            stats.checked_files.fetch_add(1, Relaxed);
            stats.parsed(&file);
            if diags.is_empty() {
                return None;
            }
            let mut notes = fix::Notes::default();
            let shown = t.path.to_string_lossy().into_owned();
            if diffing {
                let fixed = fix::fix_text(
                    &file, &diags, &t.path, settings, &workspace, unsafe_ok, &mut notes,
                );
                let (diff, applied) = match fixed {
                    Some((after, applied)) => (
                        Some(unified_diff(&shown, file.text(), after.text())),
                        applied,
                    ),
                    None => (None, 0),
                };
                return Some(FileOutcome {
                    report: FileReport {
                        path: shown,
                        source: output::Source::default(),
                        diagnostics: Vec::new(),
                    },
                    applied,
                    notes,
                    diff,
                    ..FileOutcome::default()
                });
            }
            let before = fixing.then(|| code_counts(&diags));
            let (file, diags, applied) = if fixing {
                match fix::fix_and_write(
                    &file, &diags, &t.path, &t.abs, settings, &workspace, unsafe_ok, &mut notes,
                ) {
                    fix::Outcome::Unchanged => (file, diags, 0),
                    fix::Outcome::Fixed { file, applied } => {
                        let diags = engine::check(&file, Some(&t.path), settings, &workspace);
                        (*file, diags, applied)
                    }
                }
            } else {
                (file, diags, 0)
            };
            let fixed_codes = match before {
                Some(before) if applied > 0 => fixed_codes(before, &diags),
                _ => Vec::new(),
            };
            let report = FileReport {
                path: shown,
                source: output::Source::of(file.text(), &diags),
                diagnostics: diags,
            };
            Some(FileOutcome {
                report,
                applied,
                notes,
                fixed_codes,
                diff: None,
            })
        })
        .collect();
    lap("check", &mut timings);
    if args.stats {
        let phases: Vec<String> = timings
            .iter()
            .map(|(n, d)| format!("{n} {:.0} ms", d.as_secs_f64() * 1000.0))
            .collect();
        eprintln!("stats: phases: {}", phases.join(", "));
        eprintln!(
            "stats: {files_read} files, {} bytes read; {} summarised, {} checked; {} bytes parsed ({} of them left out as unread), {} read from lines ({} YAML documents); {} YAML documents parsed, the facts of {} of them read from lines; {} checked early, {} of them again",
            stats.read_bytes.load(Relaxed),
            stats.summarised_files.load(Relaxed),
            stats.checked_files.load(Relaxed),
            stats.parsed_bytes.load(Relaxed),
            otel_lsp::syntax::yaml_skip::skipped_bytes(),
            otel_lsp::source::light_bytes(),
            otel_lsp::source::light_docs(),
            otel_lsp::source::parsed_docs().0,
            otel_lsp::source::parsed_docs().1,
            stats.speculated.load(Relaxed),
            stats.stale.load(Relaxed),
        );
    }

    let mut checked = Checked {
        files: files_read,
        ..Checked::default()
    };
    for FileOutcome {
        report,
        applied,
        notes,
        fixed_codes,
        diff,
    } in results
    {
        for w in notes.warnings {
            eprintln!("warning: {w}");
        }
        for e in &notes.errors {
            eprintln!("error: {e}");
        }
        checked.write_errors += notes.errors.len();
        checked.fixed += applied;
        if !fixed_codes.is_empty() {
            checked.fixed_codes.push((report.path.clone(), fixed_codes));
        }
        checked.diffs.extend(diff);
        if !report.diagnostics.is_empty() {
            checked.reports.push(report);
        }
    }
    Ok(finish(args, &cwd, checked, false))
}

/// Prints the report of a check (to `--output-file`, else to stdout, or to stderr when stdout
/// holds the fixed text of standard input) and chooses the exit code.
fn finish(args: &CheckArgs, cwd: &std::path::Path, checked: Checked, to_stderr: bool) -> ExitCode {
    let unsafe_ok = args.unsafe_fixes;
    let fixing = (args.fix || args.unsafe_fixes) && !args.diff;
    let reports = &checked.reports;
    let all = || reports.iter().flat_map(|r| r.diagnostics.iter());
    let has_unsafe = |d: &Diagnostic| {
        d.fixes
            .iter()
            .any(|f| f.applicability == Applicability::Unsafe)
    };
    let summary = Summary {
        files: checked.files,
        problems: all().count(),
        fixable: all().filter(|d| d.has_safe_fix()).count(),
        unsafe_fixable: if unsafe_ok {
            0
        } else {
            all().filter(|d| !d.has_safe_fix() && has_unsafe(d)).count()
        },
        fixed: fixing.then_some(checked.fixed),
    };
    let to_file = args.output_file.is_some();
    let colour = (!to_stderr && !to_file && use_colour(args.color)) || args.color == Color::Always;
    let text_summary = (!args.quiet).then_some(&summary);
    let project_dir = std::env::var_os("CI_PROJECT_DIR").map(std::path::PathBuf::from);
    let json_like = matches!(args.output_format, Format::Json | Format::JsonLines);
    let print = |out: &mut dyn Write| -> io::Result<()> {
        if args.diff {
            for d in &checked.diffs {
                out.write_all(d.as_bytes())?;
            }
            return Ok(());
        }
        if args.statistics {
            return output::statistics(out, reports, json_like);
        }
        let enumerate = args.show_fixes && !checked.fixed_codes.is_empty();
        let text_format = matches!(args.output_format, Format::Full | Format::Concise);
        let inline = if enumerate && text_format {
            None
        } else {
            text_summary
        };
        match args.output_format {
            Format::Full => output::full(out, reports, inline, colour, args.show_fixes)?,
            Format::Concise => output::text(out, reports, inline, colour)?,
            Format::Json => output::json(out, reports)?,
            Format::JsonLines => output::json_lines(out, reports)?,
            Format::Sarif => output::sarif(out, reports, cwd)?,
            Format::Github => output::github(out, reports)?,
            Format::Gitlab => output::gitlab(out, reports, cwd, project_dir.as_deref())?,
            Format::Junit => output::junit(out, reports)?,
        }
        if enumerate && text_format {
            output::fixes_enumeration(out, &checked.fixed_codes, colour)?;
            if let Some(s) = text_summary {
                output::summary_line(out, s, colour)?;
            }
        }
        Ok(())
    };
    let printed = match &args.output_file {
        Some(path) => write_report(&walk::absolute(path, cwd), path, print),
        None if to_stderr => emit_stderr(print),
        None => emit(print),
    };
    if args.diff && !args.quiet {
        let n = checked.fixed;
        let files = checked.diffs.len();
        if n == 0 {
            eprintln!(
                "No fixes available in {}",
                output::plural(checked.files, "file", "files")
            );
        } else {
            eprintln!(
                "Would fix {} in {}",
                output::plural(n, "problem", "problems"),
                output::plural(files, "file", "files")
            );
        }
    }
    if printed.is_err() || checked.write_errors > 0 {
        return ExitCode::from(EXIT_ERROR);
    }
    let failed = if args.diff {
        !checked.diffs.is_empty()
    } else {
        summary.problems > 0 || (args.exit_non_zero_on_fix && checked.fixed > 0)
    };
    if failed && !args.exit_zero {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// Writes the report to `path` (`--output-file`), creating its folder.
fn write_report(
    path: &std::path::Path,
    shown: &std::path::Path,
    f: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), ()> {
    let open = || -> io::Result<std::fs::File> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::File::create(path)
    };
    let result = open().and_then(|file| {
        let mut out = io::BufWriter::new(file);
        f(&mut out)?;
        out.flush()
    });
    result.map_err(|e| eprintln!("error: writing {}: {e}", shown.display()))
}

/// Writes the report to stderr (when stdout holds fixed text).
fn emit_stderr(f: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> Result<(), ()> {
    let stderr = io::stderr();
    let mut out = io::BufWriter::new(stderr.lock());
    f(&mut out).and_then(|()| out.flush()).map_err(|_| ())
}

/// Writes to stdout through a buffer. A closed pipe (`| head`) is not an error; any other
/// write failure is reported.
fn emit(f: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> Result<(), ()> {
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    match f(&mut out).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => {
            eprintln!("error: writing to stdout: {e}");
            Err(())
        }
    }
}

fn exit_of(printed: Result<(), ()>) -> ExitCode {
    match printed {
        Ok(()) => ExitCode::SUCCESS,
        Err(()) => ExitCode::from(EXIT_ERROR),
    }
}

/// `otel-lsp rules`: the rule table.
pub fn rules(format: RulesFormat) -> ExitCode {
    exit_of(emit(|out| match format {
        RulesFormat::Text => rules_table(out),
        RulesFormat::Json => {
            let list: Vec<_> = rules::ALL
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "code": r.code,
                        "name": r.name,
                        "topic": r.topic.as_str(),
                        "severity": r.severity,
                        "language": r.language.as_str(),
                        "languages": r.languages().iter().map(|l| l.as_str()).collect::<Vec<_>>(),
                        "fix": r.fix.as_str(),
                        "summary": r.summary,
                        "url": r.url,
                    })
                })
                .collect();
            serde_json::to_writer_pretty(&mut *out, &list)?;
            writeln!(out)
        }
    }))
}

fn rules_table(out: &mut dyn Write) -> io::Result<()> {
    let header = ["CODE", "NAME", "TOPIC", "SEVERITY", "LANGUAGE", "FIX"];
    let labels: Vec<String> = rules::ALL.iter().map(|r| r.languages_label()).collect();
    let rows: Vec<[&str; 6]> = rules::ALL
        .iter()
        .zip(&labels)
        .map(|(r, langs)| {
            [
                r.code,
                r.name,
                r.topic.as_str(),
                r.severity.as_str(),
                langs.as_str(),
                r.fix.as_str(),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for row in std::iter::once(&header).chain(&rows) {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        writeln!(out, "{}", cells.join("  ").trim_end())?;
    }
    Ok(())
}

/// `otel-lsp explain CODE`: one rule's documentation.
pub fn explain(code: &str) -> ExitCode {
    let Some(rule) = rules::by_code(code.trim()) else {
        eprintln!("error: unknown rule `{code}` (see `otel-lsp rules`)");
        return ExitCode::from(EXIT_ERROR);
    };
    exit_of(emit(|out| {
        writeln!(out, "# {} ({})", rule.code, rule.name)?;
        writeln!(out)?;
        writeln!(
            out,
            "Topic: {} · Severity: {} · Files: {} · Fix: {}",
            rule.topic.as_str(),
            rule.severity.as_str(),
            rule.languages_label(),
            rule.fix.as_str()
        )?;
        writeln!(out)?;
        if rule.docs.is_empty() {
            if !rule.summary.is_empty() {
                writeln!(out, "{}", rule.summary)?;
                writeln!(out)?;
            }
            writeln!(out, "No documentation yet.")?;
        } else {
            writeln!(out, "{}", rule.docs.trim_end())?;
        }
        if !rule.url.is_empty() && !rule.docs.contains(rule.url) {
            writeln!(out)?;
            writeln!(out, "Source: <{}>", rule.url)?;
        }
        Ok(())
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn rules_table_is_aligned_and_complete() {
        let mut out = Vec::new();
        rules_table(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), rules::ALL.len() + 1);
        assert!(lines[0].starts_with("CODE"));
        let name_col = lines[0].find("NAME").unwrap();
        for (line, r) in lines[1..].iter().zip(rules::ALL) {
            assert_eq!(&line[name_col..name_col + r.name.len()], r.name);
        }
    }

    #[test]
    fn loading_skips_non_utf8_with_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad.py");
        std::fs::write(&p, b"a = 1\nb = '\xff'\n").unwrap();
        let scopes = Scopes::new(Settings::default(), None).unwrap();
        let t = Target {
            path: Path::new("bad.py").to_path_buf(),
            abs: p,
            lang: otel_lsp::language::Language::Python,
            scope: scopes.for_dir(dir.path()).unwrap(),
        };
        let w = read_text(&t).err().unwrap();
        assert!(
            w.contains("bad.py") && w.contains("UTF-8") && w.contains("line 2"),
            "{w}"
        );
    }
}

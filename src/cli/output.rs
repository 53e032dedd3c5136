//! The printers of `check`: full and concise text, JSON and JSON lines, SARIF 2.1.0, GitHub
//! workflow commands, GitLab Code Quality and JUnit XML.
//!
//! Diagnostics carry UTF-8 byte spans; this is where they become what people and tools read:
//! 1-based lines and 1-based columns counted in characters (Unicode scalar values). An end
//! position is exclusive: it names the character just after the span (SARIF's convention),
//! so an empty span has equal start and end. Lines end at `\n`; a `\r` before it belongs to
//! the line's end, not to a column anyone reports. A leading byte-order mark is not counted.

use otel_lsp::diagnostic::{Applicability, Diagnostic, Edit, Fix, Severity, Span};
use otel_lsp::rules::{self, Rule};
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::Path;

/// A 1-based line and column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    /// 1-based line.
    pub line: usize,
    /// 1-based column in Unicode scalar values.
    pub column: usize,
}

/// What the printers need of a file's text: the positions of the offsets its diagnostics
/// and fixes name, the lines their spans cover (for `full`) and what their preferred fix
/// would do to those lines (for `--show-fixes`). A report keeps this instead of the whole
/// text, so what `check` holds until it prints grows with the findings, not with the files
/// or their sizes.
#[derive(Debug, Clone, Default)]
pub struct Source {
    /// (byte offset, its position), ascending by offset.
    positions: Vec<(usize, Position)>,
    /// The text of the lines diagnostics cover (without their line ends), by 1-based line.
    lines: BTreeMap<usize, String>,
    /// Per diagnostic of the report, in order: its preferred fix's effect on its lines.
    previews: Vec<Option<Preview>>,
    /// Lines of the text before this report's part of it (a Helm template's documents in a
    /// rendered stream): shown lines count from the part's start.
    base: usize,
}

/// The effect of a fix on the lines it touches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preview {
    /// The first line touched (1-based, in the whole text).
    pub line: usize,
    /// The touched lines before the fix.
    pub before: String,
    /// The same lines after it.
    pub after: String,
}

/// At most this many lines of a span are shown by `full`.
const MAX_SHOWN_LINES: usize = 4;

fn line_start(text: &str, pos: usize) -> usize {
    memchr::memrchr(b'\n', &text.as_bytes()[..pos]).map_or(0, |n| n + 1)
}

fn line_end(text: &str, pos: usize) -> usize {
    let end = memchr::memchr(b'\n', &text.as_bytes()[pos..]).map_or(text.len(), |n| pos + n);
    if end > pos && text.as_bytes()[end - 1] == b'\r' {
        end - 1
    } else {
        end
    }
}

fn clamp(text: &str, at: usize) -> usize {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

impl Source {
    /// The positions of `offsets` in `text`.
    pub fn new(text: &str, offsets: impl IntoIterator<Item = usize>) -> Self {
        let mut offsets: Vec<usize> = offsets.into_iter().collect();
        offsets.sort_unstable();
        offsets.dedup();
        let mut positions = Vec::with_capacity(offsets.len());
        let bytes = text.as_bytes();
        // One pass: the line and its start for each offset, in order.
        let (mut line, mut line_start, mut scanned) = (1, 0, 0);
        for &o in &offsets {
            let at = clamp(text, o);
            for nl in memchr::memchr_iter(b'\n', &bytes[scanned..at]) {
                line += 1;
                line_start = scanned + nl + 1;
            }
            scanned = at;
            // A byte-order mark is not a column anyone sees.
            let from = if line_start == 0 && at >= 3 && text.starts_with('\u{feff}') {
                3
            } else {
                line_start
            };
            let column = text[from..at].chars().count() + 1;
            positions.push((o, Position { line, column }));
        }
        Source {
            positions,
            ..Source::default()
        }
    }

    /// The source of a file's report: the offsets its diagnostics and fix edits name, the
    /// lines the diagnostics cover and their fixes' previews.
    pub fn of(text: &str, diagnostics: &[Diagnostic]) -> Self {
        let offsets = diagnostics.iter().flat_map(|d| {
            std::iter::once(d.span)
                .chain(d.fixes.iter().flat_map(|f| f.edits.iter().map(|e| e.span)))
                .flat_map(|s| [s.start, s.end])
        });
        let mut source = Source::new(text, offsets);
        for d in diagnostics {
            let first = source.raw(d.span.start).line;
            let (start, end) = (clamp(text, d.span.start), clamp(text, d.span.end));
            let mut at = line_start(text, start);
            for n in 0..MAX_SHOWN_LINES {
                let e = line_end(text, at);
                source
                    .lines
                    .entry(first + n)
                    .or_insert_with(|| text[at..e].to_string());
                let next = memchr::memchr(b'\n', &text.as_bytes()[at..]).map(|i| at + i + 1);
                match next {
                    Some(next) if next < end => at = next,
                    _ => break,
                }
            }
            let preview = d.fixes.first().and_then(|f| preview(text, f, &source));
            source.previews.push(preview);
        }
        source
    }

    /// The source with its lines shown relative to line `base` (the line before a part of
    /// the text starts): line `base + 1` is shown as line 1.
    pub fn rebased(mut self, base: usize) -> Self {
        self.base = base;
        self
    }

    /// How many lines of the text come before the report's part.
    pub fn base(&self) -> usize {
        self.base
    }

    /// The position of `offset` in the whole text.
    fn raw(&self, offset: usize) -> Position {
        let p = &self.positions;
        match p.binary_search_by_key(&offset, |(o, _)| *o) {
            Ok(i) => p[i].1,
            Err(_) => {
                debug_assert!(false, "offset {offset} was not asked for");
                Position { line: 1, column: 1 }
            }
        }
    }

    /// The text of shown line `line` (as [`LineIndex::position`] numbers it), when kept.
    pub fn line(&self, line: usize) -> Option<&str> {
        self.lines.get(&(line + self.base)).map(String::as_str)
    }

    /// The preview of the `i`-th diagnostic's preferred fix.
    pub fn preview(&self, i: usize) -> Option<&Preview> {
        self.previews.get(i).and_then(Option::as_ref)
    }
}

/// What `fix` does to the lines it touches.
fn preview(text: &str, fix: &Fix, source: &Source) -> Option<Preview> {
    let mut edits: Vec<&Edit> = fix.edits.iter().collect();
    edits.sort_by_key(|e| (e.span.start, e.span.end));
    let lo = clamp(text, edits.first()?.span.start);
    let hi = clamp(text, edits.iter().map(|e| e.span.end).max()?);
    let (from, to) = (line_start(text, lo), line_end(text, hi).max(hi));
    let mut after = String::new();
    let mut at = from;
    for e in edits {
        let (s, t) = (clamp(text, e.span.start), clamp(text, e.span.end));
        if s < at || t < s {
            return None;
        }
        after.push_str(&text[at..s]);
        after.push_str(&e.new_text);
        at = t;
    }
    after.push_str(&text[at..to]);
    Some(Preview {
        line: source.raw(lo).line,
        before: text[from..to].to_string(),
        after,
    })
}

/// Byte offset → line and column, over a [`Source`].
pub struct LineIndex<'a> {
    source: &'a Source,
}

impl<'a> LineIndex<'a> {
    /// Positions in `source`.
    pub fn new(source: &'a Source) -> Self {
        LineIndex { source }
    }

    /// The position of byte `offset` (one the source was made with), clamped to the text and
    /// to a character boundary; lines count from the report's part of the text.
    pub fn position(&self, offset: usize) -> Position {
        let p = self.source.raw(offset);
        Position {
            line: p.line.saturating_sub(self.source.base).max(1),
            column: p.column,
        }
    }

    /// Start and (exclusive) end of a span.
    pub fn range(&self, span: Span) -> (Position, Position) {
        (self.position(span.start), self.position(span.end))
    }
}

/// One checked file with what remains to report about it.
#[derive(Default)]
pub struct FileReport {
    /// The path as the user would type it.
    pub path: String,
    /// What the printers need of the text the diagnostics' spans index into.
    pub source: Source,
    /// The diagnostics, sorted by position.
    pub diagnostics: Vec<Diagnostic>,
}

/// Numbers for the summary line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Files read (whether or not they were worth parsing).
    pub files: usize,
    /// Diagnostics reported.
    pub problems: usize,
    /// Of those, how many `--fix` would repair.
    pub fixable: usize,
    /// Of those, how many only `--unsafe-fixes` would repair.
    pub unsafe_fixable: usize,
    /// Fixes applied (`None` when not fixing).
    pub fixed: Option<usize>,
}

pub fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

impl Summary {
    /// The summary line of text output, e.g. `3 problems (2 fixable with --fix) in 41 files`.
    pub fn line(&self) -> String {
        let files = plural(self.files, "file", "files");
        let problems = if self.problems == 0 {
            "No problems".to_string()
        } else {
            plural(self.problems, "problem", "problems")
        };
        let mut notes = Vec::new();
        if let Some(fixed) = self.fixed {
            notes.push(format!("{fixed} fixed"));
        } else if self.fixable > 0 {
            notes.push(format!("{} fixable with --fix", self.fixable));
        }
        if self.unsafe_fixable > 0 {
            notes.push(format!("{} more with --unsafe-fixes", self.unsafe_fixable));
        }
        let verb = if self.fixed.is_some() {
            " remaining"
        } else {
            ""
        };
        if notes.is_empty() {
            format!("{problems}{verb} in {files}")
        } else {
            format!("{problems}{verb} ({}) in {files}", notes.join(", "))
        }
    }
}

const RESET: &str = "\x1b[0m";
const BOLD: &str = "\x1b[1m";

fn severity_colour(s: Severity) -> &'static str {
    match s {
        Severity::Error => "\x1b[1;31m",
        Severity::Warning => "\x1b[1;33m",
        Severity::Info => "\x1b[1;34m",
        Severity::Hint => "\x1b[1;36m",
    }
}

/// `path:line:col: CODE message` lines, then the summary unless `summary` is `None`.
pub fn text(
    out: &mut dyn Write,
    files: &[FileReport],
    summary: Option<&Summary>,
    colour: bool,
) -> io::Result<()> {
    for f in files {
        let index = LineIndex::new(&f.source);
        for d in &f.diagnostics {
            let p = index.position(d.span.start);
            let message = one_line(&d.message);
            if colour {
                writeln!(
                    out,
                    "{BOLD}{}{RESET}:{}:{}: {}{}{RESET} {message}",
                    f.path,
                    p.line,
                    p.column,
                    severity_colour(d.severity),
                    d.code
                )?;
            } else {
                writeln!(
                    out,
                    "{}:{}:{}: {} {message}",
                    f.path, p.line, p.column, d.code
                )?;
            }
        }
    }
    if let Some(s) = summary {
        let line = s.line();
        if colour {
            writeln!(out, "{BOLD}{line}{RESET}")?;
        } else {
            writeln!(out, "{line}")?;
        }
    }
    Ok(())
}

const GUTTER: &str = "\x1b[1;34m";

/// How a fix is applied, for people.
fn fix_note(f: &Fix) -> &'static str {
    match f.applicability {
        Applicability::Safe => "safe fix: --fix",
        Applicability::Unsafe => "unsafe fix: --unsafe-fixes",
    }
}

/// Each diagnostic with its source lines, a caret underline of its span, its fix's title
/// and its rule's link (ruff's `full`); with `show_fixes`, what the preferred fix changes.
/// Then the summary unless `summary` is `None`.
pub fn full(
    out: &mut dyn Write,
    files: &[FileReport],
    summary: Option<&Summary>,
    colour: bool,
    show_fixes: bool,
) -> io::Result<()> {
    let paint = |code: &str, s: &str| {
        if colour {
            format!("{code}{s}{RESET}")
        } else {
            s.to_string()
        }
    };
    for f in files {
        let index = LineIndex::new(&f.source);
        for (i, d) in f.diagnostics.iter().enumerate() {
            let (s, e) = index.range(d.span);
            let message = one_line(&d.message);
            writeln!(
                out,
                "{}:{}:{}: {} {message}",
                paint(BOLD, &f.path),
                s.line,
                s.column,
                paint(severity_colour(d.severity), d.code)
            )?;
            let last = e.line.min(s.line + MAX_SHOWN_LINES - 1);
            let shown: Vec<(usize, &str)> = (s.line..=last)
                .filter(|&l| !(l == e.line && l > s.line && e.column == 1))
                .filter_map(|l| f.source.line(l).map(|t| (l, t)))
                .collect();
            let width = shown
                .iter()
                .map(|(l, _)| *l)
                .chain(std::iter::once(s.line))
                .max()
                .unwrap_or(1)
                .to_string()
                .len();
            let bar = paint(GUTTER, "|");
            let pad = " ".repeat(width);
            if !shown.is_empty() {
                writeln!(out, "{pad} {bar}")?;
                for (n, (l, text)) in shown.iter().enumerate() {
                    let chars: Vec<char> = text.chars().collect();
                    let from = if *l == s.line {
                        s.column
                    } else {
                        chars.iter().take_while(|c| c.is_whitespace()).count() + 1
                    };
                    let to = if *l == e.line {
                        e.column
                    } else {
                        chars.len() + 1
                    };
                    let lead: String = chars
                        .iter()
                        .take(from.saturating_sub(1))
                        .map(|&c| if c == '\t' { '\t' } else { ' ' })
                        .collect();
                    let carets = "^".repeat(to.saturating_sub(from).max(1));
                    let label = if n + 1 == shown.len() {
                        format!(" {}", d.code)
                    } else {
                        String::new()
                    };
                    writeln!(
                        out,
                        "{} {bar} {text}",
                        paint(GUTTER, &format!("{l:>width$}"))
                    )?;
                    writeln!(
                        out,
                        "{pad} {bar} {lead}{}",
                        paint(severity_colour(d.severity), &format!("{carets}{label}"))
                    )?;
                }
                writeln!(out, "{pad} {bar}")?;
            }
            let eq = paint(GUTTER, "=");
            if let Some(fix) = d.fixes.first() {
                writeln!(
                    out,
                    "{pad} {eq} help: {} ({})",
                    one_line(&fix.title),
                    fix_note(fix)
                )?;
                if show_fixes {
                    if let Some(p) = f.source.preview(i) {
                        let first = p.line.saturating_sub(f.source.base()).max(1);
                        for (sign, body, code) in
                            [("-", &p.before, "\x1b[31m"), ("+", &p.after, "\x1b[32m")]
                        {
                            for (k, line) in body.split('\n').enumerate() {
                                let line = line.strip_suffix('\r').unwrap_or(line);
                                let num = if sign == "-" {
                                    format!("{:>width$}", first + k)
                                } else {
                                    " ".repeat(width)
                                };
                                writeln!(
                                    out,
                                    "{} {bar} {}",
                                    paint(GUTTER, &num),
                                    paint(code, &format!("{sign}{line}"))
                                )?;
                            }
                        }
                    }
                }
            }
            if f.source.base() > 0 {
                writeln!(
                    out,
                    "{pad} {eq} rendered: line {} of the piped stream",
                    s.line + f.source.base()
                )?;
            }
            if let Some(rule) = rules::by_code(d.code).filter(|r| !r.url.is_empty()) {
                writeln!(
                    out,
                    "{pad} {eq} see: {} · otel-lsp explain {}",
                    rule.url, d.code
                )?;
            }
            writeln!(out)?;
        }
    }
    if let Some(s) = summary {
        writeln!(out, "{}", paint(BOLD, &s.line()))?;
    }
    Ok(())
}

/// The summary line alone.
pub fn summary_line(out: &mut dyn Write, s: &Summary, colour: bool) -> io::Result<()> {
    if colour {
        writeln!(out, "{BOLD}{}{RESET}", s.line())
    } else {
        writeln!(out, "{}", s.line())
    }
}

/// `--show-fixes` after `--fix`: the findings the fixes removed, per file (ruff's form).
pub fn fixes_enumeration(
    out: &mut dyn Write,
    fixed: &[(String, Vec<super::FixedCode>)],
    colour: bool,
) -> io::Result<()> {
    let total: usize = fixed.iter().flat_map(|(_, c)| c.iter().map(|c| c.2)).sum();
    let head = format!("Fixed {}:", plural(total, "problem", "problems"));
    if colour {
        writeln!(out, "{BOLD}{head}{RESET}")?;
    } else {
        writeln!(out, "{head}")?;
    }
    for (path, codes) in fixed {
        writeln!(out, "- {path}:")?;
        for (code, name, n) in codes {
            writeln!(out, "    {n} × {code} ({name})")?;
        }
    }
    writeln!(out)
}

/// One rule's line of `--statistics`.
#[derive(Serialize)]
struct RuleCount {
    code: &'static str,
    name: &'static str,
    count: usize,
    fixable: usize,
    unsafe_fixable: usize,
}

/// `--statistics`: findings per rule, most first, with how many `--fix` (and only
/// `--unsafe-fixes`) would repair; a JSON array when `as_json`.
pub fn statistics(out: &mut dyn Write, files: &[FileReport], as_json: bool) -> io::Result<()> {
    let mut counts: Vec<RuleCount> = Vec::new();
    for d in files.iter().flat_map(|f| &f.diagnostics) {
        let i = match counts.iter().position(|c| c.code == d.code) {
            Some(i) => i,
            None => {
                counts.push(RuleCount {
                    code: d.code,
                    name: d.name,
                    count: 0,
                    fixable: 0,
                    unsafe_fixable: 0,
                });
                counts.len() - 1
            }
        };
        let c = &mut counts[i];
        c.count += 1;
        if d.has_safe_fix() {
            c.fixable += 1;
        } else if !d.fixes.is_empty() {
            c.unsafe_fixable += 1;
        }
    }
    counts.sort_by(|a, b| b.count.cmp(&a.count).then(a.code.cmp(b.code)));
    if as_json {
        serde_json::to_writer_pretty(&mut *out, &counts)?;
        return writeln!(out);
    }
    let width = counts.first().map_or(1, |c| c.count.to_string().len());
    let name_width = counts.iter().map(|c| c.name.len()).max().unwrap_or(0);
    for c in &counts {
        let mut fixes = Vec::new();
        if c.fixable > 0 {
            fixes.push(format!("{} fixable", c.fixable));
        }
        if c.unsafe_fixable > 0 {
            fixes.push(format!("{} with --unsafe-fixes", c.unsafe_fixable));
        }
        let line = format!(
            "{:>width$}  {}  {:<name_width$}  {}",
            c.count,
            c.code,
            c.name,
            fixes.join(", ")
        );
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

/// Messages are one line in line-oriented formats.
fn one_line(s: &str) -> String {
    s.replace(['\r', '\n'], " ")
}

/// One element of the JSON output (see the README's "JSON output" section).
#[derive(Serialize)]
pub struct JsonDiagnostic<'a> {
    /// The file, as the user would type it.
    pub path: &'a str,
    /// 1-based line of the first character.
    pub line: usize,
    /// 1-based column (in characters) of the first character.
    pub column: usize,
    /// 1-based line of the exclusive end.
    pub end_line: usize,
    /// 1-based column of the exclusive end.
    pub end_column: usize,
    /// Rule code.
    pub code: &'static str,
    /// Rule name.
    pub name: &'static str,
    /// Effective severity.
    pub severity: Severity,
    /// Message.
    pub message: &'a str,
    /// Repairs, preferred first.
    pub fixes: Vec<JsonFix<'a>>,
}

/// A fix in the JSON output.
#[derive(Serialize)]
pub struct JsonFix<'a> {
    /// What the fix does.
    pub title: &'a str,
    /// `safe` or `unsafe`.
    pub applicability: Applicability,
    /// The edits, in positions of the checked text.
    pub edits: Vec<JsonEdit<'a>>,
}

/// An edit in the JSON output: replace the range with `new_text`.
#[derive(Serialize)]
pub struct JsonEdit<'a> {
    /// 1-based start line.
    pub line: usize,
    /// 1-based start column.
    pub column: usize,
    /// 1-based exclusive end line.
    pub end_line: usize,
    /// 1-based exclusive end column.
    pub end_column: usize,
    /// Replacement text (empty: delete; empty range: insert).
    pub new_text: &'a str,
}

/// Every diagnostic as the JSON formats show it.
fn json_diagnostics(files: &[FileReport]) -> Vec<JsonDiagnostic<'_>> {
    let mut all = Vec::new();
    for f in files {
        let index = LineIndex::new(&f.source);
        for d in &f.diagnostics {
            let (s, e) = index.range(d.span);
            all.push(JsonDiagnostic {
                path: &f.path,
                line: s.line,
                column: s.column,
                end_line: e.line,
                end_column: e.column,
                code: d.code,
                name: d.name,
                severity: d.severity,
                message: &d.message,
                fixes: d
                    .fixes
                    .iter()
                    .map(|fix| JsonFix {
                        title: &fix.title,
                        applicability: fix.applicability,
                        edits: fix
                            .edits
                            .iter()
                            .map(|ed| {
                                let (s, e) = index.range(ed.span);
                                JsonEdit {
                                    line: s.line,
                                    column: s.column,
                                    end_line: e.line,
                                    end_column: e.column,
                                    new_text: &ed.new_text,
                                }
                            })
                            .collect(),
                    })
                    .collect(),
            });
        }
    }
    all
}

/// The JSON array of every diagnostic.
pub fn json(out: &mut dyn Write, files: &[FileReport]) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &json_diagnostics(files))?;
    writeln!(out)
}

/// JSON lines: one compact JSON object per diagnostic, the same objects as `json`.
pub fn json_lines(out: &mut dyn Write, files: &[FileReport]) -> io::Result<()> {
    for d in json_diagnostics(files) {
        serde_json::to_writer(&mut *out, &d)?;
        writeln!(out)?;
    }
    Ok(())
}

/// Percent-encodes a path for a URI, keeping `/` and RFC 3986 unreserved characters.
fn uri_path(path: &str) -> String {
    let mut s = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s
}

fn sarif_level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info | Severity::Hint => "note",
    }
}

fn sarif_region(index: &LineIndex, span: Span) -> Value {
    let (s, e) = index.range(span);
    json!({
        "startLine": s.line,
        "startColumn": s.column,
        "endLine": e.line,
        "endColumn": e.column,
    })
}

fn sarif_rule(r: &Rule) -> Value {
    let short = if r.summary.is_empty() {
        r.name
    } else {
        r.summary
    };
    let mut rule = json!({
        "id": r.code,
        "name": r.name,
        "shortDescription": { "text": short },
        "defaultConfiguration": { "level": sarif_level(r.severity) },
        "properties": {
            "language": r.language.as_str(),
            "fix": r.fix.as_str(),
        },
    });
    if !r.docs.is_empty() {
        rule["fullDescription"] = json!({ "text": short });
        rule["help"] = json!({ "text": r.docs, "markdown": r.docs });
    }
    if !r.url.is_empty() {
        rule["helpUri"] = json!(r.url);
    }
    rule
}

/// A SARIF 2.1.0 log with one run: every rule's metadata and every diagnostic.
pub fn sarif(out: &mut dyn Write, files: &[FileReport], cwd: &Path) -> io::Result<()> {
    let mut results = Vec::new();
    for f in files {
        let index = LineIndex::new(&f.source);
        let location = if Path::new(&f.path).is_absolute() {
            json!({ "uri": format!("file://{}", uri_path(&f.path)) })
        } else {
            json!({ "uri": uri_path(&f.path), "uriBaseId": "%SRCROOT%" })
        };
        for d in &f.diagnostics {
            let rule_index = rules::ALL.iter().position(|r| r.code == d.code);
            let fixes: Vec<Value> = d
                .fixes
                .iter()
                .map(|fix| {
                    json!({
                        "description": { "text": fix.title },
                        "artifactChanges": [{
                            "artifactLocation": location,
                            "replacements": fix.edits.iter().map(|e| json!({
                                "deletedRegion": sarif_region(&index, e.span),
                                "insertedContent": { "text": e.new_text },
                            })).collect::<Vec<_>>(),
                        }],
                    })
                })
                .collect();
            let mut result = json!({
                "ruleId": d.code,
                "level": sarif_level(d.severity),
                "message": { "text": d.message },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": location,
                        "region": sarif_region(&index, d.span),
                    }
                }],
            });
            if let Some(i) = rule_index {
                result["ruleIndex"] = json!(i);
            }
            if !fixes.is_empty() {
                result["fixes"] = json!(fixes);
            }
            results.push(result);
        }
    }
    let root = cwd.to_string_lossy();
    let root = if root.ends_with('/') {
        root.into_owned()
    } else {
        format!("{root}/")
    };
    let log = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "otel-lsp",
                    "version": env!("CARGO_PKG_VERSION"),
                    "rules": rules::ALL.iter().map(|r| sarif_rule(r)).collect::<Vec<_>>(),
                }
            },
            "columnKind": "unicodeCodePoints",
            "originalUriBaseIds": {
                "%SRCROOT%": { "uri": format!("file://{}", uri_path(&root)) }
            },
            "results": results,
        }]
    });
    serde_json::to_writer_pretty(&mut *out, &log)?;
    writeln!(out)
}

/// Escapes workflow-command data (the message).
fn gh_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow-command property value.
fn gh_property(s: &str) -> String {
    gh_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// GitHub Actions annotations: `::warning file=…,line=…,col=…,endLine=…,endColumn=…,title=…::message`.
pub fn github(out: &mut dyn Write, files: &[FileReport]) -> io::Result<()> {
    for f in files {
        let index = LineIndex::new(&f.source);
        for d in &f.diagnostics {
            let (s, e) = index.range(d.span);
            let level = match d.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
                Severity::Info | Severity::Hint => "notice",
            };
            writeln!(
                out,
                "::{level} file={},line={},col={},endLine={},endColumn={},title={}::{}",
                gh_property(&f.path),
                s.line,
                s.column,
                e.line,
                e.column,
                gh_property(&format!("{} ({})", d.code, d.name)),
                gh_data(&d.message),
            )?;
        }
    }
    Ok(())
}

fn gitlab_severity(s: Severity) -> &'static str {
    match s {
        Severity::Error => "critical",
        Severity::Warning => "major",
        Severity::Info => "minor",
        Severity::Hint => "info",
    }
}

/// FNV-1a over `parts` (each followed by a 0 byte), from offset basis `seed`.
fn fnv1a(seed: u64, parts: &[&str]) -> u64 {
    let mut h = seed;
    for p in parts {
        for &b in p.as_bytes().iter().chain(&[0]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

/// A GitLab fingerprint: 32 hex digits from the rule, the path and the message (not the
/// line, so an issue keeps its identity when code above it moves), made unique within the
/// report by counting repeats.
fn fingerprint(code: &str, path: &str, message: &str, repeat: usize) -> String {
    let n = repeat.to_string();
    let parts = [code, path, message, &n];
    format!(
        "{:016x}{:016x}",
        fnv1a(0xcbf2_9ce4_8422_2325, &parts),
        fnv1a(0x6c62_272e_07bb_0142, &parts)
    )
}

/// A GitLab Code Quality report: a JSON array of issues with `description`, `check_name`,
/// `fingerprint`, `severity` and `location.path` / `location.lines.begin`. Paths are relative
/// to `project_dir` (GitLab's `CI_PROJECT_DIR`) when given and the file is inside it.
pub fn gitlab(
    out: &mut dyn Write,
    files: &[FileReport],
    cwd: &Path,
    project_dir: Option<&Path>,
) -> io::Result<()> {
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut issues = Vec::new();
    for f in files {
        let path = match project_dir {
            Some(root) => {
                let abs = cwd.join(&f.path);
                abs.strip_prefix(root)
                    .map(|p| p.to_string_lossy().into_owned())
                    .unwrap_or_else(|_| f.path.clone())
            }
            None => f.path.clone(),
        };
        let index = LineIndex::new(&f.source);
        for d in &f.diagnostics {
            let (s, e) = index.range(d.span);
            let key = format!("{}\0{path}\0{}", d.code, d.message);
            let repeat = seen.entry(key).or_insert(0);
            let fp = fingerprint(d.code, &path, &d.message, *repeat);
            *repeat += 1;
            issues.push(json!({
                "type": "issue",
                "description": format!("{} {}", d.code, one_line(&d.message)),
                "check_name": d.code,
                "categories": ["Bug Risk"],
                "fingerprint": fp,
                "severity": gitlab_severity(d.severity),
                "location": {
                    "path": path,
                    "lines": { "begin": s.line, "end": e.line },
                },
            }));
        }
    }
    serde_json::to_writer_pretty(&mut *out, &issues)?;
    writeln!(out)
}

/// Escapes text for XML 1.0 content and attributes, dropping the control characters XML
/// cannot carry.
fn xml(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            '\n' => o.push_str("&#10;"),
            '\r' => o.push_str("&#13;"),
            '\t' => o.push('\t'),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {}
            c => o.push(c),
        }
    }
    o
}

/// JUnit XML: one test suite per file, one failing test case per diagnostic (named after
/// the rule); a run without findings is one passing test case.
pub fn junit(out: &mut dyn Write, files: &[FileReport]) -> io::Result<()> {
    let total: usize = files.iter().map(|f| f.diagnostics.len()).sum();
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        out,
        r#"<testsuites name="otel-lsp" tests="{}" failures="{total}" errors="0">"#,
        total.max(1)
    )?;
    if total == 0 {
        writeln!(
            out,
            r#"  <testsuite name="otel-lsp" tests="1" disabled="0" errors="0" failures="0">"#
        )?;
        writeln!(
            out,
            r#"    <testcase name="No problems found" classname="otel-lsp"/>"#
        )?;
        writeln!(out, "  </testsuite>")?;
    }
    for f in files {
        let n = f.diagnostics.len();
        let path = xml(&f.path);
        writeln!(
            out,
            r#"  <testsuite name="{path}" tests="{n}" disabled="0" errors="0" failures="{n}" package="otel-lsp">"#
        )?;
        let index = LineIndex::new(&f.source);
        for d in &f.diagnostics {
            let p = index.position(d.span.start);
            let message = xml(&one_line(&d.message));
            writeln!(
                out,
                r#"    <testcase name="{} ({})" classname="{path}" file="{path}" line="{}" column="{}">"#,
                d.code, d.name, p.line, p.column
            )?;
            writeln!(
                out,
                r#"      <failure message="{message}" type="{}">{path}:{}:{}: {} {message}</failure>"#,
                d.severity.as_str(),
                p.line,
                p.column,
                d.code
            )?;
            writeln!(out, "    </testcase>")?;
        }
        writeln!(out, "  </testsuite>")?;
    }
    writeln!(out, "</testsuites>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_count_characters_and_handle_crlf() {
        let text = "é😀x = 1\r\nab\r\n\r\n";
        let src = Source::new(text, 0..=text.len() + 10);
        let idx = LineIndex::new(&src);
        assert_eq!(idx.position(0), Position { line: 1, column: 1 });
        // `x` is after a 2-byte and a 4-byte character.
        assert_eq!(idx.position(6), Position { line: 1, column: 3 });
        // Inside the emoji: clamped back to its start.
        assert_eq!(idx.position(4), Position { line: 1, column: 2 });
        let b = text.find("ab").unwrap();
        assert_eq!(idx.position(b + 1), Position { line: 2, column: 2 });
        assert_eq!(idx.position(text.len()), Position { line: 4, column: 1 });
        assert_eq!(
            idx.position(text.len() + 10),
            Position { line: 4, column: 1 }
        );
        assert_eq!(
            LineIndex::new(&Source::new("", [0])).position(0),
            Position { line: 1, column: 1 }
        );
        // Only the lines asked for are kept, and they give the same positions.
        let bom = "\u{feff}a = 1\nb = 2\n";
        let few = Source::new(bom, [4, 6, 11]);
        assert_eq!(few.positions.len(), 3);
        let idx = LineIndex::new(&few);
        assert_eq!(idx.position(4), Position { line: 1, column: 2 });
        assert_eq!(idx.position(11), Position { line: 2, column: 3 });
    }

    #[test]
    fn summary_wording() {
        let mut s = Summary {
            files: 41,
            problems: 3,
            fixable: 2,
            ..Summary::default()
        };
        assert_eq!(s.line(), "3 problems (2 fixable with --fix) in 41 files");
        s.unsafe_fixable = 1;
        assert_eq!(
            s.line(),
            "3 problems (2 fixable with --fix, 1 more with --unsafe-fixes) in 41 files"
        );
        let s = Summary {
            files: 1,
            problems: 0,
            fixed: Some(2),
            ..Summary::default()
        };
        assert_eq!(s.line(), "No problems remaining (2 fixed) in 1 file");
        let s = Summary {
            files: 2,
            problems: 1,
            ..Summary::default()
        };
        assert_eq!(s.line(), "1 problem in 2 files");
    }

    #[test]
    fn escapes() {
        assert_eq!(uri_path("a b/ü.py"), "a%20b/%C3%BC.py");
        assert_eq!(gh_property("a:b,c%\n"), "a%3Ab%2Cc%25%0A");
        assert_eq!(gh_data("a:b\r\n"), "a:b%0D%0A");
    }
}

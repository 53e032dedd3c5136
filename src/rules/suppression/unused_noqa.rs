//! OTEL100 `unused-noqa` (info): a `# noqa: OTELnnn` on a line where OTELnnn reports nothing,
//! or that names no otel-lsp rule — ruff's RUF100 for otel-lsp's codes.
//!
//! It judges what the other rules reported, so the engine runs it last, on their diagnostics
//! before suppression ([`Context::reported`]). Only what is certain is reported: codes of
//! rules enabled for the file that read its kind (a rule switched off, or one that never
//! reads the file, might report there: its code is left alone), OTEL codes that are no rule,
//! and a code listed twice. Codes of other tools (`E501`, `F401`) and a bare `# noqa` are
//! never judged: they are shared with ruff and flake8. Only directives inside comments are
//! judged (`syntax::comments`): a `# noqa` in a string, a YAML scalar or a heredoc is text.

use crate::diagnostic::{Edit, Finding, Fix, Severity, Span};
use crate::engine::suppress::{directive, line_end, line_start, Directive};
use crate::language::Language;
use crate::launch;
use crate::rules::{always, is_unused_noqa, Bytes, Context, Facts, FixKind, Pre, Rule, Topic};
use crate::rules::{ALL, ENV_KINDS};
use crate::source::Chunk;
use crate::syntax::comments;
use std::collections::HashSet;

/// The rule.
pub static RULE: Rule = Rule {
    code: "OTEL100",
    name: "unused-noqa",
    topic: Topic::Suppression,
    language: Language::Python,
    also: ENV_KINDS,
    severity: Severity::Info,
    summary: "`# noqa: OTELnnn` on a line where that rule reports nothing, or an unknown OTEL code",
    docs: DOCS,
    url: "https://docs.astral.sh/ruff/rules/unused-noqa/",
    fix: FixKind::Safe,
    query: None,
    pre: &[Pre {
        langs: Language::ALL,
        // Every judged code is written `OTELnnn` or `otelnnn`, in a directive spelled `noqa`
        // or `NOQA`: a file without both says nothing to judge, and nothing is parsed for it
        // (but a YAML document with a needle, whose comments come from its tree).
        needles: &["OTEL", "otel"],
        facts: Facts::NONE,
        file: &["noqa", "NOQA"],
        relevant: has_noqa,
    }],
    gate: always,
    scan: Some(scan),
    scan_per_document: false,
    trees: crate::syntax::yaml::Classes::ALL,
};

fn has_noqa(b: &Bytes) -> bool {
    b.has_any(&["noqa", "NOQA"])
}

fn scan(ctx: &Context) -> Vec<Finding> {
    let Some(reported) = ctx.reported else {
        return Vec::new();
    };
    let text = ctx.text;
    let lang = ctx.file.language();
    let used: HashSet<(usize, &str)> = reported
        .diagnostics
        .iter()
        .map(|d| (line_start(text, d.span.start), d.code))
        .collect();
    let mut out = Vec::new();
    let mut last_line = None;
    for chunk in ctx.file.chunks() {
        if reported.chunks != 0 && chunk.needles & reported.chunks == 0 {
            continue;
        }
        let src = &text[chunk.start..chunk.start + chunk.len];
        let noqa = |w: &str| memchr::memmem::find(src.as_bytes(), w.as_bytes()).is_some();
        if !noqa("noqa") && !noqa("NOQA") {
            continue;
        }
        for c in comment_starts(lang, chunk, src) {
            let at = chunk.start + c;
            let ls = line_start(text, at);
            if last_line == Some(ls) {
                continue;
            }
            last_line = Some(ls);
            let le = line_end(text, at);
            let line = &text[ls..le];
            let Some(d) = directive(line) else {
                continue;
            };
            // The directive the suppression reads must be in the comment (not before it, in
            // code or a string), and spelled as the needles are.
            if ls + d.range.start < at || !matches!(&line[d.word.clone()], "noqa" | "NOQA") {
                continue;
            }
            let enabled = |r: &Rule| (reported.enabled)(r);
            if let Some(f) = judge(text, ls, le, &d, lang, &enabled, &used) {
                out.push(f);
            }
        }
    }
    out
}

/// Where the comments of a chunk start (chunk-relative). A YAML document is read from its
/// tree: one that is not parsed is judged in the check that parses it (the CLI checks a
/// stream's documents in two passes), or holds no needle.
fn comment_starts(lang: Language, chunk: &Chunk, src: &str) -> Vec<usize> {
    match lang {
        Language::Python => comments::python(src),
        Language::Yaml => chunk.tree().map(comments::in_tree).unwrap_or_default(),
        Language::Shell => match chunk.tree() {
            Some(t) => comments::in_tree(t),
            None => comments::bash(src),
        },
        Language::Dockerfile => launch::dockerfile::comments(src),
        Language::Procfile => launch::procfile::comments(src),
        Language::Ini => launch::ini::comments(src),
        Language::Makefile => launch::makefile::comments(src),
        Language::DotEnv => launch::dotenv::comments(src),
    }
}

/// The finding for one directive (on the line `ls..le`), if some of its codes silence
/// nothing.
fn judge(
    text: &str,
    ls: usize,
    le: usize,
    d: &Directive,
    lang: Language,
    enabled: &dyn Fn(&Rule) -> bool,
    used: &HashSet<(usize, &str)>,
) -> Option<Finding> {
    let line = &text[ls..le];
    let mut seen: Vec<&str> = Vec::new();
    let (mut unused, mut unknown, mut twice) = (Vec::new(), Vec::new(), Vec::new());
    for (i, (code, at)) in d.codes.iter().enumerate() {
        let written = &line[at.clone()];
        if !(written.starts_with("OTEL") || written.starts_with("otel")) {
            continue;
        }
        if seen.contains(&code.as_str()) {
            twice.push(i);
            continue;
        }
        seen.push(code);
        let Some(rule) = ALL.iter().find(|r| r.code == code) else {
            unknown.push(i);
            continue;
        };
        let reads = rule.language == lang || rule.also.contains(&lang);
        if is_unused_noqa(rule) || !enabled(rule) || !reads {
            continue;
        }
        if !used.contains(&(ls, rule.code)) {
            unused.push(i);
        }
    }
    let mut drop: Vec<usize> = unused
        .iter()
        .chain(&unknown)
        .chain(&twice)
        .copied()
        .collect();
    if drop.is_empty() {
        return None;
    }
    drop.sort_unstable();
    let names = |v: &[usize]| {
        v.iter()
            .map(|&i| d.codes[i].0.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let verb = |v: &[usize], one: &'static str, many: &'static str| {
        if v.len() == 1 {
            one
        } else {
            many
        }
    };
    let mut parts = Vec::new();
    if !unused.is_empty() {
        parts.push(format!(
            "{} {} nothing on this line",
            names(&unused),
            verb(&unused, "reports", "report")
        ));
    }
    if !unknown.is_empty() {
        parts.push(format!(
            "{} {} no otel-lsp rule",
            names(&unknown),
            verb(&unknown, "is", "are")
        ));
    }
    if !twice.is_empty() {
        parts.push(format!("{} listed twice", names(&twice)));
    }
    let keep: Vec<usize> = (0..d.codes.len()).filter(|i| !drop.contains(i)).collect();
    let whole = keep.is_empty();
    let head = if unused.is_empty() && twice.is_empty() {
        "Unknown rule code in `noqa` directive"
    } else {
        "Unused `noqa` directive"
    };
    let message = if whole {
        format!(
            "{head}: {}. Remove the comment: it silences nothing.",
            parts.join("; ")
        )
    } else {
        format!(
            "{head}: {}. Remove {} from the list.",
            parts.join("; "),
            names(&drop)
        )
    };
    let (first, last) = (&d.codes[drop[0]].1, &d.codes[drop[drop.len() - 1]].1);
    let span = Span::new(ls + first.start, ls + last.end);
    let fix = if whole {
        Fix::safe(
            "Remove the unused `noqa` directive",
            remove_directive(text, ls, le, d, lang),
        )
    } else {
        let list: Vec<&str> = keep.iter().map(|&i| &line[d.codes[i].1.clone()]).collect();
        let all = d.codes[0].1.start..d.codes[d.codes.len() - 1].1.end;
        Fix::safe(
            format!("Remove {} from the `noqa` directive", names(&drop)),
            vec![Edit::replace(
                Span::new(ls + all.start, ls + all.end),
                list.join(", "),
            )],
        )
    };
    Some(Finding::new(span, message).with_fix(fix))
}

/// The edits that remove a whole directive from its line `ls..le`: up to the next comment
/// when one follows (`# noqa: OTEL001  # why` keeps `# why`); else with its explanation and
/// the white space before it; a line that held nothing else goes entirely — but after a
/// line ending in a backslash, whose continuation it is, only its text goes (outside a
/// Dockerfile, which drops such comment lines itself), so that the lines still join as
/// before. A later `# noqa` in the comments kept would become the line's directive once
/// this one is gone (only the first one counts): those go too, so that the line silences
/// nothing, as before.
fn remove_directive(text: &str, ls: usize, le: usize, d: &Directive, lang: Language) -> Vec<Edit> {
    let start = ls + d.range.start;
    let end = ls + d.range.end;
    let rest = text[end..le].trim_start_matches([' ', '\t']);
    if rest.starts_with('#') {
        let mut edits = vec![Edit::delete(Span::new(start, le - rest.len()))];
        let mut from = le - rest.len();
        while let Some(later) = directive(&text[from..le]) {
            let (s, e) = (from + later.range.start, from + later.range.end);
            let after = text[e..le].trim_start_matches([' ', '\t']);
            let span = if after.starts_with('#') {
                Span::new(s, le - after.len())
            } else {
                // The last comment of the line: with the white space before it.
                Span::new(from + text[from..s].trim_end_matches([' ', '\t']).len(), le)
            };
            edits.push(Edit::delete(span));
            from = span.end;
        }
        let all_gone = edits.last().is_some_and(|e| e.span.end == le)
            && edits.windows(2).all(|w| w[0].span.end == w[1].span.start);
        if !all_gone {
            return edits;
        }
        // Every comment after it was a `noqa` too: as if the directive ran to the line's end.
    }
    let code_end = ls + text[ls..start].trim_end_matches([' ', '\t']).len();
    if code_end > ls {
        return vec![Edit::delete(Span::new(code_end, le))];
    }
    let continued = ls > 0 && {
        let prev = &text[line_start(text, ls - 1)..line_end(text, ls - 1)];
        prev.trim_end().ends_with('\\')
    };
    if continued && lang != Language::Dockerfile {
        return vec![Edit::delete(Span::new(ls, le))];
    }
    let after = &text[le..];
    let next = if after.starts_with("\r\n") {
        le + 2
    } else if after.starts_with('\n') {
        le + 1
    } else {
        le
    };
    if next > le {
        return vec![Edit::delete(Span::new(ls, next))];
    }
    // The last line, without a line break: the one before it goes with it.
    let before = if text[..ls].ends_with("\r\n") {
        ls - 2
    } else {
        ls.saturating_sub(1)
    };
    vec![Edit::delete(Span::new(before, le))]
}

const DOCS: &str = r#"## What it does
Reports a `# noqa: OTELnnn` suppression comment that silences nothing: the rule OTELnnn
reports nothing on that line (any more), or OTELnnn is not an otel-lsp rule at all
(`# noqa: OTEL999`), or a code is listed twice. ruff's RUF100 (`unused-noqa`) for
otel-lsp's codes.

What it judges, and what it leaves alone:

* Only codes of rules **enabled** for the file (its configuration's `select`/`ignore`, the
  command line's `--select`/`--ignore`) and that **read its kind** of file: a rule switched
  off, or one that never reads a Dockerfile, might well report there, so its code is left
  alone. A code written `OTELnnn` or `otelnnn` (another capitalisation still suppresses, but
  is not judged).
* Codes of other tools — `# noqa: E501, OTEL001` is shared with ruff and flake8 — are never
  judged and never removed, and a bare `# noqa` (every rule) is never reported.
* Only directives in a comment: a `# noqa` inside a string, a YAML scalar, a heredoc or an
  argument Docker reads as text (`ENV`, `LABEL`) is not a suppression comment to judge.
  Comments are found per file kind: Python strings, YAML's tree, shell quoting (scripts,
  Procfile commands, Makefile recipes, Dockerfile `RUN`/`CMD`/`ENTRYPOINT`), make's and
  INI's and `.env`'s own comment rules.
* `# noqa: OTEL100` on a line silences OTEL100 there, as `# noqa: RUF100` does in ruff; so
  does `--ignore OTEL100` everywhere.

The diagnostic underlines the codes that silence nothing.

## Why is this bad?
A suppression comment outlives the finding it was written for: the code was fixed, the rule
got more precise, the line moved. The stale `# noqa: OTEL001` then silences the next real
finding of that rule on its line, without anyone deciding so — and it tells every reader
that the line has a problem it no longer has. An unknown code is a typo that silences
nothing, while its author believes it does.

## Example
```python
app.run(debug=True, use_reloader=False)  # noqa: OTEL001
```

## Use instead
```python
app.run(debug=True, use_reloader=False)
```
And with other tools' codes in the same comment, only the otel-lsp code goes:
`# noqa: E501, OTEL001` becomes `# noqa: E501`.

## Fix safety
Safe: the fix only edits a comment. When every code of the directive goes, it removes the
directive with the white space before it and its trailing explanation (`# noqa: OTEL001
reason`), keeps a comment that follows it (`# noqa: OTEL001  # why` leaves `# why`) —
except a later `# noqa` among those comments, which goes too: only a line's first `noqa`
comment is a directive, and the later one would become it — and
removes a line that held nothing else (in a shell script, a Procfile or a Makefile, a comment
line continuing the line above keeps its line break, so the lines still join as before);
otherwise it removes only those codes from the list and keeps the others and the
explanation. In a Makefile the white space before a comment belongs to a variable's value
(`X = a  # noqa: …` sets `a  `); the fix removes it with the comment, which is what the line
meant.

## Source
- ruff, `unused-noqa` (RUF100) <https://docs.astral.sh/ruff/rules/unused-noqa/>
- flake8, selecting and ignoring violations (`# noqa`)
  <https://flake8.pycqa.org/en/latest/user/violations.html#in-line-ignoring-errors>
- rules.md §8 (OTEL100)
"#;

#[cfg(test)]
mod tests {
    use crate::config::Settings;
    use crate::engine::{check_text, fix};
    use crate::language::Language;

    /// The OTEL100 findings' lines and the text after `--fix` (safe fixes, OTEL100 only).
    fn run(lang: Language, text: &str, settings: &Settings) -> (Vec<usize>, String) {
        let diags = check_text(lang, text, settings);
        let lines = diags
            .iter()
            .filter(|d| d.code == "OTEL100")
            .map(|d| text[..d.span.start].matches('\n').count() + 1)
            .collect();
        let fixes: Vec<_> = diags
            .iter()
            .filter(|d| d.code == "OTEL100")
            .flat_map(|d| d.fixes.first())
            .collect();
        (lines, fix::apply(text, &fixes).0)
    }

    const HEAD: &str =
        "from flask import Flask\nfrom opentelemetry import trace\napp = Flask(__name__)\n";

    #[test]
    fn a_line_of_its_own_goes_whole() {
        let text = format!(
            "{HEAD}# noqa: OTEL001\nx = 1\r\n    # noqa: OTEL001\r\ny = 2\n# noqa: OTEL001"
        );
        let (lines, fixed) = run(Language::Python, &text, &Settings::default());
        assert_eq!(lines, [4, 6, 8]);
        assert_eq!(fixed, format!("{HEAD}x = 1\r\ny = 2"));
    }

    /// Only a line's first `# noqa` counts; removing it must not make a later one count.
    #[test]
    fn a_later_noqa_goes_with_the_directive() {
        let text = format!(
            "{HEAD}x = 1  # noqa: OTEL001  # why # noqa: OTEL001  # more\ny = 2  # noqa: OTEL001  # NOQA: OTEL002\n"
        );
        let (lines, fixed) = run(Language::Python, &text, &Settings::default());
        assert_eq!(lines, [4, 5]);
        assert_eq!(fixed, format!("{HEAD}x = 1  # why # more\ny = 2\n"));
        let (again, _) = run(Language::Python, &fixed, &Settings::default());
        assert!(again.is_empty(), "{again:?}");
    }

    #[test]
    fn the_explanation_goes_with_the_directive() {
        let text =
            format!("{HEAD}x = 1  # noqa: OTEL001 the reloader is off\ny = [  # NOQA:OTEL001\n]\n");
        let (lines, fixed) = run(Language::Python, &text, &Settings::default());
        assert_eq!(lines, [4, 5]);
        assert_eq!(fixed, format!("{HEAD}x = 1\ny = [\n]\n"));
    }

    #[test]
    fn a_continued_shell_line_keeps_its_line_break() {
        let text = "export DJANGO_SETTINGS_MODULE=s\necho a \\\n  # noqa: OTEL009\necho b\n";
        let (lines, fixed) = run(Language::Shell, text, &Settings::default());
        assert_eq!(lines, [3]);
        assert_eq!(
            fixed,
            "export DJANGO_SETTINGS_MODULE=s\necho a \\\n\necho b\n"
        );
        // Docker drops comment lines inside a continuation: the line goes.
        let text = "FROM python\nRUN pip install a \\\n    # noqa: OTEL050\n    b\n";
        let (lines, fixed) = run(Language::Dockerfile, text, &Settings::default());
        assert_eq!(lines, [3]);
        assert_eq!(fixed, "FROM python\nRUN pip install a \\\n    b\n");
    }

    #[test]
    fn codes_of_disabled_rules_are_not_judged() {
        let text = format!("{HEAD}x = 1  # noqa: OTEL001, OTEL002\n");
        let off = Settings {
            ignore: vec!["OTEL001".into()],
            ..Settings::default()
        };
        let (lines, fixed) = run(Language::Python, &text, &off);
        assert_eq!(lines, [4]);
        assert_eq!(fixed, format!("{HEAD}x = 1  # noqa: OTEL001\n"));
        // `--select OTEL100`: no other rule is enabled, so no code is judged but unknown ones.
        let only = Settings {
            select: Some(vec!["OTEL100".into()]),
            ..Settings::default()
        };
        let text = format!("{HEAD}x = 1  # noqa: OTEL001, OTEL777\n");
        let (lines, fixed) = run(Language::Python, &text, &only);
        assert_eq!(lines, [4]);
        assert_eq!(fixed, format!("{HEAD}x = 1  # noqa: OTEL001\n"));
        // OTEL100 itself switched off: nothing.
        let none = Settings {
            ignore: vec!["unused-noqa".into()],
            ..Settings::default()
        };
        assert_eq!(run(Language::Python, &text, &none).0, Vec::<usize>::new());
    }

    #[test]
    fn severity_message_and_span() {
        let text = format!("{HEAD}x = 1  # noqa: E501, OTEL001, OTEL999\n");
        let d: Vec<_> = check_text(Language::Python, &text, &Settings::default());
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].severity.as_str(), "info");
        assert_eq!(&text[d[0].span.start..d[0].span.end], "OTEL001, OTEL999");
        assert_eq!(
            d[0].message,
            "Unused `noqa` directive: OTEL001 reports nothing on this line; OTEL999 is no otel-lsp rule. Remove OTEL001, OTEL999 from the list."
        );
        assert_eq!(
            d[0].fixes[0].title,
            "Remove OTEL001, OTEL999 from the `noqa` directive"
        );
    }

    #[test]
    fn odd_directives_never_panic() {
        for text in [
            "# noqa:",
            "#noqa:OTEL001,",
            "x # noqa: OTEL001,,OTEL002",
            "x # noqa: ,OTEL001",
            "é # noqa: OTEL001 é",
            "\"\"\"\n# noqa: OTEL001",
            "x = '\\\n# noqa: OTEL001",
            "# noqa: OTEL001\\",
        ] {
            for lang in crate::language::Language::ALL {
                let _ = run(*lang, text, &Settings::default());
            }
        }
    }
}

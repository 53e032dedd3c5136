//! Makefiles: recipe lines (tab-indented under a target, or after `target: ;`) are shell
//! command lines, each run by its own shell (one per target with `.ONESHELL:`).
//!
//! A recipe line is handed to tree-sitter-bash *masked* to the same length, so every word
//! keeps its offset in the file: the leading tab and the `@` (silent), `-` (ignore errors)
//! and `+` (always run) prefixes become spaces. Make's own references — `$(VAR)`, `${VAR}`,
//! `$@`, `$$` — reach bash as expansions, so words built from them are dynamic and never
//! judged; only a reference that is a leading path (`$(VENV)/bin/gunicorn`) is blanked, so
//! the program is still known by its base name.
//!
//! `export NAME = value` lines are the environment of every recipe (values with `$` are
//! unknown). `define … endef` bodies are skipped; conditionals (`ifeq` … `endif`) neither
//! start nor end a rule.

use super::normalize::{push_command, Origin};
use super::shell::{self, Place};
use super::{EnvOrigin, EnvVar, LaunchFacts, LaunchKind, ScopeKind, Token};
use crate::diagnostic::Span;

/// Byte ranges of the lines: (start, end without the newline and `\r`).
fn lines(text: &str) -> Vec<(usize, usize)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < b.len() {
        let nl = memchr::memchr(b'\n', &b[pos..]).map_or(b.len(), |n| pos + n);
        let end = if nl > pos && b[nl - 1] == b'\r' {
            nl - 1
        } else {
            nl
        };
        out.push((pos, end));
        pos = nl + 1;
    }
    out
}

/// Whether a line ends with an unescaped backslash (a continuation).
fn continues(line: &str) -> bool {
    let n = line.len() - line.trim_end_matches('\\').len();
    n % 2 == 1
}

const DIRECTIVES: &[&str] = &[
    "ifeq", "ifneq", "ifdef", "ifndef", "else", "endif", "include", "-include", "sinclude",
    "vpath", "override", "unexport", "undefine", "private",
];

/// What a non-recipe line is.
enum LineKind<'a> {
    /// A rule: targets, and an inline recipe after `;` (offset in the line).
    Rule(&'a str, Option<usize>),
    /// `export NAME = value`.
    Export,
    /// A conditional or other directive: keeps the current rule.
    Directive,
    /// A variable assignment or anything else: ends the current rule.
    Other,
}

fn classify(l: &str) -> LineKind<'_> {
    let t = l.trim_start();
    let word = t.split([' ', '\t']).next().unwrap_or("");
    if word == "export" {
        return LineKind::Export;
    }
    if DIRECTIVES.contains(&word) {
        return LineKind::Directive;
    }
    // A rule has a `:` that is not part of an assignment operator, before any `=`.
    let b = l.as_bytes();
    let mut depth = 0i32;
    for (i, &c) in b.iter().enumerate() {
        match c {
            b'(' | b'{' => depth += 1,
            b')' | b'}' => depth -= 1,
            b'=' if depth == 0 => return LineKind::Other,
            b'#' if depth == 0 => return LineKind::Other,
            b':' if depth == 0 => {
                if b.get(i + 1) == Some(&b'=')
                    || (b.get(i + 1) == Some(&b':') && b.get(i + 2) == Some(&b'='))
                {
                    return LineKind::Other;
                }
                let rest = &l[i + 1..];
                // `target: VAR = value` is a target-specific variable, not a recipe.
                let semi = rest.find(';');
                let deps = semi.map_or(rest, |s| &rest[..s]);
                if deps.contains('=') {
                    return LineKind::Other;
                }
                return LineKind::Rule(&l[..i], semi.map(|s| i + 1 + s + 1));
            }
            _ => {}
        }
    }
    LineKind::Other
}

/// Masks a recipe region (same length): leading tab, `@`/`-`/`+` prefixes, and a make
/// reference used as a leading path of a word (`$(VENV)/bin/x`).
fn mask_recipe(region: &str) -> String {
    let mut m: Vec<u8> = region.as_bytes().to_vec();
    let mut i = 0;
    if m.first() == Some(&b'\t') {
        m[0] = b' ';
        i = 1;
    }
    while i < m.len() && matches!(m[i], b'@' | b'-' | b'+' | b' ' | b'\t') {
        m[i] = b' ';
        i += 1;
    }
    // `$(X)/…` or `${X}/…` at the start of a word: blank the reference.
    let mut k = 0;
    while k + 1 < m.len() {
        let word_start = k == 0 || matches!(m[k - 1], b' ' | b'\t' | b'\n' | b'=' | b';');
        if m[k] == b'$' && word_start && matches!(m[k + 1], b'(' | b'{') {
            let close = if m[k + 1] == b'(' { b')' } else { b'}' };
            if let Some(rel) = m[k + 2..].iter().position(|c| *c == close) {
                let end = k + 2 + rel;
                let inner = &m[k + 2..end];
                let simple = inner
                    .iter()
                    .all(|c| c.is_ascii_alphanumeric() || *c == b'_');
                if simple && m.get(end + 1) == Some(&b'/') {
                    for c in &mut m[k..=end] {
                        *c = b'_';
                    }
                    k = end + 1;
                    continue;
                }
            }
        }
        k += 1;
    }
    String::from_utf8(m).unwrap_or_else(|_| region.to_string())
}

/// Launch facts of a Makefile.
pub fn facts(text: &str) -> LaunchFacts {
    let mut f = LaunchFacts::default();
    let file = f.add_scope(None, ScopeKind::File, "");
    let oneshell = text
        .lines()
        .any(|l| l.trim_start().starts_with(".ONESHELL"));
    let ls = lines(text);
    let mut rule: Option<usize> = None;
    let mut i = 0;
    while i < ls.len() {
        let (s, e) = ls[i];
        let line = &text[s..e];
        // The logical line: through continuation lines.
        let mut j = i;
        while j + 1 < ls.len() && continues(&text[ls[j].0..ls[j].1]) {
            j += 1;
        }
        let end = ls[j].1;
        let next = j + 1;
        if line.starts_with('\t') {
            if let Some(t) = rule {
                recipe(&mut f, t, oneshell, &text[s..end], s);
            }
            i = next;
            continue;
        }
        let t = line.trim_start();
        if t.is_empty() || t.starts_with('#') {
            i = next;
            continue;
        }
        if t.starts_with("define") && t[6..].starts_with([' ', '\t']) || t == "define" {
            // Skip to `endef`.
            let mut k = next;
            while k < ls.len() && text[ls[k].0..ls[k].1].trim() != "endef" {
                k += 1;
            }
            rule = None;
            i = k + 1;
            continue;
        }
        match classify(&text[s..end]) {
            LineKind::Rule(targets, inline) => {
                let label = targets.trim().to_string();
                rule = Some(f.add_scope(Some(file), ScopeKind::Service, &label));
                if let (Some(t), Some(at)) = (rule, inline) {
                    if s + at <= end {
                        recipe(&mut f, t, oneshell, &text[s + at..end], s + at);
                    }
                }
            }
            LineKind::Export => {
                export(&mut f, file, &text[s..end], s);
                rule = None;
            }
            LineKind::Directive => {}
            LineKind::Other => rule = None,
        }
        i = next;
    }
    f
}

/// `export NAME = value` (also `:=`, `::=`, `?=`, `NAME=value`; `export A B` exports make
/// variables whose values are not tracked).
fn export(f: &mut LaunchFacts, scope: usize, line: &str, at: usize) {
    let rest_at = line.find("export").map_or(0, |p| p + "export".len());
    let rest = &line[rest_at..];
    let Some(eq) = rest.find('=') else {
        return;
    };
    let mut name_end = eq;
    for op in ["::", ":", "?", "+", "!"] {
        if rest[..name_end].ends_with(op) {
            name_end -= op.len();
            break;
        }
    }
    let raw_name = &rest[..name_end];
    let name = raw_name.trim();
    if name.is_empty()
        || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        || rest[..eq].ends_with('+')
    {
        return;
    }
    let name_start = at + rest_at + (raw_name.len() - raw_name.trim_start().len());
    let v = &rest[eq + 1..];
    let v_trim = v.trim();
    let v_start = at + rest_at + eq + 1 + (v.len() - v.trim_start().len());
    let value = Token::verbatim(v_trim, v_start);
    f.env.push(EnvVar {
        name: name.to_string(),
        name_span: Span::new(name_start, name_start + name.len()),
        value: Some(value),
        span: Span::new(at, at + line.len()),
        scope,
        origin: EnvOrigin::Scope,
    });
}

/// One recipe line (continuations included) of the rule whose scope is `rule`.
fn recipe(f: &mut LaunchFacts, rule: usize, oneshell: bool, region: &str, at: usize) {
    let masked = mask_recipe(region);
    let scan = shell::scan(&masked, Place::At(at));
    // Each recipe line runs in its own shell: its exports stay in it.
    let line_scope = if oneshell {
        rule
    } else {
        f.add_scope(Some(rule), ScopeKind::Command, "")
    };
    for e in scan.exports {
        f.env.push(EnvVar {
            name: e.name.text.clone(),
            name_span: e.name.span,
            value: e.value,
            span: e.span,
            scope: line_scope,
            origin: EnvOrigin::Scope,
        });
    }
    let origin = Origin {
        kind: LaunchKind::Make,
        parent_scope: line_scope,
        runtime: true,
        workdir: None,
        stage: None,
        exec_form: false,
        stmt: None,
    };
    for c in scan.commands {
        push_command(f, &origin, c);
    }
}

/// Where the comments of a Makefile start (`crate::syntax::comments`): in a recipe line,
/// the shell's (tree-sitter-bash on the masked line); elsewhere make's, the first `#` that is
/// neither escaped (`\#`) nor inside a `$(…)`/`${…}` reference, up to an inline recipe's
/// `;`, after which the shell's count. `define … endef` bodies are values, never judged.
pub fn comments(text: &str) -> Vec<usize> {
    let ls = lines(text);
    let bash = crate::syntax::comments::bash;
    let mut out = Vec::new();
    let mut i = 0;
    while i < ls.len() {
        let (s, e) = ls[i];
        let line = &text[s..e];
        let mut j = i;
        while j + 1 < ls.len() && continues(&text[ls[j].0..ls[j].1]) {
            j += 1;
        }
        let end = ls[j].1;
        let next = j + 1;
        if line.starts_with('\t') {
            out.extend(bash(&mask_recipe(&text[s..end])).into_iter().map(|c| c + s));
            i = next;
            continue;
        }
        let t = line.trim_start();
        if t.starts_with("define") && t[6..].starts_with([' ', '\t']) || t == "define" {
            let mut k = next;
            while k < ls.len() && text[ls[k].0..ls[k].1].trim() != "endef" {
                k += 1;
            }
            i = k + 1;
            continue;
        }
        let b = &text.as_bytes()[s..end];
        let mut depth = 0i32;
        let mut rule = false;
        for (k, &c) in b.iter().enumerate() {
            match c {
                b'(' | b'{' => depth += 1,
                b')' | b'}' => depth -= 1,
                b':' if depth <= 0 => rule = true,
                b';' if depth <= 0 && rule => {
                    let at = s + k + 1;
                    out.extend(bash(&text[at..end]).into_iter().map(|c| c + at));
                    break;
                }
                b'#' if depth <= 0 && (k == 0 || b[k - 1] != b'\\') => {
                    out.push(s + k);
                    break;
                }
                _ => {}
            }
        }
        i = next;
    }
    out.sort_unstable();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipes_prefixes_and_variables() {
        let src = "VENV ?= .venv\nexport OTEL_SERVICE_NAME = api\n.PHONY: run\n\n# run: comment\nrun: deps\n\t@echo starting\n\t-opentelemetry-instrument gunicorn -w 4 \\\n\t\tapp:app\n\t$(VENV)/bin/uvicorn main:app --reload\n\tuvicorn $(APP) --workers $(N)\nX = 1\n\tgunicorn -w 9 not:recipe\nquick: ; opentelemetry-instrument uvicorn m:app --reload\n";
        let f = facts(src);
        let progs: Vec<String> = f.launchers.iter().filter_map(|l| l.program()).collect();
        assert_eq!(progs, ["echo", "gunicorn", "uvicorn", "uvicorn", "uvicorn"]);
        let g = &f.launchers[1];
        assert!(g.instrumented() && g.runtime);
        let w = &g.argv[2];
        assert_eq!(&src[w.span.start..w.span.end], "4");
        assert_eq!(g.argv[3].text, "app:app");
        let r = &f.launchers[2].argv[2];
        assert_eq!(&src[r.span.start..r.span.end], "--reload");
        assert!(f.launchers[3].argv[1].dynamic && f.launchers[3].argv[3].dynamic);
        assert!(f.launchers[4].instrumented());
        assert_eq!(
            f.lookup(g.scope, "OTEL_SERVICE_NAME")
                .and_then(|v| v.known()),
            Some("api")
        );
    }

    #[test]
    fn never_panics_on_odd_input() {
        for src in [
            "",
            "\t",
            "a:",
            "a:\n\t",
            "a: ;",
            "define",
            "define x\n\tb",
            "export",
            "export =",
            "a:\n\t$(",
            "a:\n\t${x",
            "a:\n\t@-+",
            "é:\n\té",
            "a:\\\n",
            "a:\n\tb \\",
        ] {
            let _ = facts(src);
        }
    }

    #[test]
    fn comments_of_make_and_of_recipes() {
        let src = "# top\nX = a \\# b # c1\nY = $(shell echo '#') # c2\nrun: ; echo '#' # c3\n\techo \"#\" # c4\ndefine D\n# body\nendef\n";
        assert_eq!(
            crate::syntax::comments::texts(src, &comments(src)),
            ["# top", "# c1", "# c2", "# c3", "# c4"]
        );
    }
}

//! `.env` files (docker compose `env_file:`, python-dotenv, foreman/honcho): `KEY=value`
//! lines, with an optional `export ` prefix, single- or double-quoted values (double quotes
//! may span lines), `#` comments and ` #` inline comments after unquoted values.
//!
//! Values that compose would interpolate (`$X`, `${X}` unquoted or in double quotes) are
//! dynamic and never judged; a bare `KEY` (no `=`) takes its value from the shell: unknown.

use super::{EnvOrigin, EnvVar, LaunchFacts, ScopeKind, Token};
use crate::diagnostic::Span;

/// Launch facts of a `.env` file: one file scope holding its settings.
pub fn facts(text: &str) -> LaunchFacts {
    let mut f = LaunchFacts {
        dotenv: true,
        ..LaunchFacts::default()
    };
    let file = f.add_scope(None, ScopeKind::File, "");
    let b = text.as_bytes();
    let mut pos = 0;
    while pos < b.len() {
        let line_end = memchr::memchr(b'\n', &b[pos..]).map_or(b.len(), |n| pos + n);
        let next = parse_line(text, pos, line_end, file, &mut f);
        pos = next.max(line_end + 1);
    }
    f
}

fn is_name_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-')
}

/// Reads the setting starting on the line `start..end`; returns where the next line starts
/// (past a multi-line quoted value).
fn parse_line(text: &str, start: usize, end: usize, scope: usize, f: &mut LaunchFacts) -> usize {
    let b = text.as_bytes();
    let mut i = start;
    let skip_blanks = |i: &mut usize| {
        while *i < end && (b[*i] == b' ' || b[*i] == b'\t') {
            *i += 1;
        }
    };
    skip_blanks(&mut i);
    if i >= end || b[i] == b'#' || b[i] == b'\r' {
        return end + 1;
    }
    if text[i..end].starts_with("export ") || text[i..end].starts_with("export\t") {
        i += "export".len();
        skip_blanks(&mut i);
    }
    let name_start = i;
    while i < end && is_name_byte(b[i]) {
        i += 1;
    }
    if i == name_start || b[name_start].is_ascii_digit() {
        return end + 1;
    }
    let name = Token::verbatim(&text[name_start..i], name_start);
    let mut j = i;
    skip_blanks(&mut j);
    if j >= end || b[j] == b'\r' || b[j] == b'#' {
        // `KEY` alone: the value comes from the shell environment.
        f.env.push(EnvVar {
            name: name.text.clone(),
            name_span: name.span,
            value: None,
            span: Span::new(name_start, i),
            scope,
            origin: EnvOrigin::Scope,
        });
        return end + 1;
    }
    if b[j] != b'=' {
        return end + 1;
    }
    j += 1;
    skip_blanks(&mut j);
    let (value, value_end, next) = match b.get(j) {
        Some(&q @ (b'"' | b'\'')) if j < end => {
            // Quoted: up to the closing quote (double quotes may span lines).
            let mut k = j + 1;
            let mut escaped = false;
            let close = loop {
                match b.get(k) {
                    None => break None,
                    Some(b'\n') if q == b'\'' => break None,
                    Some(b'\\') if q == b'"' => {
                        escaped = true;
                        k += 2;
                    }
                    Some(&c) if c == q => break Some(k),
                    Some(_) => k += 1,
                }
            };
            let Some(close) = close else {
                return end + 1;
            };
            let inner = &text[j + 1..close];
            let (text_v, raw) = if escaped {
                (unescape(inner), None)
            } else {
                (inner.to_string(), Some(j + 1))
            };
            let dynamic = q == b'"' && text_v.contains('$');
            let after = memchr::memchr(b'\n', &b[close..]).map_or(b.len(), |n| close + n);
            (
                Token {
                    text: text_v,
                    span: Span::new(j, close + 1),
                    raw,
                    dynamic,
                },
                close + 1,
                after + 1,
            )
        }
        _ => {
            // Unquoted: to the end of the line or an inline ` #` comment.
            let mut k = j;
            while k < end && b[k] != b'\r' {
                if b[k] == b'#' && k > j && matches!(b[k - 1], b' ' | b'\t') {
                    break;
                }
                k += 1;
            }
            let raw_v = text[j..k].trim_end();
            (Token::verbatim(raw_v, j), j + raw_v.len(), end + 1)
        }
    };
    f.env.push(EnvVar {
        name: name.text.clone(),
        name_span: name.span,
        value: Some(value),
        span: Span::new(name_start, value_end),
        scope,
        origin: EnvOrigin::Scope,
    });
    next
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match it.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some(o) => out.push(o),
            None => out.push('\\'),
        }
    }
    out
}

/// Where the comments of a `.env` file start (`crate::syntax::comments`), as [`facts`]
/// reads the lines: comment lines, a ` #` after an unquoted value, and a `#` after white
/// space behind a quoted value's closing quote. The lines of a multi-line double-quoted
/// value are the value's; a quote that never closes ends the search.
pub fn comments(text: &str) -> Vec<usize> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < b.len() {
        let end = memchr::memchr(b'\n', &b[pos..]).map_or(b.len(), |n| pos + n);
        let mut i = pos;
        while i < end && matches!(b[i], b' ' | b'\t') {
            i += 1;
        }
        if i < end && b[i] == b'#' {
            out.push(i);
            pos = end + 1;
            continue;
        }
        let Some(eq) = memchr::memchr(b'=', &b[i..end]).map(|n| i + n) else {
            pos = end + 1;
            continue;
        };
        let mut j = eq + 1;
        while j < end && matches!(b[j], b' ' | b'\t') {
            j += 1;
        }
        // Where the rest of the line may hold a comment: after a quoted value's closing
        // quote (possibly on a later line), or inside an unquoted one.
        let (from, line_end) = match b.get(j) {
            Some(&q @ (b'"' | b'\'')) if j < end => {
                let mut k = j + 1;
                let close = loop {
                    match b.get(k) {
                        None => break None,
                        Some(b'\n') if q == b'\'' => break None,
                        Some(b'\\') if q == b'"' => k += 2,
                        Some(&c) if c == q => break Some(k),
                        Some(_) => k += 1,
                    }
                };
                let Some(close) = close else {
                    break;
                };
                let e = memchr::memchr(b'\n', &b[close..]).map_or(b.len(), |n| close + n);
                (close + 1, e)
            }
            _ => (j + 1, end),
        };
        if let Some(k) =
            (from.max(j + 1)..line_end).find(|&k| b[k] == b'#' && matches!(b[k - 1], b' ' | b'\t'))
        {
            out.push(k);
        }
        pos = line_end + 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_quotes_comments() {
        let src = "# comment\nOTEL_SERVICE_NAME=api\nexport OTEL_TRACES_EXPORTER=oltp # typo\nA=\"x y\"\nB='$literal'\nC=\"${HOST}:4317\"\nD=\"a\\\"b\"\nE\n#F=1\nG=\"multi\nline\"\nH=v#not-a-comment\n";
        let f = facts(src);
        let got: Vec<(&str, Option<&str>)> =
            f.env.iter().map(|v| (v.name.as_str(), v.known())).collect();
        assert_eq!(
            got,
            [
                ("OTEL_SERVICE_NAME", Some("api")),
                ("OTEL_TRACES_EXPORTER", Some("oltp")),
                ("A", Some("x y")),
                ("B", Some("$literal")),
                ("C", None),
                ("D", Some("a\"b")),
                ("E", None),
                ("G", Some("multi\nline")),
                ("H", Some("v#not-a-comment")),
            ]
        );
        let v = f.env[1].value.as_ref().unwrap().value_span().unwrap();
        assert_eq!(&src[v.start..v.end], "oltp");
        assert!(f.env[3].value.as_ref().unwrap().known().is_some());
    }

    #[test]
    fn never_panics_on_odd_input() {
        for src in [
            "", "=", "A=\"", "A='", "export", "export =", "é=1", "A=\"\\", "\r\n",
        ] {
            let _ = facts(src);
        }
    }

    #[test]
    fn comments_of_env_lines() {
        let src = "# top\nA=x # c1\nB=x#y\nC=\"a\n# in the value\" # c2\nD='#' # c3\n";
        assert_eq!(
            crate::syntax::comments::texts(src, &comments(src)),
            ["# top", "# c1", "# c2", "# c3"]
        );
    }
}

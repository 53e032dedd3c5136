//! `# noqa` suppression comments on the reported line: `# noqa` silences every rule,
//! `# noqa: OTEL001, OTEL003` only those codes (case-insensitive, as ruff reads them).
//! OTEL100 `unused-noqa` (`rules::suppression`) reports the codes of a directive that
//! silence nothing; [`directive`] gives it each code's place, so that its fix can take one
//! code out of a list.

use std::ops::Range;

/// Byte offset of the start of the line containing `pos`.
pub fn line_start(text: &str, pos: usize) -> usize {
    let pos = pos.min(text.len());
    memchr::memrchr(b'\n', &text.as_bytes()[..pos]).map_or(0, |n| n + 1)
}

/// Byte offset of the end of the line containing `pos` (before `\r\n` / `\n`).
pub fn line_end(text: &str, pos: usize) -> usize {
    let pos = pos.min(text.len());
    let end = memchr::memchr(b'\n', &text.as_bytes()[pos..]).map_or(text.len(), |n| pos + n);
    if end > 0 && text.as_bytes().get(end - 1) == Some(&b'\r') {
        end - 1
    } else {
        end
    }
}

/// The `noqa` directive of one line, with line-relative byte ranges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    /// From its `#` to the end of its last code (of `noqa` for a bare `# noqa`): what
    /// follows is explanation or another comment.
    pub range: Range<usize>,
    /// Where the word `noqa` is (any capitalisation).
    pub word: Range<usize>,
    /// The listed codes, upper-cased, each with where it is written; empty for a bare
    /// `# noqa`, which silences every rule.
    pub codes: Vec<(String, Range<usize>)>,
}

/// The `noqa` directive of a line, if it has one: the first `#` followed (after white space)
/// by `noqa` that is not the start of a longer word. `# noqa: A, B` lists codes (letters and
/// digits; the list ends at the first item that is not one, whose first word still counts:
/// `# noqa: OTEL001 explanation`); `# noqa` alone, or followed by anything else, is bare.
pub fn directive(line: &str) -> Option<Directive> {
    let b = line.as_bytes();
    let mut search = 0;
    while let Some(hash) = memchr::memchr(b'#', &b[search..]).map(|i| i + search) {
        search = hash + 1;
        let rest = &line[hash + 1..];
        let at = line.len() - rest.trim_start().len();
        let Some(word) = line
            .get(at..at + 4)
            .filter(|w| w.eq_ignore_ascii_case("noqa"))
        else {
            continue;
        };
        let _ = word;
        let after_start = at + 4;
        let after = &line[after_start..];
        if after.starts_with(|c: char| c.is_alphanumeric()) {
            // `# noqaX` is not a noqa comment.
            continue;
        }
        let mut codes = Vec::new();
        if let Some(list) = after.strip_prefix(':') {
            let mut pos = after_start + 1;
            for part in list.split(',') {
                let part_start = pos;
                pos += part.len() + 1;
                let lead = part.len() - part.trim_start().len();
                let code = part.trim();
                let is_code =
                    |w: &str| !w.is_empty() && w.chars().all(|c| c.is_ascii_alphanumeric());
                if is_code(code) {
                    let s = part_start + lead;
                    codes.push((code.to_ascii_uppercase(), s..s + code.len()));
                    continue;
                }
                // `# noqa: OTEL001 explanation`: the first word, then the list ends.
                if let Some(first) = part.split_whitespace().next().filter(|w| is_code(w)) {
                    let s = part_start + lead;
                    codes.push((first.to_ascii_uppercase(), s..s + first.len()));
                }
                break;
            }
        }
        let end = codes.last().map_or(after_start, |c| c.1.end);
        return Some(Directive {
            range: hash..end,
            word: at..after_start,
            codes,
        });
    }
    None
}

/// The parsed `noqa` comment of a line: `None` when there is none, `Some(vec![])` for a
/// bare `# noqa`, else the listed codes upper-cased. Also gives the comment's byte range.
pub fn parse_noqa(line: &str) -> Option<(Vec<String>, Range<usize>)> {
    let d = directive(line)?;
    Some((d.codes.into_iter().map(|c| c.0).collect(), d.range))
}

/// Whether a diagnostic of `code` reported at `pos` is silenced by its line's comment.
pub fn is_suppressed(text: &str, pos: usize, code: &str) -> bool {
    let line = &text[line_start(text, pos)..line_end(text, pos)];
    if !line.contains('#') {
        return false;
    }
    match parse_noqa(line) {
        None => false,
        Some((codes, _)) => codes.is_empty() || codes.iter().any(|c| c.eq_ignore_ascii_case(code)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noqa_forms() {
        assert_eq!(parse_noqa("x = 1").map(|x| x.0), None);
        assert_eq!(parse_noqa("x = 1  # noqa").map(|x| x.0), Some(vec![]));
        assert_eq!(
            parse_noqa("x  # noqa: otel001, OTEL003").map(|x| x.0),
            Some(vec!["OTEL001".to_string(), "OTEL003".to_string()])
        );
        assert_eq!(
            parse_noqa("x  # NOQA:OTEL002 because").map(|x| x.0),
            Some(vec!["OTEL002".to_string()])
        );
        assert_eq!(parse_noqa("x  # noqanope").map(|x| x.0), None);
        let line = "a: b  # noqa: OTEL003";
        let (_, r) = parse_noqa(line).unwrap();
        assert_eq!(&line[r], "# noqa: OTEL003");
    }

    #[test]
    fn suppression_applies_to_the_line_only() {
        let text = "a  # noqa: OTEL001\nb\r\nc # noqa\n";
        assert!(is_suppressed(text, 0, "OTEL001"));
        assert!(!is_suppressed(text, 0, "OTEL002"));
        assert!(!is_suppressed(text, text.find('b').unwrap(), "OTEL001"));
        assert!(is_suppressed(text, text.find('c').unwrap(), "OTEL009"));
        assert_eq!(
            line_end(text, text.find('b').unwrap()),
            text.find('\r').unwrap()
        );
    }
}

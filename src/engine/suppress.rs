//! `# noqa` suppression comments on the reported line: `# noqa` silences every rule,
//! `# noqa: OTEL001, OTEL003` only those codes (case-insensitive, as ruff reads them).

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

/// The parsed `noqa` comment of a line: `None` when there is none, `Some(vec![])` for a
/// bare `# noqa`, else the listed codes upper-cased. Also gives the comment's byte range.
pub fn parse_noqa(line: &str) -> Option<(Vec<String>, std::ops::Range<usize>)> {
    let lower = line.to_ascii_lowercase();
    let mut search = 0;
    while let Some(hash) = lower[search..].find('#').map(|i| i + search) {
        let rest = lower[hash + 1..].trim_start();
        if let Some(after) = rest.strip_prefix("noqa") {
            let after_start = line.len() - after.len();
            let mut codes = Vec::new();
            let mut end = after_start;
            if let Some(list) = after.strip_prefix(':') {
                let list_start = after_start + 1;
                let mut consumed = 0;
                for part in list.split(',') {
                    let code = part.trim();
                    let ok = !code.is_empty()
                        && code.chars().all(|c| c.is_ascii_alphanumeric())
                        && code.split_whitespace().count() == 1;
                    if !ok {
                        // `# noqa: OTEL001 explanation` — take the first word and stop.
                        if let Some(first) = part.split_whitespace().next() {
                            if first.chars().all(|c| c.is_ascii_alphanumeric()) {
                                codes.push(first.to_ascii_uppercase());
                                consumed += part.find(first).unwrap_or(0) + first.len();
                            }
                        }
                        break;
                    }
                    codes.push(code.to_ascii_uppercase());
                    consumed += part.len() + 1;
                }
                end = (list_start + consumed).min(line.len());
                while end > list_start && line.as_bytes()[end - 1] == b',' {
                    end -= 1;
                }
                if codes.is_empty() {
                    end = after_start;
                }
            } else if after.starts_with(|c: char| c.is_alphanumeric()) {
                // `# noqaX` is not a noqa comment.
                search = hash + 1;
                continue;
            }
            return Some((codes, hash..end));
        }
        search = hash + 1;
    }
    None
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

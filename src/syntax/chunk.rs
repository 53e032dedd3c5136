//! Splitting a file into independently parsed chunks.
//!
//! tree-sitter's cost grows with the file, and tree-sitter-yaml breaks past row 32,767 of one
//! parse. So a Python module is parsed per group of top-level statements and a YAML stream
//! per document. A chunk boundary is always a place where the language itself starts over:
//! a line at column 0 outside any bracket, string or continuation (Python), or a `---`
//! marker line (YAML). Parsing the pieces separately then gives the same trees as one
//! parse would, and an edit only re-parses the chunk it touches.
//!
//! The lexers here never fail: on broken input (an unclosed triple quote) they simply find no
//! boundary until the input closes it, and the chunk grows.

use crate::language::Language;

/// Python chunks are about this many bytes on average, so that a big module is a few
/// thousand parses, not one per statement.
pub const MIN_CHUNK: usize = 4096;

/// Whether the Python statement at candidate `pos` starts a chunk, `prev` being the
/// candidate before it (or the start of the text).
///
/// The answer depends on the statement's own first line and the size of the one before it
/// only, never on where the chunk before began: so a file edited any number of times is cut
/// exactly where a fresh read of its text is, and an edit moves at most the boundary after
/// it. (Grouping greedily to a minimum size would not: the edited file's chunks would
/// depend on its history, and in broken code, where a parse's error recovery reaches across
/// statements, so would its trees.) A statement of `n` bytes ends its chunk with
/// probability `n / MIN_CHUNK`, decided by a hash of the next one's first line, so chunks
/// hold about `MIN_CHUNK` bytes; one after a statement of `MIN_CHUNK` bytes or more always
/// starts a chunk.
pub fn starts_chunk(text: &[u8], prev: usize, pos: usize) -> bool {
    let gap = pos.saturating_sub(prev);
    if gap >= MIN_CHUNK {
        return true;
    }
    let rest = text.get(pos..).unwrap_or_default();
    let line_end = memchr::memchr(b'\n', rest).unwrap_or(rest.len()).min(64);
    // FNV-1a over the first line (at most 64 bytes), then MurmurHash3's finalizer: FNV alone
    // spreads lines that differ in a digit or two (`def f1():`, `def f2():`) poorly.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in &rest[..line_end] {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^= h >> 33;
    (h % MIN_CHUNK as u64) < gap as u64
}

/// Candidate chunk starts of `text[from..to]` plus whatever follows up to the next
/// statement start, as absolute offsets. `from` must itself be a candidate (or 0).
pub fn candidates(lang: Language, text: &str, from: usize, mut sink: impl FnMut(usize) -> bool) {
    match lang {
        Language::Python => python_candidates(text.as_bytes(), from, &mut sink),
        Language::Yaml => yaml_candidates(text.as_bytes(), from, &mut sink),
        // Launcher files are small and read whole: one chunk.
        Language::Dockerfile
        | Language::Shell
        | Language::Procfile
        | Language::Ini
        | Language::Makefile
        | Language::DotEnv => {}
    }
}

/// All chunk starts of a whole file (the first is always 0); Python statements grouped by
/// [`starts_chunk`].
/// YAML documents are never grouped: each is its own Kubernetes object.
pub fn boundaries(lang: Language, text: &str) -> Vec<usize> {
    let mut out = vec![0];
    let group = lang == Language::Python;
    let mut prev = 0;
    candidates(lang, text, 0, |pos| {
        if pos > 0 && (!group || starts_chunk(text.as_bytes(), prev, pos)) {
            out.push(pos);
        }
        prev = pos;
        true
    });
    out
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

/// Whether the line at `pos` starts with one of the keywords that continue the previous
/// compound statement (`else`, `elif`, `except`, `finally`).
fn continues_previous(line: &[u8]) -> bool {
    for kw in [&b"else"[..], b"elif", b"except", b"finally"] {
        if line.starts_with(kw) && line.get(kw.len()).is_none_or(|b| !is_ident_byte(*b)) {
            return true;
        }
    }
    false
}

fn python_candidates(src: &[u8], from: usize, sink: &mut dyn FnMut(usize) -> bool) {
    let mut i = from;
    let mut depth: u32 = 0;
    // Some((quote byte, triple)) while inside a string literal.
    let mut string: Option<(u8, bool)> = None;
    let mut continued = false;
    let mut after_decorator = false;
    let mut at_line_start = true;
    while i < src.len() {
        if at_line_start {
            at_line_start = false;
            if string.is_none() && depth == 0 && !continued {
                let b = src[i];
                let blank_or_indented = matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'#' | b'\x0c');
                if !blank_or_indented {
                    let line = &src[i..];
                    if !continues_previous(line) {
                        if !after_decorator && i != from && !sink(i) {
                            return;
                        }
                        after_decorator = b == b'@';
                    }
                }
            }
            continued = false;
        }
        let b = src[i];
        match string {
            Some((q, triple)) => {
                if b == b'\\' {
                    i += 2;
                    continue;
                }
                if b == q {
                    if !triple {
                        string = None;
                    } else if src.get(i + 1) == Some(&q) && src.get(i + 2) == Some(&q) {
                        string = None;
                        i += 3;
                        continue;
                    }
                } else if b == b'\n' {
                    if !triple {
                        // An unterminated single-quoted string ends at the line end.
                        string = None;
                    }
                    at_line_start = true;
                }
                i += 1;
            }
            None => {
                match b {
                    b'#' => {
                        // Comments run to the end of the line.
                        match memchr::memchr(b'\n', &src[i..]) {
                            Some(n) => i += n,
                            None => return,
                        }
                        continue;
                    }
                    b'"' | b'\'' => {
                        let triple = src.get(i + 1) == Some(&b) && src.get(i + 2) == Some(&b);
                        string = Some((b, triple));
                        i += if triple { 3 } else { 1 };
                        continue;
                    }
                    b'(' | b'[' | b'{' => depth += 1,
                    b')' | b']' | b'}' => depth = depth.saturating_sub(1),
                    b'\\' => {
                        if src.get(i + 1) == Some(&b'\n') {
                            continued = true;
                            i += 2;
                            at_line_start = true;
                            continue;
                        }
                        if src.get(i + 1) == Some(&b'\r') && src.get(i + 2) == Some(&b'\n') {
                            continued = true;
                            i += 3;
                            at_line_start = true;
                            continue;
                        }
                    }
                    b'\n' => at_line_start = true,
                    _ => {}
                }
                i += 1;
            }
        }
    }
}

fn yaml_candidates(src: &[u8], from: usize, sink: &mut dyn FnMut(usize) -> bool) {
    let mut i = from;
    while i < src.len() {
        let line_end = memchr::memchr(b'\n', &src[i..]).map_or(src.len(), |n| i + n);
        let line = &src[i..line_end];
        if i != from && is_document_marker(line) && !sink(i) {
            return;
        }
        i = line_end + 1;
    }
}

/// `---` at column 0, followed by white space or the end of the line. (`...` ends a document
/// but belongs to it, so it is no place to cut.)
fn is_document_marker(line: &[u8]) -> bool {
    line.starts_with(b"---")
        && line
            .get(3)
            .is_none_or(|b| matches!(b, b' ' | b'\t' | b'\r'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(lang: Language, text: &str) -> Vec<usize> {
        let mut v = vec![];
        candidates(lang, text, 0, |p| {
            v.push(p);
            true
        });
        v
    }

    #[test]
    fn python_statement_starts() {
        let src = "import a\nx = (1,\n2)\n\"\"\"doc\nnot_a_start\n\"\"\"\nif x:\n  y\nelse:\n  z\n@dec\ndef f():\n  pass\ns = 'a\\'b'\nt = 1 + \\\n2\nu = 3\n";
        let starts: Vec<&str> = all(Language::Python, src)
            .into_iter()
            .map(|p| src[p..].lines().next().unwrap())
            .collect();
        assert_eq!(
            starts,
            vec![
                "x = (1,",
                "\"\"\"doc",
                "if x:",
                "@dec",
                "s = 'a\\'b'",
                "t = 1 + \\",
                "u = 3"
            ]
        );
    }

    #[test]
    fn python_unclosed_triple_quote_swallows_the_rest() {
        let src = "a = 1\nb = \"\"\"\nc = 2\nd = 3\n";
        assert_eq!(all(Language::Python, src), vec![6]);
    }

    #[test]
    fn yaml_documents() {
        let src = "a: 1\n---\nb: 2\n--- # c\nc: 3\n----x: no\n...\n";
        assert_eq!(all(Language::Yaml, src), vec![5, 14]);
    }

    #[test]
    fn grouping_respects_min_chunk() {
        let mut src = String::new();
        for i in 0..2000 {
            src.push_str(&format!("x{i} = {i}\n"));
        }
        let b = boundaries(Language::Python, &src);
        assert!(b.len() > 3 && b.len() < 20, "{}", b.len());
        assert_eq!(b[0], 0);
    }
}

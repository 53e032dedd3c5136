//! Where comments start, for the `# noqa` directives OTEL100 `unused-noqa` judges: a `#`
//! inside a string, a YAML scalar or a heredoc is text, and a fix must never edit it.
//!
//! Each finder returns the byte offsets where comments start (sorted); a comment runs to the
//! end of its line. Python is lexed here, without a tree (the checker does not parse a chunk
//! for its comments); YAML documents and shell scripts are read from their tree-sitter trees
//! ([`in_tree`], [`bash`]); the launcher kinds that embed shell command lines (Dockerfiles,
//! Procfiles, Makefiles) and the INI and `.env` files have their finders in `crate::launch`,
//! beside the splitters that know their lines.

use crate::language::Language;
use tree_sitter::Tree;

/// Where the comments of a Python text start. `src` must start where the lexer is outside
/// any string (a file, or a chunk: chunks start at top-level statements). Strings are
/// skipped with their escapes, triple-quoted ones across lines; an unclosed one-line string
/// ends at its line's end (as the chunker reads it).
pub fn python(src: &str) -> Vec<usize> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    // Some((quote byte, triple)) while inside a string literal.
    let mut string: Option<(u8, bool)> = None;
    while i < b.len() {
        let c = b[i];
        match string {
            Some((q, triple)) => {
                if c == b'\\' {
                    i += 2;
                    continue;
                }
                if c == q {
                    if !triple {
                        string = None;
                    } else if b.get(i + 1) == Some(&q) && b.get(i + 2) == Some(&q) {
                        string = None;
                        i += 3;
                        continue;
                    }
                } else if c == b'\n' && !triple {
                    string = None;
                }
                i += 1;
            }
            None => match c {
                b'#' => {
                    out.push(i);
                    i = memchr::memchr(b'\n', &b[i..]).map_or(b.len(), |n| i + n);
                }
                b'"' | b'\'' => {
                    let triple = b.get(i + 1) == Some(&c) && b.get(i + 2) == Some(&c);
                    string = Some((c, triple));
                    i += if triple { 3 } else { 1 };
                }
                _ => i += 1,
            },
        }
    }
    out
}

/// Where the `comment` nodes of a tree start (YAML and bash name them so).
pub fn in_tree(tree: &Tree) -> Vec<usize> {
    let mut out = Vec::new();
    let mut cursor = tree.walk();
    'walk: loop {
        let node = cursor.node();
        if node.kind() == "comment" {
            out.push(node.start_byte());
        }
        if cursor.goto_first_child() {
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                continue 'walk;
            }
            if !cursor.goto_parent() {
                break 'walk;
            }
        }
    }
    out.sort_unstable();
    out
}

/// Where the comments of a shell text start, from tree-sitter-bash: quotes, expansions
/// (`$#`, `${#x}`) and heredoc bodies are not comments.
pub fn bash(src: &str) -> Vec<usize> {
    in_tree(&crate::syntax::parse(Language::Shell, src, None))
}

/// The text of each comment, from its start to the end of its line (for tests).
#[cfg(test)]
pub(crate) fn texts(src: &str, starts: &[usize]) -> Vec<String> {
    starts
        .iter()
        .map(|&s| src[s..].lines().next().unwrap_or("").to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(src: &str, starts: &[usize]) -> Vec<String> {
        starts
            .iter()
            .map(|&s| src[s..].lines().next().unwrap_or("").to_string())
            .collect()
    }

    #[test]
    fn python_strings_are_not_comments() {
        let src = "x = '#'  # one\ns = \"\"\"\n# in a docstring\n\"\"\"  # two\nf(\"a\\\"#\")  # three\nr = 'it''s' # four\n";
        assert_eq!(
            texts(src, &python(src)),
            ["# one", "# two", "# three", "# four"]
        );
    }

    /// On the fixtures and the local Python's standard library (when there is one): every
    /// module that parses without an error has the comments tree-sitter finds.
    #[test]
    fn python_lexer_agrees_with_tree_sitter() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let stdlib = std::process::Command::new("python3")
            .args([
                "-c",
                "import sysconfig; print(sysconfig.get_paths()['stdlib'])",
            ])
            .output()
            .ok()
            .map(|o| std::path::PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
        let mut files = Vec::new();
        // The standard library's top-level modules only: its packages add time, not cases.
        let top = stdlib.filter(|p| p.is_dir());
        files.extend(
            top.iter()
                .flat_map(|d| std::fs::read_dir(d).into_iter().flatten().flatten())
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "py")),
        );
        let mut stack = vec![dir];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|x| x == "py") {
                    files.push(p);
                }
            }
        }
        assert!(files.len() > 50);
        for p in files {
            let Ok(src) = std::fs::read_to_string(&p) else {
                continue;
            };
            let tree = crate::syntax::parse(Language::Python, &src, None);
            if tree.root_node().has_error() {
                continue;
            }
            assert_eq!(python(&src), in_tree(&tree), "{}", p.display());
        }
    }

    #[test]
    fn shell_and_yaml_from_their_trees() {
        let sh = "echo '#x' \"#y\" ${#v} $# a#b  # one\ncat <<EOF\n# body\nEOF\n# two\n";
        assert_eq!(texts(sh, &bash(sh)), ["# one", "# two"]);
        let yaml = "a: '# x'  # one\nb: |\n  # body\nc: \"#\" # two\n";
        let tree = crate::syntax::parse(Language::Yaml, yaml, None);
        assert_eq!(texts(yaml, &in_tree(&tree)), ["# one", "# two"]);
    }
}

//! Reading options of a launcher's program: `-w 4`, `-w4`, `--workers 4`, `--workers=4`.
//! The last occurrence wins, as with argparse.

use super::Token;

/// An option found in an argument list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opt {
    /// Index of the word holding the option name.
    pub index: usize,
    /// The option word (or, for `--x=v`, the `--x` part).
    pub flag: Token,
    /// The value (a separate word, or the part after `=` / after a short flag).
    pub value: Option<Token>,
}

/// The last occurrence of an option given by its short (`-w`) and long (`--workers`) names.
pub fn find(args: &[Token], short: &[&str], long: &[&str]) -> Option<Opt> {
    let mut found = None;
    for (i, t) in args.iter().enumerate() {
        if t.text == "--" {
            break;
        }
        let s = t.text.as_str();
        for l in long {
            if s == *l {
                found = Some(Opt {
                    index: i,
                    flag: t.clone(),
                    value: args.get(i + 1).cloned(),
                });
            } else if s.len() > l.len() && s.starts_with(l) && s.as_bytes()[l.len()] == b'=' {
                found = Some(Opt {
                    index: i,
                    flag: t.slice(0, l.len()),
                    value: Some(t.suffix(l.len() + 1)),
                });
            }
        }
        for sh in short {
            if s == *sh {
                found = Some(Opt {
                    index: i,
                    flag: t.clone(),
                    value: args.get(i + 1).cloned(),
                });
            } else if s.len() > sh.len() && s.starts_with(sh) && !s.starts_with("--") {
                found = Some(Opt {
                    index: i,
                    flag: t.slice(0, sh.len()),
                    value: Some(t.suffix(sh.len())),
                });
            }
        }
    }
    found
}

/// The last word equal to one of `names` (a boolean flag such as `--reload`).
pub fn flag(args: &[Token], names: &[&str]) -> Option<(usize, Token)> {
    args.iter()
        .enumerate()
        .take_while(|(_, t)| t.text != "--")
        .filter(|(_, t)| names.contains(&t.text.as_str()))
        .last()
        .map(|(i, t)| (i, t.clone()))
}

/// A literal positive integer.
pub fn int(t: &Token) -> Option<i64> {
    if t.dynamic {
        return None;
    }
    t.text.trim().parse().ok()
}

/// Positional arguments of a program, skipping options and the values of those that take one.
pub fn positionals<'a>(args: &'a [Token], value_opts: &[&str]) -> Vec<&'a Token> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(t) = args.get(i) {
        if t.text == "--" {
            out.extend(args[i + 1..].iter());
            break;
        }
        if t.text.starts_with('-') && t.text.len() > 1 {
            let takes = value_opts.contains(&t.text.as_str());
            i += if takes { 2 } else { 1 };
            continue;
        }
        out.push(t);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Token> {
        let mut out = Vec::new();
        let mut pos = 0;
        for w in s.split(' ') {
            out.push(Token::verbatim(w, pos));
            pos += w.len() + 1;
        }
        out
    }

    #[test]
    fn option_forms() {
        for s in [
            "-w 4",
            "-w4",
            "--workers 4",
            "--workers=4",
            "-w 2 --workers=4",
        ] {
            let a = toks(s);
            let o = find(&a, &["-w"], &["--workers"]).unwrap();
            let v = o.value.unwrap();
            assert_eq!(v.text, "4", "{s}");
            assert_eq!(&s[v.span.start..v.span.end], "4", "{s}");
        }
        assert!(find(&toks("--worker-class x"), &["-w"], &["--workers"]).is_none());
        assert_eq!(flag(&toks("main:app --reload-dir x"), &["--reload"]), None);
        assert_eq!(
            positionals(&toks("-w 4 -b :80 app:app"), &["-w", "-b"]).len(),
            1
        );
    }
}

//! `kubectl apply` / `kubectl create` command lines: what they apply (`-f` files and
//! folders, `-k` kustomizations) and in which namespace (`-n`), for rules that judge the
//! order a script applies manifests in (OTEL034).

use super::{Launcher, Token};

/// What one `kubectl apply|create` command applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Apply {
    /// `-f`/`--filename` values in order (comma lists split), as written.
    pub files: Vec<String>,
    /// `-k`/`--kustomize` folders, as written.
    pub kustomize: Vec<String>,
    /// `-R`/`--recursive`: folders given to `-f` are walked.
    pub recursive: bool,
    /// `-n`/`--namespace`: the namespace of the objects that name none.
    pub namespace: Option<String>,
    /// Something the command applies is unknown: a word built from variables, standard input
    /// (`-f -`), a URL.
    pub unknown: bool,
}

/// kubectl's global options that take a value (as a separate word).
const GLOBAL_VALUE_FLAGS: &[&str] = &[
    "-n",
    "--namespace",
    "--context",
    "--kubeconfig",
    "--cluster",
    "--user",
    "-s",
    "--server",
    "--token",
    "--as",
    "--as-group",
    "--as-uid",
    "--request-timeout",
    "--cache-dir",
    "--certificate-authority",
    "--client-certificate",
    "--client-key",
    "--tls-server-name",
    "--password",
    "--username",
    "-v",
    "--v",
];

/// `apply`/`create` options that take a value (as a separate word), besides `-f`/`-k`/`-n`.
const VERB_VALUE_FLAGS: &[&str] = &[
    "-o",
    "--output",
    "-l",
    "--selector",
    "--field-manager",
    "--timeout",
    "--grace-period",
    "--prune-allowlist",
    "--prune-whitelist",
    "--applyset",
    "--template",
    "--cascade",
    "--wait",
    "--subresource",
    "--validate",
    "--dry-run",
    "--edit",
    "--windows-line-endings",
    "--save-config",
];

/// The `kubectl apply|create` of a launcher (`oc` too), unless it only prints what it would
/// do (`--dry-run` other than `none`).
pub fn apply(l: &Launcher) -> Option<Apply> {
    let program = l.program()?;
    if program != "kubectl" && program != "oc" {
        return None;
    }
    let args = l.args();
    let mut out = Apply {
        files: Vec::new(),
        kustomize: Vec::new(),
        recursive: false,
        namespace: None,
        unknown: false,
    };
    let mut verb: Option<&str> = None;
    let mut i = 0;
    let value = |i: usize| -> Option<&Token> { args.get(i + 1) };
    while i < args.len() {
        let t = &args[i];
        let w = t.text.as_str();
        // `--flag=value` and `-fvalue` forms.
        let (flag, inline) = match w.split_once('=') {
            Some((f, v)) if f.starts_with('-') => (f, Some(v)),
            _ if w.starts_with("-f") && w.len() > 2 && !w.starts_with("--") => {
                ("-f", Some(&w[2..]))
            }
            _ if w.starts_with("-k") && w.len() > 2 && !w.starts_with("--") => {
                ("-k", Some(&w[2..]))
            }
            _ if w.starts_with("-n") && w.len() > 2 && !w.starts_with("--") => {
                ("-n", Some(&w[2..]))
            }
            _ => (w, None),
        };
        let take = |inline: Option<&str>, i: &mut usize| -> Option<(String, bool)> {
            match inline {
                Some(v) => Some((v.to_string(), t.dynamic)),
                None => {
                    *i += 1;
                    value(*i - 1).map(|v| (v.text.clone(), v.dynamic))
                }
            }
        };
        if t.dynamic && !w.starts_with('-') {
            // `kubectl $VERB …`: not known to apply anything.
            verb?;
            out.unknown = true;
            i += 1;
            continue;
        }
        match flag {
            "-n" | "--namespace" => match take(inline, &mut i) {
                Some((v, false)) => out.namespace = Some(v),
                _ => out.unknown = true,
            },
            "-f" | "--filename" if verb.is_some() => match take(inline, &mut i) {
                Some((v, false)) => {
                    for p in v.split(',').filter(|p| !p.is_empty()) {
                        if p == "-" || p.contains("://") {
                            out.unknown = true;
                        } else {
                            out.files.push(p.to_string());
                        }
                    }
                }
                _ => out.unknown = true,
            },
            "-k" | "--kustomize" if verb.is_some() => match take(inline, &mut i) {
                Some((v, false)) if !v.contains("://") => out.kustomize.push(v),
                _ => out.unknown = true,
            },
            "-R" | "--recursive" => out.recursive = inline.is_none_or(|v| v != "false"),
            "--dry-run" if verb.is_some() => {
                let v = match inline {
                    Some(v) => v.to_string(),
                    None => match value(i) {
                        Some(v) if !v.text.starts_with('-') => {
                            i += 1;
                            v.text.clone()
                        }
                        _ => "client".to_string(),
                    },
                };
                if v != "none" {
                    return None;
                }
            }
            f if f.starts_with('-') => {
                let table = if verb.is_some() {
                    VERB_VALUE_FLAGS
                } else {
                    GLOBAL_VALUE_FLAGS
                };
                if inline.is_none() && (table.contains(&f) || GLOBAL_VALUE_FLAGS.contains(&f)) {
                    i += 1;
                }
            }
            w if verb.is_none() => {
                if w != "apply" && w != "create" {
                    return None;
                }
                verb = Some(w);
            }
            // `kubectl create namespace x`, `kubectl apply view-last-applied`: no files.
            _ => return None,
        }
        i += 1;
    }
    verb?;
    (!out.files.is_empty() || !out.kustomize.is_empty() || out.unknown).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::launch::shell::{self, Place};

    fn parse(cmd: &str) -> Option<Apply> {
        let mut f = crate::launch::LaunchFacts::default();
        let scope = f.add_scope(None, crate::launch::ScopeKind::File, "");
        let origin = crate::launch::normalize::Origin {
            kind: crate::launch::LaunchKind::Shell,
            parent_scope: scope,
            runtime: true,
            workdir: None,
            stage: None,
            exec_form: false,
            stmt: None,
        };
        for c in shell::scan(cmd, Place::At(0)).commands {
            crate::launch::normalize::push_command(&mut f, &origin, c);
        }
        f.launchers.first().and_then(apply)
    }

    #[test]
    fn files_folders_namespaces() {
        let a = parse("kubectl apply -f k8s/app.yaml").unwrap();
        assert_eq!(a.files, ["k8s/app.yaml"]);
        assert!(!a.unknown && a.namespace.is_none());
        let a = parse("kubectl -n shop apply --filename=a.yaml,b.yaml -R").unwrap();
        assert_eq!(a.files, ["a.yaml", "b.yaml"]);
        assert_eq!(a.namespace.as_deref(), Some("shop"));
        assert!(a.recursive);
        let a = parse("kubectl --context prod create -f ./otel/ --namespace=obs").unwrap();
        assert_eq!(a.files, ["./otel/"]);
        assert_eq!(a.namespace.as_deref(), Some("obs"));
        let a = parse("kubectl apply -k overlays/prod").unwrap();
        assert_eq!(a.kustomize, ["overlays/prod"]);
        let a = parse("oc apply -fapp.yaml").unwrap();
        assert_eq!(a.files, ["app.yaml"]);
        let a = parse("kubectl apply --server-side -o yaml -f app.yaml").unwrap();
        assert_eq!(a.files, ["app.yaml"]);
    }

    #[test]
    fn unknown_and_not_applies() {
        assert!(parse("kubectl apply -f $MANIFEST").unwrap().unknown);
        assert!(parse("kubectl apply -f -").unwrap().unknown);
        assert!(
            parse("kubectl apply -f https://example.com/x.yaml")
                .unwrap()
                .unknown
        );
        assert!(
            parse("kubectl apply -f \"${DIR}/app.yaml\"")
                .unwrap()
                .unknown
        );
        assert_eq!(parse("kubectl apply --dry-run=client -f app.yaml"), None);
        assert_eq!(parse("kubectl apply --dry-run -f app.yaml"), None);
        assert!(parse("kubectl apply --dry-run=none -f app.yaml").is_some());
        assert_eq!(parse("kubectl create namespace shop"), None);
        assert_eq!(parse("kubectl get pods"), None);
        assert_eq!(parse("kubectl delete -f app.yaml"), None);
        assert_eq!(parse("helm install x ./chart"), None);
        assert_eq!(parse("kubectl diff -f app.yaml"), None);
    }
}

//! Drift test: every editor integration, the pre-commit hook and the documented commands name
//! only commands, arguments, settings and file types that the binary accepts.
//!
//! The truth comes from the code, never from a copy: a command line is accepted when the real
//! binary, given it plus `--help`, exits 0 (clap rejects an unknown subcommand or flag before it
//! prints help); a languageId when `Language::from_language_id` knows it; a file pattern when
//! `Language::from_path` reads a file it matches; a setting when `settings_from_json` takes it.
//! Live behaviour (diagnostics, fixes) is tested per editor by scripts/test-editors.

use otel_lsp::config::settings_from_json;
use otel_lsp::diagnostic::Severity;
use otel_lsp::language::Language;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(repo().join(rel)).unwrap_or_else(|e| panic!("reading {rel}: {e}"))
}

/// Asserts that `otel-lsp <args> --help` succeeds: the subcommand and every flag exist.
fn assert_accepted(args: &[String], origin: &str) {
    let out = Command::new(env!("CARGO_BIN_EXE_otel-lsp"))
        .args(args)
        .arg("--help")
        .output()
        .expect("running otel-lsp");
    assert!(
        out.status.success(),
        "{origin}: `otel-lsp {}` is not accepted by the binary:\n{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Asserts an editor's server command: `otel-lsp` then arguments the binary accepts, `server` first.
fn assert_server_command(cmd: &[String], origin: &str) {
    assert_eq!(
        cmd.first().map(String::as_str),
        Some("otel-lsp"),
        "{origin}: the command must be `otel-lsp` (found on PATH), got {cmd:?}"
    );
    assert_eq!(
        cmd.get(1).map(String::as_str),
        Some("server"),
        "{origin}: the one editor command is `otel-lsp server`, got {cmd:?}"
    );
    assert_accepted(&cmd[1..], origin);
}

fn assert_language_id(id: &str, origin: &str) {
    assert!(
        Language::from_language_id(id).is_some(),
        "{origin}: languageId `{id}` is not one the server accepts (src/language.rs)"
    );
}

/// Every editor covers at least these.
fn assert_covers_python_and_yaml(ids: &[String], origin: &str) {
    for lang in [Language::Python, Language::Yaml] {
        assert!(
            ids.iter()
                .any(|id| Language::from_language_id(id) == Some(lang)),
            "{origin}: no file type for {}: {ids:?}",
            lang.as_str()
        );
    }
}

/// Asserts that editor settings (as JSON) are taken by the server without complaint.
fn assert_settings_accepted(settings: &Value, origin: &str) {
    let (_, problems) = settings_from_json(settings);
    assert!(
        problems.is_empty(),
        "{origin}: settings rejected: {problems:?}"
    );
}

/// The double-quoted and single-quoted string literals inside the `{ … }` after `key =`.
fn lua_strings(src: &str, key: &str) -> Vec<String> {
    let start = src
        .find(&format!("{key} = {{"))
        .unwrap_or_else(|| panic!("no `{key} = {{` in the Lua file"));
    let body = &src[start..];
    let body = &body[..body.find('}').expect("unclosed table")];
    quoted(body)
}

/// Every string literal (single or double quotes) in `s`, in order.
fn quoted(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '"' || c == '\'' {
            out.push(chars.by_ref().take_while(|&d| d != c).collect());
        }
    }
    out
}

#[test]
fn vscode_extension() {
    let pkg: Value = serde_json::from_str(&read("editors/vscode/package.json")).unwrap();
    // The languages: package.json's `onLanguage:` events are the extension's only list.
    let ids: Vec<String> = pkg["activationEvents"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e.as_str()?.strip_prefix("onLanguage:").map(String::from))
        .collect();
    for id in &ids {
        assert_language_id(id, "editors/vscode/package.json activationEvents");
    }
    assert_covers_python_and_yaml(&ids, "editors/vscode/package.json");

    // File patterns served whatever their language (Procfiles, `.env` files): each names
    // files the server reads by name (`*` standing for any text).
    let config_ts = read("editors/vscode/src/config.ts");
    let patterns_at = config_ts
        .find("export const FILE_PATTERNS")
        .expect("FILE_PATTERNS in src/config.ts");
    let patterns_src = &config_ts[patterns_at..];
    let patterns_src = &patterns_src[patterns_src.find("= [").unwrap()..];
    let patterns_src = &patterns_src[..patterns_src.find(']').unwrap()];
    let patterns = quoted(patterns_src);
    assert!(!patterns.is_empty(), "no FILE_PATTERNS");
    for pattern in &patterns {
        let sample = pattern.trim_start_matches("**/").replace('*', "x");
        assert!(
            Language::from_path(Path::new(&sample)).is_some(),
            "editors/vscode/src/config.ts FILE_PATTERNS: `{pattern}` names files like {sample}, which the server does not read by name"
        );
    }

    // The command: src/config.ts builds `server` [`--log-level` L] for `otel-lsp`.
    let config = read("editors/vscode/src/config.ts");
    assert!(
        config.contains("['server', '--log-level', logLevel]") && config.contains("['server']")
    );
    assert!(config.contains("'otel-lsp.exe' : 'otel-lsp'"));
    let props = pkg["contributes"]["configuration"]["properties"]
        .as_object()
        .unwrap();
    let levels: Vec<&str> = props["otel-lsp.logLevel"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .filter(|v| !v.is_empty())
        .collect();
    assert!(!levels.is_empty());
    for level in levels {
        let cmd = ["otel-lsp", "server", "--log-level", level].map(String::from);
        assert_server_command(&cmd, "otel-lsp.logLevel");
    }

    // The settings: the server's (select/ignore/severity) and the extension's own.
    const CLIENT_ONLY: &[&str] = &[
        "otel-lsp.path",
        "otel-lsp.logLevel",
        "otel-lsp.trace.server",
    ];
    for (key, schema) in props {
        if CLIENT_ONLY.contains(&key.as_str()) {
            continue;
        }
        let name = key
            .strip_prefix("otel-lsp.")
            .unwrap_or_else(|| panic!("setting {key} outside the otel-lsp section"));
        let sample = match name {
            "select" | "ignore" => json!(["OTEL001"]),
            "severity" => json!({"OTEL001": "error"}),
            other => panic!("setting {key}: the server reads no `{other}` (src/config.rs)"),
        };
        let settings = json!({ "otel-lsp": { name: sample } });
        assert_settings_accepted(&settings, key);
        let (parsed, _) = settings_from_json(&settings);
        assert_ne!(
            parsed,
            Default::default(),
            "{key} has no effect on the server"
        );
        if name == "severity" {
            for level in schema["additionalProperties"]["enum"].as_array().unwrap() {
                let level = level.as_str().unwrap();
                assert!(Severity::parse(level).is_some(), "severity `{level}`");
            }
        }
    }

    // The commands the extension registers are the ones package.json contributes.
    let extension = read("editors/vscode/src/extension.ts");
    for command in pkg["contributes"]["commands"].as_array().unwrap() {
        let id = command["command"].as_str().unwrap();
        assert!(
            extension.contains(&format!("'{id}'")),
            "{id} is not registered"
        );
    }
}

#[test]
fn neovim_config() {
    let src = read("editors/neovim/lsp/otel_lsp.lua");
    let origin = "editors/neovim/lsp/otel_lsp.lua";
    assert_server_command(&lua_strings(&src, "cmd"), origin);
    // Neovim sends the filetype as languageId unless `language_ids` maps it.
    const MAP: &str = "local language_ids = {";
    let map_body = &src[src.find(MAP).expect("language_ids table") + MAP.len()..];
    let mapping: Vec<(String, String)> = map_body[..map_body.find('}').unwrap()]
        .split([',', '\n'])
        .filter_map(|entry| {
            let (ft, id) = entry.split_once('=')?;
            let ft = ft.trim().trim_matches(['[', ']', '"', '\'']).to_string();
            Some((ft, quoted(id).into_iter().next()?))
        })
        .collect();
    let ids: Vec<String> = lua_strings(&src, "filetypes")
        .into_iter()
        .map(|ft| {
            mapping
                .iter()
                .find(|(f, _)| *f == ft)
                .map_or(ft.clone(), |(_, id)| id.clone())
        })
        .collect();
    for id in &ids {
        assert_language_id(id, origin);
    }
    assert_covers_python_and_yaml(&ids, origin);
    let markers = lua_strings(&src, "root_markers");
    for marker in ["otel-lsp.toml", "pyproject.toml", ".git"] {
        assert!(markers.iter().any(|m| m == marker), "root marker {marker}");
    }
}

#[test]
fn helix_languages() {
    let origin = "editors/helix/languages.toml";
    let doc: toml::Value = toml::from_str(&read(origin)).expect("languages.toml parses as TOML");
    let server = &doc["language-server"]["otel-lsp"];
    let mut cmd = vec![server["command"].as_str().unwrap().to_string()];
    cmd.extend(
        server
            .get("args")
            .and_then(|a| a.as_array())
            .into_iter()
            .flatten()
            .map(|a| a.as_str().unwrap().to_string()),
    );
    assert_server_command(&cmd, origin);
    if let Some(config) = server.get("config") {
        assert_settings_accepted(&serde_json::to_value(config).unwrap(), origin);
    }
    let mut ids = Vec::new();
    for lang in doc["language"].as_array().expect("[[language]] entries") {
        let servers: Vec<&str> = lang["language-servers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().or_else(|| s.get("name")?.as_str()).unwrap())
            .collect();
        if !servers.contains(&"otel-lsp") {
            continue;
        }
        // Helix sends `language-id` when set, else the language's name.
        let id = lang
            .get("language-id")
            .or_else(|| lang.get("name"))
            .and_then(|v| v.as_str())
            .unwrap()
            .to_string();
        assert_language_id(&id, origin);
        // Helix's own servers stay: otel-lsp is added, not substituted. Helix defines no
        // server for these (its languages.toml), and `procfile` is ours.
        const NO_DEFAULT_SERVERS: &[&str] = &["make", "env", "ini", "procfile"];
        let name = lang["name"].as_str().unwrap();
        assert!(
            servers.len() > 1 || NO_DEFAULT_SERVERS.contains(&name),
            "{origin}: {id} keeps Helix's default servers"
        );
        ids.push(id);
    }
    assert_covers_python_and_yaml(&ids, origin);
}

#[test]
fn emacs_eglot_snippet() {
    let origin = "editors/emacs/otel-lsp.el";
    let src = read(origin);
    // Each contact: `("otel-lsp" "server" …)` after the modes.
    let contacts: Vec<Vec<String>> = src
        .match_indices(". (\"otel-lsp\"")
        .map(|(i, _)| quoted(&src[i + 2..i + 2 + src[i + 2..].find(')').unwrap()]))
        .collect();
    assert!(
        !contacts.is_empty(),
        "{origin}: no eglot contact `. (\"otel-lsp\" …)`"
    );
    for contact in &contacts {
        assert_server_command(contact, origin);
    }
    // Each mode names its languageId explicitly (`:language-id "python"`).
    let ids: Vec<String> = src
        .match_indices(":language-id ")
        .filter_map(|(i, _)| quoted(&src[i..src[i..].find(')')? + i]).into_iter().next())
        .collect();
    assert!(ids.len() >= 2, "{origin}: modes without :language-id");
    for id in &ids {
        assert_language_id(id, origin);
    }
    assert_covers_python_and_yaml(&ids, origin);
}

/// A file identify (pre-commit's file typing) gives each tag to, to ask `Language::from_path`.
fn sample_for_tag(tag: &str) -> &'static str {
    match tag {
        "python" => "app.py",
        "pyi" => "app.pyi",
        "yaml" => "deploy.yaml",
        "dockerfile" => "Dockerfile",
        "shell" => "start.sh",
        "ini" => "uwsgi.ini",
        "toml" => "pyproject.toml",
        "makefile" => "Makefile",
        "dotenv" => "app.env",
        other => panic!("no sample file for identify tag `{other}`: add one to sample_for_tag"),
    }
}

#[test]
fn pre_commit_hook() {
    let origin = ".pre-commit-hooks.yaml";
    let src = read(origin);
    let field = |name: &str| {
        src.lines()
            .find_map(|l| l.trim().strip_prefix(&format!("{name}:")))
            .map(|v| v.trim().to_string())
            .unwrap_or_else(|| panic!("{origin}: no `{name}`"))
    };
    let entry: Vec<String> = field("entry")
        .split_whitespace()
        .map(String::from)
        .collect();
    assert_eq!(entry[..2], ["otel-lsp", "check"], "{origin}: entry");
    assert_accepted(&entry[1..], origin);
    assert_eq!(
        field("language"),
        "python",
        "pre-commit installs the hook with pip (the maturin wheel of pyproject.toml)"
    );
    let types = field("types_or");
    let tags: Vec<&str> = types
        .trim_matches(['[', ']'])
        .split(',')
        .map(str::trim)
        .collect();
    let mut langs = Vec::new();
    for tag in tags {
        let sample = sample_for_tag(tag);
        let lang = Language::from_path(Path::new(sample));
        assert!(
            lang.is_some(),
            "{origin}: tag `{tag}` selects files like {sample}, which otel-lsp check does not read"
        );
        langs.extend(lang);
    }
    for lang in [Language::Python, Language::Yaml] {
        assert!(
            langs.contains(&lang),
            "{origin}: no tag for {}",
            lang.as_str()
        );
    }
}

/// A synopsis placeholder (`[OPTIONS]`, `<path>`, `CODE|NAME`, `PATH`) or shell syntax.
fn is_placeholder(word: &str) -> bool {
    let upper = word.len() > 1 && word.chars().all(|c| c.is_ascii_uppercase());
    upper || word.contains(['[', ']', '<', '>', '|', '&', ';'])
}

/// Lines of fenced code blocks that run `otel-lsp …`, with where they come from.
fn documented_commands() -> Vec<(String, Vec<String>)> {
    let mut files = vec![repo().join("README.md")];
    for dir in [
        "editors/vscode",
        "editors/neovim",
        "editors/helix",
        "editors/emacs",
    ] {
        files.push(repo().join(dir).join("README.md"));
    }
    let mut out = Vec::new();
    for file in files {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        let mut in_code = false;
        for (i, line) in text.lines().enumerate() {
            if line.trim_start().starts_with("```") {
                in_code = !in_code;
                continue;
            }
            let line = line.split(" #").next().unwrap().trim();
            let line = ["- run: ", "$ "]
                .iter()
                .fold(line, |l, p| l.strip_prefix(p).unwrap_or(l));
            if !in_code || !line.starts_with("otel-lsp ") {
                continue;
            }
            // A command line, or a synopsis (`otel-lsp rules [--format text|json]`): the words
            // before the first placeholder, pipe or redirection are checked.
            let args: Vec<String> = line
                .split_whitespace()
                .skip(1)
                .take_while(|a| !is_placeholder(a))
                .map(String::from)
                .collect();
            let origin = format!("{}:{}", file.strip_prefix(repo()).unwrap().display(), i + 1);
            out.push((origin, args));
        }
    }
    out
}

#[test]
fn documented_commands_exist() {
    let commands = documented_commands();
    assert!(
        commands
            .iter()
            .any(|(_, a)| a.first().is_some_and(|s| s == "check")),
        "the README documents no `otel-lsp check` command line"
    );
    for (origin, args) in &commands {
        assert_accepted(args, origin);
    }
}

/// pyproject.toml (the wheel, `pip install otel-lsp`) says what Cargo.toml says.
#[test]
fn python_package_matches_cargo() {
    let parse = |f: &str| -> toml::Table { toml::from_str(&read(f)).expect(f) };
    let (py, cargo) = (parse("pyproject.toml"), parse("Cargo.toml"));
    let project = py["project"].as_table().expect("[project]");
    let package = cargo["package"].as_table().unwrap();
    for key in ["name", "description", "license", "readme", "keywords"] {
        assert_eq!(project.get(key), package.get(key), "pyproject.toml: {key}");
    }
    // The version is Cargo's, read by maturin.
    assert!(project.get("version").is_none(), "pyproject.toml: version");
    assert_eq!(
        project["dynamic"].as_array().unwrap(),
        &[toml::Value::from("version")]
    );
    assert!(project["requires-python"]
        .as_str()
        .unwrap()
        .starts_with(">="));
    for f in project["license-files"].as_array().unwrap() {
        assert!(repo().join(f.as_str().unwrap()).is_file(), "{f}");
    }
    let build = py["build-system"].as_table().unwrap();
    assert_eq!(build["build-backend"].as_str(), Some("maturin"));
    assert!(build["requires"].as_array().unwrap()[0]
        .as_str()
        .unwrap()
        .starts_with("maturin"));
    // The backend the wheel test installs satisfies it (same major version).
    let pinned = read("tests/packaging/requirements.txt");
    assert!(
        pinned.lines().any(|l| l.starts_with("maturin==1.")),
        "{pinned}"
    );
    assert_eq!(py["tool"]["maturin"]["bindings"].as_str(), Some("bin"));
    // The repository's own pyproject.toml configures nothing for `otel-lsp check`.
    assert!(py["tool"].get("otel-lsp").is_none());
}

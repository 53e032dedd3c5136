//! The `otel-lsp` binary: `check`, `server`, `rules`, `explain`.

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;

mod cli;

/// mimalloc, for Rust and (see `main`) for tree-sitter, with its default options: measured
/// side by side with the system allocator (and with mimalloc purging freed memory at once),
/// it checks the manifest corpus about a quarter faster and the Python ones a fifth faster,
/// for a peak memory of 45–90 MiB instead of 36–80 (the README's performance section).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Finds OpenTelemetry Python auto-instrumentation pitfalls in code, manifests and launchers.
#[derive(Parser, Debug)]
#[command(name = "otel-lsp", version, about, propagate_version = true)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Check files and directories (default: the current directory).
    Check(CheckArgs),
    /// Run the language server over stdio.
    Server(ServerArgs),
    /// List every rule: code, name, severity, language, fix.
    Rules {
        /// Output format.
        #[arg(long, value_enum, default_value_t = RulesFormat::Text)]
        format: RulesFormat,
    },
    /// Show one rule's documentation.
    Explain {
        /// The rule's code (OTEL001) or name (flask-debug-reloader).
        rule: String,
    },
}

/// Output formats of `check`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Each finding with its source lines, a caret under the span, the fix and the rule's
    /// link; then a summary.
    Full,
    /// One line per finding, `path:line:col: CODE message`; then a summary.
    #[value(alias = "text")]
    Concise,
    /// A JSON array (the documented public contract).
    Json,
    /// One JSON object per line, the same objects as `json`.
    JsonLines,
    /// SARIF 2.1.0.
    Sarif,
    /// GitHub Actions workflow commands.
    Github,
    /// GitLab Code Quality report (JSON).
    Gitlab,
    /// JUnit XML.
    Junit,
}

/// Output formats of `rules`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum RulesFormat {
    /// A table.
    Text,
    /// A JSON array.
    Json,
}

/// Arguments of `otel-lsp check`.
#[derive(clap::Args, Debug, Clone)]
pub struct CheckArgs {
    /// Files or directories to check (default: `.`); `-` reads standard input.
    pub paths: Vec<PathBuf>,
    /// The name of the file read from standard input: it decides the file kind, the
    /// configuration and the path reports show.
    #[arg(long, value_name = "NAME")]
    pub stdin_filename: Option<PathBuf>,
    /// Output format (`--format` is an alias).
    #[arg(long = "output-format", visible_alias = "format", value_enum, default_value_t = Format::Full)]
    pub output_format: Format,
    /// Apply safe fixes.
    #[arg(long)]
    pub fix: bool,
    /// Also apply unsafe fixes (implies --fix).
    #[arg(long)]
    pub unsafe_fixes: bool,
    /// Only these rules (codes, code prefixes or names; comma-separated or repeated).
    #[arg(long, value_delimiter = ',')]
    pub select: Vec<String>,
    /// Skip these rules (codes, code prefixes or names).
    #[arg(long, value_delimiter = ',')]
    pub ignore: Vec<String>,
    /// Exit 0 even when problems are found (wins over the other exit flags).
    #[arg(long)]
    pub exit_zero: bool,
    /// Exit 1 when fixes were applied, even if no problems remain.
    #[arg(long)]
    pub exit_non_zero_on_fix: bool,
    /// Print a unified diff of the fixes instead of applying them (exit 1 when there is one).
    #[arg(long)]
    pub diff: bool,
    /// Print how many findings each rule has (and how many are fixable) instead of them.
    #[arg(long)]
    pub statistics: bool,
    /// Show what the fixes change: in `full` output each finding's fix, after `--fix` the
    /// findings fixed per file.
    #[arg(long)]
    pub show_fixes: bool,
    /// Write the report to this file instead of stdout.
    #[arg(long, value_name = "PATH")]
    pub output_file: Option<PathBuf>,
    /// Print only the diagnostics: no summary line.
    #[arg(long, short)]
    pub quiet: bool,
    /// Apply `exclude` patterns to paths named on the command line too (for pre-commit).
    #[arg(long)]
    pub force_exclude: bool,
    /// Use this configuration file instead of discovering one.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Colour: auto (terminal only), always, never.
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
    /// The full path: parse every file and chunk, run every enabled rule (for tests: it must
    /// report exactly what the default path reports).
    #[arg(long, hide = true)]
    pub full: bool,
    /// Print how much was read and parsed to stderr.
    #[arg(long, hide = true)]
    pub stats: bool,
}

/// When to colour text output.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Color {
    /// Only when stdout is a terminal and NO_COLOR is unset.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// Arguments of `otel-lsp server`.
#[derive(clap::Args, Debug, Clone)]
pub struct ServerArgs {
    /// Speak over stdio (the only transport; accepted for clients that pass it).
    #[arg(long)]
    pub stdio: bool,
    /// Log level on stderr (error, warn, info, debug, trace); `OTEL_LSP_LOG` also works.
    #[arg(long)]
    pub log_level: Option<String>,
}

fn main() -> ExitCode {
    {
        // SAFETY: called first, before any tree-sitter object exists, on the only thread;
        // the four functions are mimalloc's matching malloc/calloc/realloc/free.
        unsafe {
            tree_sitter::set_allocator(
                Some(libmimalloc_sys::mi_malloc),
                Some(libmimalloc_sys::mi_calloc),
                Some(libmimalloc_sys::mi_realloc),
                Some(libmimalloc_sys::mi_free),
            );
        }
    }
    // No transparent huge pages: mimalloc asks for them on its arenas, and the kernel then
    // zeroes and counts 2 MiB per first touch. Without them a manifest check peaks ~30 MiB
    // lower, no slower (bench/compare; the README's performance section).
    #[cfg(target_os = "linux")]
    // SAFETY: prctl with PR_SET_THP_DISABLE takes plain integers and touches no memory.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
    let args = Args::parse();
    match args.command {
        Command::Check(a) => cli::check(a),
        Command::Server(a) => otel_lsp::server::run(a.log_level.as_deref()),
        Command::Rules { format } => cli::rules(format),
        Command::Explain { rule } => cli::explain(&rule),
    }
}

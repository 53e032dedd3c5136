/**
 * Everything the extension decides without VS Code: which files it serves, which command it
 * starts, which settings it sends. Kept free of the `vscode` module so that the client test
 * (test/client.test.ts) runs this very code against the real `otel-lsp` binary.
 */

import * as fs from 'fs';
import * as path from 'path';

/** The extension's identifier and the prefix of its settings. */
export const SECTION = 'otel-lsp';

/** The code-action kind `editor.codeActionsOnSave` names to apply every safe fix. */
export const FIX_ALL_KIND = 'source.fixAll.otel-lsp';

/** Where the error message sends a user who has no `otel-lsp` binary. */
export const INSTALL_URL = 'https://github.com/otel-lsp/otel-lsp#installation';

/**
 * The LSP languageIds the server is started for, read from the `onLanguage:` activation
 * events of package.json: that list is the only one to edit when the server learns a language.
 */
export function languagesFromActivationEvents(events: readonly string[]): string[] {
  return events.filter((e) => e.startsWith('onLanguage:')).map((e) => e.slice('onLanguage:'.length));
}

/**
 * Files the server reads whatever language VS Code gives them: Procfiles have no VS Code
 * language (they open as `plaintext`), and `.env` files are `dotenv` only in recent VS Code or
 * with a dotenv extension (else `properties`, `ini` or `plaintext`). The server picks the file
 * kind from the file name first, so the languageId does not matter for these.
 */
export const FILE_PATTERNS: readonly string[] = ['**/Procfile', '**/Procfile.*', '**/.env', '**/.env.*', '**/*.env'];

/** A document selector for those languages, on disk and in unsaved editors, and for FILE_PATTERNS on disk. */
export function documentSelector(
  languages: readonly string[],
): ({ scheme: string; language: string } | { scheme: string; pattern: string })[] {
  return [
    ...languages.flatMap((language) => [
      { scheme: 'file', language },
      { scheme: 'untitled', language },
    ]),
    ...FILE_PATTERNS.map((pattern) => ({ scheme: 'file', pattern })),
  ];
}

/** The settings the server reads (see `settings_from_json` in src/config.rs). */
export interface ServerSettings {
  select: string[];
  ignore: string[];
  severity: Record<string, string>;
}

/** Reads `otel-lsp.select`, `.ignore`, `.severity` through `get` (a WorkspaceConfiguration.get). */
export function serverSettings(get: (key: string) => unknown): ServerSettings {
  const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
  const severity: Record<string, string> = {};
  const raw = get('severity');
  if (raw && typeof raw === 'object') {
    for (const [code, level] of Object.entries(raw as Record<string, unknown>)) {
      if (typeof level === 'string') {
        severity[code] = level;
      }
    }
  }
  return { select: strings(get('select')), ignore: strings(get('ignore')), severity };
}

/** The arguments of the server command: `server`, plus `--log-level` when one is set. */
export function serverArgs(logLevel: string | undefined): string[] {
  return logLevel ? ['server', '--log-level', logLevel] : ['server'];
}

/** The binary's file name on this platform. */
export function binaryName(platform: NodeJS.Platform = process.platform): string {
  return platform === 'win32' ? 'otel-lsp.exe' : 'otel-lsp';
}

/**
 * Where a platform-specific .vsix carries the binary: `bin/<platform>-<arch>/otel-lsp`, the
 * same names as `vsce package --target` (linux-x64, darwin-arm64, win32-x64, ...).
 */
export function bundledBinary(extensionPath: string, platform: NodeJS.Platform = process.platform, arch: string = process.arch): string {
  return path.join(extensionPath, 'bin', `${platform}-${arch}`, binaryName(platform));
}

/** The server to start, and where it was found (shown in the log). */
export type Resolved =
  | { ok: true; command: string; source: 'setting' | 'bundled' | 'PATH' }
  | { ok: false; message: string };

/** What `resolveServer` needs to know about the machine. */
export interface Environment {
  extensionPath: string;
  platform?: NodeJS.Platform;
  arch?: string;
  /** The `PATH` to search. */
  pathVariable?: string;
  isFile?: (p: string) => boolean;
}

function isExecutableFile(p: string): boolean {
  try {
    const st = fs.statSync(p);
    if (!st.isFile()) {
      return false;
    }
    fs.accessSync(p, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Searches `PATH` for the binary, as a shell would. */
export function findOnPath(name: string, pathVariable: string, platform: NodeJS.Platform, isFile: (p: string) => boolean): string | undefined {
  const sep = platform === 'win32' ? ';' : ':';
  for (const dir of pathVariable.split(sep)) {
    if (!dir) {
      continue;
    }
    const candidate = path.join(dir, name);
    if (isFile(candidate)) {
      return candidate;
    }
  }
  return undefined;
}

/**
 * Decides which binary to start: the `otel-lsp.path` setting when given (and an error when it
 * does not exist), else the binary bundled for this platform, else `otel-lsp` on `PATH`, else an
 * error that tells how to install it.
 */
export function resolveServer(configuredPath: string | undefined, env: Environment): Resolved {
  const platform = env.platform ?? process.platform;
  const isFile = env.isFile ?? isExecutableFile;
  const configured = configuredPath?.trim();
  if (configured) {
    if (isFile(configured)) {
      return { ok: true, command: configured, source: 'setting' };
    }
    return {
      ok: false,
      message: `otel-lsp: the binary set in \`otel-lsp.path\` (${configured}) does not exist or is not executable.`,
    };
  }
  const bundled = bundledBinary(env.extensionPath, platform, env.arch ?? process.arch);
  if (isFile(bundled)) {
    return { ok: true, command: bundled, source: 'bundled' };
  }
  const onPath = findOnPath(binaryName(platform), env.pathVariable ?? process.env.PATH ?? '', platform, isFile);
  if (onPath) {
    return { ok: true, command: onPath, source: 'PATH' };
  }
  return {
    ok: false,
    message:
      'otel-lsp: no `otel-lsp` binary found: this extension has none bundled for ' +
      `${platform}-${env.arch ?? process.arch} and there is none on PATH. ` +
      'Install otel-lsp and put it on PATH, or set `otel-lsp.path` to the binary.',
  };
}

/**
 * The language-client options that do not need VS Code objects: which documents, what the
 * server gets at start-up, which settings section it follows.
 */
export function baseClientOptions(languages: readonly string[], settings: ServerSettings) {
  return {
    documentSelector: documentSelector(languages),
    initializationOptions: settings,
    diagnosticCollectionName: SECTION,
    // Sends `workspace/didChangeConfiguration` with `{"otel-lsp": {...}}` on every change.
    synchronize: { configurationSection: SECTION },
  };
}

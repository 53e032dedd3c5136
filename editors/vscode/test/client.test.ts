/**
 * The extension's client side against the real `otel-lsp` binary: the command and settings come
 * from src/config.ts (the code the extension runs), the capabilities from vscode-languageclient,
 * the transport from vscode-languageserver-protocol. Asserts diagnostics, a quick fix,
 * `source.fixAll.otel-lsp` and UTF-16 positions, as VS Code would see them.
 *
 * The binary: $OTEL_LSP_BIN, else target/debug/otel-lsp of this checkout (`cargo build`).
 */

import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as cp from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { CodeAction, Command, Diagnostic } from 'vscode-languageserver-protocol';
import {
  FIX_ALL_KIND,
  ServerSettings,
  baseClientOptions,
  binaryName,
  bundledBinary,
  languagesFromActivationEvents,
  resolveServer,
  serverArgs,
} from '../src/config';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { Session, fileUri } from './session';
import { vscodeClientCapabilities } from './vscodeCapabilities';

/** The checkout: the nearest folder above this test that holds Cargo.toml. */
const ROOT = (() => {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'Cargo.toml'))) {
    const parent = path.dirname(dir);
    assert.notEqual(parent, dir, 'not inside the otel-lsp checkout');
    dir = parent;
  }
  return dir;
})();
const BIN = process.env.OTEL_LSP_BIN ?? path.join(ROOT, 'target', 'debug', binaryName());
const FIXTURES = path.join(ROOT, 'editors', 'fixtures');
const PACKAGE = JSON.parse(fs.readFileSync(path.join(ROOT, 'editors', 'vscode', 'package.json'), 'utf8'));
const LANGUAGES = languagesFromActivationEvents(PACKAGE.activationEvents);
const DEFAULTS: ServerSettings = { select: [], ignore: [], severity: {} };

/** The server may add the rule's code to the title: `Add \`use_reloader=False\` (OTEL001)`. */
const ADD_RELOADER = 'Add `use_reloader=False`';
const isFix = (a: CodeAction, code: string) =>
  a.kind === 'quickfix' && !a.title.startsWith('Disable') && (a.diagnostics ?? []).some((d) => d.code === code);

/** The annotation key (the fixture's comment names it too, without the prefix). */
const ANNOTATION = 'instrumentation.opentelemetry.io/inject-python';

const isAction = (a: CodeAction | Command): a is CodeAction => typeof (a as CodeAction).title === 'string' && typeof a.command !== 'string';

/** Starts the server exactly as the extension does, with `otel-lsp.path` set to the binary under test. */
async function startSession(settings: ServerSettings, workspace: string): Promise<Session> {
  const resolved = resolveServer(BIN, { extensionPath: path.join(ROOT, 'editors', 'vscode') });
  assert.ok(resolved.ok, resolved.ok ? '' : `${resolved.message} (build it with \`cargo build\`)`);
  const capabilities = vscodeClientCapabilities(baseClientOptions(LANGUAGES, settings));
  return Session.start(resolved.command, serverArgs(''), capabilities, settings, workspace);
}

function copyFixtures(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'otel-lsp-vscode-'));
  for (const f of fs.readdirSync(FIXTURES)) {
    fs.copyFileSync(path.join(FIXTURES, f), path.join(dir, f));
  }
  return dir;
}

/** The line (0-based) and UTF-16 column of the first occurrence of `needle`. */
function positionOf(text: string, needle: string): { line: number; character: number } {
  const lines = text.split('\n');
  const line = lines.findIndex((l) => l.includes(needle));
  assert.notEqual(line, -1, `fixture has no ${needle}`);
  return { line, character: lines[line].indexOf(needle) };
}

/** Whether the binary's rule table lists OTEL003 with a quick fix (YAML rules are built on another branch). */
function yamlRuleFixable(): { ok: boolean; why: string } {
  let out = '';
  try {
    out = cp.execFileSync(BIN, ['rules', '--format', 'json'], { encoding: 'utf8' });
    const rules = JSON.parse(out) as Record<string, unknown>[];
    const rule = rules.find((r) => r.code === 'OTEL003');
    if (!rule) {
      return { ok: false, why: '`otel-lsp rules --format json` does not list OTEL003' };
    }
    const fix = String(rule.fix ?? '');
    return ['', '-', 'none'].includes(fix) ? { ok: false, why: `OTEL003 has no fix yet (fix: ${JSON.stringify(rule.fix)})` } : { ok: true, why: '' };
  } catch (e) {
    return { ok: false, why: `\`otel-lsp rules --format json\` gave no rule table (${out.trim().slice(0, 80) || String(e).slice(0, 120)})` };
  }
}

describe('resolving the server command (src/config.ts)', () => {
  const exists = (files: string[]) => (p: string) => files.includes(p);
  const ext = '/ext';

  test('otel-lsp.path wins, and a missing one is an error that names the setting', () => {
    assert.deepEqual(resolveServer('/opt/otel-lsp', { extensionPath: ext, isFile: exists(['/opt/otel-lsp']) }), {
      ok: true,
      command: '/opt/otel-lsp',
      source: 'setting',
    });
    const r = resolveServer('/nope/otel-lsp', { extensionPath: ext, isFile: exists([]) });
    assert.equal(r.ok, false);
    assert.match(r.ok ? '' : r.message, /otel-lsp\.path/);
  });

  test('the bundled binary for the platform comes before PATH', () => {
    const bundled = bundledBinary(ext, 'linux', 'x64');
    assert.equal(bundled, path.join(ext, 'bin', 'linux-x64', 'otel-lsp'));
    const env = { extensionPath: ext, platform: 'linux' as const, arch: 'x64', pathVariable: '/usr/bin:/home/u/.cargo/bin' };
    assert.deepEqual(resolveServer('', { ...env, isFile: exists([bundled, '/home/u/.cargo/bin/otel-lsp']) }), {
      ok: true,
      command: bundled,
      source: 'bundled',
    });
    assert.deepEqual(resolveServer(undefined, { ...env, isFile: exists(['/home/u/.cargo/bin/otel-lsp']) }), {
      ok: true,
      command: '/home/u/.cargo/bin/otel-lsp',
      source: 'PATH',
    });
  });

  test('neither bundled nor on PATH: a message that says what to do', () => {
    const r = resolveServer('', { extensionPath: ext, platform: 'darwin', arch: 'arm64', pathVariable: '/usr/bin', isFile: exists([]) });
    assert.equal(r.ok, false);
    assert.match(r.ok ? '' : r.message, /no `otel-lsp` binary found.*darwin-arm64.*PATH.*otel-lsp\.path/s);
    assert.equal(binaryName('win32'), 'otel-lsp.exe');
  });

  test('the server command is `otel-lsp server`', () => {
    assert.deepEqual(serverArgs(''), ['server']);
    assert.deepEqual(serverArgs('debug'), ['server', '--log-level', 'debug']);
  });
});

describe('VS Code client against the real otel-lsp server', () => {
  let workspace: string;
  let session: Session;

  before(async () => {
    assert.ok(fs.existsSync(BIN), `no binary at ${BIN}: run \`cargo build\` or set OTEL_LSP_BIN`);
    workspace = copyFixtures();
    session = await startSession(DEFAULTS, workspace);
  });

  after(async () => {
    await session?.shutdown();
    if (workspace) {
      fs.rmSync(workspace, { recursive: true, force: true });
    }
  });

  test('initialize: the server takes VS Code capabilities and offers what the extension uses', () => {
    const caps = session.capabilities;
    const encoding = caps.positionEncoding;
    assert.ok(encoding === undefined || encoding === 'utf-16', `VS Code speaks UTF-16, the server chose ${encoding}`);
    const sync = caps.textDocumentSync;
    assert.ok(typeof sync === 'number' ? sync > 0 : sync?.openClose, 'the server must track open documents');
    const provider = caps.codeActionProvider;
    assert.ok(provider, 'no codeActionProvider');
    if (typeof provider === 'object' && provider.codeActionKinds) {
      const kinds = provider.codeActionKinds;
      assert.ok(kinds.includes('quickfix'), `codeActionKinds ${kinds}`);
      assert.ok(
        kinds.some((k) => k === FIX_ALL_KIND || FIX_ALL_KIND.startsWith(`${k}.`) || k.startsWith(`${FIX_ALL_KIND}.`)),
        `VS Code asks only providers of ${FIX_ALL_KIND} on save; codeActionKinds: ${kinds}`,
      );
    }
  });

  async function openApp(file: string): Promise<{ doc: TextDocument; diags: Diagnostic[] }> {
    const text = fs.readFileSync(path.join(workspace, file), 'utf8');
    const uri = fileUri(path.join(workspace, file));
    const before = session.pushes(uri);
    const doc = await session.open(path.join(workspace, file), 'python', text);
    return { doc, diags: await session.diagnostics(doc, before) };
  }

  test('Python: OTEL001 warning on the app.run line, in UTF-16 positions', async () => {
    const { doc, diags } = await openApp('app.py');
    assert.equal(diags.length, 1, JSON.stringify(diags));
    const [d] = diags;
    assert.equal(d.code, 'OTEL001');
    assert.equal(d.severity, 2, 'warning');
    const start = positionOf(doc.getText(), 'app.run(host=');
    assert.deepEqual(d.range.start, start);
    assert.deepEqual(d.range.end, { line: start.line, character: start.character + 'app.run'.length });
    assert.match(d.message, /use_reloader=False/);
  });

  test('quick fix "Add `use_reloader=False`" (not "Disable") edits the line and clears the diagnostic', async () => {
    const uri = fileUri(path.join(workspace, 'app.py'));
    const doc = session.documents.get(uri)!;
    const [diag] = await session.diagnostics(doc);
    const actions = (await session.codeActions(doc, diag.range, { diagnostics: [diag], triggerKind: 1 })).filter(isAction);
    const fix = actions.find((a) => isFix(a, 'OTEL001') && a.title.startsWith(ADD_RELOADER));
    assert.ok(fix, `no quick fix among ${JSON.stringify(actions.map((a) => [a.kind, a.title]))}`);
    const resolved = await session.resolve(fix);
    const fixed = session.applyEdit(doc, resolved.edit!);
    assert.equal(fixed, doc.getText().replace('debug=True)', 'debug=True, use_reloader=False)'));
    const before = session.pushes(uri);
    const next = await session.change(doc, fixed);
    assert.deepEqual(await session.diagnostics(next, before), []);
  });

  test('editor.codeActionsOnSave "source.fixAll.otel-lsp" applies the safe fix', async () => {
    const uri = fileUri(path.join(workspace, 'app.py'));
    const original = fs.readFileSync(path.join(workspace, 'app.py'), 'utf8');
    let before = session.pushes(uri);
    const doc = await session.change(session.documents.get(uri)!, original);
    assert.equal((await session.diagnostics(doc, before)).length, 1);
    // On save VS Code asks for exactly this kind, over the whole document, automatically.
    const whole = { start: doc.positionAt(0), end: doc.positionAt(original.length) };
    const actions = (await session.codeActions(doc, whole, { diagnostics: [], only: [FIX_ALL_KIND], triggerKind: 2 })).filter(isAction);
    const fixAll = actions.filter((a) => a.kind === FIX_ALL_KIND || a.kind?.startsWith(`${FIX_ALL_KIND}.`));
    assert.equal(fixAll.length, 1, `expected one ${FIX_ALL_KIND} action, got ${JSON.stringify(actions.map((a) => [a.kind, a.title]))}`);
    const fixed = session.applyEdit(doc, (await session.resolve(fixAll[0])).edit!);
    assert.equal(fixed, original.replace('debug=True)', 'debug=True, use_reloader=False)'));
    before = session.pushes(uri);
    assert.deepEqual(await session.diagnostics(await session.change(doc, fixed), before), []);
  });

  test('UTF-16: a line with an emoji and accents before the call', async () => {
    const { doc, diags } = await openApp('utf16.py');
    assert.equal(diags.length, 1, JSON.stringify(diags));
    const start = positionOf(doc.getText(), 'app.run(');
    assert.deepEqual(diags[0].range.start, start, 'columns count UTF-16 code units (🚀 is two)');
    const actions = (await session.codeActions(doc, diags[0].range, { diagnostics: diags, triggerKind: 1 })).filter(isAction);
    const fix = actions.find((a) => isFix(a, 'OTEL001') && a.title.startsWith(ADD_RELOADER));
    assert.ok(fix);
    const fixed = session.applyEdit(doc, (await session.resolve(fix)).edit!);
    assert.ok(fixed.endsWith('print("🚀 ünïcode"); app.run(debug=True, use_reloader=False)\n'), fixed);
  });

  test('YAML: OTEL003 on the misplaced inject-python annotation, and its quick fix clears it', async (t) => {
    const gate = yamlRuleFixable();
    if (!gate.ok) {
      t.skip(`NOT RUN: ${gate.why}`);
      return;
    }
    const file = path.join(workspace, 'deployment.yaml');
    const text = fs.readFileSync(file, 'utf8');
    const before = session.pushes(fileUri(file));
    const doc = await session.open(file, 'yaml', text);
    const diags = (await session.diagnostics(doc, before)).filter((d) => d.code === 'OTEL003');
    assert.equal(diags.length, 1, JSON.stringify(diags));
    assert.equal(diags[0].severity, 1, 'error');
    assert.equal(diags[0].range.start.line, positionOf(text, ANNOTATION).line);
    const actions = (await session.codeActions(doc, diags[0].range, { diagnostics: diags, triggerKind: 1 })).filter(isAction);
    const fix = actions.find((a) => isFix(a, 'OTEL003'));
    assert.ok(fix, `no quick fix among ${JSON.stringify(actions.map((a) => [a.kind, a.title]))}`);
    const fixed = session.applyEdit(doc, (await session.resolve(fix)).edit!);
    const pushed = session.pushes(doc.uri);
    const after = await session.diagnostics(await session.change(doc, fixed), pushed);
    assert.deepEqual(after.filter((d) => d.code === 'OTEL003'), []);
    assert.ok(fixed.indexOf('template:') < fixed.indexOf(ANNOTATION), `the annotation belongs under spec.template:\n${fixed}`);
  });

  test('Dockerfile: OTEL020 on the worker count; the Flask app it runs gets OTEL001, and loses it when the Dockerfile does', async () => {
    assert.ok(LANGUAGES.includes('dockerfile'), `package.json activates on ${LANGUAGES}`);
    const dir = path.join(workspace, 'svc');
    fs.mkdirSync(dir, { recursive: true });
    const dockerfile = 'FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\nCMD ["opentelemetry-instrument", "gunicorn", "-w", "4", "app:app"]\n';
    const app = 'from flask import Flask\n\napp = Flask(__name__)\n\nif __name__ == "__main__":\n    app.run(debug=True)\n';
    fs.writeFileSync(path.join(dir, 'Dockerfile'), dockerfile);
    fs.writeFileSync(path.join(dir, 'app.py'), app);
    const dUri = fileUri(path.join(dir, 'Dockerfile'));
    const aUri = fileUri(path.join(dir, 'app.py'));
    let before = session.pushes(dUri);
    const docker = await session.open(path.join(dir, 'Dockerfile'), 'dockerfile', dockerfile);
    const dDiags = await session.diagnostics(docker, before);
    assert.deepEqual(dDiags.map((d) => d.code), ['OTEL020'], JSON.stringify(dDiags));
    const four = positionOf(dockerfile, '"4"');
    assert.deepEqual(dDiags[0].range, { start: { line: four.line, character: four.character + 1 }, end: { line: four.line, character: four.character + 2 } });
    const actions = (await session.codeActions(docker, dDiags[0].range, { diagnostics: dDiags, triggerKind: 1 })).filter(isAction);
    assert.ok(actions.filter((a) => isFix(a, 'OTEL020')).length >= 2, JSON.stringify(actions.map((a) => a.title)));
    assert.ok(actions.every((a) => !a.isPreferred), 'unsafe fixes are never preferred');

    // The app does not import OpenTelemetry: only the Dockerfile makes debug=True a problem.
    before = session.pushes(aUri);
    const appDoc = await session.open(path.join(dir, 'app.py'), 'python', app);
    assert.deepEqual((await session.diagnostics(appDoc, before)).map((d) => d.code), ['OTEL001']);
    // Drop opentelemetry-instrument from the Dockerfile: the app is checked again.
    const refreshes = session.refreshes;
    before = session.pushes(aUri);
    await session.change(docker, dockerfile.replace('"opentelemetry-instrument", ', ''));
    if (session.pullsDiagnostics) {
      await session.refreshed(refreshes);
    }
    assert.deepEqual(await session.diagnostics(appDoc, before), []);
  });
});

describe('settings reach the server (initializationOptions, then didChangeConfiguration)', () => {
  test('otel-lsp.ignore at start, then otel-lsp.severity on change', async () => {
    const workspace = copyFixtures();
    const session = await startSession({ select: [], ignore: ['OTEL001'], severity: {} }, workspace);
    try {
      const file = path.join(workspace, 'app.py');
      const doc = await session.open(file, 'python', fs.readFileSync(file, 'utf8'));
      assert.deepEqual(await session.diagnostics(doc, 0), [], 'OTEL001 is ignored by initializationOptions');
      // What vscode-languageclient sends for `synchronize.configurationSection: "otel-lsp"`.
      const pushed = session.pushes(doc.uri);
      const refreshes = session.refreshes;
      session.settings = { select: [], ignore: [], severity: { OTEL001: 'error' } };
      await session.conn.sendNotification('workspace/didChangeConfiguration', { settings: { 'otel-lsp': session.settings } });
      if (session.pullsDiagnostics) {
        // The settings apply asynchronously; VS Code re-pulls when the server asks it to.
        await session.refreshed(refreshes);
      }
      const diags = await session.diagnostics(doc, pushed);
      assert.equal(diags.length, 1, JSON.stringify(diags));
      assert.equal(diags[0].severity, 1, 'OTEL001 raised to error by the changed setting');
    } finally {
      await session.shutdown();
      fs.rmSync(workspace, { recursive: true, force: true });
    }
  });
});

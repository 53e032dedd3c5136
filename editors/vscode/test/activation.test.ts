/**
 * The extension's own activate()/deactivate() (src/extension.ts) with the real
 * vscode-languageclient/node under a recording fake of the `vscode` module: the error and
 * install link when there is no binary, and a real start, restart and stop of `otel-lsp server`
 * when `otel-lsp.path` names it.
 */

import { fake } from './fakeVscode'; // first: it must be in place before the extension loads
import { afterEach, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { activate, deactivate } from '../src/extension';
import { INSTALL_URL, binaryName } from '../src/config';
import { within } from './session';

function repoRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'Cargo.toml'))) {
    dir = path.dirname(dir);
  }
  return dir;
}

const ROOT = repoRoot();
const BIN = process.env.OTEL_LSP_BIN ?? path.join(ROOT, 'target', 'debug', binaryName());
const PACKAGE = JSON.parse(fs.readFileSync(path.join(ROOT, 'editors', 'vscode', 'package.json'), 'utf8'));

function context(extensionPath: string) {
  return { subscriptions: [] as { dispose(): unknown }[], extensionPath, extension: { packageJSON: PACKAGE } };
}

function reset() {
  fake.settings = {};
  fake.errors.length = 0;
  fake.opened.length = 0;
  fake.output.length = 0;
  fake.commands.clear();
  fake.configListeners.length = 0;
  fake.shown = 0;
  fake.clickOnError = undefined;
}

describe('activate() and deactivate()', () => {
  afterEach(async () => {
    await within(deactivate(), 'deactivate');
  });

  test('no binary: an error naming the fix, and the install link opens when clicked', async () => {
    reset();
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'otel-lsp-nobin-'));
    const savedPath = process.env.PATH;
    process.env.PATH = empty;
    fake.clickOnError = 'Installation instructions';
    try {
      await activate(context(empty) as never);
    } finally {
      process.env.PATH = savedPath;
      fs.rmSync(empty, { recursive: true, force: true });
    }
    assert.equal(fake.errors.length, 1, JSON.stringify(fake.errors));
    assert.match(fake.errors[0].message, /no `otel-lsp` binary found.*otel-lsp\.path/s);
    assert.deepEqual(fake.errors[0].items, ['Installation instructions', 'Open settings']);
    assert.deepEqual(fake.opened, [INSTALL_URL]);
    assert.deepEqual([...fake.commands.keys()].sort(), ['otel-lsp.restartServer', 'otel-lsp.showLogs']);
  });

  test('otel-lsp.path: starts `otel-lsp server`, restarts on command and on a path change, shows logs', async () => {
    reset();
    assert.ok(fs.existsSync(BIN), `no binary at ${BIN}`);
    fake.settings = { path: BIN };
    await within(activate(context(path.join(ROOT, 'editors', 'vscode')) as never), 'activate');
    assert.deepEqual(fake.errors, [], 'the client started without an error');
    const started = () => fake.output.filter((l) => l.startsWith(`Starting ${BIN} server (found via setting)`)).length;
    assert.equal(started(), 1, fake.output.join('\n'));
    await within(Promise.resolve(fake.commands.get('otel-lsp.restartServer')!()), 'restart');
    assert.equal(started(), 2);
    fake.settings = { path: BIN, logLevel: 'debug' };
    for (const l of fake.configListeners) {
      await within(Promise.resolve(l({ affectsConfiguration: (s: string) => s === 'otel-lsp.logLevel' })), 'restart on change');
    }
    assert.ok(fake.output.some((l) => l.startsWith(`Starting ${BIN} server --log-level debug`)), fake.output.join('\n'));
    fake.commands.get('otel-lsp.showLogs')!();
    assert.equal(fake.shown, 1);
    assert.deepEqual(fake.errors, []);
  });
});

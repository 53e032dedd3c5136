/**
 * A fake `vscode` module that records what the extension does: the error messages it shows, the
 * commands it registers, the output channel's lines, the links it opens. Everything not listed
 * is a permissive stand-in. Installed before the extension's code loads (import this first).
 */

import Module = require('module');
import { pathToFileURL } from 'url';
import { standIn } from './vscodeCapabilities';

type Listener = (e: { affectsConfiguration(section: string): boolean }) => unknown;

export const fake = {
  settings: {} as Record<string, unknown>,
  errors: [] as { message: string; items: string[] }[],
  /** What the user clicks in the next error message. */
  clickOnError: undefined as string | undefined,
  opened: [] as string[],
  commands: new Map<string, (...args: unknown[]) => unknown>(),
  output: [] as string[],
  shown: 0,
  configListeners: [] as Listener[],
};

const disposable = { dispose() {} };

function uri(p: string) {
  return { scheme: 'file', fsPath: p, path: p, toString: () => pathToFileURL(p).toString() };
}

const channel = {
  name: 'otel-lsp',
  append: (s: string) => fake.output.push(s),
  appendLine: (s: string) => fake.output.push(s),
  replace() {},
  clear() {},
  show: () => (fake.shown += 1),
  hide() {},
  dispose() {},
};

const api = {
  version: '1.82.0',
  env: {
    appName: 'Visual Studio Code',
    language: 'en',
    openExternal: async (u: { toString(): string }) => fake.opened.push(u.toString()) > 0,
  },
  Uri: { file: uri, parse: (s: string) => ({ toString: () => s }) },
  window: {
    createOutputChannel: () => channel,
    showErrorMessage: async (message: string, ...items: string[]) => {
      fake.errors.push({ message, items });
      return fake.clickOnError;
    },
    showWarningMessage: async () => undefined,
    showInformationMessage: async () => undefined,
    visibleTextEditors: [],
    tabGroups: { all: [], onDidChangeTabs: () => disposable, onDidChangeTabGroups: () => disposable },
  },
  workspace: {
    getConfiguration: () => ({ get: (key: string, dflt?: unknown) => fake.settings[key] ?? dflt }),
    onDidChangeConfiguration: (l: Listener) => {
      fake.configListeners.push(l);
      return disposable;
    },
    workspaceFolders: undefined,
    textDocuments: [],
    notebookDocuments: [],
  },
  commands: {
    registerCommand: (id: string, fn: (...args: unknown[]) => unknown) => {
      fake.commands.set(id, fn);
      return disposable;
    },
    executeCommand: async () => undefined,
  },
  languages: { match: () => 0 },
};

function merge(target: Record<string, unknown>, extra: object): unknown {
  return new Proxy(target, {
    get(t, key) {
      if (typeof key === 'string' && key in extra) {
        const v = (extra as Record<string, unknown>)[key];
        return v && typeof v === 'object' && !Array.isArray(v) ? merge(t[key] as Record<string, unknown>, v as Record<string, unknown>) : v;
      }
      return t[key as string];
    },
  });
}

// The module object has the API's names as own keys (bundlers copy those), the rest is stand-in.
const base = standIn() as Record<string, unknown>;
const own: Record<string, unknown> = {};
for (const [key, value] of Object.entries(api)) {
  own[key] = value && typeof value === 'object' ? merge(base[key] as Record<string, unknown>, value) : value;
}
const vscode = new Proxy(own, { get: (t, key: string) => (key in t ? t[key] : base[key]) });
const mod = Module as unknown as { _load: (request: string, ...rest: unknown[]) => unknown };
const load = mod._load;
mod._load = function (request: string, ...rest: unknown[]) {
  return request === 'vscode' ? vscode : load.call(this, request, ...rest);
};

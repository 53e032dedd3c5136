/**
 * VS Code's client capabilities, computed by the real vscode-languageclient code the extension
 * bundles. The library needs the `vscode` module only for objects it does not touch while it
 * computes capabilities, so a permissive stand-in replaces it here; the capabilities
 * themselves (UTF-16 positions, pull diagnostics, code-action literals, resolve support) come
 * from vscode-languageclient's own features.
 */

import Module = require('module');
import type { ClientCapabilities } from 'vscode-languageserver-protocol';

/** A stand-in for any VS Code API object: every property is another stand-in, calls return one. */
export function standIn(): unknown {
  const target = function () {
    /* callable */
  } as unknown as Record<string | symbol, unknown>;
  return new Proxy(target, {
    get(t, key) {
      if (key === 'then') {
        return undefined; // not a promise
      }
      if (key === Symbol.toPrimitive) {
        return () => 0;
      }
      if (!(key in t)) {
        t[key] = standIn();
      }
      return t[key];
    },
    construct: () => standIn() as object,
    apply: () => standIn(),
  });
}

let vscodeStandIn: unknown;

/** Loads vscode-languageclient with the stand-in and returns its client capabilities. */
export function vscodeClientCapabilities(clientOptions: object): ClientCapabilities {
  vscodeStandIn ??= standIn();
  const mod = Module as unknown as { _load: (request: string, ...rest: unknown[]) => unknown };
  const load = mod._load;
  mod._load = function (request: string, ...rest: unknown[]) {
    return request === 'vscode' ? vscodeStandIn : load.call(this, request, ...rest);
  };
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { BaseLanguageClient } = require('vscode-languageclient/lib/common/client') as {
      BaseLanguageClient: new (id: string, name: string, options: object) => { computeClientCapabilities(): unknown };
    };
    class Client extends BaseLanguageClient {
      createMessageTransports() {
        throw new Error('not used');
      }
      getLocale() {
        return 'en';
      }
    }
    const client = new Client('otel-lsp', 'otel-lsp', clientOptions);
    return client.computeClientCapabilities() as ClientCapabilities;
  } finally {
    mod._load = load;
  }
}

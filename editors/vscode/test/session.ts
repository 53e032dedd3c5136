/**
 * One `otel-lsp server` process driven the way VS Code drives it: started from the command the
 * extension resolves, spoken to with vscode-languageserver-protocol (the library under
 * vscode-languageclient), with VS Code's own client capabilities. Every wait is a bounded poll.
 */

import * as cp from 'child_process';
import * as path from 'path';
import { pathToFileURL } from 'url';
import {
  ClientCapabilities,
  CodeAction,
  CodeActionContext,
  Command,
  Diagnostic,
  InitializeResult,
  ProtocolConnection,
  Range,
  ServerCapabilities,
  TextDocumentSyncKind,
  WorkspaceEdit,
  createProtocolConnection,
} from 'vscode-languageserver-protocol/node';
import { StreamMessageReader, StreamMessageWriter } from 'vscode-languageserver-protocol/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { SECTION, ServerSettings } from '../src/config';

/** How long any single answer may take (a debug build on a shared 2-core machine). */
export const TIMEOUT_MS = 20_000;

export function fileUri(p: string): string {
  return pathToFileURL(p).toString();
}

export async function within<T>(promise: Promise<T>, what: string, ms = TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function until<T>(probe: () => T | undefined, what: string, ms = TIMEOUT_MS): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v !== undefined) {
      return v;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface Published {
  count: number;
  version?: number;
  diagnostics: Diagnostic[];
}

export class Session {
  readonly documents = new Map<string, TextDocument>();
  readonly stderr: string[] = [];
  private readonly published = new Map<string, Published>();
  capabilities!: ServerCapabilities;
  private stopping = false;
  /** How many `workspace/diagnostic/refresh` requests arrived; VS Code re-pulls on each. */
  refreshes = 0;

  private constructor(
    private readonly proc: cp.ChildProcessWithoutNullStreams,
    readonly conn: ProtocolConnection,
    public settings: ServerSettings,
  ) {}

  static async start(
    command: string,
    args: string[],
    capabilities: ClientCapabilities,
    settings: ServerSettings,
    workspace: string,
  ): Promise<Session> {
    const proc = cp.spawn(command, args, { stdio: 'pipe' });
    const conn = createProtocolConnection(new StreamMessageReader(proc.stdout), new StreamMessageWriter(proc.stdin));
    const s = new Session(proc, conn, settings);
    proc.stderr.on('data', (d: Buffer) => s.stderr.push(d.toString()));
    // A server that cannot start or dies says why in the failure, not only after a timeout.
    proc.on('error', (e) => s.stderr.push(`spawn failed: ${e.message}`));
    proc.on('exit', (code, signal) => {
      if (!s.stopping) {
        process.stderr.write(`otel-lsp server exited (${code ?? signal}); its stderr:\n${s.stderr.join('')}\n`);
      }
    });
    conn.onNotification('textDocument/publishDiagnostics', (p: { uri: string; version?: number; diagnostics: Diagnostic[] }) => {
      const prev = s.published.get(p.uri);
      s.published.set(p.uri, { count: (prev?.count ?? 0) + 1, version: p.version, diagnostics: p.diagnostics });
    });
    // What vscode-languageclient answers: the settings section, registrations, progress.
    conn.onRequest('workspace/configuration', (p: { items: { section?: string }[] }) =>
      p.items.map((item) => (item.section === SECTION ? s.settings : item.section ? null : { [SECTION]: s.settings })),
    );
    conn.onRequest('client/registerCapability', () => null);
    conn.onRequest('client/unregisterCapability', () => null);
    conn.onRequest('window/workDoneProgress/create', () => null);
    conn.onRequest('workspace/diagnostic/refresh', () => {
      s.refreshes += 1;
      return null;
    });
    conn.onNotification('window/logMessage', () => undefined);
    conn.onNotification('$/logTrace', () => undefined);
    conn.listen();
    const root = fileUri(workspace);
    const result = await within(
      conn.sendRequest('initialize', {
        processId: process.pid,
        clientInfo: { name: 'Visual Studio Code', version: '1.82.0' },
        locale: 'en',
        rootPath: workspace,
        rootUri: root,
        capabilities,
        initializationOptions: settings,
        trace: 'off',
        workspaceFolders: [{ uri: root, name: path.basename(workspace) }],
      }) as Promise<InitializeResult>,
      'initialize',
    );
    s.capabilities = result.capabilities;
    await conn.sendNotification('initialized', {});
    return s;
  }

  /** Whether the server answers `textDocument/diagnostic`, which VS Code then uses. */
  get pullsDiagnostics(): boolean {
    return this.capabilities.diagnosticProvider !== undefined;
  }

  private syncKind(): TextDocumentSyncKind {
    const sync = this.capabilities.textDocumentSync;
    return typeof sync === 'number' ? sync : (sync?.change ?? TextDocumentSyncKind.None);
  }

  async open(file: string, languageId: string, text: string): Promise<TextDocument> {
    const uri = fileUri(file);
    const doc = TextDocument.create(uri, languageId, 1, text);
    this.documents.set(uri, doc);
    await this.conn.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId, version: 1, text } });
    return doc;
  }

  /** Replaces the document's text, as VS Code sends it (incremental when the server asks). */
  async change(doc: TextDocument, text: string): Promise<TextDocument> {
    const version = doc.version + 1;
    const whole = { start: doc.positionAt(0), end: doc.positionAt(doc.getText().length) };
    const next = TextDocument.create(doc.uri, doc.languageId, version, text);
    this.documents.set(doc.uri, next);
    const contentChanges = this.syncKind() === TextDocumentSyncKind.Incremental ? [{ range: whole, text }] : [{ text }];
    await this.conn.sendNotification('textDocument/didChange', { textDocument: { uri: doc.uri, version }, contentChanges });
    return next;
  }

  /** The diagnostics of the document's current version: pulled when the server supports it, else the last push. */
  async diagnostics(doc: TextDocument, previousPushes = 0): Promise<Diagnostic[]> {
    if (this.pullsDiagnostics) {
      const report = (await within(
        this.conn.sendRequest('textDocument/diagnostic', { textDocument: { uri: doc.uri } }),
        `textDocument/diagnostic for ${doc.uri}`,
      )) as { kind: string; items?: Diagnostic[] };
      if (report.kind !== 'full') {
        throw new Error(`expected a full diagnostic report, got ${JSON.stringify(report)}`);
      }
      return report.items ?? [];
    }
    const p = await until(() => {
      const p = this.published.get(doc.uri);
      return p && p.count > previousPushes && (p.version === undefined || p.version === doc.version) ? p : undefined;
    }, `publishDiagnostics for ${doc.uri} version ${doc.version}`);
    return p.diagnostics;
  }

  /** Waits for the server's next `workspace/diagnostic/refresh` (a pull client re-pulls then). */
  async refreshed(previous: number): Promise<void> {
    await until(() => (this.refreshes > previous ? true : undefined), 'workspace/diagnostic/refresh');
  }

  /** How many pushes the server has sent for a document (to wait for the next one). */
  pushes(uri: string): number {
    return this.published.get(uri)?.count ?? 0;
  }

  async codeActions(doc: TextDocument, range: Range, context: CodeActionContext): Promise<(CodeAction | Command)[]> {
    const result = await within(
      this.conn.sendRequest('textDocument/codeAction', { textDocument: { uri: doc.uri }, range, context }),
      'textDocument/codeAction',
    );
    return (result as (CodeAction | Command)[] | null) ?? [];
  }

  /** VS Code resolves an action's edit lazily when the server left it out (`resolveSupport: edit`). */
  async resolve(action: CodeAction): Promise<CodeAction> {
    if (action.edit) {
      return action;
    }
    return (await within(this.conn.sendRequest('codeAction/resolve', action), 'codeAction/resolve')) as CodeAction;
  }

  /** Applies a workspace edit to the open document, with UTF-16 positions, as VS Code does. */
  applyEdit(doc: TextDocument, edit: WorkspaceEdit): string {
    const edits = [
      ...(edit.changes?.[doc.uri] ?? []),
      ...(edit.documentChanges ?? []).flatMap((c) => ('textDocument' in c && c.textDocument.uri === doc.uri ? c.edits : [])),
    ];
    if (edits.length === 0) {
      throw new Error(`the edit does not touch ${doc.uri}: ${JSON.stringify(edit)}`);
    }
    return TextDocument.applyEdits(doc, edits as never);
  }

  async shutdown(): Promise<void> {
    this.stopping = true;
    try {
      await within(this.conn.sendRequest('shutdown'), 'shutdown', 5_000);
      await this.conn.sendNotification('exit');
      await within(
        new Promise((resolve) => (this.proc.exitCode !== null ? resolve(undefined) : this.proc.once('exit', resolve))),
        'the server to exit',
        5_000,
      );
    } finally {
      this.conn.dispose();
      if (this.proc.exitCode === null) {
        this.proc.kill();
      }
    }
  }
}

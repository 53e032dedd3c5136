/**
 * The VS Code face of otel-lsp: starts `otel-lsp server` over stdio for the languages listed in
 * package.json and hands everything else to vscode-languageclient. Decisions that do not need
 * VS Code live in ./config.ts, which the client test runs against the real binary.
 */

import * as vscode from 'vscode';
import { LanguageClient, LanguageClientOptions, ServerOptions, TransportKind } from 'vscode-languageclient/node';
import { INSTALL_URL, SECTION, baseClientOptions, languagesFromActivationEvents, resolveServer, serverArgs, serverSettings } from './config';

let client: LanguageClient | undefined;
let output: vscode.OutputChannel | undefined;

function settings() {
  const config = vscode.workspace.getConfiguration(SECTION);
  return { config, server: serverSettings((key) => config.get(key)) };
}

async function start(context: vscode.ExtensionContext): Promise<void> {
  const { config, server } = settings();
  const resolved = resolveServer(config.get<string>('path'), { extensionPath: context.extensionPath });
  if (!resolved.ok) {
    output?.appendLine(resolved.message);
    const choice = await vscode.window.showErrorMessage(resolved.message, 'Installation instructions', 'Open settings');
    if (choice === 'Installation instructions') {
      await vscode.env.openExternal(vscode.Uri.parse(INSTALL_URL));
    } else if (choice === 'Open settings') {
      await vscode.commands.executeCommand('workbench.action.openSettings', `${SECTION}.path`);
    }
    return;
  }
  const args = serverArgs(config.get<string>('logLevel'));
  output?.appendLine(`Starting ${resolved.command} ${args.join(' ')} (found via ${resolved.source})`);
  const serverOptions: ServerOptions = {
    run: { command: resolved.command, args, transport: TransportKind.stdio },
    debug: { command: resolved.command, args, transport: TransportKind.stdio },
  };
  const languages = languagesFromActivationEvents(context.extension.packageJSON.activationEvents ?? []);
  const clientOptions: LanguageClientOptions = {
    ...baseClientOptions(languages, server),
    outputChannel: output,
  };
  client = new LanguageClient(SECTION, 'otel-lsp', serverOptions, clientOptions);
  try {
    await client.start();
  } catch (err) {
    output?.appendLine(`otel-lsp failed to start: ${String(err)}`);
    void vscode.window.showErrorMessage(`otel-lsp failed to start: ${String(err)}. See "otel-lsp: Show Logs".`);
  }
}

async function stop(): Promise<void> {
  const c = client;
  client = undefined;
  if (c) {
    await c.stop().catch(() => undefined);
  }
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  output = vscode.window.createOutputChannel('otel-lsp');
  context.subscriptions.push(
    output,
    vscode.commands.registerCommand('otel-lsp.restartServer', async () => {
      await stop();
      await start(context);
    }),
    vscode.commands.registerCommand('otel-lsp.showLogs', () => output?.show(true)),
    vscode.workspace.onDidChangeConfiguration(async (e) => {
      // select/ignore/severity reach the running server through didChangeConfiguration; a new
      // binary or log level needs a new process.
      if (e.affectsConfiguration(`${SECTION}.path`) || e.affectsConfiguration(`${SECTION}.logLevel`)) {
        await stop();
        await start(context);
      }
    }),
  );
  await start(context);
}

export function deactivate(): Promise<void> {
  return stop();
}

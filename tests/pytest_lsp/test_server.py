"""otel-lsp driven by an independent LSP client: pytest-lsp (pygls).

Two editor sessions against the real binary (`OTEL_LSP_BIN`, default
`target/debug/otel-lsp`): a push-diagnostics client with VS Code 1.65's capabilities
(UTF-16), and a pull-diagnostics client with Neovim 0.11's capabilities (UTF-8).
pytest-lsp also checks every answer against the client's declared capabilities. A third
session, VS Code's capabilities with a workspace folder, sees the indexing progress.
"""

import asyncio
import os
import pathlib

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

ROOT = pathlib.Path(__file__).resolve().parents[2]
SERVER = os.environ.get("OTEL_LSP_BIN", str(ROOT / "target" / "debug" / "otel-lsp"))

APP = (
    "# café ☕ 日本語\n"
    "from flask import Flask\n"
    "from opentelemetry import trace\n"
    "\n"
    "app = Flask(__name__)\n"
    "\n"
    'if __name__ == "__main__":\n'
    '    x = "🎉"; app.run(port=8082, debug=True)\n'
)
URI = "file:///tmp/otel-lsp-pytest/app.py"
LINE = 7


def apply(text: str, edits) -> str:
    """Applies UTF-16 text edits the way an editor does (single-line edits suffice here)."""
    lines = text.split("\n")
    for e in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True):
        assert e.range.start.line == e.range.end.line
        line = lines[e.range.start.line].encode("utf-16-le")
        s, t = e.range.start.character * 2, e.range.end.character * 2
        lines[e.range.start.line] = (line[:s] + e.new_text.encode("utf-16-le") + line[t:]).decode("utf-16-le")
    return "\n".join(lines)


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[SERVER, "server"]))
async def vscode(lsp_client: LanguageClient):
    @lsp_client.feature(types.CLIENT_REGISTER_CAPABILITY)
    def register(params: types.RegistrationParams):
        # VS Code accepts the server's file watchers.
        assert params.registrations[0].method == types.WORKSPACE_DID_CHANGE_WATCHED_FILES

    await lsp_client.initialize_session(
        types.InitializeParams(capabilities=client_capabilities("visual-studio-code"))
    )
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[SERVER, "server"]))
async def neovim(lsp_client: LanguageClient):
    result = await lsp_client.initialize_session(
        types.InitializeParams(capabilities=client_capabilities("neovim@v0.11.0"))
    )
    assert result.capabilities.position_encoding == types.PositionEncodingKind.Utf8
    yield
    await lsp_client.shutdown_session()


@pytest.mark.asyncio
async def test_push_session_diagnostics_and_quick_fix(vscode: LanguageClient):
    vscode.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=URI, language_id="python", version=1, text=APP)
        )
    )
    await vscode.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    [diag] = vscode.diagnostics[URI]
    assert diag.code == "OTEL001"
    assert diag.source == "otel-lsp"
    assert diag.severity == types.DiagnosticSeverity.Warning
    # UTF-16: the emoji before the finding counts two units.
    assert (diag.range.start.line, diag.range.start.character) == (LINE, 14)
    assert diag.code_description.href.startswith("https://")

    actions = await vscode.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=URI),
            range=diag.range,
            context=types.CodeActionContext(diagnostics=[diag]),
        )
    )
    preferred = [a for a in actions if getattr(a, "is_preferred", False)]
    assert len(preferred) == 1, actions
    assert preferred[0].kind == types.CodeActionKind.QuickFix
    titles = [a.title for a in actions]
    assert "Disable OTEL001 for this line" in titles
    [doc_edit] = preferred[0].edit.document_changes
    assert doc_edit.text_document.version == 1
    edits = list(doc_edit.edits)
    fixed = apply(APP, edits)
    assert "debug=True, use_reloader=False)" in fixed

    vscode.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=URI, version=2),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=fixed)],
        )
    )
    await vscode.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    assert len(vscode.diagnostics[URI]) == 0


@pytest.mark.asyncio
async def test_pull_session_diagnostics_and_hover(neovim: LanguageClient):
    neovim.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=URI, language_id="python", version=1, text=APP)
        )
    )
    report = await neovim.text_document_diagnostic_async(
        types.DocumentDiagnosticParams(text_document=types.TextDocumentIdentifier(uri=URI))
    )
    [diag] = report.items
    # UTF-8: the emoji before the finding counts four bytes.
    assert (diag.range.start.line, diag.range.start.character) == (LINE, 16)
    again = await neovim.text_document_diagnostic_async(
        types.DocumentDiagnosticParams(
            text_document=types.TextDocumentIdentifier(uri=URI),
            previous_result_id=report.result_id,
        )
    )
    assert again.kind == "unchanged"

    hover = await neovim.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=URI),
            position=types.Position(line=LINE, character=18),
        )
    )
    assert "flask-debug-reloader" in hover.contents.value


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[SERVER, "server"]))
async def vscode_folder(lsp_client: LanguageClient, tmp_path: pathlib.Path):
    @lsp_client.feature(types.CLIENT_REGISTER_CAPABILITY)
    def register(params: types.RegistrationParams):
        pass

    # A workspace folder of three files otel-lsp reads (and one it does not).
    (tmp_path / "a.py").write_text("x = 1\n")
    (tmp_path / "b.py").write_text("y = 2\n")
    (tmp_path / "Dockerfile").write_text('FROM python:3.12\nCMD ["python", "a.py"]\n')
    (tmp_path / "notes.txt").write_text("not ours\n")
    caps = client_capabilities("visual-studio-code")
    assert caps.window.work_done_progress
    await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=caps,
            root_uri=tmp_path.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=tmp_path.as_uri(), name="root")],
        )
    )
    yield
    await lsp_client.shutdown_session()


@pytest.mark.asyncio
async def test_indexing_reports_work_done_progress(vscode_folder: LanguageClient):
    # pytest-lsp answers window/workDoneProgress/create and fails (LspSpecificationWarning)
    # on progress sent with a token it did not create.
    while not any(
        isinstance(v, types.WorkDoneProgressEnd)
        for vs in vscode_folder.progress_reports.values()
        for v in vs
    ):
        await asyncio.wait_for(vscode_folder.wait_for_notification(types.PROGRESS), 30)
    [(token, values)] = vscode_folder.progress_reports.items()
    assert isinstance(values[0], types.WorkDoneProgressBegin), values
    assert values[0].title == "Indexing"
    assert values[0].message == "Indexing 3 files"
    assert all(isinstance(v, types.WorkDoneProgressReport) for v in values[1:-1]), values
    assert isinstance(values[-1], types.WorkDoneProgressEnd)
    assert values[-1].message.startswith("Indexed 3 files in "), values[-1]

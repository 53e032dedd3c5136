-- otel-lsp: OpenTelemetry Python auto-instrumentation pitfalls in Python, Kubernetes YAML and
-- compose files, Dockerfiles, shell scripts, Procfiles, uWSGI ini files, Makefiles and .env files.
-- A Neovim 0.11 `vim.lsp.config` file: with this folder's parent on 'runtimepath',
-- `vim.lsp.enable('otel_lsp')` is the whole setup. Settings (optional):
--   vim.lsp.config('otel_lsp', { settings = { ['otel-lsp'] = { ignore = { 'OTEL002' } } } })
-- Neovim gives Procfiles and `.env.*` files no filetype; see README.md for two lines of
-- `vim.filetype.add` that do (`.env` itself is `sh`, which the server reads as a .env file by name).

-- LSP languageIds for filetypes whose Neovim name differs (Neovim sends the filetype otherwise).
-- The server picks a file's kind from its name first (Dockerfile, Procfile, .env, uwsgi.ini…),
-- so the languageId matters only for files with other names.
local language_ids = {
  sh = 'shellscript',
  bash = 'shellscript',
  dosini = 'ini',
  make = 'makefile',
}

---@type vim.lsp.Config
return {
  cmd = { 'otel-lsp', 'server' },
  filetypes = { 'python', 'yaml', 'dockerfile', 'sh', 'bash', 'dosini', 'make', 'procfile' },
  root_markers = { 'otel-lsp.toml', 'pyproject.toml', '.git' },
  settings = {},
  get_language_id = function(_, filetype)
    return language_ids[filetype] or filetype
  end,
  -- The server reads its settings at start-up too (and on every change, as Neovim sends them).
  before_init = function(params, config)
    params.initializationOptions = params.initializationOptions or (config.settings or {})['otel-lsp']
  end,
}

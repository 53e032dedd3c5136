-- otel-lsp: OpenTelemetry Python auto-instrumentation pitfalls in Python and Kubernetes YAML.
-- A Neovim 0.11 `vim.lsp.config` file: with this folder's parent on 'runtimepath',
-- `vim.lsp.enable('otel_lsp')` is the whole setup. Settings (optional):
--   vim.lsp.config('otel_lsp', { settings = { ['otel-lsp'] = { ignore = { 'OTEL002' } } } })

-- LSP languageIds for filetypes whose Neovim name differs (Neovim sends the filetype otherwise).
local language_ids = {}

---@type vim.lsp.Config
return {
  cmd = { 'otel-lsp', 'server' },
  filetypes = { 'python', 'yaml' },
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

;;; otel-lsp.el --- otel-lsp as an eglot language server  -*- lexical-binding: t; -*-

;; Add to your init file (or load this file). Needs eglot: built into Emacs 29+, from GNU ELPA
;; (or Debian's elpa-eglot) for Emacs 26.3-28. YAML buffers need yaml-mode or yaml-ts-mode.
;; eglot runs one server per buffer: in Python and YAML buffers that server becomes otel-lsp.
;; Python and YAML are separate entries because eglot before 1.13 sends one languageId per server.

(with-eval-after-load 'eglot
  (add-to-list 'eglot-server-programs
               '(((yaml-mode :language-id "yaml") (yaml-ts-mode :language-id "yaml"))
                 . ("otel-lsp" "server")))
  (add-to-list 'eglot-server-programs
               '(((python-mode :language-id "python") (python-ts-mode :language-id "python"))
                 . ("otel-lsp" "server"))))

(dolist (hook '(python-mode-hook python-ts-mode-hook yaml-mode-hook yaml-ts-mode-hook))
  (add-hook hook #'eglot-ensure))

;;; otel-lsp.el ends here

;;; otel-lsp.el --- otel-lsp as an eglot language server  -*- lexical-binding: t; -*-

;; Add to your init file (or load this file). Needs eglot: built into Emacs 29+, from GNU ELPA
;; (or Debian's elpa-eglot) for Emacs 26.3-28. YAML buffers need yaml-mode or yaml-ts-mode;
;; Dockerfiles dockerfile-mode (MELPA) or dockerfile-ts-mode (Emacs 29+); .env files dotenv-mode.
;; eglot runs one server per buffer: in these buffers that server becomes otel-lsp.
;; Each languageId is a separate entry because eglot before 1.13 sends one languageId per
;; server; eglot also serves modes derived from the ones named (makefile-gmake-mode, …).
;; The server picks a file's kind from its name first (Dockerfile, Procfile, .env, uwsgi.ini),
;; so a Procfile opened in sh-mode is read as a Procfile.

(with-eval-after-load 'eglot
  (dolist (entry
           '((((yaml-mode :language-id "yaml") (yaml-ts-mode :language-id "yaml"))
              . ("otel-lsp" "server"))
             (((python-mode :language-id "python") (python-ts-mode :language-id "python"))
              . ("otel-lsp" "server"))
             (((dockerfile-mode :language-id "dockerfile") (dockerfile-ts-mode :language-id "dockerfile"))
              . ("otel-lsp" "server"))
             (((sh-mode :language-id "shellscript") (bash-ts-mode :language-id "shellscript"))
              . ("otel-lsp" "server"))
             (((makefile-mode :language-id "makefile"))
              . ("otel-lsp" "server"))
             (((conf-mode :language-id "ini"))
              . ("otel-lsp" "server"))
             (((dotenv-mode :language-id "dotenv"))
              . ("otel-lsp" "server"))))
    (add-to-list 'eglot-server-programs entry)))

(dolist (hook '(python-mode-hook python-ts-mode-hook yaml-mode-hook yaml-ts-mode-hook
                dockerfile-mode-hook dockerfile-ts-mode-hook sh-mode-hook bash-ts-mode-hook
                makefile-mode-hook dotenv-mode-hook))
  (add-hook hook #'eglot-ensure))

;; Of the conf-mode files (every INI and many other configuration files), only uWSGI ini files
;; start otel-lsp by themselves.
(defun otel-lsp-maybe-ensure ()
  "Start eglot in a uWSGI ini file (`uwsgi*.ini', `*.uwsgi.ini', `app.ini')."
  (when (and buffer-file-name
             (string-match-p "\\(?:uwsgi[^/]*\\|/app\\)\\.ini\\'" buffer-file-name))
    (eglot-ensure)))
(add-hook 'conf-mode-hook #'otel-lsp-maybe-ensure)

;; Optional: Procfiles (`web: gunicorn …`) in sh-mode, so that otel-lsp checks them too.
;; (add-to-list 'auto-mode-alist '("/Procfile\\(?:\\.[^/]*\\)?\\'" . sh-mode))

;;; otel-lsp.el ends here

;;; otel-lsp-test.el --- batch test: eglot + editors/emacs/otel-lsp.el + the real server  -*- lexical-binding: t; -*-

;; Run: emacs --batch -Q -l editors/emacs/test/otel-lsp-test.el REPO BINDIR
;; Loads eglot (built in, or the system's ELPA package), the snippet, opens the fixtures, waits
;; for the diagnostics through flymake, applies the quick fix with `eglot-code-actions' and
;; checks the buffer. Prints TAP lines and "emacs: N passed, N failed"; exits 1 on failure.

(require 'cl-lib)
(require 'subr-x)

(defvar otel-test-repo (file-name-as-directory (nth 0 command-line-args-left)))
(defvar otel-test-bindir (nth 1 command-line-args-left))
(setq command-line-args-left nil)
(defconst otel-test-timeout 20.0)

;; The binary is found on PATH, as the snippet's contact says.
(setenv "PATH" (concat otel-test-bindir path-separator (getenv "PATH")))
(push otel-test-bindir exec-path)

;; eglot: built in from Emacs 29, else the system-wide ELPA package (Debian: elpa-eglot).
(unless (require 'eglot nil t)
  (require 'package)
  (add-to-list 'package-directory-list "/usr/share/emacs/site-lisp/elpa")
  (package-initialize)
  (require 'eglot))
(require 'yaml-mode nil t)
(require 'flymake)
(load (expand-file-name "editors/emacs/otel-lsp.el" otel-test-repo) nil t)
(setq eglot-sync-connect t
      eglot-autoshutdown nil
      eglot-events-buffer-size 0)

(defvar otel-test-passed 0)
(defvar otel-test-failed 0)
(defvar otel-test-n 0)

(defun otel-test-say (fmt &rest args)
  (princ (concat (apply #'format fmt args) "\n")))

(defmacro otel-test (name &rest body)
  (declare (indent 1))
  `(progn
     (setq otel-test-n (1+ otel-test-n))
     (condition-case err
         (let ((result (progn ,@body)))
           (if (eq result 'skip)
               (setq otel-test-n (1- otel-test-n))
             (setq otel-test-passed (1+ otel-test-passed))
             (otel-test-say "ok %d - %s" otel-test-n ,name)))
       (error
        (setq otel-test-failed (1+ otel-test-failed))
        (otel-test-say "not ok %d - %s\n# %s" otel-test-n ,name (error-message-string err))))))

(defun otel-test-idle ()
  "Runs the idle timers, as an interactive Emacs does when the user pauses.
Batch Emacs never idles, and eglot sends didChange and flymake re-checks from idle timers."
  (dolist (timer (copy-sequence timer-idle-list))
    (timer-event-handler timer)))

(defun otel-test-wait (what pred)
  "Polls PRED, processing server output, for at most `otel-test-timeout' seconds."
  (let ((deadline (+ (float-time) otel-test-timeout)))
    (while (and (not (funcall pred)) (< (float-time) deadline))
      (otel-test-idle)
      (accept-process-output nil 0.05))
    (or (funcall pred) (error "Timed out after %ss waiting for %s" otel-test-timeout what))))

(defun otel-test-diags (code)
  "The flymake diagnostics of the current buffer that eglot got with CODE."
  (cl-remove-if-not
   (lambda (d)
     (let ((lsp (cdr (assoc 'eglot-lsp-diag (flymake-diagnostic-data d)))))
       (equal (plist-get lsp :code) code)))
   (flymake-diagnostics)))

(defvar otel-test-project (make-temp-file "otel-lsp-emacs-" t))
(dolist (f '("app.py" "deployment.yaml"))
  (copy-file (expand-file-name (concat "editors/fixtures/" f) otel-test-repo)
             (expand-file-name f otel-test-project)))

(defun otel-test-open (file code)
  "Visits FILE of the project, starts eglot as `M-x eglot' does, waits for CODE."
  (find-file (expand-file-name file otel-test-project))
  (unless (eglot-current-server)
    (apply #'eglot (eglot--guess-contact)))
  (otel-test-wait (format "%s in %s" code file) (lambda () (otel-test-diags code))))

(defun otel-test-apply-quickfix (diag prefix)
  "Runs `eglot-code-actions' on DIAG as a user would, choosing the action titled PREFIX…
\(the server may append the rule's code), never a \"Disable …\" one."
  (goto-char (flymake-diagnostic-beg diag))
  (let* ((tick (buffer-modified-tick))
         (last-nonmenu-event ?a)
         (actions (eglot-code-actions (flymake-diagnostic-beg diag) (flymake-diagnostic-end diag) "quickfix"))
         (title (cl-find-if (lambda (title) (and (string-prefix-p prefix title)
                                                 (not (string-prefix-p "Disable" title))))
                            (mapcar (lambda (a) (plist-get a :title)) actions))))
    (unless title
      (error "No quick fix titled %s… among %S" prefix (mapcar (lambda (a) (plist-get a :title)) actions)))
    (cl-letf (((symbol-function 'completing-read) (lambda (&rest _) title)))
      (eglot-code-actions (flymake-diagnostic-beg diag) (flymake-diagnostic-end diag) "quickfix" t))
    (otel-test-wait "the quick fix to edit the buffer" (lambda () (/= tick (buffer-modified-tick))))))

(defun otel-test-file (file)
  (with-temp-buffer
    (insert-file-contents (expand-file-name (concat "editors/fixtures/" file) otel-test-repo))
    (buffer-string)))

(otel-test "the snippet makes `otel-lsp server' eglot's server for python, yaml, dockerfile, sh, makefile and conf modes"
  (dolist (mode '(python-mode yaml-mode dockerfile-mode sh-mode makefile-mode conf-mode))
    (cl-assert (cl-find-if (lambda (entry)
                             (and (equal (cdr entry) '("otel-lsp" "server"))
                                  (cl-find mode (car entry) :key (lambda (m) (if (consp m) (car m) m)))))
                           eglot-server-programs)
               t)))

(otel-test "Python: OTEL001 warning on the app.run line"
  (otel-test-open "app.py" "OTEL001")
  (let ((d (car (otel-test-diags "OTEL001"))))
    (cl-assert (= 1 (length (otel-test-diags "OTEL001"))))
    (when (fboundp 'eglot--language-id) ; eglot < 1.13 keeps one languageId per server
      (cl-assert (equal (eglot--language-id (eglot-current-server)) "python") t))
    (cl-assert (eq (flymake-diagnostic-type d) 'eglot-warning) t)
    (save-excursion
      (goto-char (flymake-diagnostic-beg d))
      (cl-assert (looking-at-p (regexp-quote "app.run(host=")) t)
      (cl-assert (= (- (flymake-diagnostic-end d) (flymake-diagnostic-beg d)) (length "app.run")) t))))

(otel-test "Python: the quick fix through eglot-code-actions inserts use_reloader=False and clears OTEL001"
  (otel-test-apply-quickfix (car (otel-test-diags "OTEL001")) "Add `use_reloader=False`")
  (cl-assert (equal (buffer-substring-no-properties (point-min) (point-max))
                    (string-replace "debug=True)" "debug=True, use_reloader=False)" (otel-test-file "app.py")))
             t)
  (otel-test-wait "OTEL001 to clear" (lambda () (null (otel-test-diags "OTEL001")))))

(defconst otel-test-annotation "instrumentation.opentelemetry.io/inject-python"
  "The annotation key (the fixture's comment names it too, without the prefix).")

(defun otel-test-yaml-rule-fixable ()
  "Nil when the binary's rule table does not list OTEL003 with a fix (built on another branch)."
  (let* ((json (with-temp-buffer
                 (and (eq 0 (ignore-errors
                              (call-process (expand-file-name "otel-lsp" otel-test-bindir) nil '(t nil) nil
                                            "rules" "--format" "json")))
                      (ignore-errors (json-parse-string (buffer-string) :object-type 'alist)))))
         (rule (and (vectorp json)
                    (cl-find "OTEL003" json :key (lambda (r) (alist-get 'code r)) :test #'equal)))
         (fix (and rule (alist-get 'fix rule))))
    (and (stringp fix) (not (member fix '("" "-" "none"))))))

(otel-test "YAML: OTEL003 error on the misplaced inject-python annotation, and the quick fix clears it"
  (cond
   ((not (fboundp 'yaml-mode))
    (otel-test-say "# NOT RUN: YAML test: yaml-mode is not installed (Debian: elpa-yaml-mode)")
    'skip)
   ((not (otel-test-yaml-rule-fixable))
    (otel-test-say "# NOT RUN: YAML test: `otel-lsp rules --format json` does not list OTEL003 with a fix")
    'skip)
   (t
    (otel-test-open "deployment.yaml" "OTEL003")
    (let ((d (car (otel-test-diags "OTEL003"))))
      (cl-assert (eq (flymake-diagnostic-type d) 'eglot-error) t)
      (goto-char (flymake-diagnostic-beg d))
      (cl-assert (string-search otel-test-annotation (buffer-substring (line-beginning-position) (line-end-position)))
                 t)
      (otel-test-apply-quickfix d "")
      (otel-test-wait "OTEL003 to clear" (lambda () (null (otel-test-diags "OTEL003"))))
      (let ((text (buffer-string)))
        (cl-assert (< (string-search "template:" text) (string-search otel-test-annotation text)) t))))))

(otel-test "Shell script: OTEL020 warning on the gunicorn worker count under opentelemetry-instrument"
  ;; In a folder of its own: it launches nothing the tests above look at.
  (let ((dir (expand-file-name "svc" otel-test-project))
        (cmd "exec opentelemetry-instrument gunicorn -w 4 app:app"))
    (make-directory dir t)
    (with-temp-file (expand-file-name "start.sh" dir)
      (insert "#!/bin/sh\n" cmd "\n"))
    (otel-test-open "svc/start.sh" "OTEL020")
    (cl-assert (derived-mode-p 'sh-mode) t)
    (when (fboundp 'eglot--language-id)
      (cl-assert (equal (eglot--language-id (eglot-current-server)) "shellscript") t))
    (let ((d (car (otel-test-diags "OTEL020"))))
      (cl-assert (= 1 (length (otel-test-diags "OTEL020"))))
      (cl-assert (eq (flymake-diagnostic-type d) 'eglot-warning) t)
      (save-excursion
        (goto-char (flymake-diagnostic-beg d))
        (cl-assert (looking-at-p "4 app:app") t)
        (cl-assert (= (- (flymake-diagnostic-end d) (flymake-diagnostic-beg d)) 1) t)))))

(ignore-errors (eglot-shutdown-all))
(delete-directory otel-test-project t)
(otel-test-say "1..%d" otel-test-n)
(otel-test-say "emacs: %d passed, %d failed" otel-test-passed otel-test-failed)
(kill-emacs (if (zerop otel-test-failed) 0 1))

; TODO placeholder: matches nothing useful yet
(ERROR) @_never

; A method call `<receiver>.run(...)`; Rust decides whether the receiver is a Flask app and
; whether `debug=True` turns the reloader on.
(call
  function: (attribute
    object: (_) @_recv
    attribute: (identifier) @_method)
  arguments: (argument_list) @args
  (#eq? @_method "run")) @call

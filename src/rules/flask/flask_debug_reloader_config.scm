; Flask debug mode set in code: `<app>.debug = True`, `<app>.config["DEBUG"] = True`, and
; `<app>.config.update(...)` / `<app>.config.from_mapping(...)`; Rust checks the key and value
; and looks for a reachable `<app>.run(...)` that leaves the reloader to debug mode.
(assignment
  left: (attribute
    object: (identifier) @_recv
    attribute: (identifier) @_attr)
  right: (true)
  (#eq? @_attr "debug")) @setting

(assignment
  left: (subscript
    value: (attribute
      object: (identifier) @_recv
      attribute: (identifier) @_config)
    subscript: (string) @key)
  right: (true)
  (#eq? @_config "config")) @setting

(call
  function: (attribute
    object: (attribute
      object: (identifier) @_recv
      attribute: (identifier) @_config)
    attribute: (identifier) @_method)
  arguments: (argument_list) @args
  (#eq? @_config "config")
  (#any-of? @_method "update" "from_mapping")) @setting

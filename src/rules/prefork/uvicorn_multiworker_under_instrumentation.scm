; A call `uvicorn.run(...)` / `run(...)` with a `workers=` keyword argument; Rust checks the
; callee is uvicorn's and the value is an integer literal.
(call
  function: [
    (attribute object: (identifier) @_mod attribute: (identifier) @_fn)
    (identifier) @_fn
  ] @func
  arguments: (argument_list
    (keyword_argument name: (identifier) @_kw value: (_) @value) @arg)
  (#eq? @_fn "run")
  (#eq? @_kw "workers")) @call

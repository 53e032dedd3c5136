; A call `uvicorn.run(...)` / `run(...)` with a `reload=` keyword argument; Rust checks the
; callee is uvicorn's and the value is the literal `True`.
(call
  function: [
    (attribute object: (identifier) @_mod attribute: (identifier) @_fn)
    (identifier) @_fn
  ] @func
  arguments: (argument_list
    (keyword_argument name: (identifier) @_kw value: (_) @value) @arg)
  (#eq? @_fn "run")
  (#eq? @_kw "reload")) @call

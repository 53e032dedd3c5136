; A call of an instrumentor method, `<x>.instrument(...)` (the global patch; `x` an instance
; such as `FastAPIInstrumentor()`) or `<x>.instrument_app(...)`; Rust resolves `x` and judges
; where the call runs.
(call
  function: (attribute
    object: (_) @_obj
    attribute: (identifier) @_method)
  arguments: (argument_list) @args
  (#any-of? @_method "instrument" "instrument_app")) @call

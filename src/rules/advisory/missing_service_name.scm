; A call of the `Resource(...)` constructor (plain or qualified name).
(call
  function: [
    (identifier) @_name
    (attribute attribute: (identifier) @_name)
  ] @func
  arguments: (argument_list) @args
  (#eq? @_name "Resource")) @call

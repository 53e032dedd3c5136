; A call of `LoggingHandler(...)` (plain or qualified name).
(call
  function: [
    (identifier) @_name
    (attribute attribute: (identifier) @_name)
  ] @func
  arguments: (argument_list) @args
  (#eq? @_name "LoggingHandler")) @call

; A call of `HTTPServer(...)` or `ThreadingHTTPServer(...)` (plain or qualified name).
(call
  function: [
    (identifier) @_name
    (attribute attribute: (identifier) @_name)
  ] @func
  (#any-of? @_name "HTTPServer" "ThreadingHTTPServer")) @call

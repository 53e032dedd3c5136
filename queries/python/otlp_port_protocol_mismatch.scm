; An OTLP exporter constructor `OTLP{Span,Metric,Log}Exporter(...)` (plain or qualified name);
; Rust resolves its module (proto.grpc / proto.http) and reads the `endpoint=` literal.
(call
  function: [
    (identifier) @_name
    (attribute attribute: (identifier) @_name)
  ] @func
  arguments: (argument_list) @args
  (#match? @_name "^OTLP(Span|Metric|Log)Exporter$")) @call

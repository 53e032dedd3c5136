; A call of a name ending in `Exporter` (plain, aliased or qualified); Rust resolves it to
; `OTLP{Span,Metric,Log}Exporter` of proto.grpc / proto.http and reads `endpoint=`.
(call
  function: [
    (identifier) @_name
    (attribute attribute: (identifier) @_name)
  ] @func
  arguments: (argument_list) @args
  (#match? @_name "Exporter$")) @call

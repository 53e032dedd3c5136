; A call that may set OpenTelemetry up: `<x>.instrument(...)` (an instrumentor instance such
; as `CeleryInstrumentor()`) or `set_tracer_provider` / `set_meter_provider` /
; `set_logger_provider` (a module's attribute or an imported name); Rust checks that the
; module builds a Celery app and where the call runs.
(call
  function: [
    (attribute attribute: (identifier) @_name)
    (identifier) @_name
  ] @func
  (#any-of? @_name "instrument" "set_tracer_provider" "set_meter_provider" "set_logger_provider")) @call

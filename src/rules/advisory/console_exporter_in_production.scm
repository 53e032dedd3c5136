; A call of an SDK console exporter (plain or qualified name): `ConsoleSpanExporter(...)`,
; `ConsoleMetricExporter(...)`, `ConsoleLogExporter(...)` / `ConsoleLogRecordExporter(...)`.
(call
  function: [
    (identifier) @_name
    (attribute attribute: (identifier) @_name)
  ] @func
  arguments: (argument_list) @args
  (#any-of? @_name "ConsoleSpanExporter" "ConsoleMetricExporter" "ConsoleLogExporter" "ConsoleLogRecordExporter")) @call

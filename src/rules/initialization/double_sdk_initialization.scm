; A call of a function or attribute named `set_tracer_provider`, `set_meter_provider` or
; `set_logger_provider`; Rust resolves the name through the module's imports and decides
; from the launchers whether auto-instrumentation already configured the process.
(call
  function: [(identifier) (attribute)] @callee
  (#match? @callee "set_(tracer|meter|logger)_provider$")) @call

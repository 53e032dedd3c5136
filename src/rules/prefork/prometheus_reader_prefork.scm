; A call of `PrometheusMetricReader(...)` (plain or qualified name).
(call
  function: [
    (identifier) @_name
    (attribute attribute: (identifier) @_name)
  ] @func
  (#eq? @_name "PrometheusMetricReader")) @call

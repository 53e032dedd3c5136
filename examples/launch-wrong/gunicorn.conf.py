"""gunicorn settings: the pre-fork recipe, copied in while the Dockerfile still wraps gunicorn
in opentelemetry-instrument, which has set up the SDK before this hook runs."""

bind = "0.0.0.0:8000"


def post_fork(server, worker):
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": "orders"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)

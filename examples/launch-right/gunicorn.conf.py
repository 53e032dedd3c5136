"""gunicorn settings: four workers, OpenTelemetry set up after fork in each of them."""

bind = "0.0.0.0:8000"
workers = 4


def post_fork(server, worker):
    from opentelemetry.instrumentation.auto_instrumentation import initialize

    initialize()

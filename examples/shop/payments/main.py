"""Payments service: FastAPI, traced in code with the FastAPI instrumentor."""

from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

provider = TracerProvider(resource=Resource.create({"service.name": "payments"}))
provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
trace.set_tracer_provider(provider)

app = FastAPI(title="payments")
FastAPIInstrumentor().instrument(excluded_urls="/health")


@app.get("/health")
async def health():
    return {"ok": True}


@app.post("/payments/{order_id}")
async def pay(order_id: str):
    return {"order_id": order_id, "status": "accepted"}

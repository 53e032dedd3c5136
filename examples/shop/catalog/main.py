"""Catalog service: FastAPI with programmatic auto-instrumentation."""

from fastapi import FastAPI
from opentelemetry.instrumentation.auto_instrumentation import initialize

initialize()

app = FastAPI(title="catalog")

PRODUCTS = [{"sku": "tea-earl-grey", "price": 450}, {"sku": "tea-sencha", "price": 520}]


@app.get("/products")
async def products():
    return PRODUCTS

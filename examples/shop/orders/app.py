"""Orders service: a small Flask app exported with OpenTelemetry."""

import os

from flask import Flask, jsonify
from opentelemetry import trace

app = Flask(__name__)
tracer = trace.get_tracer("orders")

ORDERS = {"1001": {"sku": "tea-earl-grey", "quantity": 2}}


@app.get("/orders/<order_id>")
def get_order(order_id: str):
    with tracer.start_as_current_span("load-order"):
        order = ORDERS.get(order_id)
    if order is None:
        return jsonify(error="not found"), 404
    return jsonify(order)


if __name__ == "__main__":
    app.run(host="0.0.0.0", port=int(os.environ.get("PORT", "8080")), debug=True)

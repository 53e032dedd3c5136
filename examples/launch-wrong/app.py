"""The orders service: a small Flask app."""

from flask import Flask, jsonify

app = Flask(__name__)


@app.get("/orders")
def orders():
    return jsonify([])


if __name__ == "__main__":
    # Local runs: `docker compose run orders python app.py`
    app.run(host="0.0.0.0", port=8000, debug=True)

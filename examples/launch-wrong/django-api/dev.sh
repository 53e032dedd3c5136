#!/bin/sh
# Local development server (manage.py sets up tracing itself).
set -e
python manage.py migrate --noinput
exec python manage.py runserver 0.0.0.0:8000

# First sketch of a production image: web (gunicorn), Celery worker and beat all run it.
FROM python:3.12-slim

# PYTHONPATH: run from the source tree, so settings find templates/ and static/ beside the
# code (pip install . also copies the packages into site-packages, without those folders).
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app

WORKDIR /app
COPY . /app
RUN pip install '.[prod]' \
    && useradd --system --uid 10001 --no-create-home --home-dir /nonexistent dkim2web

USER dkim2web
EXPOSE 8000
CMD ["gunicorn", "dkim2web.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3"]

# Mianjing: slim Python, non-root, migrations applied at start, health-checked. The image ships its content, so
# the folder is the source of truth: a start publishes it (MIANJING_PUBLISH_ON_START).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    MIANJING_ENV=production MIANJING_HOST=0.0.0.0 MIANJING_PORT=8000 \
    MIANJING_DATABASE_URL=sqlite:////data/mianjing.db MIANJING_CONTENT_DIR=/srv/mianjing/content \
    MIANJING_PUBLISH_ON_START=true \
    MIANJING_TRUSTED_PROXIES=

WORKDIR /srv/mianjing
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
RUN pip install . && useradd --create-home --uid 10001 mianjing && mkdir /data && chown mianjing /data
COPY content ./content
COPY migrations ./migrations
COPY templates ./templates
COPY static ./static

USER mianjing
EXPOSE 8000
VOLUME ["/data"]
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz').status != 200)"
# `serve` checks the content, applies migrations, then runs uvicorn. Set MIANJING_SECRET_KEY at run time.
# It passes MIANJING_TRUSTED_PROXIES to uvicorn's forwarded_allow_ips: empty (above), nobody's
# X-Forwarded-For is believed; behind a reverse proxy, set it to the proxy's address (e.g. 172.17.0.1).
CMD ["mianjing", "serve"]

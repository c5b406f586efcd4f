# syntax=docker/dockerfile:1
# Build stage: a virtualenv with the pinned dependencies and pactwatch itself (a pure-Python wheel).
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# The optional extras to install: "cluster" (the default) for `pactwatch worker` and `pactwatch gateway` on
# PostgreSQL (docker-compose.yml); build with --build-arg EXTRAS= for a single-node image without them.
ARG EXTRAS=cluster
# Pinned versions first (cached layer), then the project itself without touching the pins. The lock pins
# the cluster extra too; without EXTRAS its packages are left out.
COPY requirements.lock ./
RUN if [ -n "$EXTRAS" ]; then cp requirements.lock /tmp/pins; \
    else grep -vE '^(procrastinate|psycopg|psycopg-binary|psycopg-pool)==' requirements.lock > /tmp/pins; fi \
    && pip install -r /tmp/pins
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY config ./config
RUN pip install --no-deps . \
    && cd / && python -c "import bot.cli, bot.settings; print('ok')" \
    && if [ -n "$EXTRAS" ]; then python -c "import procrastinate, psycopg, bot.cluster.worker; print('cluster ok')"; fi

# Final stage: slim runtime, non-root.
FROM python:3.11-slim
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PACTWATCH_DATA_DIR=/data \
    PACTWATCH_HEALTH_HOST=0.0.0.0 \
    PACTWATCH_HEALTH_PORT=8080
COPY --from=build /opt/venv /opt/venv
RUN useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin pactwatch \
    && mkdir -p /data /app/config && chown pactwatch /data
WORKDIR /app
USER pactwatch
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4).status == 200 else 1)"]
# `pactwatch run` (one process, SQLite in /data); docker-compose.yml runs `pactwatch worker` and `gateway`.
CMD ["pactwatch", "run"]

# syntax=docker/dockerfile:1
# Build stage: a virtualenv with the pinned dependencies and pactwatch itself (a pure-Python wheel).
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# Pinned versions first (cached layer), then the project itself without touching the pins.
COPY requirements.lock ./
RUN pip install -r requirements.lock
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY config ./config
RUN pip install --no-deps . \
    && cd / && python -c "import bot.cli, bot.settings; print('ok')"

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
CMD ["pactwatch", "run"]

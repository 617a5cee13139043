# syntax=docker/dockerfile:1
# rtgraph serve: the graph as a voice service. Slim, non-root, no build tools in the final image.
#
#   docker build -t rtgraph .
#   docker run --rm -p 8080:8080 -e RTGRAPH_TOKEN=change-me rtgraph
#   # console: http://localhost:8080/#token=change-me
#
# Bound to 0.0.0.0 the browser channel needs a token ($RTGRAPH_TOKEN; `serve` refuses to start
# without one). Without OPENAI_API_KEY the server talks to the built-in simulator.
# Mount your own definition folder over /app/agents.d (Kubernetes: a ConfigMap, deploy/kubernetes/).

ARG PYTHON_IMAGE=python:3.12-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY realtime_graph/ realtime_graph/
RUN pip wheel --no-cache-dir --disable-pip-version-check --wheel-dir /wheels .

FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-index --find-links=/wheels realtime-graph \
 && useradd --system --uid 10001 --user-group --home-dir /app --no-create-home --shell /usr/sbin/nologin rtgraph
WORKDIR /app
COPY --chown=root:root agents.d/ /app/agents.d/
USER 10001:10001
EXPOSE 8080
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2).status != 200)"]
ENTRYPOINT ["rtgraph", "serve"]
CMD ["/app/agents.d", "--host", "0.0.0.0", "--port", "8080", "--drain-timeout", "300", "--log-format", "json"]

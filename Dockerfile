# syntax=docker/dockerfile:1
# twilio-operator image: `docker build -t twilio-operator:dev .` from the repository root.
# Stage 1 builds wheels of the project and of all its dependencies; stage 2 installs
# only those wheels (no compilers, no pip cache, no source tree) and runs as non-root.

FROM python:3.11-slim AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
COPY pyproject.toml README.md* ./
COPY operator/ operator/
# One wheel for the project plus one per dependency, so the final stage needs no network.
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="twilio-operator" \
      org.opencontainers.image.description="Kubernetes operator that provisions Twilio Elastic SIP trunks for TwilioProvider resources" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.base.name="docker.io/library/python:3.11-slim"
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp
# The wheels are bind-mounted from the builder, so they never land in a layer.
# --no-index: install exactly what the builder resolved, nothing from the network.
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links=/wheels /wheels/twilio_operator-*.whl \
    && twilio-operator --help >/dev/null
# Numeric UID/GID (distroless "nonroot"): Kubernetes can check runAsNonRoot without /etc/passwd.
USER 65532:65532
WORKDIR /tmp
# 8080: kopf liveness endpoint (/healthz); 9090: Prometheus metrics (/metrics).
EXPOSE 8080 9090
ENTRYPOINT ["twilio-operator", "run"]

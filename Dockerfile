# twilio-operator image: `make image IMAGE=repo/name:tag`, or
# `DOCKER_BUILDKIT=1 docker build -t IMAGE .` from the repository root (BuildKit: the default builder
# since Docker 23). The stage 1 builds a virtualenv from wheels of the project and of its dependencies;
# the stage 2 copies only that virtualenv (no compiler, no pip cache, no source tree) and runs as non-root.
#
# BASE_IMAGE is any image with Python 3.11 and its venv module: the public python:3.11-slim by default;
# `make image` builds a local one from Debian's packages when no registry is reachable
# (hack/image/debian-base.sh). Behind a TLS-intercepting proxy, give pip its CA bundle as the build
# secret `pip-ca` (`--secret id=pip-ca,src=FILE`; `make image` does it when PIP_CERT or SSL_CERT_FILE
# names one): a secret is never stored in a layer.
ARG BASE_IMAGE=python:3.11-slim

FROM ${BASE_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
# The virtualenv the final stage copies. Its pip and setuptools are removed once it is filled.
RUN python3 -m venv /opt/venv
WORKDIR /src
# The dependencies first, read from pyproject.toml alone: a change of the source or of README.md
# rebuilds only the project's own wheel.
COPY pyproject.toml ./
RUN --mount=type=secret,id=pip-ca \
    if [ -s /run/secrets/pip-ca ]; then export PIP_CERT=/run/secrets/pip-ca; fi \
    && python3 -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))' \
        > /tmp/requirements.txt \
    && /opt/venv/bin/pip wheel --no-cache-dir --wheel-dir /wheels -r /tmp/requirements.txt
COPY README.md ./
COPY operator/ operator/
# --no-index: install exactly the wheels resolved above, nothing else from the network.
RUN --mount=type=secret,id=pip-ca \
    if [ -s /run/secrets/pip-ca ]; then export PIP_CERT=/run/secrets/pip-ca; fi \
    && /opt/venv/bin/pip wheel --no-cache-dir --no-deps --wheel-dir /wheels . \
    && /opt/venv/bin/pip install --no-cache-dir --no-index --find-links /wheels twilio-operator \
    && /opt/venv/bin/pip uninstall --yes pip setuptools \
    && /opt/venv/bin/twilio-operator --version

FROM ${BASE_IMAGE}
ARG BASE_IMAGE
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="twilio-operator" \
      org.opencontainers.image.description="Kubernetes operator that provisions Twilio Elastic SIP trunks for TwilioProvider resources" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.base.name="${BASE_IMAGE}"
# TWILIO_OPERATOR_REVISION: the commit `twilio-operator --version` prints.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    TWILIO_OPERATOR_REVISION=${REVISION}
COPY --from=builder /opt/venv /opt/venv
# Numeric UID/GID (distroless "nonroot"): Kubernetes can check runAsNonRoot without /etc/passwd.
USER 65532:65532
WORKDIR /tmp
# 8080: kopf liveness endpoint (/healthz); 9090: Prometheus metrics (/metrics).
EXPOSE 8080 9090
ENTRYPOINT ["twilio-operator", "run"]

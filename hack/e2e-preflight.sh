#!/usr/bin/env bash
# Checks what the kind end-to-end tier (`make e2e-kind`) needs before pytest starts: a reachable Docker daemon, kind and
# kubectl on PATH. Prints every missing piece and exits 1, so `make e2e-kind` says what to install instead
# of failing deep inside a test.
set -uo pipefail
missing=()
if ! command -v docker >/dev/null 2>&1; then
	missing+=("docker: not installed (https://docs.docker.com/engine/install/)")
elif ! docker info >/dev/null 2>&1; then
	missing+=("docker: the client is installed but no Docker daemon answers (start dockerd, or set DOCKER_HOST)")
fi
command -v kind >/dev/null 2>&1 || missing+=("kind: not installed (go install sigs.k8s.io/kind@latest)")
command -v kubectl >/dev/null 2>&1 || missing+=("kubectl: not installed (or run \`make controlplane\` and put the directory of its kubectl on PATH)")
if ((${#missing[@]})); then
	echo "make e2e-kind needs a Docker daemon, kind and kubectl; missing:" >&2
	printf '  - %s\n' "${missing[@]}" >&2
	exit 1
fi
echo "e2e prerequisites: docker daemon, kind and kubectl found"

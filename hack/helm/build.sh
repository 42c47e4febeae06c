#!/usr/bin/env bash
# Builds the helm CLI from its Go module (helm.sh/helm/v3, declared as a `tool`
# in go.mod) into ${HELM_BIN:-<repo>/.cache/helm/bin}. Does nothing when the
# binary there is already at the pinned version, and reuses Go's module and
# build caches. Prints the path of the helm binary as its last line.
#
# Why build it: no Helm release binaries can be downloaded on our machines, and
# PyPI has no maintained distribution of the real helm CLI. The Go module proxy
# serves helm's source, so this is the same helm a user installs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=versions.env
. "$here/versions.env"
bin=${HELM_BIN:-$repo/.cache/helm/bin}
mkdir -p "$bin"
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=readonly

stamp="$bin/.helm.version"
if [[ -x "$bin/helm" && "$(cat "$stamp" 2>/dev/null)" == "$HELM_VERSION" ]]; then
	echo "helm $HELM_VERSION: up to date" >&2
	echo "$bin/helm"
	exit 0
fi

cd "$here"
# Same ldflags as helm's own Makefile: the version, and the Kubernetes version
# that `helm template`/`helm lint` assume (client-go v0.X.Y -> 1.X).
client_go=$(go list -m -f '{{.Version}}' k8s.io/client-go)
k8s_minor=$(echo "$client_go" | cut -d. -f2)
ldflags="-s -w \
 -X helm.sh/helm/v3/internal/version.version=v$HELM_VERSION \
 -X helm.sh/helm/v3/internal/version.gitTreeState=clean \
 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 \
 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$k8s_minor \
 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 \
 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$k8s_minor"

echo "helm $HELM_VERSION: building" >&2
start=$SECONDS
go build -trimpath -ldflags "$ldflags" -o "$bin/helm.tmp" helm.sh/helm/v3/cmd/helm
mv "$bin/helm.tmp" "$bin/helm"
echo "$HELM_VERSION" >"$stamp"
echo "helm $HELM_VERSION: built in $((SECONDS - start))s" >&2
echo "$bin/helm"

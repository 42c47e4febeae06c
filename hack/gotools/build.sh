#!/usr/bin/env bash
# Builds a developer tool from its Go module (hack/gotools/NAME/go.mod, which
# declares it with Go's `tool` directive) into ${GOTOOLS_BIN:-<repo>/.cache/gotools/bin}.
# NAME is actionlint (lints .github/workflows), helm-docs (writes the chart's
# README.md from values.yaml) or setup-envtest (downloads envtest's kube-apiserver,
# etcd and kubectl for hack/controlplane/build.sh). Does nothing when the binary is already at the
# version pinned in versions.env; reuses Go's module and build caches. Prints the
# path of the binary as its last line, like hack/helm/build.sh.
#
# Why build them: no release binaries are downloaded on our machines; the Go
# module proxy serves the same source the upstream releases are built from.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=versions.env
. "$here/versions.env"
name=${1:?usage: build.sh actionlint|helm-docs|setup-envtest}
case $name in
actionlint) package=github.com/rhysd/actionlint/cmd/actionlint version=$ACTIONLINT_VERSION ;;
helm-docs) package=github.com/norwoodj/helm-docs/cmd/helm-docs version=$HELM_DOCS_VERSION ;;
setup-envtest) package=sigs.k8s.io/controller-runtime/tools/setup-envtest version=$SETUP_ENVTEST_VERSION ;;
*) echo "gotools: unknown tool $name" >&2; exit 2 ;;
esac
bin=${GOTOOLS_BIN:-$repo/.cache/gotools/bin}
mkdir -p "$bin"
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=readonly

stamp="$bin/.$name.version"
if [[ -x "$bin/$name" && "$(cat "$stamp" 2>/dev/null)" == "$version" ]]; then
	echo "$name $version: up to date" >&2
	echo "$bin/$name"
	exit 0
fi

echo "$name $version: building" >&2
start=$SECONDS
(cd "$here/$name" && go build -trimpath -ldflags "-s -w" -o "$bin/$name.tmp" "$package")
mv "$bin/$name.tmp" "$bin/$name"
echo "$version" >"$stamp"
echo "$name $version: built in $((SECONDS - start))s" >&2
echo "$bin/$name"

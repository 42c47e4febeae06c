#!/usr/bin/env bash
# Regenerates hack/gotools/NAME/go.mod and go.sum from the Go module proxy, for
# NAME = actionlint, helm-docs or setup-envtest, at the version pinned in versions.env. Each tool
# has its own module so that its dependencies resolve as they do upstream, not
# mixed with another tool's. The tool is declared with Go's `tool` directive, so
# no Go source is needed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
. "$here/versions.env"
name=${1:?usage: gen-module.sh actionlint|helm-docs|setup-envtest}
case $name in
actionlint) package=github.com/rhysd/actionlint/cmd/actionlint version=$ACTIONLINT_VERSION ;;
helm-docs) package=github.com/norwoodj/helm-docs/cmd/helm-docs version=$HELM_DOCS_VERSION ;;
setup-envtest) package=sigs.k8s.io/controller-runtime/tools/setup-envtest version=$SETUP_ENVTEST_VERSION ;;
*) echo "gen-module: unknown tool $name" >&2; exit 2 ;;
esac
export GOTOOLCHAIN=local GOFLAGS=-mod=mod
mkdir -p "$here/$name"
cd "$here/$name"
rm -f go.mod go.sum
go mod init "twilio-operator.dev/hack/gotools/$name"
go get -tool "$package@v$version"
go mod tidy

#!/usr/bin/env bash
# Regenerates go.mod/go.sum of the helm wrapper module from the Go module proxy.
# Run after changing versions.env. helm is declared with Go's `tool` directive,
# so no Go source is needed here.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
. "$here/versions.env"
export GOTOOLCHAIN=local GOFLAGS=-mod=mod
cd "$here"
rm -f go.mod go.sum
go mod init twilio-operator.dev/hack/helm
go get -tool "helm.sh/helm/v3/cmd/helm@v$HELM_VERSION"
go mod tidy

#!/usr/bin/env bash
# Regenerates the go.mod/go.sum of the three wrapper modules from the Go module
# proxy alone (no GitHub access needed). Run after changing versions.env.
#
# k8s.io/kubernetes requires every staging module at v0.0.0 and relies on
# `=> ./staging/...` replaces that Go ignores for a dependency, so we map each
# staging module to its published v0.X.Y tag.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
. "$here/versions.env"
export GOTOOLCHAIN=local GOFLAGS=-mod=mod
staging="v0.${KUBE_VERSION#1.}"

cd "$here/kube-apiserver"
rm -f go.mod go.sum
go mod init twilio-operator.dev/hack/kube-apiserver
gomod=$(go mod download -json "k8s.io/kubernetes@v$KUBE_VERSION" |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])')
for m in $(sed -n 's|^[[:space:]]*\(k8s.io/[^ ]*\) => ./staging/.*|\1|p' "$gomod"); do
	go mod edit -replace="$m=$m@$staging"
done
go get "k8s.io/kubernetes@v$KUBE_VERSION"
go mod tidy

cd "$here/etcd"
rm -f go.mod go.sum
go mod init twilio-operator.dev/hack/etcd
go get "go.etcd.io/etcd/server/v3@v$ETCD_VERSION"
go mod tidy

cd "$here/kubectl"
rm -f go.mod go.sum
go mod init twilio-operator.dev/hack/kubectl
go get "k8s.io/kubectl@$staging" "k8s.io/component-base@$staging"
go mod tidy

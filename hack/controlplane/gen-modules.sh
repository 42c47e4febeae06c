#!/usr/bin/env bash
# Regenerates the go.mod/go.sum of the wrapper modules from the Go module proxy
# alone (no GitHub access needed). Run after changing versions.env.
#
#   gen-modules.sh [MODULE...]   # default: all of them: kube-apiserver,
#                                # kube-controller-manager, kubelet, kube-scheduler,
#                                # kube-proxy (the last three for the local node),
#                                # etcd, kubectl
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

# kube_module NAME: a wrapper module around k8s.io/kubernetes/cmd/NAME (its main.go
# is kept), with the staging replaces. kube-apiserver and kube-controller-manager
# resolve to the same versions of every module they share, so Go's build cache
# compiles the shared packages once for both.
kube_module() {
	cd "$here/$1"
	rm -f go.mod go.sum
	go mod init "twilio-operator.dev/hack/$1"
	gomod=$(go mod download -json "k8s.io/kubernetes@v$KUBE_VERSION" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])')
	while read -r m; do
		go mod edit -replace="$m=$m@$staging"
	done < <(sed -n 's|^[[:space:]]*\(k8s.io/[^ ]*\) => ./staging/.*|\1|p' "$gomod")
	go get "k8s.io/kubernetes@v$KUBE_VERSION"
	go mod tidy
}

etcd_module() {
	cd "$here/etcd"
	rm -f go.mod go.sum
	go mod init twilio-operator.dev/hack/etcd
	go get "go.etcd.io/etcd/server/v3@v$ETCD_VERSION"
	go mod tidy
}

kubectl_module() {
	cd "$here/kubectl"
	rm -f go.mod go.sum
	go mod init twilio-operator.dev/hack/kubectl
	go get "k8s.io/kubectl@$staging" "k8s.io/component-base@$staging"
	go mod tidy
}

modules=("$@")
[[ ${#modules[@]} -gt 0 ]] || modules=(kube-apiserver kube-controller-manager kubelet kube-scheduler kube-proxy etcd kubectl)
for m in "${modules[@]}"; do
	case $m in
	kube-apiserver | kube-controller-manager | kubelet | kube-scheduler | kube-proxy) (kube_module "$m") ;;
	etcd) (etcd_module) ;;
	kubectl) (kubectl_module) ;;
	*) echo "gen-modules.sh: unknown module '$m'" >&2; exit 2 ;;
	esac
done

#!/usr/bin/env bash
# Builds kube-apiserver, kube-controller-manager, etcd and kubectl from their Go
# modules into ${CONTROLPLANE_BIN:-<repo>/.cache/controlplane/bin}. Does nothing
# for a binary that is already there at the pinned version, and reuses Go's module
# and build caches. Prints the bin directory as its last line.
#
# kube-controller-manager comes from the same k8s.io/kubernetes module as
# kube-apiserver (wrapper module ./kube-controller-manager, same replaces), so most
# of its packages are already in the build cache once kube-apiserver is built.
# envtest's release archives (KUBEBUILDER_ASSETS) do not ship it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=versions.env
. "$here/versions.env"
bin=${CONTROLPLANE_BIN:-$repo/.cache/controlplane/bin}
mkdir -p "$bin"
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=readonly

minor=${KUBE_VERSION#1.}; minor=${minor%%.*}
kube_ldflags="-s -w \
 -X k8s.io/component-base/version.gitVersion=v$KUBE_VERSION \
 -X k8s.io/component-base/version.gitMajor=1 \
 -X k8s.io/component-base/version.gitMinor=$minor \
 -X k8s.io/component-base/version.gitTreeState=clean \
 -X k8s.io/client-go/pkg/version.gitVersion=v$KUBE_VERSION \
 -X k8s.io/client-go/pkg/version.gitMajor=1 \
 -X k8s.io/client-go/pkg/version.gitMinor=$minor"

# build NAME VERSION LDFLAGS: skip when the stamp file says this version is built.
build() {
	local name=$1 version=$2 ldflags=$3
	local stamp="$bin/.$name.version"
	if [[ -x "$bin/$name" && "$(cat "$stamp" 2>/dev/null)" == "$version" ]]; then
		echo "$name $version: up to date" >&2
		return
	fi
	echo "$name $version: building" >&2
	local start=$SECONDS
	(cd "$here/$name" && go build -trimpath -ldflags "$ldflags" -o "$bin/$name.tmp" .)
	mv "$bin/$name.tmp" "$bin/$name"
	echo "$version" >"$stamp"
	echo "$name $version: built in $((SECONDS - start))s" >&2
}

build etcd "$ETCD_VERSION" "-s -w"
build kube-apiserver "$KUBE_VERSION" "$kube_ldflags"
build kube-controller-manager "$KUBE_VERSION" "$kube_ldflags"
build kubectl "$KUBE_VERSION" "$kube_ldflags"
echo "$bin"

#!/usr/bin/env bash
# Provides what the local node (`make node`, `make e2e`) runs, and does nothing for what is there:
#
# - Debian packages: containerd, runc, containernetworking-plugins (bridge, host-local, loopback),
#   iptables and conntrack (kube-proxy), iproute2 and util-linux (the network namespace, nsenter),
#   gcc and libc6-dev (the static pause binary). Installed when missing (hack/debian-packages.sh).
# - etcd, kube-apiserver, kube-controller-manager, kubectl, and kubelet, kube-scheduler, kube-proxy:
#   hack/controlplane/build.sh, the same version pins (versions.env), wrapper modules and Go caches
#   as the control plane of `make test`.
# - pause, the pod sandbox's process: build/pause/linux/pause.c of the same k8s.io/kubernetes module,
#   compiled with `gcc -static` into the control plane's bin directory (the harness makes an image of it).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=../controlplane/versions.env
. "$repo/hack/controlplane/versions.env"
bin=${CONTROLPLANE_BIN:-$repo/.cache/controlplane/bin}

bash "$repo/hack/debian-packages.sh" containerd runc containernetworking-plugins iptables conntrack \
	iproute2 util-linux gcc libc6-dev
bash "$repo/hack/controlplane/build.sh" etcd kube-apiserver kubectl kube-controller-manager \
	kubelet kube-scheduler kube-proxy

# The pause version of k8s.io/kubernetes v$KUBE_VERSION's build/pause/Makefile (TAG).
module=$(cd "$repo/hack/controlplane/kubelet" &&
	GOTOOLCHAIN=local GOFLAGS=-mod=readonly go mod download -json "k8s.io/kubernetes@v$KUBE_VERSION" |
	python3 -c 'import json, sys; print(json.load(sys.stdin)["Dir"])')
pause_tag=$(sed -n 's/^TAG ?= *//p' "$module/build/pause/Makefile")
stamp="$KUBE_VERSION pause $pause_tag"
if [[ -x $bin/pause && "$(cat "$bin/.pause.version" 2>/dev/null)" == "$stamp" ]]; then
	echo "pause $pause_tag: up to date" >&2
	exit 0
fi
mkdir -p "$bin"
gcc -Os -Wall -Werror -static "-DVERSION=v$pause_tag-twilio-operator" -o "$bin/pause.tmp" \
	"$module/build/pause/linux/pause.c"
mv "$bin/pause.tmp" "$bin/pause"
echo "$stamp" >"$bin/.pause.version"
echo "pause $pause_tag: built from k8s.io/kubernetes v$KUBE_VERSION" >&2

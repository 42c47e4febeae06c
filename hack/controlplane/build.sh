#!/usr/bin/env bash
# Provides the control-plane binaries the test harness looks up
# (operator/twilio_operator/testing/binaries.py):
#
#   build.sh [COMPONENT...]   # etcd kube-apiserver kubectl kube-controller-manager (default: all four)
#                             # kubelet kube-scheduler kube-proxy: the local node's (`make node`), never by default
#
# etcd, kube-apiserver and kubectl are what envtest's release archives hold. Where
# the network allows, they are downloaded with setup-envtest (built from its Go
# module by hack/gotools/build.sh; it checks each archive against the SHA-512 of
# the release index) into the setup-envtest store,
# ${XDG_DATA_HOME:-~/.local/share}/kubebuilder-envtest/k8s/<version>-<os>-<arch>,
# where the harness finds them. When the download is impossible they are built
# from their Go modules (wrapper modules ./etcd, ./kube-apiserver, ./kubectl)
# into ${CONTROLPLANE_BIN:-<repo>/.cache/controlplane/bin}; one line on stderr
# says which path was taken and why.
#
# kube-controller-manager is not in envtest's archives: it is always built, from
# the same k8s.io/kubernetes module as kube-apiserver (wrapper module
# ./kube-controller-manager, same replaces). So are kubelet, kube-scheduler and
# kube-proxy (wrapper modules ./kubelet, ./kube-scheduler, ./kube-proxy), which
# only the local node needs.
#
# Nothing is fetched or built when the binaries are already there: KUBEBUILDER_ASSETS
# holding them, a local build at the pinned version, or the pinned envtest version
# in the store. Go's module and build caches are reused.
#
# Environment:
#   CONTROLPLANE_SOURCE  auto (default: download, else build) | download (fail
#                        rather than build) | build (never download)
#   ENVTEST_INDEX_URL    the release index setup-envtest reads (default: its own,
#                        controller-tools' envtest-releases.yaml on GitHub)
#   ENVTEST_INDEX_TIMEOUT, ENVTEST_DOWNLOAD_TIMEOUT  seconds (default 30, 900)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=versions.env
. "$here/versions.env"
bin=${CONTROLPLANE_BIN:-$repo/.cache/controlplane/bin}
source=${CONTROLPLANE_SOURCE:-auto}
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=readonly

say() { echo "control plane: $*" >&2; }

case $source in
auto | download | build) ;;
*) say "CONTROLPLANE_SOURCE must be auto, download or build, not '$source'"; exit 2 ;;
esac
all=(etcd kube-apiserver kubectl kube-controller-manager)
node=(kubelet kube-scheduler kube-proxy) # always built, never by default
components=("$@")
[[ ${#components[@]} -gt 0 ]] || components=("${all[@]}")
envtest=() # the wanted components an envtest archive holds
for c in "${components[@]}"; do
	case $c in
	etcd | kube-apiserver | kubectl) envtest+=("$c") ;;
	kube-controller-manager | kubelet | kube-scheduler | kube-proxy) ;;
	*) say "unknown component '$c' (one of: ${all[*]} ${node[*]})"; exit 2 ;;
	esac
done

minor=${KUBE_VERSION#1.}; minor=${minor%%.*}
kube_ldflags="-s -w \
 -X k8s.io/component-base/version.gitVersion=v$KUBE_VERSION \
 -X k8s.io/component-base/version.gitMajor=1 \
 -X k8s.io/component-base/version.gitMinor=$minor \
 -X k8s.io/component-base/version.gitTreeState=clean \
 -X k8s.io/client-go/pkg/version.gitVersion=v$KUBE_VERSION \
 -X k8s.io/client-go/pkg/version.gitMajor=1 \
 -X k8s.io/client-go/pkg/version.gitMinor=$minor"

version_of() { if [[ $1 == etcd ]]; then echo "$ETCD_VERSION"; else echo "$KUBE_VERSION"; fi; }
ldflags_of() { if [[ $1 == etcd ]]; then echo "-s -w"; else echo "$kube_ldflags"; fi; }
built() { [[ -x "$bin/$1" && "$(cat "$bin/.$1.version" 2>/dev/null)" == "$(version_of "$1")" ]]; }
# all_in DIR NAME...: every NAME is an executable in DIR.
all_in() {
	local dir=$1 name
	shift
	for name in "$@"; do [[ -x "$dir/$name" ]] || return 1; done
}
joined() { local out; out=$(printf '%s, ' "$@"); echo "${out%, }"; }

# build NAME: skip when the stamp file says the pinned version is built.
build() {
	local name=$1 version ldflags
	version=$(version_of "$name")
	ldflags=$(ldflags_of "$name")
	if built "$name"; then
		echo "$name $version: up to date" >&2
		return
	fi
	mkdir -p "$bin"
	echo "$name $version: building" >&2
	local start=$SECONDS
	(cd "$here/$name" && go build -trimpath -ldflags "$ldflags" -o "$bin/$name.tmp" .)
	mv "$bin/$name.tmp" "$bin/$name"
	echo "$version" >"$bin/.$name.version"
	echo "$name $version: built in $((SECONDS - start))s" >&2
}

# with_timeout SECONDS CMD...: coreutils' timeout where there is one (exit 124 when it fires).
with_timeout() {
	local seconds=$1
	shift
	if command -v timeout >/dev/null 2>&1; then timeout "$seconds" "$@"; else "$@"; fi
}

why=""
err=$(mktemp)
trap 'rm -f "$err"' EXIT
# download: setup-envtest fetches ENVTEST_K8S_VERSION into the store. On failure,
# sets $why to setup-envtest's last error line and returns 1.
download() {
	local tool out rc index_args=()
	[[ -n ${ENVTEST_INDEX_URL:-} ]] && index_args=(--index "$ENVTEST_INDEX_URL")
	if ! tool=$(bash "$repo/hack/gotools/build.sh" setup-envtest 2>"$err" | tail -n 1) || [[ ! -x $tool ]]; then
		why="setup-envtest could not be built: $(grep -v '^[[:space:]]*$' "$err" | tail -n 1)"
		return 1
	fi
	# A quick look at the index first, so that an unreachable network costs
	# seconds rather than the download timeout.
	rc=0
	with_timeout "${ENVTEST_INDEX_TIMEOUT:-30}" "$tool" list ${index_args[@]+"${index_args[@]}"} "$ENVTEST_K8S_VERSION" >/dev/null 2>"$err" || rc=$?
	if ((rc == 124)); then
		why="the envtest release index did not answer within ${ENVTEST_INDEX_TIMEOUT:-30}s"
		return 1
	elif ((rc != 0)); then
		why="$(grep -v '^[[:space:]]*$' "$err" | tail -n 1)"
		return 1
	fi
	rc=0
	out=$(with_timeout "${ENVTEST_DOWNLOAD_TIMEOUT:-900}" "$tool" use ${index_args[@]+"${index_args[@]}"} -p path "$ENVTEST_K8S_VERSION" 2>"$err") || rc=$?
	if ((rc == 124)); then
		why="the envtest download took longer than ${ENVTEST_DOWNLOAD_TIMEOUT:-900}s"
		return 1
	elif ((rc != 0)); then
		why="$(grep -v '^[[:space:]]*$' "$err" | tail -n 1)"
		return 1
	elif ! all_in "$out" "${envtest[@]}"; then
		why="the envtest archive for $ENVTEST_K8S_VERSION lacks one of: $(joined "${envtest[@]}")"
		return 1
	fi
	store_dir=$out
}

if ((${#envtest[@]} > 0)); then
	wanted=$(joined "${envtest[@]}")
	platform="$(go env GOOS)-$(go env GOARCH)"
	store_dir="${XDG_DATA_HOME:-$HOME/.local/share}/kubebuilder-envtest/k8s/$ENVTEST_K8S_VERSION-$platform"
	local_ok=true
	for c in "${envtest[@]}"; do built "$c" || local_ok=false; done
	if [[ -n ${KUBEBUILDER_ASSETS:-} ]] && all_in "$KUBEBUILDER_ASSETS" "${envtest[@]}"; then
		say "$wanted: using KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS (nothing to download or build)"
		envtest=()
	elif $local_ok; then
		say "$wanted: already built in $bin (nothing to download or build)"
		envtest=()
	elif all_in "$store_dir" "${envtest[@]}"; then
		say "$wanted: envtest $ENVTEST_K8S_VERSION already in $store_dir (nothing to download or build)"
		envtest=()
	elif [[ $source == build ]]; then
		say "$wanted: building from Go modules, because CONTROLPLANE_SOURCE=build"
	else
		start=$SECONDS
		if download; then
			say "$wanted: downloaded envtest $ENVTEST_K8S_VERSION (SHA-512 checked) into $store_dir in $((SECONDS - start))s"
			envtest=()
		elif [[ $source == download ]]; then
			say "$wanted: envtest download failed and CONTROLPLANE_SOURCE=download: $why"
			exit 1
		else
			say "$wanted: building from Go modules, because the envtest download failed: $why"
		fi
	fi
fi

for c in ${envtest[@]+"${envtest[@]}"}; do build "$c"; done
for c in "${components[@]}"; do
	case $c in
	kube-controller-manager | kubelet | kube-scheduler | kube-proxy)
		built "$c" || say "$c: building from Go modules (envtest archives do not ship it)"
		build "$c"
		;;
	esac
done

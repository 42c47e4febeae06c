#!/usr/bin/env bash
# Builds the operator image from the Dockerfile (what `make image` runs):
#
#   build.sh IMAGE [DOCKER-BUILD-ARGUMENT...]
#
# - A Docker daemon: the one that answers, else Debian's dockerd, started (docker.sh).
# - The base (IMAGE_BASE): `auto` (default) takes python:3.11-slim when the daemon has it or can pull
#   it, else builds twilio-operator-base:python3.11-<suite> from Debian's packages (debian-base.sh), and
#   says which and why; `debian` always builds that one; any other value is an image to use as it is.
# - Build arguments: BASE_IMAGE, VERSION (pyproject.toml) and REVISION (the commit, with `-dirty`
#   when the files the image is built from differ from it), which `twilio-operator --version` prints.
# - pip's CA bundle: PIP_CERT, else SSL_CERT_FILE, when set, is passed as the build secret `pip-ca`
#   (for a TLS-intercepting proxy; never stored in the image).
# Prints the build time and the image size; the last line is IMAGE.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
image=${1:?usage: build.sh IMAGE [DOCKER-BUILD-ARGUMENT...]}
shift
say() { echo "image: $*" >&2; }

docker=$(bash "$here/docker.sh" | tail -n 1)
public_base=python:3.11-slim
local_base=twilio-operator-base:python3.11-${DEBIAN_SUITE:-bookworm}
case ${IMAGE_BASE:-auto} in
auto)
	if "$docker" image inspect "$public_base" >/dev/null 2>&1; then
		base=$public_base
	elif pull=$("$docker" pull --quiet "$public_base" 2>&1); then
		base=$public_base
	else
		say "cannot pull $public_base ($(echo "$pull" | tail -n 1)): building the base from Debian's packages"
		bash "$here/debian-base.sh" "$docker" "$local_base"
		base=$local_base
	fi
	;;
debian)
	bash "$here/debian-base.sh" "$docker" "$local_base"
	base=$local_base
	;;
*) base=$IMAGE_BASE ;;
esac

version=$(python3 -c 'import sys, tomllib; print(tomllib.load(open(sys.argv[1], "rb"))["project"]["version"])' "$repo/pyproject.toml")
revision=$(git -C "$repo" rev-parse HEAD 2>/dev/null || echo unknown)
if [[ $revision != unknown ]] && ! git -C "$repo" diff --quiet HEAD -- Dockerfile pyproject.toml README.md operator; then
	revision+=-dirty
fi
secret=()
ca=${PIP_CERT:-${SSL_CERT_FILE:-}}
[[ -n $ca && -s $ca ]] && secret=(--secret "id=pip-ca,src=$ca")

say "building $image from $base (version $version, commit $revision)"
previous=$("$docker" image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)
start=$SECONDS
DOCKER_BUILDKIT=1 "$docker" build --tag "$image" \
	--build-arg "BASE_IMAGE=$base" --build-arg "VERSION=$version" --build-arg "REVISION=$revision" \
	${secret[@]+"${secret[@]}"} "$@" "$repo"
# The image the tag named before, now untagged, is removed unless something still uses it (rmi
# without --force refuses then): repeated builds would otherwise pile up 130 MB layers.
if [[ -n $previous && $previous != "$("$docker" image inspect --format '{{.Id}}' "$image")" ]]; then
	"$docker" image rm "$previous" >/dev/null 2>&1 || true
fi
size=$("$docker" image inspect --format '{{.Size}}' "$image")
say "$image: built in $((SECONDS - start))s, $((size / 1000000)) MB"
echo "$image"

#!/usr/bin/env bash
# Builds a base image with Debian's Python 3.11 from Debian's packages alone, and imports it into
# the Docker daemon:
#
#   debian-base.sh DOCKER_CLIENT TAG
#
# For machines that reach Debian's archive but no image registry, where python:3.11-slim cannot be
# pulled. mmdebstrap (installed when missing) makes a root filesystem of the Essential packages plus
# python3 and python3-venv (the Dockerfile's builder makes a virtualenv), without documentation,
# manual pages and locales; `docker import` turns it into an image. Nothing is done when TAG exists
# with this script's recipe (a label holds a hash of this file and of the mirrors).
#
# Environment: DEBIAN_MIRROR (default http://deb.debian.org/debian), DEBIAN_SECURITY_MIRROR
# (default http://deb.debian.org/debian-security), DEBIAN_SUITE (default bookworm).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
docker=${1:?usage: debian-base.sh DOCKER_CLIENT TAG}
tag=${2:?usage: debian-base.sh DOCKER_CLIENT TAG}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
security=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
suite=${DEBIAN_SUITE:-bookworm}
say() { echo "debian base: $*" >&2; }

recipe=$({ cat "$0"; echo "$mirror $security $suite"; } | sha256sum | cut -c1-16)
label=dev.twilio-operator.base-recipe
if [[ $("$docker" image inspect --format "{{index .Config.Labels \"$label\"}}" "$tag" 2>/dev/null) == "$recipe" ]]; then
	say "$tag: up to date"
	exit 0
fi

bash "$repo/hack/debian-packages.sh" mmdebstrap
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
say "$tag: building from $mirror ($suite)"
start=$SECONDS
# The merged-usr hook makes the /usr symlinks itself: the usrmerge package would pull perl in.
mmdebstrap --quiet --variant=essential \
	--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
	--include=python3,python3-venv \
	--dpkgopt='path-exclude=/usr/share/man/*' \
	--dpkgopt='path-exclude=/usr/share/doc/*' \
	--dpkgopt='path-include=/usr/share/doc/*/copyright' \
	--dpkgopt='path-exclude=/usr/share/locale/*' \
	--dpkgopt='path-exclude=/usr/share/info/*' \
	"$suite" "$work/rootfs.tar" \
	"deb $mirror $suite main" \
	"deb $mirror $suite-updates main" \
	"deb $security $suite-security main" >"$work/mmdebstrap.log" 2>&1 || {
	say "mmdebstrap failed; the end of its output:"
	tail -n 30 "$work/mmdebstrap.log" >&2
	exit 1
}
"$docker" import \
	--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
	--change 'CMD ["python3"]' \
	--change "LABEL $label=$recipe" \
	--change "LABEL org.opencontainers.image.description=\"Debian $suite with python3 and python3-venv (mmdebstrap)\"" \
	"$work/rootfs.tar" "$tag" >/dev/null
say "$tag: built in $((SECONDS - start))s, $(($("$docker" image inspect --format '{{.Size}}' "$tag") / 1000000)) MB"

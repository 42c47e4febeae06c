#!/usr/bin/env bash
# Installs the Debian packages given as arguments that are not installed yet:
#
#   debian-packages.sh PACKAGE...
#
# What the image and the local node need comes from Debian's archive (docker.io, containerd, runc,
# containernetworking-plugins, mmdebstrap, ...). A fresh machine has none of it, so the make targets
# call this script instead of expecting a manual install. It runs `apt-get update` once, only when
# something is missing, and needs root (or sudo without a password). Prints nothing when all are there.
set -euo pipefail
missing=()
for package in "$@"; do
	status=$(dpkg-query --show --showformat='${db:Status-Status}' "$package" 2>/dev/null || true)
	[[ $status == installed ]] || missing+=("$package")
done
((${#missing[@]})) || exit 0

sudo=()
if ((EUID != 0)); then
	if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
		sudo=(sudo -n)
	else
		echo "debian-packages: missing ${missing[*]}; installing them needs root (run as root, or install them yourself)" >&2
		exit 1
	fi
fi
echo "debian-packages: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

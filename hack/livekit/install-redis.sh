#!/usr/bin/env bash
# Makes sure redis-server is installed: livekit-server keeps its SIP trunks and dispatch rules in
# Redis, and without it every SIP call answers "sip not connected (redis required)". The LiveKit test
# harness (operator/twilio_operator/testing/livekit.py) starts its own redis-server on a free loopback
# port with persistence off; the package's own service is not used.
#
# Installs Debian's (or Ubuntu's) redis-server package when no redis-server is found (REDIS_SERVER,
# then PATH), as root or through passwordless sudo (GitHub's runners). Prints the path of
# redis-server as its last line.
set -euo pipefail

say() { echo "redis-server: $*" >&2; }
version_of() { "$1" --version | sed -n 's/.* v=\([^ ]*\).*/\1/p'; }

found() {
	if [[ -n ${REDIS_SERVER:-} ]]; then
		[[ -x $REDIS_SERVER ]] && echo "$REDIS_SERVER"
		return
	fi
	command -v redis-server
}

if path=$(found); then
	say "found $path $(version_of "$path")"
	echo "$path"
	exit 0
fi
if [[ -n ${REDIS_SERVER:-} ]]; then
	say "REDIS_SERVER=$REDIS_SERVER is not an executable"
	exit 1
fi

if ((EUID == 0)); then
	as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
	as_root=(sudo -n)
else
	say "not installed, and installing it needs root: run 'apt-get install redis-server' as root" \
		"(or set REDIS_SERVER to a redis-server binary)"
	exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
	say "not installed and there is no apt-get here: install redis-server with your package manager" \
		"(or set REDIS_SERVER to a redis-server binary)"
	exit 1
fi

say "installing Debian's redis-server package"
start=$SECONDS
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends redis-server >/dev/null
path=$(command -v redis-server)
say "installed $path $(version_of "$path") in $((SECONDS - start))s"
echo "$path"

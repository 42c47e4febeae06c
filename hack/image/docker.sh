#!/usr/bin/env bash
# Makes sure a Docker daemon answers, and prints (as its last line) the docker client to build with.
#
# - No daemon answers: start Debian's dockerd (package docker.io, installed when missing) in the
#   background, its log in <repo>/.cache/docker/dockerd.log, and wait for it. It keeps running after
#   this script, like a system service would; stop it with `kill $(cat /var/run/docker.pid)`.
# - The client: the Dockerfile needs BuildKit (a secret mount). A client with the buildx plugin builds
#   with it; a client older than 23.0 (Debian's 20.10) builds with DOCKER_BUILDKIT=1; a newer client
#   without buildx cannot, so Debian's /usr/bin/docker is used instead when there is one.
#
# Environment: DOCKER (a client to use), DOCKERD_START_TIMEOUT (seconds, default 60).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
say() { echo "docker: $*" >&2; }

# can_build CLIENT: it builds this Dockerfile (buildx, or a pre-23 client with its own BuildKit session).
can_build() {
	local client=$1 version
	command -v "$client" >/dev/null 2>&1 || return 1
	"$client" buildx version >/dev/null 2>&1 && return 0
	version=$("$client" version --format '{{.Client.Version}}' 2>/dev/null || true)
	[[ $version =~ ^([0-9]+)\. ]] && ((BASH_REMATCH[1] < 23))
}

answers() { "$1" info >/dev/null 2>&1; }

client=""
for candidate in ${DOCKER:-} docker /usr/bin/docker; do
	if can_build "$candidate"; then
		client=$(command -v "$candidate")
		break
	fi
done
# Debian's docker.io when there is no client that can build, or no daemon and no dockerd to start.
if [[ -z $client ]] || { ! answers "$client" && ! command -v dockerd >/dev/null 2>&1; }; then
	bash "$repo/hack/debian-packages.sh" docker.io
	[[ -n $client ]] || client=/usr/bin/docker
	if ! can_build "$client"; then
		say "no docker client here builds with BuildKit (install the buildx plugin, or Debian's docker.io)"
		exit 1
	fi
fi

if ! answers "$client"; then
	log_dir="$repo/.cache/docker"
	mkdir -p "$log_dir"
	say "no Docker daemon answers: starting dockerd (log: $log_dir/dockerd.log)"
	setsid dockerd >>"$log_dir/dockerd.log" 2>&1 </dev/null &
	deadline=$((SECONDS + ${DOCKERD_START_TIMEOUT:-60}))
	until answers "$client"; do
		if ((SECONDS > deadline)); then
			say "dockerd did not answer within ${DOCKERD_START_TIMEOUT:-60}s; the end of its log:"
			tail -n 20 "$log_dir/dockerd.log" >&2
			exit 1
		fi
		sleep 1
	done
	say "dockerd $("$client" version --format '{{.Server.Version}}') started"
fi
echo "$client"

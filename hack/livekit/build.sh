#!/usr/bin/env bash
# Builds livekit-server from its Go module into ${LIVEKIT_BIN:-<repo>/.cache/livekit/bin}/livekit-server
# with `go install github.com/livekit/livekit-server/cmd/server@vVERSION` (the version in versions.env).
# Does nothing when the binary there is already at that version (a stamp file says so), and reuses
# Go's module and build caches, so only the first build is slow (about 6 minutes on 2 cores).
# Prints the path of the binary as its last line, like hack/helm/build.sh.
#
# LIVEKIT_BIN may name a directory shared by several checkouts (e.g. git worktrees), so that the
# binary is built once per machine.
#
# Why build it: the LiveKit tests run against the real server, and no release binaries are
# downloaded on our machines; the Go module proxy serves the same source the releases are built from.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=versions.env
. "$here/versions.env"
bin=${LIVEKIT_BIN:-$repo/.cache/livekit/bin}
mkdir -p "$bin"
# A pure-Go static binary, like the other tools; a user's GOFLAGS (e.g. -mod=vendor) must not leak in.
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-buildvcs=false

stamp="$bin/.livekit-server.version"
if [[ -x "$bin/livekit-server" && "$(cat "$stamp" 2>/dev/null)" == "$LIVEKIT_VERSION" ]]; then
	echo "livekit-server $LIVEKIT_VERSION: up to date" >&2
	echo "$bin/livekit-server"
	exit 0
fi

echo "livekit-server $LIVEKIT_VERSION: building (about 6 minutes on 2 cores the first time)" >&2
start=$SECONDS
# go install names the binary after its package directory ("server"): install into a private
# directory, then move it into place, so that a failed or concurrent build never leaves half a file.
tmp=$(mktemp -d "$bin/.install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && GOBIN=$tmp go install -trimpath -ldflags "-s -w" \
	"github.com/livekit/livekit-server/cmd/server@v$LIVEKIT_VERSION")
mv "$tmp/server" "$bin/livekit-server"
echo "$LIVEKIT_VERSION" >"$stamp"
echo "livekit-server $LIVEKIT_VERSION: built in $((SECONDS - start))s" >&2
echo "$bin/livekit-server"

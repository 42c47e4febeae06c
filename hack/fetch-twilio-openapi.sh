#!/usr/bin/env bash
# Fetches Twilio's published OpenAPI documents (npm package @twilio/cli-core) into
# .cache/twilio-openapi/ for the emulator's contract tests. They are Twilio's
# files: cached, never committed. Does nothing when they are already there.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
version=${TWILIO_CLI_CORE_VERSION:-9.0.0}
out=$repo/.cache/twilio-openapi
files=(twilio_api_v2010.json twilio_trunking_v1.json twilio_routes_v2.json)
if [[ -f $out/.version && $(cat "$out/.version") == "$version" ]]; then
	exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "@twilio/cli-core@$version" >/dev/null)
mkdir -p "$out"
for f in "${files[@]}"; do
	tar -xzf "$tmp"/twilio-cli-core-*.tgz -C "$tmp" "package/src/services/twilio-api/$f"
	mv "$tmp/package/src/services/twilio-api/$f" "$out/$f"
done
echo "$version" >"$out/.version"

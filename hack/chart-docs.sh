#!/usr/bin/env bash
# Renders charts/twilio-operator/README.md from README.md.gotmpl and the `# --`
# comments of values.yaml with helm-docs (built from its Go module by
# hack/gotools/build.sh). With an argument, renders the charts under that
# directory instead (the drift test renders a copy in a temporary directory).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
root=${1:-$repo/charts}
helm_docs=$(bash "$here/gotools/build.sh" helm-docs | tail -n 1)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# --skip-version-footer: the README must not change with the helm-docs build.
"$helm_docs" --chart-search-root "$root" --template-files README.md.gotmpl \
	--sort-values-order file --skip-version-footer --log-level warning 2>"$log"
# helm-docs skips a chart it cannot parse with only a warning and exits 0.
if [[ -s "$log" ]]; then
	cat "$log" >&2
	echo "chart-docs: helm-docs warned; README.md not (fully) rendered" >&2
	exit 1
fi
echo "chart-docs: rendered the README.md of the charts under $root" >&2

#!/usr/bin/env bash
# update-immich.sh VERSION [SUMMARY_FILE]
#
# Moves goimmich to Immich release VERSION with no hand edits: fetches the
# spec, records the version and its sha256 in openapi/, regenerates, builds,
# vets and tests, and prints a change summary (operations added, removed and
# changed, breaking changes first) from oasdiff, pinned as a go tool. The
# summary is also written to SUMMARY_FILE when given (the upstream-sync
# workflow uses it as the pull request body).
#
# The spec comes from $IMMICH_SPEC_DIR when set, else from the Immich
# repository at tag vVERSION. On failure the work tree is left as it is, for
# inspection; "git checkout openapi api internal" undoes it.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ -n "${IMMICH_SPEC_DIR:-}" ]]; then
	IMMICH_SPEC_DIR="$(cd "$IMMICH_SPEC_DIR" && pwd)"
	export IMMICH_SPEC_DIR
fi
summary_file=""
if [[ $# -ge 2 ]]; then
	summary_file="$(realpath -m "$2")"
fi
cd "$root"

new="${1:-}"
new="${new#v}"
if [[ -z "$new" ]]; then
	echo "usage: scripts/update-immich.sh VERSION [SUMMARY_FILE]   (e.g. 3.0.3)" >&2
	exit 2
fi
old="$(tr -d '[:space:]' <openapi/IMMICH_VERSION)"

step() { echo "update-immich: $*" >&2; }

step "fetching the specs of $old (current) and $new"
scripts/fetch-spec.sh "$old" >/dev/null
sha="$(scripts/fetch-spec.sh "$new" | tail -n 1)"
old_spec=".spec/immich-openapi-specs-$old.json"
new_spec=".spec/immich-openapi-specs-$new.json"

step "pinning Immich $new (sha256 $sha)"
echo "$new" >openapi/IMMICH_VERSION
echo "$sha" >openapi/IMMICH_SPEC_SHA256

step "regenerating"
go generate ./...
step "building, vetting, testing"
go build ./...
go vet ./...
go test -count=1 ./... >&2

count_ops() { grep -o '"operationId"' "$1" | wc -l | tr -d ' '; }

summary="$(mktemp)"
trap 'rm -f "$summary"' EXIT
{
	echo "# Immich $old → $new"
	echo
	echo "Operations: $(count_ops "$old_spec") → $(count_ops "$new_spec"). Spec sha256: \`$sha\`."
	echo
	if [[ "$old" == "$new" ]]; then
		echo "Same release: nothing changed in the API."
	else
		echo "## Breaking changes"
		echo
		go tool oasdiff breaking --format markdown "$old_spec" "$new_spec" || true
		echo
		echo "## Summary"
		echo
		echo '```yaml'
		go tool oasdiff summary "$old_spec" "$new_spec" || true
		echo '```'
		echo
		echo "## All changes"
		echo
		go tool oasdiff changelog --format markdown "$old_spec" "$new_spec" || true
	fi
	echo
	echo "## Generated code"
	echo
	echo '```'
	git diff --stat -- api internal openapi 2>/dev/null | tail -n 20 || true
	echo '```'
} >"$summary"

cat "$summary"
if [[ -n "$summary_file" ]]; then
	cp "$summary" "$summary_file"
fi
step "done: goimmich now targets Immich $new"

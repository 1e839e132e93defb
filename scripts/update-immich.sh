#!/usr/bin/env bash
# update-immich.sh [--no-summary] VERSION [SUMMARY_FILE]
#
# Moves goimmich to Immich release VERSION with no hand edits: fetches the
# spec, records the version and its sha256 in openapi/, regenerates (api/,
# api/apispec, the CLI's api commands and wrapper's table of operations),
# refreshes the CLI golden files that show the spec (the api command's help,
# an answer with the server version), builds, vets and tests, and prints a change
# summary: the spec's changes from oasdiff (breaking changes first), then the
# changes of the Go API of packages api and wrapper from apidiff (incompatible
# changes first). The summary is also written to SUMMARY_FILE when given (the
# upstream-sync workflow uses it as the pull request body). --no-summary skips
# the summary (scripts/regen-matrix.sh only needs the checks).
#
# oasdiff is pinned as a go tool in go.mod. apidiff is run with
# "go run pkg@version" (pinned below): as a go.mod tool, golang.org/x/exp
# would raise the golang.org/x/tools and x/mod that staticcheck and
# oapi-codegen are built with.
#
# The spec comes from $IMMICH_SPEC_DIR when set, else from the Immich
# repository at tag vVERSION. On failure the work tree is left as it is, for
# inspection; "git checkout openapi api internal wrapper"
# undoes it.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ -n "${IMMICH_SPEC_DIR:-}" ]]; then
	IMMICH_SPEC_DIR="$(cd "$IMMICH_SPEC_DIR" && pwd)"
	export IMMICH_SPEC_DIR
fi
apidiff_pkg="golang.org/x/exp/cmd/apidiff@v0.0.0-20261113113407-e3970619a1a4"
with_summary=1
if [[ "${1:-}" == "--no-summary" ]]; then
	with_summary=0
	shift
fi
summary_file=""
if [[ $# -ge 2 ]]; then
	summary_file="$(realpath -m "$2")"
fi
cd "$root"

new="${1:-}"
new="${new#v}"
if [[ -z "$new" ]]; then
	echo "usage: scripts/update-immich.sh [--no-summary] VERSION [SUMMARY_FILE]   (e.g. 3.0.3)" >&2
	exit 2
fi
old="$(tr -d '[:space:]' <openapi/IMMICH_VERSION)"

step() { echo "update-immich: $* (${SECONDS}s)" >&2; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# The Go packages whose API changes the summary shows.
go_pkgs=(api wrapper)
module="$(go list -m)"

step "fetching the specs of $old (current) and $new"
scripts/fetch-spec.sh "$old" >/dev/null
sha="$(scripts/fetch-spec.sh "$new" | tail -n 1)"
old_spec=".spec/immich-openapi-specs-$old.json"
new_spec=".spec/immich-openapi-specs-$new.json"

if [[ $with_summary -eq 1 ]]; then
	step "recording the Go API of ${go_pkgs[*]} before the change"
	for p in "${go_pkgs[@]}"; do
		go run "$apidiff_pkg" -w "$work/$p.export" "$module/$p"
	done
fi

step "pinning Immich $new (sha256 $sha)"
echo "$new" >openapi/IMMICH_VERSION
echo "$sha" >openapi/IMMICH_SPEC_SHA256

step "regenerating"
go generate ./...
step "building, vetting"
go build ./...
go vet ./...
step "refreshing the CLI golden files that show the spec"
go test -count=1 ./internal/cli/root -run '^(TestHelpGolden|TestAPIOperationsAgainstFake)$' -update >&2
step "testing"
go test -count=1 ./... >&2

if [[ $with_summary -eq 0 ]]; then
	step "done: goimmich now targets Immich $new (no summary asked)"
	exit 0
fi

count_ops() { grep -o '"operationId"' "$1" | wc -l | tr -d ' '; }

summary="$work/summary.md"
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
	echo "## Go API changes"
	echo
	echo "From apidiff: what code using these packages may have to change."
	for p in "${go_pkgs[@]}"; do
		echo
		echo "### package $p"
		echo
		changes="$(go run "$apidiff_pkg" "$work/$p.export" "$module/$p" 2>&1)" || true
		if [[ -z "$changes" ]]; then
			echo "No change."
		else
			echo '```'
			echo "$changes"
			echo '```'
		fi
	done
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

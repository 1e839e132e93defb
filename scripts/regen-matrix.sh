#!/usr/bin/env bash
# regen-matrix.sh [--skip-pinned] [VERSION...]
#
# Proves that goimmich regenerates with no hand edit for every Immich release
# it generates from: for each release (the VERSIONs given, else every
# immich-openapi-specs-VERSION.json in $IMMICH_SPEC_DIR), it copies this work
# tree (tracked and untracked files, not ignored ones) to a scratch folder and
# runs "scripts/update-immich.sh --no-summary VERSION" there: fetch, pin,
# go generate, build, vet, refresh the golden files that show the spec, and
# go test (without -race) of every package. It fails when one release fails,
# and names it; this work tree is never changed.
#
# Releases of another major than the pinned one (openapi/IMMICH_VERSION) are
# not generated from, by design (COMPATIBILITY.md): the api types come from the
# pinned major and read the answers of the older one through package apitypes,
# which the tests check against the fake server under each such spec. The
# script lists them as skipped, with that reason. --skip-pinned also skips the
# pinned release, which CI has tested and check-drift.sh regenerated already.
#
# The Go build cache is shared with the work tree, so packages that do not
# depend on api are not rebuilt.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
pinned="$(tr -d '[:space:]' <openapi/IMMICH_VERSION)"

skip_pinned=0
if [[ "${1:-}" == "--skip-pinned" ]]; then
	skip_pinned=1
	shift
fi

versions=("$@")
if [[ ${#versions[@]} -eq 0 ]]; then
	if [[ -z "${IMMICH_SPEC_DIR:-}" ]]; then
		echo "regen-matrix: set IMMICH_SPEC_DIR to the folder of immich-openapi-specs-VERSION.json files," >&2
		echo "  or name the releases: scripts/regen-matrix.sh 3.0.1 3.0.3" >&2
		exit 2
	fi
	for f in "$IMMICH_SPEC_DIR"/immich-openapi-specs-*.json; do
		[[ -e "$f" ]] || continue
		v="${f##*/immich-openapi-specs-}"
		versions+=("${v%.json}")
	done
	if [[ ${#versions[@]} -eq 0 ]]; then
		echo "regen-matrix: no immich-openapi-specs-VERSION.json in IMMICH_SPEC_DIR=$IMMICH_SPEC_DIR" >&2
		exit 2
	fi
	mapfile -t versions < <(printf '%s\n' "${versions[@]}" | sort -V)
fi
if [[ -n "${IMMICH_SPEC_DIR:-}" ]]; then
	IMMICH_SPEC_DIR="$(cd "$IMMICH_SPEC_DIR" && pwd)"
	export IMMICH_SPEC_DIR
fi

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

passed=() failed=() skipped=()
for v in "${versions[@]}"; do
	v="${v#v}"
	if [[ "${v%%.*}" != "${pinned%%.*}" ]]; then
		echo "regen-matrix: $v: skipped: not generated from, by design: the api types come from Immich ${pinned%%.*}.x and read $v's answers (COMPATIBILITY.md)" >&2
		skipped+=("$v")
		continue
	fi
	if [[ $skip_pinned -eq 1 && "$v" == "$pinned" ]]; then
		echo "regen-matrix: $v: skipped: the pinned release (--skip-pinned)" >&2
		skipped+=("$v")
		continue
	fi
	tree="$scratch/$v"
	mkdir -p "$tree"
	git ls-files -z --cached --others --exclude-standard |
		while IFS= read -r -d '' f; do [[ -e "$f" ]] && printf '%s\0' "$f"; done |
		xargs -0 cp --parents -t "$tree"
	# A repository of its own, for the tests and diffs that ask git.
	git -C "$tree" init -q
	git -C "$tree" add -A
	start=$SECONDS
	echo "regen-matrix: $v: regenerating, building, vetting, testing in a scratch copy" >&2
	if (cd "$tree" && scripts/update-immich.sh --no-summary "$v") >"$scratch/$v.log" 2>&1; then
		echo "regen-matrix: $v: ok ($((SECONDS - start))s)" >&2
		passed+=("$v")
	else
		tail -n 60 "$scratch/$v.log" >&2
		echo "regen-matrix: $v: FAIL ($((SECONDS - start))s; the last lines of its log are above)" >&2
		failed+=("$v")
	fi
	rm -rf "$tree"
done

echo "regen-matrix: passed: ${passed[*]:-none}; skipped: ${skipped[*]:-none}; failed: ${failed[*]:-none}" >&2
if [[ ${#failed[@]} -gt 0 ]]; then
	echo "regen-matrix: FAIL: hand-written code or tests do not survive a regeneration for ${failed[*]}." >&2
	echo "  Make them independent of what varies between releases (see COMPATIBILITY.md), never edit api/." >&2
	exit 1
fi

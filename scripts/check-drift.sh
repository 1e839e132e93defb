#!/usr/bin/env bash
# check-drift.sh
#
# Regenerates everything "go generate ./..." makes from the pinned Immich spec,
# in a scratch copy of this work tree, and fails when the committed generated
# files differ: a hand edit, a stale generation, a file that generation no
# longer makes, or a spec whose sha256 is not the pinned one.
#
# Generated files are every file under api/ and every Go file whose first
# lines say "Code generated ... DO NOT EDIT.". The spec comes from
# $IMMICH_SPEC_DIR when set, else from the Immich repository at the pinned tag
# (scripts/fetch-spec.sh).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ -n "${IMMICH_SPEC_DIR:-}" ]]; then
	IMMICH_SPEC_DIR="$(cd "$IMMICH_SPEC_DIR" && pwd)" || {
		echo "check-drift: IMMICH_SPEC_DIR=$IMMICH_SPEC_DIR is not a folder" >&2
		exit 1
	}
	export IMMICH_SPEC_DIR
fi
cd "$root"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# generated_files DIR: the generated files of the tree at DIR, one per line.
generated_files() {
	(
		cd "$1"
		{
			find api -type f 2>/dev/null
			grep -rlE --include='*.go' --exclude-dir=.spec --exclude-dir=.git \
				'^// Code generated .* DO NOT EDIT\.$' . 2>/dev/null | sed 's|^\./||'
		} | sort -u
	)
}

# The work tree as it is (tracked and untracked files, not ignored ones).
git ls-files -z --cached --others --exclude-standard |
	while IFS= read -r -d '' f; do [[ -e "$f" ]] && printf '%s\0' "$f"; done |
	xargs -0 cp --parents -t "$tmp"

# Remove what generation makes, so a stale or extra file shows up.
generated_files "$tmp" | (cd "$tmp" && xargs -r rm -f)

echo "check-drift: regenerating in a scratch copy (pinned Immich $(cat openapi/IMMICH_VERSION))" >&2
if ! (cd "$tmp" && go generate ./... >"$tmp.log" 2>&1); then
	cat "$tmp.log" >&2
	rm -f "$tmp.log"
	echo "check-drift: FAIL: generation failed (see above)." >&2
	exit 1
fi
rm -f "$tmp.log"

drift=0
while IFS= read -r f; do
	if [[ ! -f "$tmp/$f" ]]; then
		echo "check-drift: $f: not made by go generate (remove it, or generate it)" >&2
		drift=1
	elif [[ ! -f "$root/$f" ]]; then
		echo "check-drift: $f: generated but not in the work tree (run go generate ./... and commit it)" >&2
		drift=1
	elif ! cmp -s "$root/$f" "$tmp/$f"; then
		echo "check-drift: $f: differs from what the pinned spec generates:" >&2
		diff -u "$tmp/$f" "$root/$f" --label "$f (generated)" --label "$f (work tree)" | head -n 20 >&2 || true
		drift=1
	fi
done < <({ generated_files "$root"; generated_files "$tmp"; } | sort -u)

if [[ $drift -ne 0 ]]; then
	echo "check-drift: FAIL: generated code is out of step with openapi/. Never edit generated files;" >&2
	echo "  run 'go generate ./...' (or scripts/update-immich.sh VERSION to change release) and commit." >&2
	exit 1
fi
echo "check-drift: OK: generated code matches Immich $(cat openapi/IMMICH_VERSION)" >&2

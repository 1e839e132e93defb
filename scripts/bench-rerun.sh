#!/usr/bin/env bash
# bench-rerun.sh: issue 7's measurements, end to end, in one run, printed as
# a table of ratios.
#
#  1. go benchmarks in package wrapper (fake server in a child process):
#     - BenchmarkRerun10k: re-run over an unchanged library of FILES sparse
#       files of FILE_SIZE bytes, all on the server, hash cache on vs off
#       (acceptance: on/off <= 0.1);
#     - BenchmarkUploadFirstRun: first upload of SMALL x 1 MiB + BIG x
#       100 MiB random files (the 603 MB bench folder with 300 + 3), client
#       CPU (getrusage) vs sha1sum's CPU on the same files (acceptance: <=
#       1.3), with a CPU and a heap profile, summarised;
#     - BenchmarkReadTwiceVsOnce: hash-then-upload vs an estimated one-pass
#       upload;
#     - BenchmarkAlbumsPerFolder: 40 albums over a 10 ms-latency server.
#  2. The CLI end to end (unless SKIP_CLI=1): goimmich upload -r over a
#     library like 1.'s against `goimmich fake-server --data`, first run,
#     then the re-run with the hash cache (the default) and with --no-cache
#     (acceptance: <= 0.1), then the official @immich/cli's re-run of the
#     same library, installed from npm (unless SKIP_OFFICIAL=1; acceptance:
#     goimmich's <= 0.2 of it). The cache lives in a temporary
#     XDG_CACHE_HOME, never the user's.
#
# Usage: scripts/bench-rerun.sh
#   env: FILES (10000), FILE_SIZE (1048576), SMALL (300), BIG (3),
#        BENCHTIME (1x), FIRSTRUN_BENCHTIME (3x), SKIP_CLI=1, SKIP_GO=1
#        (only the CLI), SKIP_OFFICIAL=1, KEEP=1 keeps the temporary folder.
# Note: the fake server indexes assets by checksum, as Immich does, so the
# cached re-run's time is the client's plus one bulk-upload-check per 500
# files; the RecheckAfter row shows the client's cost with no server check.
# Disk: the fake servers store FILES*FILE_SIZE bytes (10 GiB by default) at
# a time under TMPDIR; the libraries themselves are sparse.
set -euo pipefail

FILES=${FILES:-10000}
FILE_SIZE=${FILE_SIZE:-1048576}
SMALL=${SMALL:-300}
BIG=${BIG:-3}
BENCHTIME=${BENCHTIME:-1x}

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=official-cli.sh
source "$root/scripts/official-cli.sh"
work="$(mktemp -d -t goimmich-rerun-XXXXXX)"
server_pid=""
cleanup() {
	if [[ -n "$server_pid" ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
	if [[ "${KEEP:-}" != 1 ]]; then rm -rf "$work"; else echo "kept $work" >&2; fi
}
trap cleanup EXIT

need=$((FILES * FILE_SIZE / 1024 + (SMALL + 100 * BIG) * 1024 + 1048576))
avail=$(df -Pk "$work" | awk 'NR == 2 {print $4}')
if ((avail < need)); then
	echo "bench-rerun: $((need / 1048576)) GiB needed under $(dirname "$work"), $((avail / 1048576)) GiB free; lower FILES or FILE_SIZE" >&2
	exit 1
fi

cd "$root"
export XDG_CACHE_HOME="$work/cache" BENCH_RERUN_FILES="$FILES" BENCH_RERUN_FILE_SIZE="$FILE_SIZE" BENCH_SMALL="$SMALL" BENCH_BIG="$BIG"
touch "$work/bench.txt"
if [[ "${SKIP_GO:-}" != 1 ]]; then
echo "== go benchmarks (FILES=$FILES FILE_SIZE=$FILE_SIZE SMALL=$SMALL BIG=$BIG, -benchtime=$BENCHTIME)" >&2
go test -run '^$' -bench '^BenchmarkRerun10k$' -benchtime="$BENCHTIME" ./wrapper/ | tee "$work/bench.txt" >&2
# Three rounds: one round's CPU figures vary by +-20% on a shared machine.
go test -run '^$' -bench '^BenchmarkUploadFirstRun$' -benchtime="${FIRSTRUN_BENCHTIME:-3x}" \
	-cpuprofile "$work/cpu.out" -memprofile "$work/mem.out" -o "$work/wrapper.test" ./wrapper/ | tee -a "$work/bench.txt" >&2
BENCH_SMALL=100 BENCH_BIG=1 go test -run '^$' -bench '^(BenchmarkReadTwiceVsOnce|BenchmarkAlbumsPerFolder)$' -benchtime="$BENCHTIME" ./wrapper/ | tee -a "$work/bench.txt" >&2

echo "== first-run profile (CPU, top 12 by own time; the benchmark's own file generation included)" >&2
go tool pprof -top -nodecount=12 "$work/wrapper.test" "$work/cpu.out" 2>/dev/null | sed -n '/flat%/,$p' | tee "$work/cpu.txt"
echo "== first-run profile (allocated bytes, top 8 under Upload)" >&2
go tool pprof -sample_index=alloc_space -top -nodecount=8 -focus 'wrapper\.\(\*Client\)' "$work/wrapper.test" "$work/mem.out" 2>/dev/null | sed -n '/flat%/,$p'
fi

# metric BENCH UNIT: the value of UNIT on BENCH's line of bench.txt.
metric() {
	awk -v b="$1" -v u="$2" '$1 ~ "^"b"(-[0-9]+)?$" { for (i = 2; i < NF; i++) if ($(i+1) == u) print $i }' "$work/bench.txt" | tail -1
}

cli_on="" cli_off="" official=""
if [[ "${SKIP_CLI:-}" != 1 ]]; then
	echo "== CLI: building goimmich, $FILES files of $FILE_SIZE bytes" >&2
	go build -trimpath -o "$work/goimmich" ./cmd/goimmich
	lib="$work/library"
	mkdir -p "$lib"
	# Sparse files with a distinct first 4 KiB, an hour old (outside the
	# cache's racy window).
	python3 - "$lib" "$FILES" "$FILE_SIZE" <<'EOF'
import os, sys, time
lib, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
old = time.time() - 3600
for k in range(n):
    d = os.path.join(lib, "%03d" % (k // 100))
    os.makedirs(d, exist_ok=True)
    p = os.path.join(d, "IMG_%05d.jpg" % k)
    with open(p, "wb") as f:
        f.write(os.urandom(min(4096, size)))
        f.truncate(size)
    os.utime(p, (old, old))
EOF
	"$work/goimmich" fake-server --addr 127.0.0.1:0 --data "$work/server" >"$work/server.env" 2>"$work/server.log" &
	server_pid=$!
	for _ in $(seq 1 100); do
		grep -q IMMICH_API_KEY "$work/server.env" 2>/dev/null && break
		sleep 0.1
	done
	export IMMICH_INSTANCE_URL="$(sed -n 's/^IMMICH_INSTANCE_URL=//p' "$work/server.env")"
	export IMMICH_API_KEY="$(sed -n 's/^IMMICH_API_KEY=//p' "$work/server.env")"
	[[ -n "$IMMICH_API_KEY" ]] || { cat "$work/server.log" >&2; exit 1; }
	stats() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["stats"])' "$1"; }
	# run NAME ARGS...: goimmich upload -r -j ARGS over the library; prints
	# the wall seconds and checks the JSON stats.
	run() {
		local name=$1 t0 t1
		shift
		t0=$(date +%s.%N)
		"$work/goimmich" upload -r -j --no-progress "$@" "$lib" >"$work/$name.json" 2>"$work/$name.err" || { cat "$work/$name.err" >&2; exit 1; }
		t1=$(date +%s.%N)
		echo "$name: $(stats "$work/$name.json")" >&2
		echo "$t1 - $t0" | bc -l
	}
	run first >/dev/null
	# The first upload leaves gigabytes to write back: let that finish, or
	# it slows whichever re-run comes first.
	sync
	# Alternate, and keep the faster of two of each, so neither always
	# runs on warmer caches.
	a=$(run rerun-cache) b=$(run rerun-nocache --no-cache) c=$(run rerun-nocache2 --no-cache) d=$(run rerun-cache2)
	cli_on=$(echo "if ($a < $d) $a else $d" | bc -l)
	cli_off=$(echo "if ($b < $c) $b else $c" | bc -l)
	printf 'CLI re-run wall s: cache %.3f %.3f, --no-cache %.3f %.3f\n' "$a" "$d" "$b" "$c" >&2
	for f in rerun-cache rerun-cache2; do
		[[ "$(stats "$work/$f.json")" == *"'rejected': $FILES,"*"'hash_cache_hits': $FILES"* ]] || { echo "$f did not find every file cached and on the server" >&2; exit 1; }
	done
	if [[ "${SKIP_OFFICIAL:-}" != 1 ]]; then
		# The official CLI's re-run of the same library (it hashes every
		# file each time), the version scripts/official-cli.sh pins.
		install_official_cli "$work/npm"
		export IMMICH_CONFIG_DIR="$work/immich-config"
		mkdir -p "$IMMICH_CONFIG_DIR"
		t0=$(date +%s.%N)
		"$node" "$immich" upload --recursive --no-progress "$lib" >"$work/official.out" 2>&1 || { tail -20 "$work/official.out" >&2; exit 1; }
		t1=$(date +%s.%N)
		grep -q "Found 0 new files and $FILES duplicates" "$work/official.out" || { tail -5 "$work/official.out" >&2; echo "the official CLI did not find every file on the server" >&2; exit 1; }
		official=$(echo "$t1 - $t0" | bc -l)
		printf 'official CLI re-run wall s: %.3f\n' "$official" >&2
	fi
fi

ratio() { [[ -n "$1" && -n "$2" ]] && echo "scale=4; $1 / $2" | bc -l || echo "n/a"; }
echo
echo "| measurement | value | ratio | acceptance |"
echo "|---|---|---|---|"
if [[ "${SKIP_GO:-}" != 1 ]]; then
printf '| re-run %d x %d B, cache on / off (go bench) | %s ms / %s ms | %s | <= 0.1 |\n' "$FILES" "$FILE_SIZE" \
	"$(metric BenchmarkRerun10k cache-on-ms)" "$(metric BenchmarkRerun10k cache-off-ms)" "$(metric BenchmarkRerun10k on/off-ratio)"
printf '| same, cache on with RecheckAfter (no bulk-upload-check) / off | %s ms / %s ms | %s | (client alone) |\n' \
	"$(metric BenchmarkRerun10k cache-on-norecheck-ms)" "$(metric BenchmarkRerun10k cache-off-ms)" "$(metric BenchmarkRerun10k norecheck/off-ratio)"
fi
if [[ -n "$cli_on" ]]; then
	printf '| re-run %d x %d B, CLI cache / --no-cache (wall) | %.2f s / %.2f s | %s | <= 0.1 |\n' "$FILES" "$FILE_SIZE" "$cli_on" "$cli_off" "$(ratio "$cli_on" "$cli_off")"
fi
if [[ -n "$official" ]]; then
	printf '| same re-run, goimmich (cache) / official CLI 3.2.2 (wall) | %.2f s / %.2f s | %s | <= 0.2 |\n' "$cli_on" "$official" "$(ratio "$cli_on" "$official")"
fi
[[ "${SKIP_GO:-}" == 1 ]] && exit 0
printf '| first upload %d x 1 MiB + %d x 100 MiB, client CPU / sha1sum CPU | %s ms / %s ms | %s | <= 1.3 |\n' "$SMALL" "$BIG" \
	"$(metric BenchmarkUploadFirstRun client-cpu-ms)" "$(metric BenchmarkUploadFirstRun sha1sum-cpu-ms)" "$(metric BenchmarkUploadFirstRun cpu-vs-sha1sum-x)"
printf '| hash-then-upload / one-pass estimate, CPU (100 x 1 MiB + 1 x 100 MiB) | %s ms / %s ms | %s | kept: duplicates are never sent |\n' \
	"$(metric BenchmarkReadTwiceVsOnce two-pass-cpu-ms)" "$(metric BenchmarkReadTwiceVsOnce one-pass-est-cpu-ms)" "$(metric BenchmarkReadTwiceVsOnce two/one-pass-x)"
printf '| 40 albums per folder, 10 ms latency, whole run | %s ns | | |\n' \
	"$(awk '$1 ~ /^BenchmarkAlbumsPerFolder/ {print $3}' "$work/bench.txt" | tail -1)"

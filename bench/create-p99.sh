#!/usr/bin/env bash
# Produce p99 while partitions are being created (issue #11: "produce p99 on an existing topic
# while 1,000 partitions are being created stays < 3x its idle value"), on its own and quicker
# than bench/scale.sh, and able to compare builds in one run.
#
# Each round starts a fresh `sluice serve` (empty data directory, after sync), creates a
# 6-partition topic, then runs `sluice bench produce --throughput 2000` (1 KB records, acks=all)
# on it for SECONDS idle, and again for SECONDS while a loop creates topics of 1,000 partitions
# back to back (as bench/scale.sh does); it prints both p99s and their ratio. With several
# binaries the rounds alternate between them, so each comparison is within one run.
#
#   bench/create-p99.sh [ROUNDS] [SECONDS]     # defaults: 3 rounds, 10 s; builds ./cmd/sluice
#   CREATE_P99_BINS="old=/tmp/sluice-old new=/tmp/sluice-new" bench/create-p99.sh 3
#
# Ports 24291-24293; data in a temp dir removed at exit.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
secs=${2:-10}
work=$(mktemp -d /tmp/sluice-create-p99.XXXXXX)
pid=
trap 'if [[ -n "$pid" ]]; then kill "$pid" 2>/dev/null || true; fi; kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
bins=${CREATE_P99_BINS:-}
if [[ -z "$bins" ]]; then
  go build -o "$work/sluice" ./cmd/sluice
  bins="this=$work/sluice"
fi
kafka=127.0.0.1:24291 http=127.0.0.1:24293
jget() { /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); print(round(eval("d"+sys.argv[1]), 2))' "$1"; }

round() { # label binary
  local label=$1 bin=$2
  rm -rf "$work/data" "$work/stop" "$work/bursts"
  sync
  "$bin" serve --data-dir "$work/data" --kafka-addr $kafka --http-addr $http \
    --controller-addr 127.0.0.1:24292 --schema-registry-addr "" --log-level error >>"$work/broker.log" 2>&1 &
  pid=$!
  until curl -fs "http://$http/readyz" >/dev/null 2>&1; do
    kill -0 $pid 2>/dev/null || { echo "broker exited; log:" >&2; tail -20 "$work/broker.log" >&2; exit 1; }
    sleep 0.05
  done
  "$bin" topic create six -p 6 --brokers $kafka >/dev/null
  local idle busy
  idle=$("$bin" bench produce --brokers $kafka --topic six --record-bytes 1024 --acks all \
    --duration "${secs}s" --throughput 2000 --json 2>/dev/null)
  ( i=0; while [ ! -f "$work/stop" ]; do i=$((i+1)); "$bin" topic create "burst$i" -p 1000 --brokers $kafka >/dev/null; echo $i >"$work/bursts"; done ) &
  local creator=$!
  busy=$("$bin" bench produce --brokers $kafka --topic six --record-bytes 1024 --acks all \
    --duration "${secs}s" --throughput 2000 --json 2>/dev/null)
  touch "$work/stop"; wait $creator
  kill $pid; wait $pid 2>/dev/null || true; pid=
  local ip bp
  ip=$(echo "$idle" | jget "['latency_ms']['p99']")
  bp=$(echo "$busy" | jget "['latency_ms']['p99']")
  echo "$label: idle p50 $(echo "$idle" | jget "['latency_ms']['p50']") p99 $ip ms; creating p50 $(echo "$busy" | jget "['latency_ms']['p50']") p99 $bp ms ($(cat "$work/bursts" 2>/dev/null || echo 0) topics of 1,000 created); ratio $(/usr/bin/python3 -c "print(round($bp/$ip, 2))")"
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 "$rounds"); do
  for b in $bins; do round "${b%%=*}" "${b#*=}"; done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

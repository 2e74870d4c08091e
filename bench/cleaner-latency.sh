#!/usr/bin/env bash
# Produce latency with and without the log cleaner working beside it (docs/benchmarks.md,
# "Log cleaner"). For each run, a fresh single-node `sluice serve` (page-cache mode) gets:
#   - a compacted topic `kv` (1 partition, 1 MiB segments, min.cleanable.dirty.ratio=0.01)
#     taking updates to KEYS keys at LOAD_RATE records/s of LOAD_BYTES-byte values, acks=1,
#     from `sluice bench produce --keys` for LOAD_SECONDS;
#   - starting 5 s in, the measured load: `sluice bench produce` to a 6-partition topic
#     `bench`, acks=all, 1 KiB records at 5000 records/s for MEASURE_SECONDS.
# Runs alternate cleaner off (log.cleaner.enable=false) and on, RUNS of each, and print one
# line per run: cleaner, p50/p95/p99/p99.9 ms of the measured load, the size of kv-0 at the end.
#
#   bench/cleaner-latency.sh          # about 4 minutes with the defaults
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${RUNS:-3}
keys=${KEYS:-10000}
load_rate=${LOAD_RATE:-20000}
load_bytes=${LOAD_BYTES:-200}
load_seconds=${LOAD_SECONDS:-36}
measure_seconds=${MEASURE_SECONDS:-25}

work=$(mktemp -d /tmp/sluice-cleaner-latency.XXXXXX)
broker_pid=
cleanup() {
  if [[ -n "$broker_pid" ]]; then kill "$broker_pid" 2>/dev/null || true; wait "$broker_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
go build -o "$work/sluice" ./cmd/sluice
sluice() { "$work/sluice" "$@" --brokers 127.0.0.1:19392; }

wait_port() {
  for _ in $(seq 1 400); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "port $1 never opened" >&2
  return 1
}

printf '%-8s %8s %8s %8s %8s %10s\n' cleaner p50_ms p95_ms p99_ms p99.9_ms kv-0_bytes
for run in $(seq "$runs"); do
  for cleaner in false true; do
    data="$work/data"
    rm -rf "$data"
    "$work/sluice" serve --data-dir "$data" --kafka-addr 127.0.0.1:19392 --http-addr 127.0.0.1:19394 \
      --controller-addr 127.0.0.1:19393 --log-level error \
      --override log.cleaner.backoff.ms=100 --override "log.cleaner.enable=$cleaner" &
    broker_pid=$!
    wait_port 19392
    sluice topic create kv -p 1 -c cleanup.policy=compact -c segment.bytes=1048576 \
      -c min.cleanable.dirty.ratio=0.01 >/dev/null
    sluice topic create bench -p 6 >/dev/null
    sluice bench produce --topic kv --keys "$keys" --record-bytes "$load_bytes" --acks 1 \
      --throughput "$load_rate" --duration "${load_seconds}s" --json >"$work/load.json" 2>/dev/null &
    load_pid=$!
    sleep 5
    sluice bench produce --topic bench --acks all --throughput 5000 --record-bytes 1024 \
      --duration "${measure_seconds}s" --json 2>/dev/null >"$work/measure.json"
    wait "$load_pid"
    size=$(du -sb "$data/kv-0" | cut -f1)
    kill "$broker_pid"
    wait "$broker_pid" 2>/dev/null || true
    broker_pid=
    python3 - "$work/measure.json" "$cleaner" "$size" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))
l = m["latency_ms"]
print(f'{"on" if sys.argv[2] == "true" else "off":<8} {l["p50"]:8.2f} {l["p95"]:8.2f} {l["p99"]:8.2f} {l["p99_9"]:8.2f} {int(sys.argv[3]):10d}')
EOF
  done
done

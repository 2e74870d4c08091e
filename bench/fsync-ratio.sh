#!/usr/bin/env bash
# Measures what group commit (sluice.group.commit=true: every acknowledged record is fsynced)
# costs against page-cache mode, in one run: the same `sluice bench produce` (1 KB records,
# 6 partitions, idempotent, acks=all) against a fresh broker in each mode, back to back, and
# prints both results and the ratio fsync / page-cache in records per second.
#
#   bench/fsync-ratio.sh            # about 30 s
#
# Knobs (environment): FSYNC_RATIO_DURATION=10s (produce phase of each run),
# FSYNC_RATIO_ROUNDS=1 (this many pairs; each pair's ratio is printed, then the median; odd
# pairs run page-cache first, even pairs fsync first), FSYNC_RATIO_WORK= (work directory;
# default a new one under /tmp, removed at exit). Each run starts on an empty data directory
# after sync(1), so neither pays for the other's write-back.
set -euo pipefail
cd "$(dirname "$0")/.."

duration=${FSYNC_RATIO_DURATION:-10s}
rounds=${FSYNC_RATIO_ROUNDS:-1}
if [[ -n "${FSYNC_RATIO_WORK:-}" ]]; then
  work=$FSYNC_RATIO_WORK
  mkdir -p "$work"
else
  work=$(mktemp -d /tmp/sluice-fsync-ratio.XXXXXX)
fi
broker_pid=
cleanup() {
  if [[ -n "$broker_pid" ]]; then kill "$broker_pid" 2>/dev/null || true; wait "$broker_pid" 2>/dev/null || true; fi
  [[ -n "${FSYNC_RATIO_WORK:-}" ]] || rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/sluice" ./cmd/sluice

wait_port() {
  for _ in $(seq 1 400); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "port $1 never opened" >&2
  return 1
}

# run_mode MODE: a fresh broker (empty data directory) in MODE (page-cache or fsync), one
# produce run against it; prints the bench's JSON result.
run_mode() {
  local mode=$1 data="$work/data-$1" extra=()
  [[ $mode == fsync ]] && extra=(--override sluice.group.commit=true)
  rm -rf "$data"
  sync
  "$work/sluice" serve --data-dir "$data" --kafka-addr 127.0.0.1:19392 --http-addr 127.0.0.1:19394 \
    --controller-addr 127.0.0.1:19393 --schema-registry-addr "" --log-level error "${extra[@]}" &
  broker_pid=$!
  wait_port 19392
  "$work/sluice" bench produce --brokers 127.0.0.1:19392 --topic fsync-ratio --record-bytes 1024 \
    --partitions 6 --acks all --idempotent --duration "$duration" --json 2>/dev/null
  kill "$broker_pid"
  wait "$broker_pid" 2>/dev/null || true
  broker_pid=
  rm -rf "$data"
}

ratios=()
for i in $(seq 1 "$rounds"); do
  if ((i % 2 == 1)); then
    page=$(run_mode page-cache)
    fsync=$(run_mode fsync)
  else
    fsync=$(run_mode fsync)
    page=$(run_mode page-cache)
  fi
  echo "page-cache: $page"
  echo "fsync:      $fsync"
  ratios+=("$(/usr/bin/python3 - "$page" "$fsync" <<'PY'
import json, sys
page, fsync = json.loads(sys.argv[1]), json.loads(sys.argv[2])
p, f = page["records_per_sec"], fsync["records_per_sec"]
print(f"{f / p:.2f} ({f:.0f} / {p:.0f} records/s; p99 ack latency "
      f"{fsync['latency_ms']['p99']:.1f} / {page['latency_ms']['p99']:.1f} ms)")
PY
)")
  echo "fsync/page-cache ratio: ${ratios[-1]}"
done
if ((rounds > 1)); then
  printf '%s\n' "${ratios[@]}" | /usr/bin/python3 -c 'import statistics, sys; r = [float(l.split()[0]) for l in sys.stdin]; print(f"median fsync/page-cache ratio over {len(r)} pairs: {statistics.median(r):.2f}")'
fi

#!/usr/bin/env bash
# Measures Sluice against kfake (franz-go's reference broker, bench/kfake) in one run on this
# machine, with the same `sluice bench` client for both, and writes the generated section of
# docs/benchmarks.md (between the bench/run.sh:begin and :end markers; the rest of the file is
# left alone). Measured, for each broker:
#   - produce and consume throughput: 100 B and 1 KB records, acks=1 and acks=all, 1 and 6
#     partitions (8 cells), each cell on a freshly started broker with an empty data directory,
#     with the broker's CPU seconds (utime+stime from /proc/PID/stat) per GB produced and per GB
#     consumed, and its peak RSS (VmHWM from /proc/PID/status) at the end of the cell;
#   - end-to-end latency (produce call → delivery to a consumer) at a fixed rate;
#   - consumer-group rebalance time (a member leaves → Stable; a member joins → Stable),
#     cooperative-sticky and eager, and offset-commit throughput, one and several in flight.
#
#   bench/run.sh                  # about 6-8 minutes on a 2-core machine
#
# Knobs (environment):
#   BENCH_DURATION=5s             produce phase of each throughput cell
#   BENCH_E2E_DURATION=15s        BENCH_E2E_RATE=10000 (records/s)   BENCH_E2E_RECORD_BYTES=1024
#   BENCH_REBALANCE_ROUNDS=10     BENCH_REBALANCE_MEMBERS=4          BENCH_HEARTBEAT=100ms
#   BENCH_COMMIT_DURATION=5s      BENCH_COMMIT_PARTITIONS=10         BENCH_COMMIT_PARALLEL=8
#   BENCH_OUT=docs/benchmarks.md  the file to update; "-" prints the section instead
#   BENCH_WORK=                   work directory (default: a new one under /tmp, removed at exit)
#
# The producer is kgo's default for acks=all, idempotent (both brokers grant producer ids),
# with 5 requests in flight per broker; acks=1 cannot be idempotent, so those cells use a
# non-idempotent producer with the same 5 in flight. Same client behaviour on both sides.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

duration=${BENCH_DURATION:-5s}
e2e_duration=${BENCH_E2E_DURATION:-15s}
e2e_rate=${BENCH_E2E_RATE:-10000}
e2e_bytes=${BENCH_E2E_RECORD_BYTES:-1024}
rb_rounds=${BENCH_REBALANCE_ROUNDS:-10}
rb_members=${BENCH_REBALANCE_MEMBERS:-4}
heartbeat=${BENCH_HEARTBEAT:-100ms}
commit_duration=${BENCH_COMMIT_DURATION:-5s}
commit_partitions=${BENCH_COMMIT_PARTITIONS:-10}
commit_parallel=${BENCH_COMMIT_PARALLEL:-8}
out=${BENCH_OUT:-docs/benchmarks.md}

if [[ -n "${BENCH_WORK:-}" ]]; then
  work=$BENCH_WORK
  mkdir -p "$work"
else
  work=$(mktemp -d /tmp/sluice-bench-run.XXXXXX)
fi
broker_pid=
cleanup() {
  if [[ -n "$broker_pid" ]]; then kill "$broker_pid" 2>/dev/null || true; wait "$broker_pid" 2>/dev/null || true; fi
  [[ -n "${BENCH_WORK:-}" ]] || rm -rf "$work"
}
trap cleanup EXIT

echo "building sluice and bench/kfake into $work" >&2
go build -o "$work/sluice" ./cmd/sluice
go build -o "$work/kfake" ./bench/kfake
results="$work/results.jsonl"
: >"$results"
started=$(date -u +"%Y-%m-%d %H:%M UTC")
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

wait_port() {
  for _ in $(seq 1 400); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "port $1 never opened" >&2
  return 1
}

# cpu_ticks PID: user+system CPU time of the process, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# peak_rss_kb PID: the process's peak resident set size (VmHWM), in kB.
peak_rss_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }

# start_broker NAME: a fresh broker (empty data directory) on 127.0.0.1:19292; sets broker_pid.
start_broker() {
  local data="$work/data-$1"
  rm -rf "$data"
  case $1 in
  sluice)
    "$work/sluice" serve --data-dir "$data" --kafka-addr 127.0.0.1:19292 --http-addr 127.0.0.1:19294 \
      --controller-addr 127.0.0.1:19293 --log-level error &
    ;;
  kfake)
    "$work/kfake" --port 19292 --data-dir "$data" >/dev/null &
    ;;
  esac
  broker_pid=$!
  wait_port 19292
}

stop_broker() {
  kill "$broker_pid"
  wait "$broker_pid" 2>/dev/null || true
  broker_pid=
  rm -rf "$work/data-sluice" "$work/data-kfake"
}

bench() { "$work/sluice" bench "$@" --brokers 127.0.0.1:19292 --json 2>/dev/null; }

# throughput_cell BROKER BYTES ACKS PARTITIONS
throughput_cell() {
  local broker=$1 bytes=$2 acks=$3 parts=$4 c0 c1 c2 p c n idem=()
  [[ $acks == all ]] && idem=(--idempotent)
  start_broker "$broker"
  c0=$(cpu_ticks "$broker_pid")
  p=$(bench produce --topic cell --record-bytes "$bytes" --acks "$acks" --partitions "$parts" \
    --duration "$duration" --max-in-flight 5 "${idem[@]}")
  c1=$(cpu_ticks "$broker_pid")
  n=$(echo "$p" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["records"])')
  c=$(bench consume --topic cell --num-records "$n" --duration "$duration")
  c2=$(cpu_ticks "$broker_pid")
  printf '{"kind":"throughput","broker":"%s","bytes":%s,"acks":"%s","partitions":%s,"produce":%s,"consume":%s,"cpu_produce_ticks":%s,"cpu_consume_ticks":%s,"peak_rss_kb":%s}\n' \
    "$broker" "$bytes" "$acks" "$parts" "$p" "$c" "$((c1 - c0))" "$((c2 - c1))" "$(peak_rss_kb "$broker_pid")" >>"$results"
  stop_broker
  echo "  $broker ${bytes}B acks=$acks partitions=$parts: done" >&2
}

for broker in sluice kfake; do
  echo "throughput cells against $broker" >&2
  for bytes in 100 1024; do
    for acks in 1 all; do
      for parts in 1 6; do
        throughput_cell "$broker" "$bytes" "$acks" "$parts"
      done
    done
  done
done

for broker in sluice kfake; do
  echo "end-to-end latency, rebalance and commits against $broker" >&2
  start_broker "$broker"
  r=$(bench e2e --topic e2e --record-bytes "$e2e_bytes" --acks all --partitions 6 --throughput "$e2e_rate" \
    --duration "$e2e_duration" --max-in-flight 5 --idempotent)
  printf '{"kind":"e2e","broker":"%s","result":%s}\n' "$broker" "$r" >>"$results"
  for balancer in cooperative-sticky eager; do
    r=$(bench rebalance --topic rebalance --partitions 12 --members "$rb_members" --rounds "$rb_rounds" \
      --balancer "$balancer" --heartbeat-interval "$heartbeat")
    printf '{"kind":"rebalance","broker":"%s","result":%s}\n' "$broker" "$r" >>"$results"
  done
  for parallel in 1 "$commit_parallel"; do
    r=$(bench commit --topic commits --partitions "$commit_partitions" --parallel "$parallel" --duration "$commit_duration")
    printf '{"kind":"commit","broker":"%s","result":%s}\n' "$broker" "$r" >>"$results"
  done
  stop_broker
done

command="bench/run.sh"
for v in BENCH_DURATION BENCH_E2E_DURATION BENCH_E2E_RATE BENCH_E2E_RECORD_BYTES BENCH_REBALANCE_ROUNDS \
  BENCH_REBALANCE_MEMBERS BENCH_HEARTBEAT BENCH_COMMIT_DURATION BENCH_COMMIT_PARTITIONS BENCH_COMMIT_PARALLEL; do
  if [[ -n "${!v:-}" ]]; then command="$v=${!v} $command"; fi
done

export BENCH_RESULTS=$results BENCH_OUT_FILE=$out BENCH_STARTED=$started BENCH_LOAD=$load_before \
  BENCH_COMMAND=$command BENCH_CLK_TCK=$(getconf CLK_TCK) BENCH_DURATION_USED=$duration \
  BENCH_E2E_USED="$e2e_rate records/s of $e2e_bytes B for $e2e_duration, acks=all, 6 partitions" \
  BENCH_RB_USED="$rb_members members, 12 partitions, $rb_rounds rounds, heartbeat.interval $heartbeat" \
  BENCH_COMMIT_USED="$commit_partitions partitions per commit, $commit_duration each, 1 and $commit_parallel in flight" \
  BENCH_MACHINE="$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(awk '/MemTotal/ { printf "%.0f GB RAM", $2 / 1048576 }' /proc/meminfo), Linux $(uname -r), $(go version | cut -d' ' -f3), data on $(findmnt -no SOURCE,FSTYPE --target "$work" | tr -s ' ' ' ') ($(lsblk -dno ROTA "$(findmnt -no SOURCE --target "$work")" 2>/dev/null | tr -d " " | sed 's/1/rotational or virtual disk/; s/0/SSD/'))" \
  BENCH_COMMIT_ID=${BENCH_COMMIT_ID:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}
/usr/bin/python3 "$root/bench/render.py"

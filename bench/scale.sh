#!/usr/bin/env bash
# Scale on one node (issue #11): a real `sluice serve` with one topic of 10,000 partitions.
# Prints every figure:
#   - time to create the 10,000-partition topic (CreateTopics answers once every partition
#     exists here: the controller's proposal returns after the broker's reconcile applied it);
#   - produce throughput of 1 KB records, acks=all, franz-go's default partitioner, over the
#     10,000 partitions vs over a 6-partition topic (same client, same run, alternated twice);
#   - broker RSS (VmRSS, VmHWM from /proc/PID/status);
#   - clean restart (SIGTERM, then exec until /readyz answers) and restart after SIGKILL;
#   - produce ack latency p99 on an existing topic at a fixed rate, idle vs while topics of
#     1,000 partitions are created back to back for the whole measurement.
#
#   bench/scale.sh [PARTITIONS] [SECONDS]   # defaults: 10000 partitions, 10 s per produce run
# Ports 24091-24093 (below the ephemeral range); data in a temp dir removed at exit.
set -euo pipefail
cd "$(dirname "$0")/.."
parts=${1:-10000}
secs=${2:-10}
work=$(mktemp -d /tmp/sluice-scale.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
go build -o "$work/sluice" ./cmd/sluice
kafka=127.0.0.1:24091 http=127.0.0.1:24093
sluice() { "$work/sluice" "$@"; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
jget() { /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); print(round(eval("d"+sys.argv[1]), 2))' "$1"; }

start_broker() {
  "$work/sluice" serve --data-dir "$work/data" --kafka-addr $kafka --http-addr $http \
    --controller-addr 127.0.0.1:24092 --schema-registry-addr "" --log-level error >>"$work/broker.log" 2>&1 &
  pid=$!
}
wait_ready() { # prints ms from $1 until /readyz answers 200
  until curl -fs "http://$http/readyz" >/dev/null 2>&1; do
    kill -0 $pid 2>/dev/null || { echo "broker exited; log:" >&2; tail -20 "$work/broker.log" >&2; exit 1; }
    sleep 0.01
  done
  echo $(( $(now_ms) - $1 ))
}
rss() { awk '/^VmRSS|^VmHWM/ { printf "%s %d MiB  ", $1, $2/1024 }' "/proc/$pid/status"; echo; }
produce() { # topic, extra flags...; prints the JSON result
  local topic=$1; shift
  sluice bench produce --brokers $kafka --topic "$topic" --record-bytes 1024 --acks all \
    --duration "${secs}s" --json "$@" 2>/dev/null
}

start_broker
wait_ready "$(now_ms)" >/dev/null
echo "== create one topic of $parts partitions"
t0=$(now_ms)
sluice topic create scale -p "$parts" --brokers $kafka >/dev/null
create_ms=$(( $(now_ms) - t0 ))
dirs=$(find "$work/data" -maxdepth 1 -name 'scale-*' | wc -l)
echo "created in $create_ms ms ($dirs partition directories on disk)"
sluice topic create six -p 6 --brokers $kafka >/dev/null
echo "RSS after create: $(rss)"

echo "== produce 1 KB records, acks=all, default partitioner, ${secs}s per run (page cache drained with sync before each)"
declare -a r6 rN
for round in 1 2; do
  sync; r6+=("$(produce six | jget "['mb_per_sec']")")
  sync; rN+=("$(produce scale | jget "['mb_per_sec']")")
  echo "round $round: 6 partitions ${r6[-1]} MB/s, $parts partitions ${rN[-1]} MB/s"
done
ratio=$(/usr/bin/python3 -c "print(round(($(IFS=+; echo "${rN[*]}"))/($(IFS=+; echo "${r6[*]}")), 2))")
echo "throughput ratio $parts/6 partitions: $ratio (target >= 0.7)"
echo "RSS after produce: $(rss)"

echo "== restarts"
t0=$(now_ms)
kill -TERM $pid; wait $pid || true
stop_ms=$(( $(now_ms) - t0 ))
t0=$(now_ms); start_broker; clean_ms=$(wait_ready "$t0")
echo "clean stop took $stop_ms ms; clean restart to /readyz: $clean_ms ms (target < 5000)"
echo "RSS after clean restart: $(rss)"
produce six --num-records 20000 >/dev/null   # unflushed data for the crash
kill -KILL $pid; wait $pid 2>/dev/null || true
t0=$(now_ms); start_broker; kill_ms=$(wait_ready "$t0")
echo "restart after SIGKILL to /readyz: $kill_ms ms (target < 10000)"
echo "RSS after SIGKILL restart: $(rss)"

echo "== produce p99 on topic six at 2000 records/s: idle vs while 1,000-partition topics are created"
idle=$(produce six --throughput 2000)
echo "idle: p50 $(echo "$idle" | jget "['latency_ms']['p50']") ms, p99 $(echo "$idle" | jget "['latency_ms']['p99']") ms"
( i=0; while [ ! -f "$work/stop" ]; do i=$((i+1)); sluice topic create "burst$i" -p 1000 --brokers $kafka >/dev/null; echo $i >"$work/bursts"; done ) &
creator=$!
busy=$(produce six --throughput 2000)
touch "$work/stop"; wait $creator
echo "creating: p50 $(echo "$busy" | jget "['latency_ms']['p50']") ms, p99 $(echo "$busy" | jget "['latency_ms']['p99']") ms ($(cat "$work/bursts") topics of 1,000 partitions created meanwhile)"
p99ratio=$(/usr/bin/python3 -c "print(round($(echo "$busy" | jget "['latency_ms']['p99']")/$(echo "$idle" | jget "['latency_ms']['p99']"), 2))")
echo "p99 creating/idle: $p99ratio (target < 3)"
echo "RSS at end: $(rss)"

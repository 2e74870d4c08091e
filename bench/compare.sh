#!/usr/bin/env bash
# Measures Sluice against kfake (franz-go's reference broker, run as a Go module with DataDir)
# in one run on this machine, with the same `sluice bench` load: 1 KB records, acks=all,
# 6 partitions, one franz-go client process. Prints a Markdown table of ratios and absolutes.
#
#   bench/compare.sh [RECORDS]     # default 300000 records per run
set -euo pipefail
cd "$(dirname "$0")/.."
records=${1:-300000}
work=$(mktemp -d /tmp/sluice-bench.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
go build -o "$work/sluice" ./cmd/sluice
go build -o "$work/kfake" ./bench/kfake

wait_port() { for _ in $(seq 1 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; echo "port $1 never opened" >&2; return 1; }
field() { /usr/bin/python3 -c "import json,sys; print(round(json.load(sys.stdin)['$1'], 1))"; }

# cpu_ms PID: user+system CPU time the process has used, in milliseconds.
cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '{ print int(($14 + $15) * 1000 / hz) }' "/proc/$1/stat"; }

run_load() { # $1 = broker address, $2 = broker pid; prints produce/consume MB/s, p99, broker CPU ms per GB
  local p c before mid after
  before=$(cpu_ms "$2")
  p=$("$work/sluice" bench produce --brokers "$1" --topic perf --partitions 6 --record-bytes 1024 \
      --acks all --num-records "$records" --json 2>/dev/null)
  mid=$(cpu_ms "$2")
  c=$("$work/sluice" bench consume --brokers "$1" --topic perf --num-records "$records" --json 2>/dev/null)
  after=$(cpu_ms "$2")
  local gb
  gb=$(/usr/bin/python3 -c "print($records * 1024 / 1e9)")
  echo "$(echo "$p" | field mb_per_sec) $(echo "$c" | field mb_per_sec)" \
    "$(echo "$p" | /usr/bin/python3 -c 'import json,sys; print(round(json.load(sys.stdin)["latency_ms"]["p99"], 1))')" \
    "$(/usr/bin/python3 -c "print(round(($mid - $before) / $gb))")" "$(/usr/bin/python3 -c "print(round(($after - $mid) / $gb))")"
}

# Cold start: time from exec to /readyz answering 200, five fresh data directories.
cold=()
for i in 1 2 3 4 5; do
  start=$(date +%s%N)
  "$work/sluice" serve --data-dir "$work/cold$i" --kafka-addr 127.0.0.1:19192 --http-addr 127.0.0.1:19644 \
    --controller-addr 127.0.0.1:19193 --log-level error &
  pid=$!
  until curl -fs http://127.0.0.1:19644/readyz >/dev/null 2>&1; do sleep 0.005; done
  cold+=($(( ($(date +%s%N) - start) / 1000000 )))
  kill $pid; wait $pid || true
done

"$work/sluice" serve --data-dir "$work/sluice-data" --kafka-addr 127.0.0.1:19092 --http-addr 127.0.0.1:19645 \
  --controller-addr 127.0.0.1:19093 --log-level error &
spid=$!
wait_port 19092
read -r s_prod s_cons s_p99 s_pcpu s_ccpu < <(run_load 127.0.0.1:19092 $spid)
kill $spid; wait $spid || true

"$work/kfake" --port 19094 --data-dir "$work/kfake-data" >/dev/null &
kpid=$!
wait_port 19094
read -r k_prod k_cons k_p99 k_pcpu k_ccpu < <(run_load 127.0.0.1:19094 $kpid)
kill $kpid; wait $kpid || true

ratio() { /usr/bin/python3 -c "print(f'{$1/$2:.2f}')"; }
cat <<TABLE
| measure ($records × 1 KB, acks=all, 6 partitions) | Sluice / kfake | Sluice | kfake |
|---|---|---|---|
| produce MB/s | $(ratio "$s_prod" "$k_prod") | $s_prod | $k_prod |
| read-back MB/s | $(ratio "$s_cons" "$k_cons") | $s_cons | $k_cons |
| produce p99 ack latency ms | $(ratio "$s_p99" "$k_p99") | $s_p99 | $k_p99 |
| broker CPU ms per GB produced | $(ratio "$s_pcpu" "$k_pcpu") | $s_pcpu | $k_pcpu |
| broker CPU ms per GB consumed | $(ratio "$s_ccpu" "$k_ccpu") | $s_ccpu | $k_ccpu |

Cold start (exec to /readyz 200, fresh data dir), ms: ${cold[*]}
TABLE

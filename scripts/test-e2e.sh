#!/usr/bin/env bash
# Runs the end-to-end tests (./tests) as E2E_SHARDS processes side by side (default 2): the
# tests spend most of their time waiting on the broker processes, clients and timeouts they
# start, so shards overlap that waiting. The test binary is built once; its tests are dealt
# to the shards in turn by name, so each shard gets a share of every family (cluster, connect,
# streams, console, …). Each shard's output is printed when it ends; the script fails if any
# shard fails. Extra arguments go to every shard (e.g. -test.v).
set -euo pipefail
cd "$(dirname "$0")/.."
shards=${E2E_SHARDS:-2}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go test -c -o "$work/tests.test" ./tests
mapfile -t names < <(cd tests && "$work/tests.test" -test.list '.*' | grep -E '^(Test|Example|Fuzz)' | sort)
echo "end-to-end: ${#names[@]} tests in $shards shards"
# Tests that share a directory of the tree run in one shard: the kafkajs tests each run
# `npm ci` in tests/node, which replaces node_modules under a sibling's feet.
together='^TestRegistryNode'
mapfile -t dealt < <(printf '%s\n' "${names[@]}" | grep -Ev "$together" || true)
mapfile -t grouped < <(printf '%s\n' "${names[@]}" | grep -E "$together" || true)
pids=()
for ((s = 0; s < shards; s++)); do
  pattern=""
  for ((i = s; i < ${#dealt[@]}; i += shards)); do
    pattern+="${pattern:+|}${dealt[$i]}"
  done
  if ((s == 0)); then
    for g in "${grouped[@]}"; do pattern+="${pattern:+|}$g"; done
  fi
  (cd tests && exec "$work/tests.test" -test.run "^(${pattern})\$" -test.timeout 40m "$@") >"$work/shard$s.log" 2>&1 &
  pids+=($!)
done
status=0
for ((s = 0; s < shards; s++)); do
  if wait "${pids[$s]}"; then
    echo "=== end-to-end shard $((s + 1))/$shards: ok"
    tail -n 3 "$work/shard$s.log"
  else
    status=1
    echo "=== end-to-end shard $((s + 1))/$shards: FAILED"
    cat "$work/shard$s.log"
  fi
done
exit $status

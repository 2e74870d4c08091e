#!/usr/bin/env bash
# Runs every Fuzz target in the module for a short time (FUZZTIME, default 10s each), so CI
# exercises the fuzzers beyond their seed corpora on every change.
set -euo pipefail
fuzztime=${FUZZTIME:-10s}
count=0
while IFS= read -r file; do
  dir=$(dirname "$file")
  for name in $(grep -oE '^func (Fuzz[A-Za-z0-9_]+)\(' "$file" | sed -E 's/^func (Fuzz[A-Za-z0-9_]+)\(/\1/'); do
    echo "fuzz ./$dir $name for $fuzztime"
    go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" "./$dir" >/tmp/fuzz-$name.log 2>&1 || {
      cat /tmp/fuzz-$name.log; echo "fuzz target $name failed" >&2; exit 1; }
    count=$((count + 1))
  done
done < <(grep -rl --include='*_test.go' -E '^func Fuzz' internal cmd tests 2>/dev/null | sort)
echo "fuzz: $count targets ran for $fuzztime each"

#!/usr/bin/env bash
# Runs every fuzz target in the module for FUZZTIME each (default 30s; any
# -fuzztime value works: 20s, 1m, 5000x), one `go test -fuzz` per target,
# and prints a table of execs, fuzzing time and result per target. It exits
# non-zero when any target fails (a crash or a broken invariant); the
# failing input is then in that package's testdata/fuzz/<Target>/ and the
# fuzzer's output is shown.
#
#   scripts/fuzz.sh 20s                 # every target, 20s each
#   FUZZ_PARALLEL=1 scripts/fuzz.sh 1m  # one fuzzing worker per target
#   FUZZ_MATCH=Router scripts/fuzz.sh   # only targets whose name matches
#
# Targets are found by grepping *_test.go files for `func FuzzXxx(`.
#
# go1.26's fuzz coordinator can end a clean run with a bare "context
# deadline exceeded" at the -fuzztime boundary (golang/go#75804, fixed in
# go1.27). Such a run wrote no failing input and printed no test failure;
# it is counted as ok ("ok, deadline race") only when replaying the
# target's corpus (seeds and testdata/fuzz) then passes. Anything else that
# exits non-zero fails.
set -euo pipefail
cd "$(dirname "$0")/.."

FUZZTIME=${1:-${FUZZTIME:-30s}}
# The fuzzed code talks to fakes only, but keep any AWS SDK on this machine.
export AWS_EC2_METADATA_DISABLED=true AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1

parallel=()
if [ -n "${FUZZ_PARALLEL:-}" ]; then parallel=(-parallel "$FUZZ_PARALLEL"); fi

# "<package dir> <target>" per line, sorted.
targets=$(grep -rEo --include='*_test.go' '^func Fuzz[A-Za-z0-9_]+\(' . |
  sed -E 's#^\./(.*)/[^/]+_test\.go:func (Fuzz[A-Za-z0-9_]+)\($#\1 \2#' |
  grep -E " .*${FUZZ_MATCH:-}" | sort -u)
if [ -z "$targets" ]; then
  echo "fuzz.sh: no fuzz targets found" >&2
  exit 1
fi

log=$(mktemp)
trap 'rm -f "$log" "$log.replay"' EXIT
failed=0
results=()
printf 'fuzzing %d targets for %s each\n\n' "$(wc -l <<<"$targets")" "$FUZZTIME"
while read -r dir name; do
  printf '%-40s ' "./$dir $name"
  start=$(date +%s)
  status=ok
  if ! go test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" "${parallel[@]}" "./$dir" >"$log" 2>&1; then
    status=FAIL
  fi
  wall=$(( $(date +%s) - start ))
  # The fuzzer's last progress line: "fuzz: elapsed: 20s, execs: 123456 (6172/sec), new interesting: ..."
  # (none when FUZZTIME ended during the baseline coverage pass).
  last=$(grep -E '^fuzz: elapsed: .*execs: ' "$log" | tail -n 1 || true)
  execs=$(sed -nE 's/.*execs: ([0-9]+).*/\1/p' <<<"$last")
  elapsed=$(sed -nE 's/^fuzz: elapsed: ([^,]+),.*/\1/p' <<<"$last")
  if [ "$status" = ok ] && ! grep -q '^ok' "$log"; then status=FAIL; fi
  if [ "$status" = FAIL ] && grep -q 'context deadline exceeded' "$log" &&
    ! grep -qE 'Failing input written to|panic:|_test\.go:[0-9]+:' "$log"; then
    if go test -count=1 -run "^${name}\$" "./$dir" >"$log.replay" 2>&1; then
      status="ok, deadline race"
    else
      cat "$log.replay" >>"$log"
    fi
  fi
  printf '%s\n' "$status"
  results+=("$(printf '%-24s %-22s %10s %7s %6ss  %s' "./$dir" "$name" "${execs:-0}" "${elapsed:-0s}" "$wall" "$status")")
  if [ "$status" = FAIL ]; then
    failed=$((failed + 1))
    echo "---- output of $name:"
    cat "$log"
    echo "----"
  fi
done <<<"$targets"

printf '\n%-24s %-22s %10s %7s %7s  %s\n' package target execs fuzzed wall result
printf '%s\n' "${results[@]}"
if [ "$failed" -gt 0 ]; then
  printf '\n%d target(s) failed; the failing inputs are under <package>/testdata/fuzz/<target>/\n' "$failed" >&2
  exit 1
fi

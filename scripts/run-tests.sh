#!/usr/bin/env bash
# usage: scripts/run-tests.sh LABEL TEST_BINARY...
# Runs every cmocka test binary, then prints one closing line
# "LABEL: N passed, N failed" counting test cases over all binaries (a
# binary that dies before its summary counts as one failure), with ", N
# skipped" when a test was skipped (never counted as passed; say, a
# feature the server's major lacks).  Exits non-zero when anything failed.
set -uo pipefail
label=$1; shift
passed=0; failed=0; skipped=0; broken=()
out=$(mktemp); trap 'rm -f "$out"' EXIT
for t in "$@"; do
	echo "== $(basename "$t")"
	# GM_TEST_RUNNER (say valgrind) runs each binary when set.
	${GM_TEST_RUNNER:-} "$t" 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	# A binary may run several groups: add up every group's summary.
	run=$(sed -n 's/^\[==========\] \([0-9]*\) test(s) run\./\1/p' "$out" | awk '{s += $1} END {if (NR) print s}')
	bad=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test(s), listed below:/\1/p' "$out" | awk '{s += $1} END {print s + 0}')
	if [ -z "$run" ]; then
		failed=$((failed + 1)); broken+=("$(basename "$t") (died: exit $rc)")
		continue
	fi
	skip=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test(s), listed below:/\1/p' "$out" | awk '{s += $1} END {print s + 0}')
	passed=$((passed + run - bad - skip)); failed=$((failed + bad)); skipped=$((skipped + skip))
	[ "$rc" -ne 0 ] && [ "$bad" -eq 0 ] && { failed=$((failed + 1)); broken+=("$(basename "$t") (exit $rc)"); }
	[ "$bad" -gt 0 ] && broken+=("$(basename "$t")")
done
[ ${#broken[@]} -gt 0 ] && echo "$label failures in: ${broken[*]}"
echo "$label: $passed passed, $failed failed$([ "$skipped" -gt 0 ] && echo ", $skipped skipped")"
[ "$failed" -eq 0 ]

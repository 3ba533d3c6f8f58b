#!/usr/bin/env bash
# usage: scripts/run-tests.sh LABEL TEST_BINARY...
# Runs every test binary (each prints cmocka's own summary), then one
# closing line "LABEL: N passed, N failed" counting binaries.  Exits non-zero
# when any failed.
set -uo pipefail
label=$1; shift
passed=0; failed=0; failed_names=()
for t in "$@"; do
	echo "== $(basename "$t")"
	if "$t"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1)); failed_names+=("$(basename "$t")")
	fi
done
[ $failed -gt 0 ] && echo "$label failed: ${failed_names[*]}"
echo "$label: $passed passed, $failed failed"
[ $failed -eq 0 ]

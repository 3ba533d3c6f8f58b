#!/usr/bin/env bash
# usage: scripts/fuzz.sh SECONDS TARGET...
# Runs each libFuzzer target for SECONDS, starting from the kept inputs in
# tests/fuzz/<target>/ plus a working corpus in build/fuzz/corpus/<target>/
# (the lint also from the corpus of tests/lint, read only).
# A crash is copied into tests/fuzz/<target>/ (so make check replays it)
# and makes this script fail.  Prints executions and coverage per target.
set -uo pipefail
seconds=$1; shift
root=$(cd "$(dirname "$0")/.." && pwd)
# Leaks inside libraries the targets call (tests/lsan.supp says which).
export LSAN_OPTIONS="suppressions=$root/tests/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
failed=0
for t in "$@"; do
	corpus="$root/build/fuzz/corpus/$t" crashes="$root/build/fuzz/crashes/$t"
	rm -rf "$crashes"
	mkdir -p "$corpus" "$crashes"
	log="$root/build/fuzz/$t.log" seeds=()
	[ "$t" = lint ] && seeds=("$root"/tests/lint/*/)
	echo "== fuzz_$t for ${seconds}s"
	"$root/build/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix="$crashes/" -print_final_stats=1 "$corpus" "$root/tests/fuzz/$t" "${seeds[@]}" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
	echo "fuzz_$t: exit $rc, ${execs:-?} executions, $cov, corpus $(ls "$corpus" | wc -l) inputs"
	for c in "$crashes"/*; do
		[ -e "$c" ] || continue
		cp "$c" "$root/tests/fuzz/$t/$(basename "$c")"
		echo "fuzz_$t: crashing input kept as tests/fuzz/$t/$(basename "$c")"
		failed=1
	done
	[ $rc -ne 0 ] && failed=1 && tail -n 30 "$log"
done
exit $failed

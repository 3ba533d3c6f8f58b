#!/usr/bin/env bash
# usage: scripts/matrix.sh OUTDIR IT_BINARY...
# The version matrix (make check-matrix).  For each major in PG_MATRIX
# (default 14 15 16 17 18), on a throwaway server of that major
# (scripts/pg-fetch.sh finds or fetches it):
#   - the project's life cycle in a fresh database: up, verify against the
#     committed schema/snapshot.yaml, verify --isolation, rollback --to 0
#     and up again: one row of the table;
#   - the integration suite, for the majors in PG_MATRIX_SUITE (default:
#     all of PG_MATRIX);
# then, for each pair A:B in PG_CROSS (default 15:18 14:18), a snapshot
# dumped on A verifies on B and one dumped on B verifies on A, with zero
# findings (scripts/cross-major.sh).  Prints the table (also written to
# OUTDIR/matrix.md) and one closing line counting every test case.
# GM_BIN and GM_ROOT as for the integration tests.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$1; shift
its=("$@")
majors=${PG_MATRIX:-14 15 16 17 18}
suite=${PG_MATRIX_SUITE-$majors}
cross=${PG_CROSS-15:18 14:18}
mkdir -p "$out"
passed=0; failed=0; skipped=0; broken=()

# Adds a run's closing "LABEL: N passed, N failed" line to the totals.
count() {
	local label=$1 log=$2 line p f
	line=$(grep -E '^[a-z0-9-]+: [0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
	if [ -z "$line" ]; then
		failed=$((failed + 1)); broken+=("$label (no result)"); return
	fi
	p=$(sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed.*/\1/' <<<"$line")
	f=$(sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed.*/\2/' <<<"$line")
	s=$(sed -nE 's/.*, ([0-9]+) skipped.*/\1/p' <<<"$line")
	passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + ${s:-0}))
	[ "$f" -gt 0 ] && broken+=("$label")
}

rows=()
for m in $majors; do
	echo "== PostgreSQL $m"
	if ! bindir=$("$here/pg-fetch.sh" "$m"); then
		failed=$((failed + 1)); broken+=("pg$m (no server)")
		rows+=("| $m | no server | | | | |")
		continue
	fi
	version=$("$bindir/postgres" --version | sed -E 's/^postgres \(PostgreSQL\) ([0-9.]+).*/\1/')
	run_suite=0
	case " $suite " in *" $m "*) run_suite=1 ;; esac
	log=$out/pg$m.log
	rm -f "$out/row-$m.md" "$out/row-$m.log" "$out/suite-$m.log"
	PG_BINDIR=$bindir GM_TEST_PORT= GM_MATRIX_SUITE=$run_suite \
		"$here/with-postgres.sh" "$here/matrix-major.sh" "$m" "$out" "${its[@]}" 2>&1 | tee "$log"
	count "pg$m life cycle" "$out/row-$m.log"
	tests="not run"
	if [ "$run_suite" -eq 1 ]; then
		count "pg$m integration" "$out/suite-$m.log"
		tests=$(sed -nE 's/^integration-pg[0-9]+: ([0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?)$/\1/p' "$out/suite-$m.log" | tail -1)
	fi
	rows+=("| $m ($version) | $(cat "$out/row-$m.md" 2>/dev/null || echo 'did not run | | |') | ${tests:-did not finish} |")
done

for pair in $cross; do
	a=${pair%%:*} b=${pair##*:}
	echo "== snapshots across majors: $a <-> $b"
	rm -f "$out/cross-$a-$b.log"
	"$here/cross-major.sh" "$a" "$b" 2>&1 | tee "$out/cross-$a-$b.log"
	count "cross $a-$b" "$out/cross-$a-$b.log"
done

{
	echo "| major | up | verify (committed snapshot) | verify --isolation | rollback --to 0, up | integration suite |"
	echo "|---|---|---|---|---|---|"
	printf '%s\n' "${rows[@]}"
	for pair in $cross; do
		a=${pair%%:*} b=${pair##*:}
		echo
		sed -n 's/^cross: /snapshots across majors: /p' "$out/cross-$a-$b.log"
	done
} >"$out/matrix.md"
echo
cat "$out/matrix.md"
echo
[ ${#broken[@]} -gt 0 ] && echo "check-matrix failures in: ${broken[*]}"
echo "check-matrix: $passed passed, $failed failed$([ "$skipped" -gt 0 ] && echo ", $skipped skipped")"
[ "$failed" -eq 0 ]

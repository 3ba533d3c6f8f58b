#!/usr/bin/env bash
# usage: scripts/matrix-major.sh MAJOR OUTDIR IT_BINARY...
# One major of the version matrix (scripts/matrix.sh), run by
# with-postgres.sh on a server of that major.  Writes OUTDIR/row-MAJOR.md
# (the table's cells: up, verify, verify --isolation, rollback --to 0 and
# up), OUTDIR/row-MAJOR.log (each step, with a closing "N passed, N
# failed" line), and, when GM_MATRIX_SUITE=1, runs the integration suite
# into OUTDIR/suite-MAJOR.log.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
m=$1 out=$2; shift 2
: "${GM_BIN:?}" "${GM_ROOT:?}"
# Debian's psql talks to every major; a fetched server has no psql.
psql=$("$here/pg-bindir.sh")/psql
[ -x "$psql" ] || psql=psql

log=$out/row-$m.log
: >"$log"
ok=0; bad=0
db=gm_matrix
"$psql" -X -q -d postgres -c "CREATE DATABASE $db" >>"$log" 2>&1
url="dbname=$db"

# step COMMAND...: runs a garage-migrate command from the project's folder
# (its migrations, its committed snapshot); its output stays in step.out.
step() {
	echo "\$ garage-migrate $*" >>"$log"
	if (cd "$GM_ROOT" && "$GM_BIN" -d "$url" "$@") >"$out/step.out" 2>&1; then
		cat "$out/step.out" >>"$log"
		ok=$((ok + 1)); echo "ok   pg$m: garage-migrate $*"
		return 0
	fi
	cat "$out/step.out" >>"$log"
	bad=$((bad + 1)); echo "FAIL pg$m: garage-migrate $* (see $log)"
	sed 's/^/    /' "$out/step.out" | head -20
	return 1
}
failed='**FAILED**'

step up && up=ok || up=$failed
step verify && verify=ok || verify=$failed
# The isolation cell says how many checks passed, as the issue's table did.
if step verify --isolation; then
	iso=$(sed -nE 's/^isolation: [0-9]+ checks.*: ([0-9]+) passed, 0 failed, 0 skipped - ok$/\1 checks ok/p' "$out/step.out")
	[ -n "$iso" ] || { iso=$failed; ok=$((ok - 1)); bad=$((bad + 1)); }
else
	iso=$failed
fi
step rollback --to 0 && step up && again=ok || again=$failed
echo "$up | $verify | $iso | $again" >"$out/row-$m.md"
echo "lifecycle-pg$m: $ok passed, $bad failed" | tee -a "$log"
rm -f "$out/step.out"

if [ "${GM_MATRIX_SUITE:-1}" = 1 ]; then
	"$here/run-tests.sh" "integration-pg$m" "$@" 2>&1 | tee "$out/suite-$m.log"
fi
exit 0

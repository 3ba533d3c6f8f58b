#!/usr/bin/env bash
# usage: scripts/cross-major.sh MAJOR_A MAJOR_B
# A snapshot means the same on every major: on a server of MAJOR_A and one
# of MAJOR_B, both running at once, each project (AI Garage, and the
# tests/fixtures/saas project with its view and SECURITY DEFINER function)
# is migrated, dumped on each server, and each dump verified on the other
# server, which must pass with zero findings (0 errors, 0 warnings).
# Closes with "cross: N passed, N failed".  GM_BIN and GM_ROOT as for the
# integration tests.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
a=$1 b=$2
: "${GM_BIN:?}" "${GM_ROOT:?}"

case ${GM_CROSS_STAGE:-} in
"")
	# A server of A, and inside it one of B (with-postgres.sh each: both
	# are stopped and removed whatever happens).
	bin_a=$("$here/pg-fetch.sh" "$a") && bin_b=$("$here/pg-fetch.sh" "$b") || {
		echo "cross: 0 passed, 1 failed"; exit 1; }
	PG_BINDIR=$bin_a GM_TEST_PORT= GM_CROSS_STAGE=outer GM_CROSS_BIN_B=$bin_b \
		exec "$here/with-postgres.sh" "$0" "$a" "$b" ;;
outer)
	GM_CROSS_URL_A=$GM_TEST_TCP_URL PG_BINDIR=$GM_CROSS_BIN_B GM_TEST_PORT= GM_CROSS_STAGE=inner \
		exec "$here/with-postgres.sh" "$0" "$a" "$b" ;;
esac

url_a=$GM_CROSS_URL_A url_b=$GM_TEST_TCP_URL
out=$(mktemp -d "${TMPDIR:-/tmp}/garage-migrate-cross.XXXXXX")
trap 'rm -rf "$out"' EXIT
psql=psql
ok=0; bad=0

check() {
	local what=$1; shift
	if "$@" >"$out/run.out" 2>&1; then
		ok=$((ok + 1)); echo "ok   $what"
	else
		bad=$((bad + 1)); echo "FAIL $what"; sed 's/^/    /' "$out/run.out" | head -40
	fi
}

# db URL: the URL with another database.
db_url() { echo "${1%/*}/$2"; }

# project NAME DIR [-c FILE]: migrate and dump on both, cross-verify.
project() {
	local name=$1 dir=$2; shift 2
	local s db_a db_b
	db_a=$(db_url "$url_a" "gm_cross_$name") db_b=$(db_url "$url_b" "gm_cross_$name")
	for s in a b; do
		local u=$url_a d=$db_a m=$a
		[ $s = b ] && u=$url_b d=$db_b m=$b
		"$psql" -X -q -d "$u" -c "CREATE DATABASE gm_cross_$name" >/dev/null
		check "$name: up on $m" sh -c 'cd "$1" && shift && exec "$@"' sh "$dir" "$GM_BIN" "$@" -d "$d" up
		check "$name: dump on $m" sh -c 'cd "$1" && shift && exec "$@"' sh "$dir" "$GM_BIN" "$@" -d "$d" dump \
			--output "$out/$name-$m.yaml"
	done
	# verify passes only with no error; zero findings means no warning either.
	for s in a b; do
		local d=$db_b from=$a on=$b
		[ $s = b ] && d=$db_a from=$b on=$a
		check "$name: snapshot dumped on $from verifies on $on with zero findings" \
			verify_clean "$dir" "$@" -d "$d" verify --snapshot "$out/$name-$from.yaml"
	done
}

# verify_clean DIR ARGS...: garage-migrate ARGS from DIR exits 0 and finds
# nothing at all.
verify_clean() {
	local dir=$1; shift
	(cd "$dir" && "$GM_BIN" "$@") >"$out/verify.txt" 2>&1
	local rc=$?
	cat "$out/verify.txt"
	[ $rc -eq 0 ] && grep -q '^verify passed: 0 errors, 0 warnings$' "$out/verify.txt"
}

project aigarage "$GM_ROOT"
skipped=0
if [ "$a" -ge 15 ] && [ "$b" -ge 15 ]; then
	project saas "$GM_ROOT/tests/fixtures/saas" -c "$GM_ROOT/tests/fixtures/saas/garage-migrate.yaml"
else
	# Its view is security_invoker, which PostgreSQL 14 lacks.
	skipped=1
	echo "SKIP saas: its view is security_invoker, new in PostgreSQL 15"
fi
echo "cross: $ok passed, $bad failed$([ $skipped -gt 0 ] && echo ", $skipped skipped") ($a <-> $b)"
[ "$bad" -eq 0 ]

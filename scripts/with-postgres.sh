#!/usr/bin/env bash
# usage: scripts/with-postgres.sh COMMAND [ARGS...]
# Starts a throwaway PostgreSQL cluster in a temporary folder, runs COMMAND
# with PGHOST, PGPORT, PGUSER and PGDATABASE pointing at it, and always
# stops and removes the cluster: on success, failure, Ctrl-C or TERM.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=pg-cluster.sh
. "$here/pg-cluster.sh"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/garage-migrate-test.XXXXXX")
chmod 755 "$tmp"
cleanup() {
	pg_cluster_stop "$tmp/data" immediate
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

port=${GM_TEST_PORT:-$((20000 + RANDOM % 20000))}
pg_cluster_init "$tmp/data"
# TCP on loopback too: some tests need a host:port (poolers, URLs).
# The application name in every log line lets tests count the statements
# one run sent (with PGOPTIONS="-c log_statement=all").
GM_TEST_SERVER_OPTS="-c log_line_prefix='%m [%p] %a '"
pg_cluster_start "$tmp/data" "$tmp/run" "$port" "127.0.0.1" "$GM_TEST_SERVER_OPTS"
# For tests that crash and restart the server (scripts/test-server.sh).
export GM_TEST_PGDATA="$tmp/data" GM_TEST_SOCKDIR="$tmp/run" GM_TEST_PORT="$port" GM_TEST_SERVER_OPTS

export PGHOST="$tmp/run" PGPORT="$port" PGUSER=postgres PGDATABASE=postgres
export GM_TEST_SERVER_LOG="$tmp/server.log"
export GM_TEST_TCP_URL="postgresql://postgres@127.0.0.1:$port/postgres"
unset DATABASE_URL PGSERVICE PGPASSWORD
"$@"

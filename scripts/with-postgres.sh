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
	declare -F stop_bouncer >/dev/null && stop_bouncer
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

# PgBouncer in transaction pooling mode in front of it, as hosted databases
# offer on their pooler port.  It refuses to run as root.
bouncer=$(command -v pgbouncer || echo /usr/sbin/pgbouncer)
if [ -x "$bouncer" ]; then
	bport=$((port + 1))
	mkdir -p "$tmp/bouncer"
	cat >"$tmp/bouncer/pgbouncer.ini" <<INI
[databases]
* = host=127.0.0.1 port=$port
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $bport
unix_socket_dir =
auth_type = trust
auth_file = $tmp/bouncer/users.txt
pool_mode = transaction
max_client_conn = 200
default_pool_size = 10
logfile = $tmp/bouncer/pgbouncer.log
pidfile = $tmp/bouncer/pgbouncer.pid
INI
	echo '"postgres" ""' >"$tmp/bouncer/users.txt"
	[ "$(id -u)" -eq 0 ] && chown -R postgres: "$tmp/bouncer"
	if pg_as_owner "$bouncer" -d "$tmp/bouncer/pgbouncer.ini" >/dev/null 2>&1; then
		export GM_TEST_BOUNCER_URL="postgresql://postgres@127.0.0.1:$bport"
	else
		echo "garage-migrate: pgbouncer did not start; pooler tests will fail" >&2
	fi
fi
stop_bouncer() {
	[ -f "$tmp/bouncer/pgbouncer.pid" ] && kill "$(cat "$tmp/bouncer/pgbouncer.pid")" 2>/dev/null
	return 0
}

export PGHOST="$tmp/run" PGPORT="$port" PGUSER=postgres PGDATABASE=postgres
export GM_TEST_SERVER_LOG="$tmp/server.log"
export GM_TEST_TCP_URL="postgresql://postgres@127.0.0.1:$port/postgres"
unset DATABASE_URL PGSERVICE PGPASSWORD
"$@"

#!/usr/bin/env bash
# usage: scripts/test-server.sh crash-restart
# For tests run by with-postgres.sh: stops the test server the hard way
# (pg_ctl stop -m immediate: no checkpoint, open transactions lost, as in a
# crash), then starts it again with the same settings.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=pg-cluster.sh
. "$here/pg-cluster.sh"
: "${GM_TEST_PGDATA:?run through scripts/with-postgres.sh}"
case "${1:-}" in
crash-restart)
	pg_cluster_stop "$GM_TEST_PGDATA" immediate
	pg_cluster_start "$GM_TEST_PGDATA" "$GM_TEST_SOCKDIR" "$GM_TEST_PORT" "127.0.0.1" "$GM_TEST_SERVER_OPTS"
	;;
*)
	echo "usage: scripts/test-server.sh crash-restart" >&2; exit 2 ;;
esac

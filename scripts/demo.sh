#!/usr/bin/env bash
# usage: scripts/demo.sh start BINARY | stop
# A throwaway PostgreSQL kept in .demo/ (git-ignored), the AI Garage schema
# applied to database garage_demo with garage-migrate up, then list.
# Running it again reuses the cluster: up finds nothing to do.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=pg-cluster.sh
. "$here/pg-cluster.sh"

demo="$root/.demo"

# Whether something listens on 127.0.0.1:$1.
in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# DEMO_PORT if given; else the port this demo took before (.demo/port);
# else the first free one from 54329 up, so another server on 54329 does
# not make the demo fail.
pick_port() {
	if [ -n "${DEMO_PORT:-}" ]; then
		echo "$DEMO_PORT"
	elif [ -f "$demo/port" ]; then
		cat "$demo/port"
	else
		local p=54329
		while in_use "$p" && [ "$p" -lt 54429 ]; do p=$((p + 1)); done
		echo "$p"
	fi
}

# As root the server runs as postgres, which must reach the project folder;
# when it cannot (say the clone lives under /root), the cluster lives in a
# per-project folder under /tmp and .demo/location says where.
pick_dir() {
	mkdir -p "$demo"
	if [ -f "$demo/location" ]; then
		cat "$demo/location"
	elif [ "$(id -u)" -ne 0 ] || runuser -u postgres -- test -x "$root" 2>/dev/null; then
		echo "$demo/cluster"
	else
		local d; d=$(mktemp -d /tmp/garage-migrate-demo.XXXXXX); chmod 755 "$d"
		echo "$d" | tee "$demo/location"
	fi
}

case "${1:-}" in
start)
	bin=$2
	dir=$(pick_dir)
	mkdir -p "$dir"
	[ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
	[ -f "$dir/data/PG_VERSION" ] || pg_cluster_init "$dir/data"
	if pg_as_owner "$PG_BIN/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
		port=$(sed -n 4p "$dir/data/postmaster.pid")	# the running server's
	else
		port=$(pick_port)
		if in_use "$port"; then
			echo "garage-migrate: port $port is taken by another server; run make demo DEMO_PORT=<a free port>" >&2
			exit 1
		fi
		pg_cluster_start "$dir/data" "$dir/run" "$port" "127.0.0.1"
		echo "$port" >"$demo/port"
	fi
	export PGHOST="$dir/run" PGPORT="$port" PGUSER=postgres
	"$PG_BIN/psql" -X -q -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'garage_demo'" | grep -q 1 ||
		"$PG_BIN/psql" -X -q -d postgres -c "CREATE DATABASE garage_demo" >/dev/null
	url="postgresql://postgres@127.0.0.1:$port/garage_demo"
	cd "$root"
	echo "\$ garage-migrate -d $url up"
	"$bin" -d "$url" up
	echo
	echo "\$ garage-migrate -d $url list"
	"$bin" -d "$url" list
	cat <<MSG

The demo database is running (data in $dir).
  connect:  psql "$url"
  or:       export DATABASE_URL=$url; $bin list
  stop it:  make demo-stop   (removes the cluster and its data)
MSG
	;;
stop)
	if [ -d "$demo" ]; then
		dir=$(pick_dir)
		pg_cluster_stop "$dir/data" fast
		rm -rf "$dir" "$demo"
		echo "demo PostgreSQL stopped and removed"
	else
		echo "no demo is running"
	fi
	;;
*)
	echo "usage: scripts/demo.sh start BINARY | stop" >&2; exit 2 ;;
esac

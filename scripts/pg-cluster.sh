# Sourced: helpers to run a throwaway PostgreSQL cluster.  initdb refuses to
# run as root, so as root the server runs as the postgres OS user.
PG_BIN=$("$(dirname "${BASH_SOURCE[0]}")/pg-bindir.sh")

pg_as_owner() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# pg_cluster_init DATADIR
pg_cluster_init() {
	local data=$1
	mkdir -p "$data"
	chmod 700 "$data"
	[ "$(id -u)" -eq 0 ] && chown postgres: "$data" "$(dirname "$data")"
	pg_as_owner "$PG_BIN/initdb" -D "$data" -U postgres --auth=trust -E UTF8 \
		--locale=C --no-sync >"$data.initdb.log" 2>&1 || {
		cat "$data.initdb.log" >&2; return 1; }
	# Everyone is trusted, but for one role over TCP: the tests
	# (it_secrets.c) need a real password check that can fail.  The first
	# matching line wins, so it goes before initdb's trust lines.
	pg_as_owner sh -c 'f=$1/pg_hba.conf; { printf "%s\n" "host all gm_pw_test 127.0.0.1/32 scram-sha-256"; cat "$f"; } >"$f.new" && mv "$f.new" "$f"' sh "$data"
	# PostgreSQL 15's default on 14 too: no CREATE on public for PUBLIC
	# (garage-migrate refuses to run migrations in a schema every role may
	# create in).  In template1 and postgres, before the server starts.
	local db
	for db in template1 postgres; do
		echo "REVOKE CREATE ON SCHEMA public FROM PUBLIC;" |
			pg_as_owner "$PG_BIN/postgres" --single -D "$data" "$db" >>"$data.initdb.log" 2>&1 || {
			cat "$data.initdb.log" >&2; return 1; }
	done
}

# pg_cluster_start DATADIR SOCKETDIR PORT LISTEN [extra -c settings...]
pg_cluster_start() {
	local data=$1 sock=$2 port=$3 listen=$4; shift 4
	local opts="-c listen_addresses='$listen' -c unix_socket_directories='$sock' -p $port"
	opts="$opts -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
	opts="$opts -c max_connections=100 $*"
	mkdir -p "$sock"
	[ "$(id -u)" -eq 0 ] && chown postgres: "$sock"
	pg_as_owner "$PG_BIN/pg_ctl" -D "$data" -o "$opts" -l "$data/../server.log" -w -t 60 start >/dev/null || {
		echo "garage-migrate: PostgreSQL did not start; its log:" >&2
		cat "$data/../server.log" >&2; return 1; }
}

# pg_cluster_stop DATADIR [MODE]
pg_cluster_stop() {
	local data=$1 mode=${2:-fast}
	[ -f "$data/postmaster.pid" ] || return 0
	pg_as_owner "$PG_BIN/pg_ctl" -D "$data" -m "$mode" -w -t 60 stop >/dev/null 2>&1 || true
}

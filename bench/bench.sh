#!/usr/bin/env bash
# usage: scripts/with-postgres.sh bench/bench.sh BINARY [RUNS [PROXY]]
# (or: make bench).  Measures garage-migrate against psql on the throwaway
# server with-postgres.sh started, and prints medians over RUNS runs, each
# as a ratio against a baseline measured in the same run.  See
# bench/README.md for what each row means.
set -euo pipefail
bin=$1 runs=${2:-7} proxy=${3:-}
# dbmate, when installed (npm package dbmate), for the latency row.
dbmate=${DBMATE:-$(command -v dbmate || true)}
root=$(cd "$(dirname "$0")/.." && pwd)
psql=$("$root/scripts/pg-bindir.sh")/psql
pgbench=$("$root/scripts/pg-bindir.sh")/pgbench
work=$(mktemp -d)
proxy_pid=
trap '[ -n "$proxy_pid" ] && kill "$proxy_pid" 2>/dev/null; rm -rf "$work"' EXIT
export PGDATABASE=postgres

q() { "$psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
# Called in $(...): a counter would not survive the subshell.
fresh_db() { local d; d=bench_$(date +%s%N); q -d postgres -c "CREATE DATABASE $d" >/dev/null; echo "$d"; }
now_ns() { date +%s%N; }
# time_ms CMD...: wall-clock milliseconds of one run (output discarded).
time_ms() {
	local t0 t1
	t0=$(now_ns); "$@" >/dev/null 2>&1; t1=$(now_ns)
	echo $(( (t1 - t0) / 1000 ))	# microseconds
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
row() {	# row LABEL TOOL_US BASE_US BASE_LABEL
	awk -v l="$1" -v t="$2" -v b="$3" -v bl="$4" 'BEGIN {
		printf "%-44s %10.2f ms %10.2f ms %7.3fx  (vs %s)\n", l, t / 1000, b / 1000, t / b, bl }'
}

# The SQL of a migrations folder, as psql would run it: what up --dry-run
# prints (header lines are comments), once whole and once with a
# transaction per migration.
sql_of() {	# sql_of DIR OUT_ONE OUT_EACH
	local db; db=$(fresh_db)
	"$bin" -d "dbname=$db" -m "$1" up --dry-run 2>/dev/null | grep -v '^-- dry run' >"$2"
	awk '/^-- .* \(would run in/ { if (open) print "COMMIT;"; print "BEGIN;"; open = 1; next }
	     { print } END { if (open) print "COMMIT;" }' "$2" >"$3"
}

compare_up() {	# compare_up LABEL DIR
	local label=$1 dir=$2 one=$work/one.sql each=$work/each.sql t_gm=() t_single=() t_one=() t_each=() db k
	sql_of "$dir" "$one" "$each"
	for k in $(seq "$runs"); do
		db=$(fresh_db); t_gm+=("$(time_ms "$bin" -d "dbname=$db" -m "$dir" up)")
		db=$(fresh_db); t_single+=("$(time_ms "$bin" -d "dbname=$db" -m "$dir" up --single-transaction)")
		db=$(fresh_db); t_one+=("$(time_ms q -1 -d "$db" -f "$one")")
		db=$(fresh_db); t_each+=("$(time_ms q -d "$db" -f "$each")")
	done
	local gm one_m each_m
	gm=$(printf '%s\n' "${t_gm[@]}" | median)
	one_m=$(printf '%s\n' "${t_one[@]}" | median)
	each_m=$(printf '%s\n' "${t_each[@]}" | median)
	row "$label: up" "$gm" "$one_m" "psql -1 -f, the floor"
	row "$label: up --single-transaction" "$(printf '%s\n' "${t_single[@]}" | median)" "$one_m" "psql -1 -f, the floor"
	row "$label: up" "$gm" "$each_m" "psql, a transaction per file"
	row "$label: psql, a transaction per file" "$each_m" "$one_m" "psql -1 -f"
}

printf '%-44s %13s %13s %8s\n' "scenario (median of $runs runs)" "measured" "baseline" "ratio"

# 1. The project's migrations.
compare_up "1. project migrations (8)" "$root/migrations"

# 2. A thousand small migrations.
small=$work/small; mkdir -p "$small"
for i in $(seq 1 1000); do printf 'CREATE TABLE t_%04d (id int);\n' "$i" >"$small/$(printf '%04d' "$i")_t.sql"; done
compare_up "2. 1,000 small migrations" "$small"

# 3. list and verify with 1,000 applied, against one psql query.
db=$(fresh_db)
"$bin" -d "dbname=$db" -m "$small" up >/dev/null
"$bin" -d "dbname=$db" dump --output "$work/snap.yaml" 2>/dev/null
t_list=() t_verify=() t_psql=()
for k in $(seq "$runs"); do
	t_list+=("$(time_ms "$bin" -d "dbname=$db" -m "$small" list)")
	t_verify+=("$(time_ms "$bin" -d "dbname=$db" -m "$small" verify --snapshot "$work/snap.yaml")")
	t_psql+=("$(time_ms q -d "$db" -c 'SELECT 1')")
done
p=$(printf '%s\n' "${t_psql[@]}" | median)
row "3. list, 1,000 applied" "$(printf '%s\n' "${t_list[@]}" | median)" "$p" "psql -c 'SELECT 1'"
row "3. verify, 1,000 applied (1,000 tables)" "$(printf '%s\n' "${t_verify[@]}" | median)" "$p" "psql -c 'SELECT 1'"

# 4. Round trips: every statement message the server logs for one up of
# the 1,000 small migrations (simple queries log once per round trip).
db=$(fresh_db)
PGAPPNAME=gm-bench-rt PGOPTIONS='-c log_statement=all' "$bin" -d "dbname=$db" -m "$small" up >/dev/null
rt=$(grep -cE '\] gm-bench-rt LOG:  (statement|execute [^:]*):' "$GM_TEST_SERVER_LOG" || true)
# Batches hold up to 100 migrations: 10 for the 1,000.
awk -v rt="$rt" 'BEGIN { printf "%-44s %10d    %10d    %7.3f   (round trips per migration: 10 batches of 100, %d more for the run)\n",
	"4. round trips, 1,000 migrations", rt, 1000, rt / 1000, rt - 10 }'

# 6. Latency: the same 1,000 through a proxy that holds every byte 5 ms
# each way (a database 10 ms away), against the same up straight over TCP.
# dbmate, when installed, over the same proxy (on 100 migrations: it pays
# round trips per migration, 1,000 would take minutes).
if [ -n "$proxy" ]; then
	pport=$((PGPORT + 2))
	"$proxy" "$pport" "$PGPORT" --rtt-ms 10 --seconds 7200 &
	proxy_pid=$!
	sleep 0.3
	tcp="host=127.0.0.1 port=$PGPORT sslmode=disable gssencmode=disable"
	far="host=127.0.0.1 port=$pport sslmode=disable gssencmode=disable"
	t_near=() t_far=()
	for k in $(seq "$runs"); do
		db=$(fresh_db); t_near+=("$(time_ms "$bin" -d "$tcp dbname=$db" -m "$small" up)")
		db=$(fresh_db); t_far+=("$(time_ms "$bin" -d "$far dbname=$db" -m "$small" up)")
	done
	near=$(printf '%s\n' "${t_near[@]}" | median)
	row "6. 1,000 migrations, 10 ms RTT: up" "$(printf '%s\n' "${t_far[@]}" | median)" "$near" "the same up with no added latency"
	if [ -n "$dbmate" ]; then
		hundred=$work/hundred; mkdir -p "$hundred"
		for i in $(seq 1 100); do
			printf -- '-- migrate:up\nCREATE TABLE t_%04d (id int);\n\n-- migrate:down\n' "$i" >"$hundred/$(printf '%04d' "$i")_t.sql"
		done
		t_db=() t_gm=()
		for k in $(seq "$(( runs < 3 ? runs : 3 ))"); do
			db=$(fresh_db); t_gm+=("$(time_ms "$bin" -d "$far dbname=$db" -m "$hundred" up)")
			db=$(fresh_db); t_db+=("$(time_ms env DATABASE_URL="postgres://postgres@127.0.0.1:$pport/$db?sslmode=disable" \
				"$dbmate" --no-dump-schema --migrations-dir "$hundred" migrate)")
		done
		row "6. 100 migrations, 10 ms RTT: dbmate" "$(printf '%s\n' "${t_db[@]}" | median)" \
			"$(printf '%s\n' "${t_gm[@]}" | median)" "garage-migrate up, same proxy"
	else
		echo "6. dbmate: not installed (npm install dbmate; or DBMATE=path), row skipped"
	fi
	kill "$proxy_pid" 2>/dev/null; proxy_pid=
fi

# 7. Marginal cost per migration, locally: (1,000 migrations - 1) / 999,
# garage-migrate up against psql with a transaction per file, so that
# start-up (connecting, reading files) is left out of both.
one=$work/one; mkdir -p "$one"; cp "$small/0001_t.sql" "$one/"
sql_of "$small" "$work/s1000.sql" "$work/e1000.sql"
sql_of "$one" "$work/s1.sql" "$work/e1.sql"
t_g1=() t_g1000=() t_p1=() t_p1000=() t_n1=() t_n1000=()
for k in $(seq "$runs"); do
	db=$(fresh_db); t_g1+=("$(time_ms "$bin" -d "dbname=$db" -m "$one" up)")
	db=$(fresh_db); t_g1000+=("$(time_ms "$bin" -d "dbname=$db" -m "$small" up)")
	db=$(fresh_db); t_n1+=("$(time_ms "$bin" -d "dbname=$db" -m "$one" up --allow-isolation-loss)")
	db=$(fresh_db); t_n1000+=("$(time_ms "$bin" -d "dbname=$db" -m "$small" up --allow-isolation-loss)")
	db=$(fresh_db); t_p1+=("$(time_ms q -d "$db" -f "$work/e1.sql")")
	db=$(fresh_db); t_p1000+=("$(time_ms q -d "$db" -f "$work/e1000.sql")")
done
m_gm=$(awk -v a="$(printf '%s\n' "${t_g1000[@]}" | median)" -v b="$(printf '%s\n' "${t_g1[@]}" | median)" 'BEGIN { print (a - b) / 999 }')
m_ps=$(awk -v a="$(printf '%s\n' "${t_p1000[@]}" | median)" -v b="$(printf '%s\n' "${t_p1[@]}" | median)" 'BEGIN { print (a - b) / 999 }')
m_ng=$(awk -v a="$(printf '%s\n' "${t_n1000[@]}" | median)" -v b="$(printf '%s\n' "${t_n1[@]}" | median)" 'BEGIN { print (a - b) / 999 }')
awk -v g="$m_gm" -v p="$m_ps" 'BEGIN {
	printf "%-44s %10.3f ms %10.3f ms %7.3fx  (vs psql, a transaction per file)\n", "7. marginal cost per migration, locally", g / 1000, p / 1000, g / p }'
# The isolation guard's share: the same without it.
awk -v g="$m_ng" -v p="$m_ps" 'BEGIN {
	printf "%-44s %10.3f ms %10.3f ms %7.3fx  (vs psql, a transaction per file)\n", "7. the same, --allow-isolation-loss", g / 1000, p / 1000, g / p }'

# 8. Peak memory for a 50 MB migration file (one run): garage-migrate up
# against the file's size, and against psql -f of the same file.
big=$work/big; mkdir -p "$big"
awk 'BEGIN { print "CREATE TABLE big (id int PRIMARY KEY, note text);"
	for (k = 0; k < 400000; k++) {
		if (k % 1000 == 0) printf "%s", (k ? ";\nINSERT INTO big VALUES\n" : "INSERT INTO big VALUES\n")
		printf "%s(%d, \047row %d: %0100d\047)", (k % 1000 ? ",\n" : ""), k, k, k }
	print ";" }' >"$big/0001_big.sql"
size=$(stat -c %s "$big/0001_big.sql")
# The same runs, timed: a seed migration's thousands of rows, which up
# lints before it sends them.
rss() { /usr/bin/time -f '%M %e' -o "$work/rss" "$@" >/dev/null 2>&1; cat "$work/rss"; }	# KiB, seconds
db=$(fresh_db); read -r r_gm s_gm < <(rss "$bin" -d "dbname=$db" -m "$big" up)
db=$(fresh_db); read -r r_ps s_ps < <(rss "$psql" -X -q -d "$db" -f "$big/0001_big.sql")
awk -v g="$r_gm" -v p="$r_ps" -v s="$size" 'BEGIN {
	printf "%-44s %10.1f MB %10.1f MB %7.3fx  (peak RSS vs the file; psql -f: %.1f MB)\n",
		"8. peak memory, one migration file", g / 1024, s / 1048576, g * 1024 / s, p / 1024 }'
row "8. the same file: up, time" "$(awk -v t="$s_gm" 'BEGIN { print t * 1000000 }')" \
	"$(awk -v t="$s_ps" 'BEGIN { print t * 1000000 }')" "psql -f of the file, one run"

# 5. The schema's own cost: tenant-scoped reads through RLS, as an
# application role, against the same reads filtered by hand as the owner.
db=$(fresh_db)
"$bin" -d "dbname=$db" -m "$root/migrations" up >/dev/null
q -d "$db" >/dev/null <<'SQL'
INSERT INTO organizations (id, name)
  SELECT ('00000000-0000-0000-0000-' || lpad(n::text, 12, '0'))::uuid, 'org ' || n FROM generate_series(1, 500) n;
INSERT INTO users (id, email) VALUES ('00000000-0000-0000-0000-00000000bbbb', 'bench@example.com');
INSERT INTO custom_agent_orders (title, description, requirements, use_case, complexity, agent_config,
    tools_config, organization_id, created_by_id, status)
  SELECT 'order ' || n, 'd', '{}', 'u', 'SIMPLE', '{}', '{}',
         ('00000000-0000-0000-0000-' || lpad((1 + n % 500)::text, 12, '0'))::uuid,
         '00000000-0000-0000-0000-00000000bbbb', (ARRAY['DRAFT', 'SUBMITTED', 'COMPLETED'])[1 + n % 3]::"OrderStatus"
  FROM generate_series(1, 1000000) n;
INSERT INTO build_logs (order_id, stage, message) SELECT id, 'build', 'log' FROM custom_agent_orders;
VACUUM ANALYZE custom_agent_orders;
VACUUM ANALYZE build_logs;
DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'bench_app') THEN
  CREATE ROLE bench_app LOGIN NOBYPASSRLS; END IF; END $$;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO bench_app;
SQL
cat >"$work/orders_rls.sql" <<'SQL'
\set n random(1, 500)
BEGIN;
SELECT set_config('app.current_org_id', '00000000-0000-0000-0000-' || lpad(:n::text, 12, '0'), true);
SELECT count(*) FROM custom_agent_orders WHERE status = 'DRAFT';
COMMIT;
SQL
# The same transaction as the application's (it must set the tenant
# anyway), with the filter written by hand in the very form the policy
# uses: only the RLS machinery differs.  (A literal tenant id would let
# the planner pick another plan from the statistics, which measures plan
# choice, not RLS.)
cat >"$work/orders_hand.sql" <<'SQL'
\set n random(1, 500)
BEGIN;
SELECT set_config('app.current_org_id', '00000000-0000-0000-0000-' || lpad(:n::text, 12, '0'), true);
SELECT count(*) FROM custom_agent_orders WHERE status = 'DRAFT'
  AND organization_id = (SELECT app_current_org_id());
COMMIT;
SQL
cat >"$work/logs_rls.sql" <<'SQL'
\set n random(1, 500)
BEGIN;
SELECT set_config('app.current_org_id', '00000000-0000-0000-0000-' || lpad(:n::text, 12, '0'), true);
SELECT count(*) FROM build_logs;
COMMIT;
SQL
cat >"$work/logs_hand.sql" <<'SQL'
\set n random(1, 500)
BEGIN;
SELECT set_config('app.current_org_id', '00000000-0000-0000-0000-' || lpad(:n::text, 12, '0'), true);
SELECT count(*) FROM build_logs b JOIN custom_agent_orders o ON o.id = b.order_id
  WHERE o.organization_id = (SELECT app_current_org_id());
COMMIT;
SQL
pgb() {	# pgb USER SCRIPT SECONDS -> transactions per second
	"$pgbench" -n -c 2 -j 2 -T "$3" -U "$1" -f "$2" "$db" 2>/dev/null | sed -n 's/^tps = \([0-9.]*\).*/\1/p'
}
for what in orders logs; do
	# Warm both up, then alternate, so caches and background work (the
	# bulk load's checkpoint, autovacuum) fall on both sides alike.
	pgb bench_app "$work/${what}_rls.sql" 2 >/dev/null
	pgb postgres "$work/${what}_hand.sql" 2 >/dev/null
	r=() h=()
	for k in 1 2 3; do
		r+=("$(pgb bench_app "$work/${what}_rls.sql" 4)")
		h+=("$(pgb postgres "$work/${what}_hand.sql" 4)")
	done
	rls=$(printf '%s\n' "${r[@]}" | median)
	hand=$(printf '%s\n' "${h[@]}" | median)
	# Per-transaction latency with 2 clients = 2 / tps; ratio = hand / rls.
	awk -v l="5. $what of one tenant, via RLS" -v r="$rls" -v h="$hand" 'BEGIN {
		printf "%-44s %10.3f ms %10.3f ms %7.3fx  (vs the owner filtering by hand)\n", l, 2000 / r, 2000 / h, h / r }'
done
echo
echo "EXPLAIN of the tenant-scoped read of orders, as the application role:"
q -d "$db" <<SQL
SET ROLE bench_app;
BEGIN;
SELECT set_config('app.current_org_id', '00000000-0000-0000-0000-000000000007', true) \gset
EXPLAIN (COSTS OFF) SELECT count(*) FROM custom_agent_orders WHERE status = 'DRAFT';
EXPLAIN (COSTS OFF) SELECT count(*) FROM build_logs;
COMMIT;
SQL

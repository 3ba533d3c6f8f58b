#!/usr/bin/env bash
# Prints the folder holding initdb, pg_ctl and postgres (they are not on
# PATH on Debian).  Fails when no PostgreSQL server is installed.
set -euo pipefail
if [ -n "${PG_BINDIR:-}" ] && [ -x "$PG_BINDIR/initdb" ]; then
	echo "$PG_BINDIR"; exit 0
fi
if command -v pg_config >/dev/null 2>&1; then
	d=$(pg_config --bindir)
	if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then echo "$d"; exit 0; fi
fi
# Newest server under Debian's layout, when pg_config names another version.
for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
	if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then echo "$d"; exit 0; fi
done
echo "garage-migrate: no PostgreSQL server binaries (initdb, pg_ctl) found" >&2
exit 1

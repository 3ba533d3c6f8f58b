#!/usr/bin/env bash
# usage: scripts/snapshot.sh BINARY OUTPUT
# Applies the project's migrations to a fresh database on the throwaway
# server of with-postgres.sh and writes its schema snapshot to OUTPUT.
set -euo pipefail
bin=$1 out=$2
db=gm_snapshot_$$
# The server's own psql when it has one; a server fetched for the version
# matrix (scripts/pg-fetch.sh) has none, and Debian's psql talks to them all.
psql=$("$(dirname "$0")/pg-bindir.sh")/psql
[ -x "$psql" ] || psql=psql
"$psql" -X -q -d postgres -c "CREATE DATABASE $db"
"$bin" -d "dbname=$db" up >/dev/null
"$bin" -d "dbname=$db" dump --output "$out"

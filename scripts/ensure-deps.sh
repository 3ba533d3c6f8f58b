#!/usr/bin/env bash
# Checks what building and testing garage-migrate needs on Debian/Ubuntu.
# As root it installs what is missing; otherwise it prints the exact
# apt-get line and fails.
set -euo pipefail

# pgbouncer: the tests run everything through it in transaction pooling mode.

missing=()
have_cmd() { command -v "$1" >/dev/null 2>&1; }
have_pc() { have_cmd pkg-config && pkg-config --exists "$1"; }

have_cmd gcc || have_cmd cc || missing+=(gcc)
have_cmd make || missing+=(make)
have_cmd pkg-config || missing+=(pkg-config)
have_pc libpq || missing+=(libpq-dev)
have_pc yaml-0.1 || missing+=(libyaml-dev)
have_pc libcrypto || missing+=(libssl-dev)
have_pc cmocka || missing+=(libcmocka-dev)
# PostgreSQL's parser as a library (no pkg-config file), and the header of
# the protobuf-c runtime it hands its parse trees over in.
[ -r /usr/include/pg_query.h ] || missing+=(libpg-query-dev)
[ -r /usr/include/protobuf-c/protobuf-c.h ] || missing+=(libprotobuf-c-dev)
"$(dirname "$0")/pg-bindir.sh" >/dev/null 2>&1 || missing+=(postgresql)
have_cmd pgbouncer || [ -x /usr/sbin/pgbouncer ] || missing+=(pgbouncer)
have_cmd valgrind || missing+=(valgrind)
# zsh: the tests drive the zsh completion in a real interactive zsh.
have_cmd zsh || missing+=(zsh)

# make fuzz also needs clang with its libFuzzer runtime.
if [ "${1:-}" = fuzz ]; then
	have_cmd clang || missing+=(clang)
	probe=$(mktemp -d)
	printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' >"$probe/f.c"
	have_cmd clang && clang -fsanitize=fuzzer "$probe/f.c" -o "$probe/f" >/dev/null 2>&1 || missing+=(libclang-rt-14-dev)
	rm -rf "$probe"
fi

# make check-matrix fetches the servers of other majors through npm, and
# tests 15 on Debian's own (postgresql-15, whatever "postgresql" means).
if [ "${1:-}" = matrix ]; then
	have_cmd npm || missing+=(npm)
	[ -x /usr/lib/postgresql/15/bin/initdb ] || missing+=(postgresql-15)
fi

[ ${#missing[@]} -eq 0 ] && exit 0

line="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
	echo "garage-migrate: missing packages: ${missing[*]}" >&2
	echo "install them with:  sudo apt-get update && sudo $line" >&2
	exit 1
fi
echo "garage-migrate: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends ${missing[*]} >/dev/null
# The Debian postgresql and pgbouncer packages may start system services;
# tests and the demo use their own servers, so leave those alone.
"$(dirname "$0")/pg-bindir.sh" >/dev/null

#!/usr/bin/env bash
# Runs build/garage-migrate under valgrind: any memory error or definite
# or indirect leak makes it exit 99, which fails the test that ran it.
here=$(cd "$(dirname "$0")" && pwd)
exec valgrind -q --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect \
	--errors-for-leak-kinds=definite,indirect "$here/../build/garage-migrate" "$@"

# usage: bash tests/completion/complete.bash COMPLETION_DIR BIN_DIR WORKDIR
# Loads the bash completion for garage-migrate and asks it, as bash would
# on Tab, for the words of a few command lines.  Exit 0 when all match.
set -u
. "$1/garage-migrate.bash"
PATH="$(cd "$2" && pwd):$PATH"
cd "$3" || exit 1
fail=0

# complete WANT WORD...: the candidates for the last word must include WANT.
complete_has() {
	local want=$1; shift
	COMP_WORDS=("$@")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMPREPLY=()
	_garage_migrate
	if printf '%s\n' "${COMPREPLY[@]}" | grep -qx -- "$want"; then
		echo "ok: $* -> $want"
	else
		echo "FAIL: $*: wanted $want, got: ${COMPREPLY[*]}"
		fail=1
	fi
}

complete_has rollback garage-migrate rollb
complete_has --dry-run garage-migrate up --dry
complete_has --isolation garage-migrate verify --isol
complete_has always garage-migrate --color al
complete_has json garage-migrate list --format j
complete_has lint garage-migrate li
complete_has --show-ignored garage-migrate lint --show
complete_has sarif garage-migrate lint --format s
complete_has migrations/0001_a.sql garage-migrate lint migrations/0001
# From the project file and the migrations folder, through the tool.
complete_has staging garage-migrate -e st
complete_has 0002 garage-migrate rollback --to 00
exit $fail

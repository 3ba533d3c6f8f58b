# bash completion for garage-migrate                      -*- shell-script -*-
# Installed by `make install` into share/bash-completion/completions.
# Commands, their options, --format and --color values, files and folders
# (lint's FILEs);
# environment names (-e) and migration versions (--to) come from the tool
# itself (garage-migrate __complete), which reads the project file.

_garage_migrate_words()
{
	local cmd=$1
	case $cmd in
	up) echo "--dry-run --to --single-transaction --out-of-order --allow-isolation-loss --format --lock-timeout --statement-timeout --wait-timeout" ;;
	lint) echo "--all --offline --format --strict --show-ignored --lock-timeout" ;;
	list | status | info) echo "--format" ;;
	rollback) echo "--steps --to --dry-run --allow-data-loss --allow-isolation-loss --format --lock-timeout --statement-timeout --wait-timeout" ;;
	baseline) echo "--version --force --lock-timeout --statement-timeout --wait-timeout" ;;
	repair) echo "-y --yes --remove-missing --allow-newer" ;;
	verify) echo "--snapshot --allow-pending --strict --format --junit --isolation --as-role --app-role" ;;
	dump) echo "--schema -o --output" ;;
	log) echo "--format --limit" ;;
	new) echo "--yaml --timestamp" ;;
	init) echo "--force" ;;
	esac
}

_garage_migrate()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
	local commands="up lint list status info rollback baseline repair verify dump log new init help"
	local global="-d --database-url -e --env -c --config -m --migrations --color -h --help -V --version"
	local cmd="" i
	local -a pre=()

	# The command, and the global options before it (they tell the tool
	# which project file and folder to read).
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		-d | --database-url | -e | --env | --color) ((i++)) ;;
		-c | --config | -m | --migrations)
			pre+=("${COMP_WORDS[i]}" "${COMP_WORDS[i + 1]}")
			((i++)) ;;
		-*) ;;
		*) [ -z "$cmd" ] && cmd=${COMP_WORDS[i]} ;;
		esac
	done
	case $prev in
	-m | --migrations) COMPREPLY=($(compgen -d -- "$cur")); return ;;
	-c | --config | --junit | -o | --output | --snapshot) COMPREPLY=($(compgen -f -- "$cur")); return ;;
	-e | --env) COMPREPLY=($(compgen -W "$(garage-migrate "${pre[@]}" __complete envs 2>/dev/null)" -- "$cur")); return ;;
	--to) COMPREPLY=($(compgen -W "0 $(garage-migrate "${pre[@]}" __complete versions 2>/dev/null)" -- "$cur")); return ;;
	--color) COMPREPLY=($(compgen -W "auto always never" -- "$cur")); return ;;
	--format)
		if [ "$cmd" = lint ]; then
			COMPREPLY=($(compgen -W "text json sarif" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "text json" -- "$cur"))
		fi
		return ;;
	-d | --database-url | --lock-timeout | --statement-timeout | --wait-timeout | --steps | --version | \
		--as-role | --app-role | --schema | --limit) return ;;
	esac
	if [ -z "$cmd" ]; then
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "$global" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$commands" -- "$cur"))
		fi
	elif [ "$cmd" = help ]; then
		COMPREPLY=($(compgen -W "$commands" -- "$cur"))
	elif [ "$cmd" = lint ] && [[ $cur != -* ]]; then
		COMPREPLY=($(compgen -f -- "$cur"))	# lint FILE...
	else
		COMPREPLY=($(compgen -W "$(_garage_migrate_words "$cmd") $global" -- "$cur"))
	fi
}
complete -F _garage_migrate garage-migrate

# usage: zsh -f tests/completion/complete.zsh COMPLETION_DIR BIN_DIR
# Drives a real interactive zsh (zpty) with the completion system loaded
# from COMPLETION_DIR and garage-migrate found in BIN_DIR: a command and an
# option must complete when Tab is pressed.  Exit 0 when both do.
zmodload zsh/zpty
# A real interactive zsh with the completion system, driven by keys.
zpty z 'TERM=dumb zsh -f -i'
zpty -w z 'PS1="%% "; unsetopt zle_bracketed_paste; fpath=('"$1"' $fpath); path=('"$2"' $path); autoload -Uz compinit; compinit -u -D; echo READY'
out=''
for i in {1..50}; do zpty -r -t z chunk && out+=$chunk; [[ $out == *READY* ]] && break; sleep 0.1; done
check() {
	local keys=$1 want=$2 got=''
	zpty -w -n z "$keys"$'\t'
	for i in {1..50}; do zpty -r -t z chunk && got+=$chunk; [[ $got == *$want* ]] && break; sleep 0.1; done
	zpty -w -n z $'\C-u'
	[[ $got == *$want* ]] && print "ok: $keys -> $want" || { print "FAIL: $keys: wanted $want, got: ${(q)got}"; return 1 }
}
check 'garage-migrate rollb' 'rollback' || exit 1
check 'garage-migrate up --dry' '--dry-run' || exit 1
check 'garage-migrate verify --isol' '--isolation' || exit 1
check 'garage-migrate lint --show' '--show-ignored' || exit 1
zpty -d z

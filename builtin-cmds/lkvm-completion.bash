# SPDX-License-Identifier: GPL-2.0
# Bash completion for lkvm(1): the commands, each command's options, file
# names after -k, -i and -d, the running VMs' names after -n/--name of
# stop, pause, resume, debug and migrate, and migration URIs (the URI of
# lkvm migrate, the value of run's --incoming): their schemes, then file
# names after file: and unix:. `make install` puts it in
# share/bash-completion/completions/lkvm; or source it from ~/.bashrc.
#
# Commands and options are read from the lkvm being completed (`lkvm help`,
# `lkvm help COMMAND`), so ./lkvm in a work tree completes its own options,
# and a new option needs no change here. VM names come from `lkvm list`.

# _lkvm_cmds LKVM: the commands `LKVM help` lists, one a line.
_lkvm_cmds() {
	"$1" help 2>/dev/null |
		awk '/^commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 }'
}

# _lkvm_opts LKVM CMD: "OPTION ARG" lines, one per short or long option
# that `LKVM help CMD` prints; ARG is 1 when the option takes a value
# (an upper-case word follows it, as in "--mem MiB"), else 0.
_lkvm_opts() {
	"$1" help "$2" 2>/dev/null | awk '
		$1 !~ /^-/ { next }
		{
			i = 1
			if ($1 ~ /,$/) {
				short = substr($1, 1, length($1) - 1)
				i = 2
			} else {
				short = ""
			}
			long = $i
			arg = ($(i + 1) ~ /^[A-Z]/) ? 1 : 0
			sub(/\[.*/, "", long)
			if (short != "") print short, arg
			if (long ~ /^-/ && long != short) print long, arg
		}'
}

# _lkvm_vms LKVM: names of this user's running VMs, from `lkvm list
# --json` (names are [A-Za-z0-9._-], so need no JSON unquoting), or from
# the first column of the plain table when --json is not understood.
_lkvm_vms() {
	local out

	if out=$("$1" list --json 2>/dev/null); then
		grep -oE '"name": *"[^"]*"' <<<"$out" | sed -E 's/.*"([^"]*)"$/\1/'
	else
		"$1" list 2>/dev/null | awk 'NR > 1 { print $1 }'
	fi
}

# _lkvm_takes LKVM CMD WORD: true if WORD is an option of CMD that takes
# a value (the next word is that value, not an argument).
_lkvm_takes() {
	local opt arg

	while read -r opt arg; do
		[[ $opt == "$3" ]] && ((arg)) && return 0
	done < <(_lkvm_opts "$1" "$2")
	return 1
}

# _lkvm_uri CUR [SCHEME]: COMPREPLY for a migration URI being typed.
# Bash splits "file:vm.st" at ':' (COMP_WORDBREAKS), so the scheme may be
# a word of its own (then SCHEME, and CUR is what follows the colon);
# otherwise CUR is the whole URI so far.
_lkvm_uri() {
	local cur=$1 scheme=${2:-} pre=

	if [[ -z $scheme && $cur == *:* ]]; then
		scheme=${cur%%:*}
		pre=$scheme:
		cur=${cur#*:}
	fi
	if [[ -z $scheme ]]; then
		compopt -o nospace 2>/dev/null || true
		mapfile -t COMPREPLY < <(compgen -W "tcp: unix: exec: file:" -- "$cur")
		return 0
	fi
	case $scheme in
	file | unix)
		compopt -o filenames 2>/dev/null || true
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		COMPREPLY=("${COMPREPLY[@]/#/$pre}")
		;;
	esac
	return 0
}

_lkvm() {
	local lkvm=${COMP_WORDS[0]} cur=${COMP_WORDS[COMP_CWORD]} prev= cmd=
	local i opt arg takes=0 before scheme=

	((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
	# "--name=web": bash splits words at '=' (COMP_WORDBREAKS).
	if [[ $cur == = ]]; then
		cur=
	elif [[ $prev == = ]] && ((COMP_CWORD > 1)); then
		prev=${COMP_WORDS[COMP_CWORD - 2]}
	fi
	COMPREPLY=()

	# The lkvm as typed (./lkvm, ~/bin/lkvm), else the one on PATH.
	lkvm=${lkvm/#\~/$HOME}
	type -P -- "$lkvm" >/dev/null 2>&1 || lkvm=lkvm

	for ((i = 1; i < COMP_CWORD; i++)); do
		if [[ ${COMP_WORDS[i]} != -* ]]; then
			cmd=${COMP_WORDS[i]}
			break
		fi
	done

	if [[ -z $cmd ]]; then
		mapfile -t COMPREPLY < <(compgen -W \
			"$(_lkvm_cmds "$lkvm") --help --version" -- "$cur")
		return 0
	fi
	if [[ $cmd == help ]]; then
		((i == COMP_CWORD - 1)) &&
			mapfile -t COMPREPLY < <(compgen -W "$(_lkvm_cmds "$lkvm")" -- "$cur")
		return 0
	fi

	# A migration URI: migrate's argument, or the value of run's
	# --incoming. "file:x" may be three words: file, :, x.
	before=$prev
	if [[ $cur == : ]] && ((COMP_CWORD > 2)); then
		scheme=$prev
		before=${COMP_WORDS[COMP_CWORD - 2]}
		cur=
	elif [[ $prev == : ]] && ((COMP_CWORD > 3)); then
		scheme=${COMP_WORDS[COMP_CWORD - 2]}
		before=${COMP_WORDS[COMP_CWORD - 3]}
	fi
	if [[ $cmd == run && $before == --incoming ]]; then
		_lkvm_uri "$cur" "$scheme"
		return 0
	fi
	if [[ $cmd == migrate && $cur != -* ]] &&
		! _lkvm_takes "$lkvm" "$cmd" "$before"; then
		_lkvm_uri "$cur" "$scheme"
		return 0
	fi

	# The value of the option before the cursor?
	while read -r opt arg; do
		[[ $opt == "$prev" ]] && takes=$arg
	done < <(_lkvm_opts "$lkvm" "$cmd")
	if ((takes)); then
		case $cmd/$prev in
		run/-k | run/--kernel | run/-i | run/--initrd | run/-d | run/--disk)
			compopt -o filenames 2>/dev/null || true
			mapfile -t COMPREPLY < <(compgen -f -- "$cur")
			;;
		run/*) ;;
		*/-n | */--name)
			mapfile -t COMPREPLY < <(compgen -W "$(_lkvm_vms "$lkvm")" -- "$cur")
			;;
		esac
		return 0
	fi

	if [[ $cur == -* ]]; then
		mapfile -t COMPREPLY < <(compgen -W \
			"$(_lkvm_opts "$lkvm" "$cmd" | awk '{ print $1 }')" -- "$cur")
	fi
	return 0
}

complete -F _lkvm lkvm

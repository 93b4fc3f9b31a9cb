# SPDX-License-Identifier: GPL-2.0
# Bash completion for lkvm(1): the commands, each command's options, file
# names after -k, -i, -d, --console-log and --vsock-uds, directories after
# --modules, the running VMs' names after -n/--name of stop, pause,
# resume, debug and exec, and after run's "--" the host's commands (lkvm
# packs the command from the host), then file names. `make install` puts
# it in share/bash-completion/completions/lkvm; or source it from
# ~/.bashrc.
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

# _lkvm_takes LKVM CMD OPTION: true if OPTION of CMD takes a value.
_lkvm_takes() {
	local opt arg

	while read -r opt arg; do
		[[ $opt == "$3" ]] && return $((!arg))
	done < <(_lkvm_opts "$1" "$2")
	return 1
}

# _lkvm_after_opts LKVM CMD FROM: true if, between word FROM and the
# cursor, a word ends CMD's options: "--", or for exec (getopt's '+') its
# first word that is neither an option nor an option's value. Then
# _lkvm_argn is how many words come after that end before the cursor's.
_lkvm_after_opts() {
	local j

	for ((j = $3; j < COMP_CWORD; j++)); do
		if [[ ${COMP_WORDS[j]} == -- ]]; then
			_lkvm_argn=$((COMP_CWORD - j - 1))
			return 0
		fi
		if [[ $2 == exec && ${COMP_WORDS[j]} != -* ]]; then
			_lkvm_argn=$((COMP_CWORD - j))
			return 0
		fi
		if [[ ${COMP_WORDS[j]} == -* ]] &&
			_lkvm_takes "$1" "$2" "${COMP_WORDS[j]}"; then
			# The value; bash splits at '=': "--name = web",
			# "-e FOO = bar".
			((j++))
			[[ ${COMP_WORDS[j]} != = ]] || ((j++))
			while [[ ${COMP_WORDS[j + 1]:-} == = ]]; do
				((j += 2))
			done
		fi
	done
	return 1
}

_lkvm() {
	local lkvm=${COMP_WORDS[0]} cur=${COMP_WORDS[COMP_CWORD]} prev= cmd=
	local i _lkvm_argn=0

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

	# The command run -- CMD runs (from the host: its name, then files),
	# or exec's, which is the guest's: nothing to offer.
	if _lkvm_after_opts "$lkvm" "$cmd" $((i + 1)); then
		[[ $cmd == run ]] || return 0
		if ((_lkvm_argn == 0)); then
			mapfile -t COMPREPLY < <(compgen -c -- "$cur" | sort -u)
		else
			compopt -o filenames 2>/dev/null || true
			mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		fi
		return 0
	fi

	# The value of the option before the cursor?
	if _lkvm_takes "$lkvm" "$cmd" "$prev"; then
		case $cmd/$prev in
		run/-k | run/--kernel | run/-i | run/--initrd | run/-d | run/--disk | \
			run/--console-log | run/--vsock-uds)
			compopt -o filenames 2>/dev/null || true
			mapfile -t COMPREPLY < <(compgen -f -- "$cur")
			;;
		run/--modules)
			compopt -o filenames 2>/dev/null || true
			mapfile -t COMPREPLY < <(compgen -d -- "$cur")
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

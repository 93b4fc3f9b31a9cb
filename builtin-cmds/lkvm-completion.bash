# SPDX-License-Identifier: GPL-2.0
# Bash completion for lkvm(1): the commands, each command's options, file
# names after -k, -i, -d, --console-log and --vsock-uds, directories after
# --modules, run's -n (modes, then each mode's keys), the running VMs'
# names after -n/--name of stop, pause, resume, debug, exec and migrate,
# migration URIs (the URI of lkvm migrate, the value of run's --incoming):
# their schemes, then file names after file: and unix:, and after run's
# "--" the host's commands (lkvm packs the command from the host), then
# file names. `make install` puts it in
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
# Each VM is a line that opens with its name; the names of its NICs
# ("net": [{"name": "eth0", ...}]) come later on that line.
_lkvm_vms() {
	local out

	if out=$("$1" list --json 2>/dev/null); then
		sed -nE 's/^[[:space:]]*\{"name": *"([^"]*)".*/\1/p' <<<"$out"
	else
		"$1" list 2>/dev/null | awk 'NR > 1 { print $1 }'
	fi
}

# _lkvm_is_break WORD: whether WORD is only characters at which bash
# splits words (COMP_WORDBREAKS: "mode=tap" is mode, =, tap).
_lkvm_is_break() {
	local wb=${COMP_WORDBREAKS-$'"\'><=;|&(:'} i

	[[ $1 ]] || return 1
	for ((i = 0; i < ${#1}; i++)); do
		[[ $wb == *"${1:i:1}"* ]] || return 1
	done
}

# _lkvm_net VALUE: what may complete VALUE, the value of run's -n typed
# so far, one a line: a mode, then the keys that mode takes (kvmtool's,
# virtio/net-module.c), a tap's name after tapif= (the host's taps,
# which have a tun_flags), a file after script=.
_lkvm_net() {
	local value=$1 head last mode= keys k f

	if [[ $value != *,* ]]; then
		printf '%s\n' mode=tap mode=user none
		return 0
	fi
	head=${value%,*} last=${value##*,}
	case ,$head, in
	*,mode=tap,*) mode=tap keys="tapif= script= guest_mac= mtu=" ;;
	*,mode=user,*) mode=user keys="hostfwd=tcp: hostfwd=udp: guest_mac= mtu=" ;;
	*,none,* | *,mode=none,*) return 0 ;;
	*) keys="mode=tap mode=user tapif= script= hostfwd=tcp: hostfwd=udp: guest_mac= mtu=" ;;
	esac
	case $mode/$last in
	tap/tapif=*)
		for f in /sys/class/net/*/tun_flags; do
			[[ -e $f ]] || continue
			f=${f%/tun_flags}
			echo "$head,tapif=${f##*/}"
		done
		return 0
		;;
	tap/script=*)
		while read -r f; do
			echo "$head,script=$f"
		done < <(compgen -f -- "${last#script=}")
		return 0
		;;
	esac
	for k in $keys; do
		# Each key once, but hostfwd as often as wanted.
		[[ $k == hostfwd* || ,$head, != *",${k%%=*}="* ]] && echo "$head,$k"
	done
}

# _lkvm_run_net: completes the value of run's -n/--network under the
# cursor, which bash has split at each = and : into several words; false
# if the cursor is not in such a value. What bash replaces is only the
# last of those words, so each completion is cut to that part.
_lkvm_run_net() {
	local i=$COMP_CWORD tok cur=${COMP_WORDS[COMP_CWORD]} value c

	_lkvm_is_break "$cur" && cur=
	tok=${COMP_WORDS[i]}
	while ((i > 1)) && { _lkvm_is_break "${COMP_WORDS[i]}" ||
		_lkvm_is_break "${COMP_WORDS[i - 1]}"; }; do
		i=$((i - 1))
		tok=${COMP_WORDS[i]}$tok
	done
	if [[ $tok == --network=* ]]; then
		value=${tok#--network=}
	elif [[ ${COMP_WORDS[i - 1]} == -n || ${COMP_WORDS[i - 1]} == --network ]]; then
		value=$tok
	else
		return 1
	fi
	compopt -o nospace 2>/dev/null || true
	while read -r c; do
		[[ $c && $c == "$value"* ]] || continue
		c=${tok%"$value"}$c
		c=${c:${#tok}-${#cur}}
		[[ $c ]] && COMPREPLY+=("$c")
	done < <(_lkvm_net "$value")
	return 0
}

# _lkvm_takes LKVM CMD OPTION: true if OPTION of CMD takes a value.
_lkvm_takes() {
	local opt arg

	while read -r opt arg; do
		[[ $opt == "$3" ]] && return $((!arg))
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
	local i _lkvm_argn=0 before scheme=

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

	# run's -n takes mode=...,key=value,...
	[[ $cmd == run ]] && _lkvm_run_net && return 0

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
		run/--virtio-transport)
			mapfile -t COMPREPLY < <(compgen -W "pci mmio" -- "$cur")
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

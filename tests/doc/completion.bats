#!/usr/bin/env bats
# builtin-cmds/lkvm-completion.bash, sourced and called the way bash calls
# it (COMP_WORDS, COMP_CWORD), against ./lkvm for commands and options and
# a stand-in lkvm for the VM names of `lkvm list`. Needs no KVM.

ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)

setup() {
	[[ -x $ROOT/lkvm ]] || {
		echo "no $ROOT/lkvm: run make first" >&2
		return 1
	}
	source "$ROOT/builtin-cmds/lkvm-completion.bash"
	cd "$BATS_TEST_TMPDIR"
	# ./lkvm: the real one, except that list shows two VMs (LIST=json),
	# or only a table because --json is refused (LIST=plain).
	cat >lkvm <<-EOS
	#!/bin/bash
	if [[ \$1 == list ]]; then
		if [[ \$2 == --json ]]; then
			[[ \${LIST:-json} == json ]] || exit 2
			printf '[\n  {"name": "web-1", "pid": 10, "state": "running"},\n  {"name": "db.2", "state": "unresponsive", "error": "x"}\n]\n'
		else
			printf '%-24s %8s\n' NAME PID web-1 10 db.2 -
		fi
		exit 0
	fi
	exec "$ROOT/lkvm" "\$@"
	EOS
	chmod +x lkvm
	mkdir -p images
	touch images/bzImage images/initrd.img
}

# complete WORD...: the completions when the cursor is at the end of the
# last word, sorted, one a line, in $output.
complete() {
	COMP_WORDS=("$@")
	COMP_CWORD=$(($# - 1))
	COMPREPLY=()
	_lkvm
	output=$(printf '%s\n' "${COMPREPLY[@]}" | sort)
}

@test "completion: the commands, and help's argument" {
	complete ./lkvm ''
	[ "$(echo $output)" = "--help --version debug help list migrate pause resume run stop version" ]
	complete ./lkvm r
	[ "$(echo $output)" = "resume run" ]
	complete ./lkvm help m
	[ "$output" = migrate ]
	complete ./lkvm help p
	[ "$output" = pause ]
}

@test "completion: each command's options come from lkvm help" {
	complete ./lkvm run --
	for opt in --cpus --debug --disk --initrd --kernel --mem --name \
		--params --stats --timeout; do
		grep -qx -- "$opt" <<<"$output"
	done
	! grep -qv -- '^--' <<<"$output"
	complete ./lkvm list -
	[ "$(echo $output)" = "--help --json -h -j" ]
	complete ./lkvm debug --w
	[ "$output" = --walk ]
	complete ./lkvm stop --
	[ "$(echo $output)" = "--all --help --name" ]
	complete ./lkvm migrate --
	[ "$(echo $output)" = "--cancel --detach --downtime --help --keep-paused --name --resume-source --speed --status" ]
	complete ./lkvm run --inc
	[ "$output" = --incoming ]
}

@test "completion: file names after -k, -i and -d" {
	complete ./lkvm run -k images/b
	[ "$output" = images/bzImage ]
	complete ./lkvm run -c 2 --initrd images/i
	[ "$output" = images/initrd.img ]
	complete ./lkvm run -d ''
	echo "$output" | grep -qx images
	# A value that is not a file gets nothing, not options.
	complete ./lkvm run -m ''
	[ -z "$output" ]
}

@test "completion: running VM names after -n and --name" {
	complete ./lkvm stop -n ''
	[ "$(echo $output)" = "db.2 web-1" ]
	complete ./lkvm pause --name w
	[ "$output" = web-1 ]
	# bash splits "--name=we" into --name, =, we
	complete ./lkvm resume --name = we
	[ "$output" = web-1 ]
	complete ./lkvm debug --name =
	[ "$(echo $output)" = "db.2 web-1" ]
	complete ./lkvm migrate -n ''
	[ "$(echo $output)" = "db.2 web-1" ]
	complete ./lkvm migrate --speed 1M --name w
	[ "$output" = web-1 ]
	# run's --name is a new name, not a running VM's.
	complete ./lkvm run --name ''
	[ -z "$output" ]
}

@test "completion: VM names from the plain table when --json is refused" {
	LIST=plain complete ./lkvm stop -n ''
	[ "$(echo $output)" = "db.2 web-1" ]
}

@test "completion: migration URIs: lkvm migrate's argument and run's --incoming" {
	# The schemes, where a URI goes (not after an option that takes a value).
	complete ./lkvm migrate -n web-1 ''
	[ "$(echo $output)" = "exec: file: tcp: unix:" ]
	complete ./lkvm migrate --speed 1M -n web-1 f
	[ "$output" = file: ]
	complete ./lkvm migrate -n web-1 --downtime ''
	[ -z "$output" ]
	complete ./lkvm run -m 64 --incoming u
	[ "$output" = unix: ]
	# File names after file: and unix:, which bash gives as three words
	# (file, :, the path) since ':' is in COMP_WORDBREAKS.
	complete ./lkvm migrate -n web-1 file : images/b
	[ "$output" = images/bzImage ]
	complete ./lkvm run --incoming unix : images/i
	[ "$output" = images/initrd.img ]
	complete ./lkvm run --incoming file :
	echo "$output" | grep -qx images
	# Or as one word, where ':' is not a word break.
	complete ./lkvm run --incoming file:images/b
	[ "$output" = file:images/bzImage ]
	# tcp: and exec: are not file names.
	complete ./lkvm migrate -n web-1 tcp : ''
	[ -z "$output" ]
	# An option still completes as one.
	complete ./lkvm migrate -n web-1 --st
	[ "$output" = --status ]
}

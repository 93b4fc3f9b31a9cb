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
	# ./lkvm: the real one, except that list shows two VMs, one with
	# two NICs (LIST=json), or only a table because --json is refused
	# (LIST=plain).
	cat >lkvm <<-EOS
	#!/bin/bash
	if [[ \$1 == list ]]; then
		if [[ \$2 == --json ]]; then
			[[ \${LIST:-json} == json ]] || exit 2
			printf '[\n  {"name": "web-1", "pid": 10, "state": "running", "net": [{"name": "eth0", "mode": "user"}, {"name": "eth1", "mode": "tap"}]},\n  {"name": "db.2", "state": "unresponsive", "error": "x"}\n]\n'
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
	[ "$(echo $output)" = "--help --version debug exec help list migrate pause resume run stop version" ]
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
		--params --stats --timeout --agent --modules --console-log \
		--vsock --vsock-uds; do
		grep -qx -- "$opt" <<<"$output"
	done
	! grep -qv -- '^--' <<<"$output"
	complete ./lkvm list -
	[ "$(echo $output)" = "--help --json -h -j" ]
	complete ./lkvm debug --w
	[ "$output" = --walk ]
	complete ./lkvm stop --
	[ "$(echo $output)" = "--all --graceful --help --name --wait" ]
	complete ./lkvm exec -
	[ "$(echo $output)" = "--env --help --name --workdir -e -h -n -w" ]
	complete ./lkvm migrate --
	[ "$(echo $output)" = "--cancel --detach --downtime --help --keep-paused --name --resume-source --speed --status" ]
	complete ./lkvm run --inc
	[ "$output" = --incoming ]
	complete ./lkvm run --virtio-transport ''
	[ "$(echo $output)" = "mmio pci" ]
}

@test "completion: file names after -k, -i, -d, --console-log and --vsock-uds, directories after --modules" {
	complete ./lkvm run -k images/b
	[ "$output" = images/bzImage ]
	complete ./lkvm run -c 2 --initrd images/i
	[ "$output" = images/initrd.img ]
	complete ./lkvm run -d ''
	echo "$output" | grep -qx images
	# A value that is not a file gets nothing, not options.
	complete ./lkvm run -m ''
	[ -z "$output" ]
	complete ./lkvm run --console-log images/i
	[ "$output" = images/initrd.img ]
	complete ./lkvm run --vsock-uds images/b
	[ "$output" = images/bzImage ]
	complete ./lkvm run --vsock ''
	[ -z "$output" ]
	# --modules takes a directory.
	mkdir -p images/modules
	complete ./lkvm run --modules images/
	[ "$output" = images/modules ]
}

@test "completion: after run's --, the host's commands, then file names" {
	local PATH=$BATS_TEST_TMPDIR/bin:$PATH

	mkdir -p bin
	printf '#!/bin/sh\n' >bin/lkvm-test-selftest
	chmod +x bin/lkvm-test-selftest
	complete ./lkvm run -k images/bzImage -- lkvm-test-sel
	[ "$output" = lkvm-test-selftest ]
	# Options of lkvm are not offered there, nor after the command.
	complete ./lkvm run -m 64 -- --
	! grep -qx -- --mem <<<"$output"
	complete ./lkvm run -- cat images/b
	[ "$output" = images/bzImage ]
	complete ./lkvm run -- cat --k
	[ -z "$output" ]
}

@test "completion: exec: VM names after -n, nothing for the guest's command" {
	complete ./lkvm exec -n ''
	[ "$(echo $output)" = "db.2 web-1" ]
	complete ./lkvm exec --name = w
	[ "$output" = web-1 ]
	# Options before the command; its own words are the guest's.
	complete ./lkvm exec -n web-1 -e FOO = bar --w
	[ "$output" = --workdir ]
	complete ./lkvm exec -n web-1 uname -
	[ -z "$output" ]
	complete ./lkvm exec -n web-1 -w /tmp -- ls --
	[ -z "$output" ]
	complete ./lkvm exec --name = web-1 ls images/
	[ -z "$output" ]
}

@test "completion: running VM names after -n and --name" {
	# Not eth0 or eth1: those are web-1's NICs.
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

# As bash splits a word at = and :, and replaces only the last part.
@test "completion: run's -n: a mode, then the keys of that mode" {
	complete ./lkvm run -n ''
	[ "$(echo $output)" = "mode=tap mode=user none" ]
	complete ./lkvm run --network mode = u
	[ "$output" = user ]
	complete ./lkvm run -n mode = tap,
	[ "$(echo $output)" = "tap,guest_mac= tap,mtu= tap,script= tap,tapif=" ]
	complete ./lkvm run -n mode = user,
	[ "$(echo $output)" = "user,guest_mac= user,hostfwd=tcp: user,hostfwd=udp: user,mtu=" ]
	# A key once, hostfwd again; after "::" only the last part is replaced.
	complete ./lkvm run -c 2 -n mode = user,mtu = 1500,hostfwd = tcp :: 22- : 22,
	[ "$(echo $output)" = "22,guest_mac= 22,hostfwd=tcp: 22,hostfwd=udp:" ]
	complete ./lkvm run --network = mode = tap,g
	[ "$output" = "tap,guest_mac=" ]
	complete ./lkvm run -n none,
	[ -z "$output" ]
}

@test "completion: run's -n: a file after script=; other options after -n's value" {
	touch images/ifup.sh
	complete ./lkvm run -n mode = tap,script = images/if
	[ "$output" = images/ifup.sh ]
	complete ./lkvm run -n mode = tap -k images/b
	[ "$output" = images/bzImage ]
	complete ./lkvm run -n mode = tap --st
	[ "$output" = --stats ]
}

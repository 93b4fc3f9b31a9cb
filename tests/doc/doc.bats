#!/usr/bin/env bats
# The man page cannot rot (make doc-check, part of make check; no KVM):
# groff finds nothing to warn about, every command `lkvm help` lists has
# its "lkvm NAME" subsection, and every option `lkvm help NAME` prints is
# the tag of a paragraph (.TP) in that subsection. So a command or option
# added without documentation fails here.

ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
LKVM=${LKVM:-$ROOT/lkvm}
MAN_PAGE=${MAN_PAGE:-$ROOT/builtin-cmds/lkvm.1}

setup() {
	[[ -x $LKVM ]] || {
		echo "no $LKVM: run make first" >&2
		return 1
	}
}

# The commands `lkvm help` lists, one a line.
commands() {
	"$LKVM" help | awk '/^commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 }'
}

# Every option `lkvm help CMD` prints in its option list: "-k" from
# "  -k, --kernel FILE", "--regs" from "  -r, --regs[=CPU]".
help_options() {
	"$LKVM" help "$1" | awk '
		$1 !~ /^-/ { next }
		{
			for (i = 1; i <= 2; i++) {
				o = $i
				sub(/,$/, "", o)
				sub(/\[.*/, "", o)
				if (o ~ /^-/) print o
			}
		}'
}

# The source lines of subsection "lkvm CMD", up to the next .SS or .SH.
man_section() {
	awk -v want=".SS \"lkvm $1\"" '
		/^\.S[HS]/ { on = ($0 == want); next }
		on' "$MAN_PAGE"
}

# The tags of the paragraphs of subsection "lkvm CMD": the line after
# each .TP or .TQ, with groff's \- turned into -.
man_tags() {
	man_section "$1" | awk '
		tag { gsub(/\\-/, "-"); print; tag = 0; next }
		/^\.T[PQ]/ { tag = 1 }'
}

@test "doc: groff -ww renders lkvm.1 without a warning" {
	command -v groff >/dev/null || skip "groff is not installed (apt-get install groff-base)"
	run groff -ww -man -z "$MAN_PAGE"
	echo "$output"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "doc: every command of lkvm help has a section in lkvm.1" {
	local cmd bad=0

	for cmd in $(commands); do
		if ! grep -qxF ".SS \"lkvm $cmd\"" "$MAN_PAGE"; then
			echo "lkvm.1 has no section .SS \"lkvm $cmd\""
			bad=1
		fi
	done
	[ "$(commands | wc -l)" -ge 8 ]
	[ "$bad" -eq 0 ]
}

@test "doc: every section of lkvm.1 is a command lkvm has" {
	local cmd bad=0

	for cmd in $(sed -n 's/^\.SS "lkvm \(.*\)"$/\1/p' "$MAN_PAGE"); do
		if ! commands | grep -qxF "$cmd"; then
			echo "lkvm.1 documents '$cmd', which lkvm help does not list"
			bad=1
		fi
	done
	[ "$bad" -eq 0 ]
}

@test "doc: every option of each command is documented in its section" {
	local cmd opt bad=0 n=0

	for cmd in $(commands); do
		for opt in $(help_options "$cmd"); do
			n=$((n + 1))
			if ! man_tags "$cmd" | grep -qE -- "(^|[^a-z0-9-])$opt([^a-z0-9-]|$)"; then
				echo "lkvm.1, section \"lkvm $cmd\": no paragraph for $opt"
				bad=1
			fi
		done
	done
	echo "$n options checked"
	# run, list, stop, pause, resume and debug print 50 today.
	[ "$n" -ge 40 ]
	[ "$bad" -eq 0 ]
}

@test "doc: every exit status lkvm help run names is in EXIT STATUS" {
	local code codes bad=0

	# "Exit status: 0 poweroff/reboot, 1 lkvm error, ... 128+N signal N."
	codes=$("$LKVM" help run | sed -n '/^Exit status:/,$p' |
		grep -oE '(^|[ ,:])[0-9]+(\+N)? ' | tr -d ' ,:' | tr N n)
	[ "$(wc -w <<<"$codes")" -ge 7 ]
	for code in $codes; do
		if ! awk '/^\.SH/ { on = ($0 == ".SH EXIT STATUS"); next }
			on && tag { gsub(/^\.BI? | /, ""); print; tag = 0; next }
			on && /^\.TP/ { tag = 1 }' "$MAN_PAGE" | grep -qxF "$code"; then
			echo "lkvm.1, EXIT STATUS: no paragraph for status $code"
			bad=1
		fi
	done
	[ "$bad" -eq 0 ]
}

# `lkvm run -- CMD` exits with CMD's own status, which is no fixed number:
# it needs its own paragraph in EXIT STATUS, tagged "-- cmd", that says
# so, and the run section a paragraph for "--" (the option check above
# finds it only through the help's "-- CMD [ARGS...]" line).
@test "doc: the exit status of run -- CMD has its own paragraph in EXIT STATUS" {
	"$LKVM" help run | sed -n '/^Exit status:/,$p' | grep -q -- '-- CMD, CMD.s own'
	"$LKVM" help run | grep -qE '^  -- CMD'
	run awk '/^\.SH/ { on = ($0 == ".SH EXIT STATUS"); next }
		on && tag { print "TAG " $0; tag = 0; next }
		on && /^\.TP/ { tag = 1; next }
		on { print }' "$MAN_PAGE"
	# The tag, then its text up to the next paragraph.
	body=$(awk '/^TAG .*\\-\\- .*cmd/ { on = 1; next } /^TAG / { on = 0 } on' <<<"$output")
	[ -n "$body" ] || { echo "lkvm.1, EXIT STATUS: no paragraph tagged '-- cmd'"; return 1; }
	grep -q "^.IR cmd 's" <<<"$body"
	grep -qx "own:.*" <<<"$body"
	grep -q '^\.BI 128+ n' <<<"$body"
}

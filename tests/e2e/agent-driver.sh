# Beside `lkvm run --agent --name NAME` (vsock.bats): once the guest is up,
# lkvm exec twice and more, then lkvm stop --graceful.  One "agent: ..."
# line per finding.  POSIX sh with busybox; it always ends with a stop, so
# a failure here cannot leave the guest running.
name=$1
console=$E2E_OUT/console
me=agent
. "$E2E_LIB/driver.sh"

# exec_once TAG ARGS...: run lkvm exec, report status, stdout and stderr.
exec_once() {
	tag=$1
	shift
	"$LKVM" exec -n "$name" "$@" >"$tag.out" 2>"$tag.err"
	say "$tag rc $? out '$(tr '\n' '|' <"$tag.out")' err '$(tr '\n' '|' <"$tag.err")'"
}

if wait_for 90 seen 'lkvm-guest: idle'; then
	# The agent starts beside init: give it a moment to listen.
	for i in 1 2 3 4 5 6 7 8 9 10; do
		"$LKVM" exec -n "$name" true 2>/dev/null && break
		sleep 1
	done
	exec_once first -- sh -c 'echo out; echo err >&2; exit 3'
	exec_once second -- sh -c 'echo again; exit 4'
	echo "via stdin" | exec_once stdin cat
	exec_once env -e GREETING=hi -w /tmp -- sh -c 'echo "$GREETING $(pwd) $$"'
	exec_once pid1 -- cat /proc/1/comm
	exec_once missing -- no-such-command
else
	say "the guest never came up"
fi
t0=$(cut -d ' ' -f 1 /proc/uptime)
"$LKVM" stop --graceful --wait 30 -n "$name" >stop.out 2>&1
say "stop rc $? $(tr '\n' '|' <stop.out)"
t1=$(cut -d ' ' -f 1 /proc/uptime)
say "stop took $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s"
say done

# What the drivers of tests/e2e (ctl-driver.sh, vsock-driver.sh,
# agent-driver.sh) share: each runs beside an lkvm run, started by the
# run's pre step, and reports one "ME: ..." line per finding. POSIX sh
# with busybox. A driver sets `me` and `console` (the run's console,
# $E2E_OUT/console), then loads this with `. "$E2E_LIB/driver.sh"`.

say() { echo "$me: $*"; }

# wait_for SECS CMD...: poll CMD every 0.2 s for up to SECS seconds.
wait_for() {
	n=$(($1 * 5))
	shift
	while [ "$n" -gt 0 ]; do
		"$@" && return 0
		sleep 0.2
		n=$((n - 1))
	done
	return 1
}

# seen TEXT: the guest's console has shown TEXT (a grep pattern).
seen() { grep -q "$1" "$console" 2>/dev/null; }

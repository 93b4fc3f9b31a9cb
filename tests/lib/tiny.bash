# Bats helpers for the host cases that boot the tiny guest
# (tests/kit/tiny/tiny.S) straight on this host's KVM: host.bats and
# migrate-host.bats. Load after ../lib/e2e.

TINY=$KIT_OUT/tiny-bzImage

need_tiny() {
	e2e_require_kvm
	[[ -f $TINY ]] || {
		echo "$TINY is not built (make tiny)"
		return 1
	}
}

# wait_until SECS CMD...: poll CMD every 0.05 s for up to SECS seconds.
wait_until() {
	local n=$(($1 * 20))
	shift
	while ((n-- > 0)); do
		"$@" && return 0
		sleep 0.05
	done
	return 1
}

gone() { ! kill -0 "$1" 2>/dev/null; }

# tsan_clean FILE...: under make tsan, a race that any lkvm of the case
# reported in one of its output FILEs fails the case, even where the case
# did not look at that lkvm's exit status.
tsan_clean() {
	local f

	for f in "$@"; do
		if [[ -f $f ]] && grep -q ThreadSanitizer "$f"; then
			echo "ThreadSanitizer report in $f:"
			cat "$f"
			return 1
		fi
	done
}

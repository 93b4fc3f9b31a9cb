#!/bin/sh
# A stand-in for lkvm that boots nothing, for tests/e2e/harness.bats: the
# harness must hand back each run's console, stderr and exit status apart,
# whatever lkvm does. It echoes its arguments as "console" output, writes
# one diagnostic to stderr, and obeys words in its arguments:
#   fake.exit=N   exit with status N
#   fake.hang     never exit (the run's outer timeout must catch it); it
#                 is then "lkvm list"ed, and "lkvm debug" answers for it
#   fake.wedge.B=KIND  in boot B of tests/lib/fake-l1.sh, wedge that L1:
#                 softlockup, silent or crash (see fake-l1.sh), or
#                 unkillable: ignore SIGTERM and SIGHUP, which the test
#                 makes plan-exec.sh send in place of SIGKILL
#   fake.l2triple.B=N  in boot B, its guest triple-faults: a line in the
#                 L1's KVM trace, as tests/lib/l1-init.sh sets it up, then
#                 exit with status N
#   fake.l2pf.B=ERR[:INFO]  in boot B, its guest triple-faults delivering
#                 an event with error code 0xERR (hex), a page fault or
#                 intr_info 0xINFO, then exits 6
#   fake.lostcr3.B  in boot B, hang as fake.hang, and "lkvm debug" then
#                 shows vCPU 1 with a CR3 outside guest RAM, as a guest
#                 hung in L1 once showed it (tests/e2e/README.md)
#   fake.lostpde.B  the same, but vCPU 1's CR3 is fine and only its PDE
#                 points outside RAM: a guest's own doing, not L1's
set -eu

# What lkvm debug --regs said of a guest hung in L1 (abridged): vCPU 1
# ran with a CR3 outside the guest's 256 MiB. lost_cr3 pde: a walk that
# got further, to a PDE outside RAM.
lost_cr3() {
	cat <<'EOF'
vCPU 0 (mp_state 3, halted)
  RIP ffffffff81f8ce8f RFLAGS 0000000000000212
  CR0 0000000080050033 CR2 0000000000000000 CR3 0000000002a2e000 CR4 0000000000710ef0
  code at RIP: c3 cc cc cc cc 66 2e 0f 1f 84 00 00 00 00 00 66
  walk of RIP: gva 0xffffffff81f8ce8f cr3 0x2a2e000
  PML4E[511] @ 0x0000000002a2eff8 = 0x0000000002a31067  P W U A D
  PDPTE[510] @ 0x0000000002a31ff0 = 0x0000000002a32063  P W A D
  PDE  [ 15] @ 0x0000000002a32078 = 0x0000000001e001e3  P W A D PS G
  -> gpa 0x0000000001f8ce8f (2M page) kernel rw exec
vCPU 1 (mp_state 0, runnable)
  RIP ffffffffc03e1dcc RFLAGS 0000000000010246
  CR0 0000000080050033 CR2 ffffffffc03e1dcc CR3 000000003051e000 CR4 0000000000710ef0
  code at RIP: (not mapped)
EOF
	if [ "${1:-}" = pde ]; then
		cat <<'EOF'
  walk of RIP: gva 0xffffffffc03e1dcc cr3 0x2a2e000
  PML4E[511] @ 0x0000000002a2eff8 = 0x0000000002a31067  P W U A D
  PDPTE[511] @ 0x0000000002a31ff8 = 0x0000000030000063  P W A D
  -> PDE at 0x0000000030000008 is outside guest RAM
EOF
	else
		cat <<'EOF'
  walk of RIP: gva 0xffffffffc03e1dcc cr3 0x3051e000
  -> PML4E at 0x000000003051eff8 is outside guest RAM
EOF
	fi
}

# list and debug, as plan-exec.sh asks them of a run at its outer timeout.
case "${1:-}" in
list)
	echo "NAME PID STATE"
	cat fake-vms 2>/dev/null || true
	exit 0
	;;
debug)
	if [ -f "fake-debug-$3" ]; then
		cat "fake-debug-$3"
	else
		echo "fake registers of $3: RIP 0xfeedface"
	fi
	exit 0
	;;
esac
echo "fake-console: $*"
echo "lkvm: fake diagnostic${FAKE_L1_BOOT:+ (L1 boot $FAKE_L1_BOOT)}" >&2
code=0
for word in $*; do
	case "$word" in
	fake.exit=*) code=${word#fake.exit=} ;;
	fake.hang)
		echo "fake-hang-$$ $$ running" >>fake-vms
		while :; do sleep 1; done
		;;
	"fake.lostcr3.${FAKE_L1_BOOT:-0}" | "fake.lostpde.${FAKE_L1_BOOT:-0}")
		kind=${word#fake.lost}
		lost_cr3 "${kind%%.*}" >"fake-debug-fake-hang-$$"
		echo "fake-hang-$$ $$ running" >>fake-vms
		while :; do sleep 1; done
		;;
	"fake.l2triple.${FAKE_L1_BOOT:-0}="*)
		echo " lkvm-97 [001] d.... 41.5: kvm_exit: vcpu 1 reason shutdown rip 0xffffffff8e4c1d2f info1 0x0000000000000000 info2 0x0000000000000000 intr_info 0x00000000 error_code 0x00000000" \
			>>"$E2E_L1_TRACE/trace"
		exit "${word#*=}"
		;;
	"fake.l2pf.${FAKE_L1_BOOT:-0}="*)
		pf=${word#*=}
		info=80000b0e
		case $pf in *:*) info=${pf#*:} pf=${pf%%:*} ;; esac
		printf ' lkvm-97 [000] d.... 60.3: kvm_exit: vcpu 0 reason shutdown rip 0xffffffffad350052 info1 0x0000000000000000 info2 0x0000000000000000 intr_info 0x%s error_code 0x%08x\n' \
			"$info" "0x$pf" >>"$E2E_L1_TRACE/trace"
		exit 6
		;;
	"fake.wedge.${FAKE_L1_BOOT:-0}=unkillable")
		trap '' TERM HUP
		while :; do sleep 1; done
		;;
	"fake.wedge.${FAKE_L1_BOOT:-0}="*)
		echo "${word#*=}" >"$FAKE_L1_STATE/wedge"
		kill -USR1 "$FAKE_L1_PID"
		while :; do sleep 1; done
		;;
	esac
done
exit "$code"

#!/usr/bin/env bats
# The control channel against a real guest: while the guest prints a tick
# five times a second (guest/ticker.sh), tests/e2e/ctl-driver.sh lists,
# pauses, inspects, resumes and finally stops the VM with lkvm's own
# subcommands, and reports what it saw.

load ../lib/e2e

setup_file() {
	e2e_ship "$BATS_TEST_DIRNAME/ctl-driver.sh"
	e2e_run ticker --limit 90 \
		--pre 'sh ship/ctl-driver.sh ctl-test >ctl.out 2>&1 &' \
		--post 'n=0; while ! grep -q "^ctl: done" ctl.out && [ $n -lt 50 ]; do
				sleep 0.2; n=$((n + 1)); done; cat ctl.out' \
		-- -c 2 --name ctl-test --timeout 75
	e2e_execute
}

# ctl TEXT: the driver reported a line containing TEXT.
ctl() {
	[[ $e2e_post == *"$1"* ]] || {
		echo "the driver did not report '$1'; it said:"
		printf '%s\n' "$e2e_post"
		return 1
	}
}

# ctl_line LINE: the driver reported exactly LINE.
ctl_line() {
	grep -qxF -- "$1" <<<"$e2e_post" || {
		echo "the driver did not report the line '$1'"
		return 1
	}
}

@test "control: lkvm list shows the running VM, its vCPUs and memory" {
	e2e_result ticker
	ctl "list: ctl-test "
	[[ $e2e_post =~ ctl:\ list:\ ctl-test\ +[0-9]+\ +running\ +2\ +[0-9]+ ]]
}

@test "control: lkvm stop ends the VM with exit 0 and says why" {
	e2e_result ticker
	ctl "stop rc 0"
	e2e_assert_status 0
	e2e_assert_stderr "lkvm stop"
	[[ $e2e_post != *"still listed after stop"* ]]
	# Within a second or two (stop waits for lkvm to exit); report it.
	[[ $e2e_post =~ stop\ took\ ([0-9.]+)\ s ]]
	e2e_note "lkvm stop took ${BASH_REMATCH[1]} s in L1"
}

@test "control: a second VM with the same name is refused" {
	e2e_result ticker
	ctl "duplicate name rc 1 lkvm: "
	ctl "'ctl-test' is already running"
}

@test "control: an unknown VM name is a clear error" {
	e2e_result ticker
	ctl "unknown name rc 1 lkvm stop: no VM named 'no-such-vm'"
}

@test "control: pause stops the guest; list says paused; pause twice says so" {
	e2e_result ticker
	ctl "pause rc 0"
	# Once what was written before the pause has drained, not a byte.
	ctl "ticks while paused 0"
	ctl "console bytes while paused 0"
	[[ $e2e_post != *"console still growing after pause"* ]]
	[[ $e2e_post =~ ctl:\ list\ paused:\ ctl-test\ +[0-9]+\ +paused ]]
	ctl "pause again rc 1"
	ctl "already paused"
}

@test "control: resume lets the guest run on" {
	e2e_result ticker
	ctl "resume rc 0"
	ctl "ticking again"
}

# dump_parse PREFIX: the vCPU dumps the driver printed as "ctl: PREFIX:
# ..." (lkvm debug's registers, each with the walk of its RIP), into
# arrays by vCPU number: rip, cr3 (hex), dpl (of CS), code (the bytes at
# RIP, or "(not mapped)"), wgva and wcr3 (what the walk of RIP walked),
# wres (its result: "gpa 0x... (4K page) kernel ro exec", "not present").
dump_parse() {
	local line cpu=-1

	rip=() cr3=() dpl=() code=() wgva=() wcr3=() wres=()
	while IFS= read -r line; do
		[[ $line == "ctl: $1: "* ]] || continue
		line=${line#"ctl: $1: "}
		if [[ $line =~ ^vCPU\ ([0-9]+)\ \( ]]; then
			cpu=${BASH_REMATCH[1]}
		elif [[ $line =~ ^\ +RIP\ ([0-9a-f]{16})\  ]]; then
			rip[cpu]=${BASH_REMATCH[1]}
		elif [[ $line =~ \ CR3\ ([0-9a-f]{16})\  ]]; then
			cr3[cpu]=${BASH_REMATCH[1]}
		elif [[ $line =~ ^\ +CS\ +sel\ .*\ dpl\ ([0-9])$ ]]; then
			dpl[cpu]=${BASH_REMATCH[1]}
		elif [[ $line =~ ^\ +code\ at\ RIP:\ *(.*)$ ]]; then
			code[cpu]=${BASH_REMATCH[1]}
		elif [[ $line =~ walk\ of\ RIP:\ gva\ 0x([0-9a-f]+)\ cr3\ 0x([0-9a-f]+)$ ]]; then
			wgva[cpu]=${BASH_REMATCH[1]} wcr3[cpu]=${BASH_REMATCH[2]}
		elif [[ $line =~ ^\ +-\>\ (.*)$ ]]; then
			wres[cpu]=${BASH_REMATCH[1]}
		fi
	done <<<"$e2e_post"
}

# vcpu_ok N: vCPU N of the last dump_parse was paused somewhere it can
# be, and its walk of RIP is that RIP under that vCPU's CR3. Where it was
# paused is the guest's business: in the kernel (CS dpl 0, RIP in the
# upper half, on a kernel page) or in user mode (dpl 3, lower half, a
# user page). Either way the page is executable and the walk's gpa has
# RIP's page offset. Only a user RIP may sit on a page the guest has not
# faulted in yet; then lkvm shows no code bytes either.
vcpu_ok() {
	local n=$1 r want

	echo "vCPU $n: RIP ${rip[n]:-?} CR3 ${cr3[n]:-?} dpl ${dpl[n]:-?} walk ${wgva[n]:-?} ${wcr3[n]:-?}: ${wres[n]:-?}"
	[[ ${rip[n]} && ${cr3[n]} && ${dpl[n]} && ${code[n]} && ${wgva[n]} ]] || return 1
	r=$((16#${rip[n]}))
	((16#${wgva[n]} == r && 16#${wcr3[n]} == 16#${cr3[n]})) || return 1
	case ${dpl[n]} in
	0) want=kernel && ((r < 0)) ;;
	3) want=user && ((r >= 0)) ;;
	*) false ;;
	esac || return 1
	if [[ $want == user && ${wres[n]} == "not present" ]]; then
		[[ ${code[n]} == "(not mapped)" ]]
		return
	fi
	[[ ${wres[n]} =~ ^gpa\ 0x([0-9a-f]+)\ \((4K|2M|1G)\ page\)\ $want\ r[ow]\ exec$ ]] ||
		return 1
	(((16#${BASH_REMATCH[1]} & 0xfff) == (r & 0xfff))) || return 1
	[[ ${code[n]} =~ ^([0-9a-f]{2}\ ?)+$ ]]
}

# mem_matches N: the bytes the driver read at vCPU N's walk result with
# `debug --mem` are the code bytes the dump showed at its RIP.
mem_matches() {
	local line bytes

	line=$(grep -m 1 "^ctl: dflt mem $1: " <<<"$e2e_post") || return 1
	bytes=$(sed -e 's/^ctl: dflt mem [0-9]*: [0-9a-f]* *//' -e 's/ *|.*//' \
		<<<"$line" | tr -s ' ')
	echo "vCPU $1: memory at the walk's gpa: $bytes; code at RIP: ${code[$1]}"
	[[ $bytes && $bytes == "${code[$1]}" ]]
}

@test "control: debug --regs dumps a paused vCPU's registers" {
	local r0
	e2e_result ticker
	ctl "regs rc 0"
	ctl "regs:   CR0 "
	ctl "regs:   code at RIP:"
	dump_parse regs
	vcpu_ok 0
	# Still paused: the full dump after it finds vCPU 0 where it was.
	r0=${rip[0]}
	dump_parse dflt
	[ "${rip[0]}" = "$r0" ]
}

@test "control: debug --walk translates the vCPU's RIP through its page tables" {
	e2e_result ticker
	dump_parse dflt
	# The Debian kernel uses 5-level paging when the CPU has LA57.
	[[ $e2e_post =~ ctl:\ walk:\ +PML(4|5)E\[ ]]
	# --walk RIP (vCPU 0's CR3 by default) is the walk in vCPU 0's dump.
	ctl_line "ctl: walk: gva 0x${wgva[0]} cr3 0x${wcr3[0]}"
	ctl_line "ctl: walk:   -> ${wres[0]}"
}

@test "control: debug walks each vCPU's RIP; --walk alone walks RIP" {
	local n
	e2e_result ticker
	ctl "default debug rc 0"
	dump_parse dflt
	[ "${#rip[@]}" -eq 2 ]
	for n in 0 1; do
		vcpu_ok "$n"
		if [[ ${wres[n]} != "not present" ]]; then
			mem_matches "$n"
		fi
	done
	# --walk --cpu 1 with no address walks vCPU 1's RIP under its CR3.
	ctl_line "ctl: walk pc: walk of RIP: gva 0x${wgva[1]} cr3 0x${wcr3[1]}"
	ctl_line "ctl: walk pc:   -> ${wres[1]}"
}

@test "control: a vCPU paused in user mode shows its code and its walk" {
	local n
	e2e_result ticker
	dump_parse user
	for n in "${!dpl[@]}"; do
		[[ ${dpl[n]} == 3 ]] || continue
		vcpu_ok "$n"
		return
	done
	echo "no pause found a vCPU in user mode"
	false
}

@test "control: debug --mem reads guest memory; outside RAM is an error" {
	e2e_result ticker
	# The ACPI RSDP that lkvm put at 0xe0000.
	ctl "mem: "
	[[ $e2e_post == *"ctl: mem: "*"RSD PTR"* ]]
	[[ $e2e_post =~ ctl:\ mem\ outside\ RAM\ rc\ 1\ .*not\ guest\ RAM ]]
}

@test "control: debug --sysrq and --nmi reach the guest kernel" {
	e2e_result ticker
	ctl "sysrq rc 0"
	ctl "sysrq answered"
	e2e_assert_console "sysrq: Show Memory"
	ctl "nmi rc 0"
	ctl "nmi answered"
	e2e_assert_console "NMI received for unknown reason"
}

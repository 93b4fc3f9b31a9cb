#!/bin/bash
# Where a boot's guest uptime goes, from the kernel's own log, for boots
# run with BOOT_APPEND="initcall_debug lkvm.bench.dmesg=1"
# (tests/bench/boot.bats; boot-report.sh calls this when the consoles
# hold such a log):
#
#   boot-phases.sh RESULTS_DIR VMM...
#
# For each VMM, the medians over its boot-VMM-N runs, in seconds: up to
# the first initcall; the built-in initcalls of software (by name:
# crypto, keys and certificates, the network stack, tracing, sysfs and
# the like); the other built-in initcalls, which face devices or firmware
# tables or might (generously: all that is not recognised as software);
# the rest of the kernel's way to "Run /init"; and init to the guest's
# line (loading modules), with the modules' initcalls.  The second and
# last-but-one are what a VMM's devices can cost; tests/bench/README.md
# ("The ceiling") reads the table.
set -u

res=$1
shift
# Initcalls that run the kernel's own code whatever the machine.
software='crypto|sha|aes|blake|crc|kdf|cert|key|encrypted|digsig|ima|evm|apparmor|inet|tcp|cubic|ipv6|xfrm|trace|kprobe|bpf|audit|slab|bdi|dquot|chr_dev|random|raid|xor|lz4|zstd|deflate|lzo|chacha|poly|curve|rsa|ecdh|drbg|jitter|hmac|x509|pkcs|asymmetric|integrity|security|lsm|perf|event|module|sysctl|proc|sysfs|param|workqueue|rcu|sched|cgroup|vmstat|zswap|hugetlb|shmem|fs_|notify|pipe|aio|io_uring|netlink|packet|unix|sock|net|ipc|mqueue'

# One boot's phases: first others-and-software rest post-init modules.
phases() {
	tr -d '\r' <"$1" | awk -v sw="$software" '
	/lkvm-bench: boot userspace / { line = $4 }
	/lkvm-dmesg: \[/ {
		t = $0; sub(/^.*lkvm-dmesg: \[ */, "", t); sub(/\].*$/, "", t)
		if ($0 ~ /Run \/init/) init = t
		if ($0 ~ /\] calling  / && first == "") first = t
		if ($0 ~ /\] initcall .* returned .* after [0-9]+ usecs/) {
			name = $0; sub(/^.*\] initcall /, "", name); sub(/\+.*$/, "", name)
			us = $0; sub(/ usecs.*$/, "", us); sub(/^.* after /, "", us)
			if ($0 ~ /\] initcall [^ ]+ \[/) mods += us / 1e6
			else if (name ~ sw) soft += us / 1e6
			else other += us / 1e6
		}
	}
	END {
		if (line == "" || init == "" || first == "") exit
		printf "%.3f %.3f %.3f %.3f %.3f %.3f %.3f\n", first, soft, other,
			init - first - soft - other, line - init, mods, line
	}'
}

median() {
	sort -g | awk '{ v[NR] = $1 }
	END { if (!NR) print "-"; else printf "%.2f\n", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

printf '%-9s %5s %9s %9s %9s %9s %9s %9s %9s\n' VMM boots 1st-call software devices kern-rest post-init modules uptime
for vmm in "$@"; do
	rows=$(for d in "$res"/boot-"$vmm"-*; do
		[[ -f $d/console ]] && phases "$d/console"
	done)
	[[ $rows ]] || continue
	printf '%-9s %5s' "$vmm" "$(wc -l <<<"$rows")"
	for col in 1 2 3 4 5 6 7; do
		printf ' %9s' "$(awk -v c="$col" '{ print $c }' <<<"$rows" | median)"
	done
	echo
done

#!/bin/bash
# Turns the runs of tests/bench/net.bats into the network bench table:
#
#   net-report.sh ROUND_DIR...    (tests/kit/out/e2e/bench-net/round-*)
#
# Reads ROUND_DIR/results/{lkvm,base,qemu}-N/ (base: NET_BENCH_BASE): the
# guest's console (iperf3's receiver rate per pass, the NIC's interrupts
# around each direction), the sampler's marks in post.out (L1 KVM's exit
# counters at each phase mark), the exit status.  Throughput is iperf3's,
# by the receiver, in Mbit/s: mean, %SD (sample standard deviation over the
# mean), median, over every pass of every good boot.  Per MiB moved: KVM's
# counters over a direction's phase less one idle phase (the 1 s sleep each
# phase starts with), and the guest's interrupts of the NIC's queues;
# medians over the boots.  Paired by round: each round's mean rate of one
# VMM over another's in the same L1 boot, which the L1's swings from boot
# to boot do not touch.  Exits 1, after the table, if a VMM and direction
# has no good pass at all.
set -euo pipefail
source "$(dirname "$0")/rounds.bash"

(($#)) || {
	echo "usage: net-report.sh ROUND_DIR..." >&2
	exit 2
}

problems=()
files=()
for state in "$@"; do
	round_check "$state" || continue
	for d in "$state"/results/lkvm-* "$state"/results/base-* "$state"/results/qemu-*; do
		[[ -d $d && -f $d/done ]] || continue
		for f in status console post.out stderr; do
			[[ -f $d/$f ]] || : >"$d/$f"
			files+=("$d/$f")
		done
	done
done
where=$(head -n 1 "$1/notes" 2>/dev/null | cut -d ';' -f 1 || true)
problem_text=$(printf '%s\n' "${problems[@]}")
((${#files[@]})) || files=(/dev/null)

awk -v where="$where" -v problems="$problem_text" '
function run_of(path,   p, n) { n = split(path, p, "/"); return p[n - 1] }
function file_of(path,   p, n) { n = split(path, p, "/"); return p[n] }
function vmm_of(run) { return substr(run, 1, index(run, "-") - 1) }
function round_of(run) { return substr(run, index(run, "-") + 1) }
function sort_num(a, n,   i, j, t) {
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && a[j - 1] > a[j]; j--) {
			t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
		}
}
function median(a, n) {
	if (!n)
		return ""
	sort_num(a, n)
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function fmt(v, d) { return v == "" ? "-" : sprintf("%." d "f", v) }

{ sub(/\r$/, "") }

file_of(FILENAME) == "status" { status[run_of(FILENAME)] = $1; next }

file_of(FILENAME) == "console" {
	r = run_of(FILENAME)
	runs[r] = 1
	if (vmm_of(r) == "base")
		has_base = 1
	if ($0 ~ /lkvm-bench: result /) {
		# lkvm-bench: result tx pass 0 secs 5.04 mbits 940
		for (i = 1; i < NF; i++) {
			if ($i == "result") d = $(i + 1)
			if ($i == "secs") s = $(i + 1)
			if ($i == "mbits") m = $(i + 1)
		}
		np[r, d]++
		rate[r, d, np[r, d]] = m
		mib[r, d] += m * s * 1e6 / 8 / 1048576
	} else if ($0 ~ /lkvm-bench: virtio-irqs /) {
		for (i = 1; i < NF; i++)
			if ($i == "virtio-irqs") d = $(i + 1)
		virq[r, d] = $NF - $(NF - 2)
	} else if ($0 ~ /lkvm-bench: virtio-irqs-queues /) {
		# ... virtio-irqs-queues tx before IN OUT after IN OUT
		for (i = 1; i < NF; i++)
			if ($i == "virtio-irqs-queues") d = $(i + 1)
		qirq[r, d, "in"] = $(NF - 1) - $(NF - 4)
		qirq[r, d, "out"] = $NF - $(NF - 3)
	} else if ($0 ~ /lkvm-bench: nicstat /) {
		# ... nicstat tx before RXP RXB TXP TXB after RXP RXB TXP TXB
		for (i = 1; i < NF; i++)
			if ($i == "nicstat") d = $(i + 1)
		frames[r, d, "in"] = $(NF - 3) - $(NF - 8)
		frames[r, d, "out"] = $(NF - 1) - $(NF - 6)
	} else if ($0 ~ /lkvm-bench: cpu-flags /) {
		v = vmm_of(r)
		if (!(v in cpuflags)) {
			cpuflags[v] = 1
			for (i = 3; i <= NF; i++)
				flag[v, $i] = 1
		}
	} else if ($0 ~ /lkvm-bench: vulnerability /) {
		v = vmm_of(r)
		x = $0
		sub(/.*lkvm-bench: vulnerability /, "", x)
		k = substr(x, 1, index(x, ":") - 1)
		if (!((v, k) in vuln))
			vuln[v, k] = substr(x, index(x, ":") + 2)
		vulnk[k] = 1
	} else if ($0 ~ /lkvm-bench: done/) {
		done[r] = 1
	}
	next
}

# lkvm --stats at exit, whole run: frames, kicks, interrupts sent.
file_of(FILENAME) == "stderr" && $1 == "eth0:" {
	r = run_of(FILENAME)
	for (i = 2; i < NF; i++) {
		if ($i == "rx" && $(i + 2) == "frames") dev[r, "rx frames"] = $(i + 1)
		if ($i == "tx" && $(i + 2) == "frames") dev[r, "tx frames"] = $(i + 1)
	}
	if ($2 == "kicks") {
		dev[r, "rx kicks"] = $4; dev[r, "tx kicks"] = $6
		if ($7 == "interrupts") {
			dev[r, "rx irqs"] = $9; dev[r, "tx irqs"] = $11 + 0
		}
	}
	next
}

# The histogram the sampler made of the traced pass: "trace exit npf 1400",
# "trace mmio write 0xfe003000 len 2 700", "trace msi 650".
file_of(FILENAME) == "post.out" && $1 == "trace" {
	r = run_of(FILENAME)
	if ($2 == "exit")
		k = "exit " $3
	else if ($2 == "mmio" && ($3 == "write" || $3 == "fast"))
		k = "MMIO writes"
	else if ($2 == "msi")
		k = "MSIs from the VMM"
	else if ($2 == "lost-events")
		k = "lost events"
	else
		next
	tr[r, k] += $NF
	trk[k] = 1
	next
}

file_of(FILENAME) == "post.out" && $1 == "mark" {
	r = run_of(FILENAME)
	for (i = 4; i <= NF; i++) {
		split($i, kv, "=")
		mark[r, $2, kv[1]] = kv[2]
		counters[kv[1]] = 1
	}
	next
}

# Counter c from mark "from" to mark "to", or "" if either is missing.
function span(r, from, to, c,   a, b) {
	a = mark[r, from, c]; b = mark[r, to, c]
	if (a == "" || b == "" || a == "na" || b == "na")
		return ""
	return b - a
}

# Counter c over the phase of direction d, the idle one not taken off.
function phase(r, d, c) { return span(r, d, d == "tx" ? "rx" : "end", c) }

# What a direction cost in counter c: its phase less the idle one.
function cost(r, d, c,   p, i) {
	p = phase(r, d, c); i = span(r, "idle", "tx", c)
	if (p == "" || i == "")
		return ""
	return p - i
}

# The guest kernel under lkvm and under QEMU: CPU flags and mitigations
# that differ (the same kernel, the same L1: a difference comes from the VMM).
function cpudiff(   key, p, a, b, only_l, only_q, k) {
	if (!("lkvm" in cpuflags) || !("qemu" in cpuflags))
		return
	for (key in flag) {
		split(key, p, SUBSEP)
		if (p[1] == "lkvm" && !(("qemu", p[2]) in flag))
			only_l = only_l " " p[2]
		if (p[1] == "qemu" && !(("lkvm", p[2]) in flag))
			only_q = only_q " " p[2]
	}
	printf "guest CPU flags only under lkvm:%s\n", only_l == "" ? " none" : only_l
	printf "guest CPU flags only under QEMU:%s\n", only_q == "" ? " none" : only_q
	for (k in vulnk) {
		a = vuln["lkvm", k]; b = vuln["qemu", k]
		if (a != b)
			printf "guest mitigation %s: lkvm \"%s\", QEMU \"%s\"\n", k, a, b
	}
}

# The traced tx pass: each count per frame sent, medians over the boots.
function tracerows(   k, kk, nk, i, j, v, n, r, line, head, t5, any, nf) {
	nk = 0
	for (k in trk)
		kk[++nk] = k
	sort_num(kk, nk)
	for (i = 1; i <= nk; i++) {
		k = kk[i]
		line = sprintf("  %-34s", k)
		any = 0
		for (j = 1; j <= nvmm; j++) {
			v = vmms[j]; n = 0
			for (r in runs) {
				nf = frames[r, "trace", "out"]
				if (vmm_of(r) == v && nf > 0)
					t5[++n] = tr[r, k] / nf
			}
			line = line sprintf(" %10s", fmt(median(t5, n), 2))
			any += n
		}
		if (!any)
			continue
		if (!tracehead++) {
			head = sprintf("%-36s", "traced tx pass, per frame sent:")
			for (j = 1; j <= nvmm; j++)
				head = head sprintf(" %10s", vmms[j])
			print head
		}
		print line
	}
}

# One row of CPU time per MiB (ticks of 10 ms, as ms), medians over boots.
function cpurow(d, k, name,   j, v, n, i, line, t4) {
	line = sprintf("    %-33s", name)
	for (j = 1; j <= nvmm; j++) {
		v = vmms[j]; n = ncpu[v, d, k]
		for (i = 1; i <= n; i++) t4[i] = cpu[v, d, k, i]
		line = line sprintf(" %10s", fmt(median(t4, n), 1))
	}
	print line
}

# One line: the ratio of VMM a (lkvm) over VMM b in each round, and the median.
function paired(d, b, bname, a,   n, line, x, k, t2) {
	if (a == "")
		a = "lkvm"
	n = 0; line = ""
	for (k = 1; k <= nround; k++) {
		x = round_list[k]
		if (!rnp[a, d, x] || !rnp[b, d, x] || !rsum[b, d, x])
			continue
		t2[++n] = (rsum[a, d, x] / rnp[a, d, x]) / (rsum[b, d, x] / rnp[b, d, x])
		line = line sprintf(" %s:%.2f", x, t2[n])
	}
	if (!n)
		return
	printf "  paired by round, %s/%s:%s; median %.2fx, %d of %d above 1\n",
	       a, bname, line, median(t2, n), above(t2, n), n
}
# The device over the whole run (lkvm --stats), medians over the boots.
function devline(num, den, name,   j, v, r, n, line, t3, any) {
	line = sprintf("  %-34s", name)
	for (j = 1; j <= nvmm; j++) {
		v = vmms[j]
		if (v == "qemu")
			continue
		n = 0
		for (r in runs)
			if (vmm_of(r) == v && dev[r, num] != "" && dev[r, den] > 0)
				t3[++n] = dev[r, num] / dev[r, den]
		line = line sprintf(" %s %s", v, fmt(median(t3, n), 3))
		any += n
	}
	if (!any)
		return
	if (!devhead++)
		print "lkvm, the device over the whole run (--stats), medians over the boots:"
	print line
}
function above(a, n,   i, c) {
	for (i = 1; i <= n; i++)
		c += a[i] > 1
	return c + 0
}

END {
	ndir = split("tx rx", dirs, " ")
	nvmm = split(has_base ? "lkvm base qemu" : "lkvm qemu", vmms, " ")
	ncnt = split("exits io_exits mmio_exits irq_injections halt_exits", cnts, " ")
	nq = split("in out", qs, " ")
	nrow = split("irq in,irq out,frames in,frames out", rows, ",")
	rowname["irq in"] = "  receive queue (input)"
	rowname["irq out"] = "  transmit queue (output)"
	rowname["frames in"] = "guest frames received"
	rowname["frames out"] = "guest frames sent (a TSO frame: 1)"
	for (r in runs) {
		v = vmm_of(r)
		good = status[r] == "0" && done[r]
		for (k = 1; k <= ndir; k++) {
			d = dirs[k]
			if (!good || !np[r, d]) {
				bad[v, d] = bad[v, d] " " r
				continue
			}
			for (p = 1; p <= np[r, d]; p++) {
				all[v, d, ++nall[v, d]] = rate[r, d, p]
				rsum[v, d, round_of(r)] += rate[r, d, p]
			}
			rnp[v, d, round_of(r)] = np[r, d]
			rounds[round_of(r)] = 1
			nb = ++nboots[v, d]
			bmib[v, d] += mib[r, d]
			if (virq[r, d] != "")
				irq[v, d, ++nirq[v, d]] = virq[r, d] / mib[r, d]
			for (q = 1; q <= nq; q++) {
				x = qs[q]
				if (qirq[r, d, x] != "")
					qper[v, d, "irq " x, ++nqper[v, d, "irq " x]] = qirq[r, d, x] / mib[r, d]
				if (frames[r, d, x] != "")
					qper[v, d, "frames " x, ++nqper[v, d, "frames " x]] = frames[r, d, x] / mib[r, d]
			}
			for (c = 1; c <= ncnt; c++) {
				x = cost(r, d, cnts[c])
				if (x != "")
					per[v, d, cnts[c], ++nper[v, d, cnts[c]]] = x / mib[r, d]
			}
			x = cost(r, d, "vmm_cpu"); y = cost(r, d, "vmm_vcpus")
			if (x != "" && y != "") {
				cpu[v, d, "vcpus", ++ncpu[v, d, "vcpus"]] = 10 * y / mib[r, d]
				cpu[v, d, "other", ++ncpu[v, d, "other"]] = 10 * (x - y) / mib[r, d]
			}
			x = phase(r, d, "l1_busy"); y = phase(r, d, "l1_idle")
			if (x != "" && x + y > 0)
				cpu[v, d, "busy", ++ncpu[v, d, "busy"]] = 100 * x / (x + y)
		}
	}
	for (x in rounds)
		round_list[++nround] = x + 0
	sort_num(round_list, nround)
	printf "Network bench: iperf3 in the guest against the host end of a tap\n"
	printf "lkvm virtio-net vs QEMU virtio-net-pci (tap, vhost=off), %s\n\n", where
	for (k = 1; k <= ndir; k++) {
		d = dirs[k]
		printf "%s (%s)\n", d, d == "tx" ? "guest to host" : "host to guest"
		printf "  %-5s %6s %10s %7s %10s %10s %10s\n", "", "passes", "mean Mb/s",
		       "%SD", "median", "min", "max"
		for (j = 1; j <= nvmm; j++) {
			v = vmms[j]; n = nall[v, d]; sum = 0; sq = 0
			for (i = 1; i <= n; i++) { sum += all[v, d, i]; t[i] = all[v, d, i] }
			mean[v, d] = n ? sum / n : ""
			for (i = 1; i <= n; i++) sq += (all[v, d, i] - mean[v, d]) ^ 2
			sd = n > 1 ? sqrt(sq / (n - 1)) : 0
			med[v, d] = median(t, n)
			printf "  %-5s %6d %10s %6s%% %10s %10s %10s\n", v, n, fmt(mean[v, d], 0),
			       n ? fmt(100 * sd / mean[v, d], 1) : "-", fmt(med[v, d], 0),
			       n ? fmt(t[1], 0) : "-", n ? fmt(t[n], 0) : "-"
		}
		if (mean["lkvm", d] != "" && mean["qemu", d] > 0)
			printf "  ratio lkvm/QEMU: %.2fx (means), %.2fx (medians)\n",
			       mean["lkvm", d] / mean["qemu", d], med["lkvm", d] / med["qemu", d]
		if (mean["lkvm", d] != "" && mean["base", d] > 0)
			printf "  ratio lkvm/base: %.2fx (means), %.2fx (medians)\n",
			       mean["lkvm", d] / mean["base", d], med["lkvm", d] / med["base", d]
		paired(d, "qemu", "QEMU")
		if (has_base) {
			paired(d, "base", "base")
			paired(d, "qemu", "QEMU", "base")
		}
		line = sprintf("  per MiB moved (medians over boots) ")
		for (j = 1; j <= nvmm; j++)
			line = line sprintf(" %10s", vmms[j])
		print line
		for (c = 1; c <= ncnt; c++) {
			line = sprintf("    L1 KVM %-26s", cnts[c])
			for (j = 1; j <= nvmm; j++) {
				v = vmms[j]; n = nper[v, d, cnts[c]]
				for (i = 1; i <= n; i++) t[i] = per[v, d, cnts[c], i]
				line = line sprintf(" %10s", fmt(median(t, n), 1))
			}
			print line
		}
		cpurow(d, "vcpus", "VMM vCPU threads, ms (with guest)")
		cpurow(d, "other", "VMM other threads, ms")
		line = sprintf("    %-33s", "guest NIC queue interrupts")
		for (j = 1; j <= nvmm; j++) {
			v = vmms[j]; n = nirq[v, d]
			for (i = 1; i <= n; i++) t[i] = irq[v, d, i]
			line = line sprintf(" %10s", fmt(median(t, n), 1))
		}
		print line
		for (q = 1; q <= nrow; q++) {
			x = rows[q]
			line = sprintf("    %-33s", rowname[x])
			for (j = 1; j <= nvmm; j++) {
				v = vmms[j]; n = nqper[v, d, x]
				for (i = 1; i <= n; i++) t[i] = qper[v, d, x, i]
				line = line sprintf(" %10s", fmt(median(t, n), 1))
			}
			print line
		}
		line = sprintf("  %-35s", "L1 CPUs busy in the phase, %")
		for (j = 1; j <= nvmm; j++) {
			v = vmms[j]; n = ncpu[v, d, "busy"]
			for (i = 1; i <= n; i++) t[i] = cpu[v, d, "busy", i]
			line = line sprintf(" %10s", fmt(median(t, n), 0))
		}
		print line
		printf "\n"
	}
	devline("tx kicks", "tx frames", "tx kicks per frame sent")
	devline("tx irqs", "tx frames", "tx interrupts per frame sent")
	devline("rx irqs", "rx frames", "rx interrupts per frame received")
	devline("rx kicks", "rx frames", "rx kicks per frame received")
	tracerows()
	cpudiff()
	fail = 0
	for (k = 1; k <= ndir; k++)
		for (j = 1; j <= nvmm; j++) {
			v = vmms[j]; d = dirs[k]
			if (bad[v, d] != "")
				printf "left out (%s %s): %s\n", v, d, bad[v, d]
			if (!nall[v, d]) {
				printf "NO GOOD RUN: %s %s\n", v, d
				fail = 1
			}
		}
	if (problems != "")
		printf "%s\n", problems
	exit fail
}' "${files[@]}"

#!/bin/bash
# Turns the runs of tests/bench/bench.bats into the bench table:
#
#   report.sh ROUND_DIR...    (tests/kit/out/e2e/bench/round-*)
#
# Reads ROUND_DIR/results/{lkvm,qemu}-{idle,read-N,write-N}/ (the guest's
# console, lkvm's stderr, the sampler's marks and trace histogram in
# post.out) and prints the table on stdout.  Exits 1, after the table,
# when some VMM and direction has no good run at all.
set -euo pipefail
source "$(dirname "$0")/rounds.bash"

(($#)) || {
	echo "usage: report.sh ROUND_DIR..." >&2
	exit 2
}

# Runs by name (unique over the rounds), and what went wrong with rounds.
declare -A rundir
nruns=0
problems=()
first=
for state in "$@"; do
	round_check "$state" || continue
	first=${first:-$state}
	for d in "$state"/results/*/; do
		n=$(basename "$d")
		[[ -f $d/done && $n =~ ^(lkvm|qemu)-(idle|read|write) ]] || continue
		rundir[$n]=$state/results/$n
		nruns=$((nruns + 1))
	done
done
state=${first:-$1}
results=$state/results
# (Every round lost: no runs, and the table says so.)
runs=()
((nruns == 0)) ||
	mapfile -t runs < <(printf '%s\n' "${!rundir[@]}" | sort -V)
# One awk over every run's files; FILENAME tells which run and which file.
files=()
for n in "${runs[@]}"; do
	for f in status console stderr post.out; do
		[[ -f ${rundir[$n]}/$f ]] || : >"${rundir[$n]}/$f"
		files+=("${rundir[$n]}/$f")
	done
done

where=$(head -n 1 "$state/notes" 2>/dev/null | cut -d ";" -f 1 || true)
l1kernel=$(sed -n 's/^kernel //p' "$results/l1-info" 2>/dev/null || true)
qemu_version=$("${QEMU:-qemu-system-x86_64}" --version 2>/dev/null | head -n 1 || true)

problem_text=$(printf '%s\n' "${problems[@]}")
awk -v where="$where" -v l1kernel="$l1kernel" -v qemu_version="$qemu_version" \
	-v problems="$problem_text" '
function run_of(path,   p, n) { n = split(path, p, "/"); return p[n - 1] }
function file_of(path,   p, n) { n = split(path, p, "/"); return p[n] }

# Sorts a[1..n] (numbers) in place; n is small.
function sort_num(a, n,   i, j, t) {
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && a[j - 1] > a[j]; j--) {
			t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
		}
}
function median(a, n) {
	sort_num(a, n)
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function fmt(v, d) { return v == "" ? "-" : sprintf("%." d "f", v) }
function ratio(a, b) { return (a == "" || b == "" || b == 0) ? "" : a / b }

{ sub(/\r$/, "") }

file_of(FILENAME) == "status" { status[run_of(FILENAME)] = $1; next }

file_of(FILENAME) == "stderr" {
	r = run_of(FILENAME)
	if ($1 == "total" && NF == 2) stats_total[r] = $2
	next
}

file_of(FILENAME) == "console" {
	r = run_of(FILENAME)
	if ($1 != "lkvm-bench:") next
	if ($2 == "mode") { passes[r] = $5; bytes[r] = $9 }
	else if ($2 == "done") done[r] = 1
	else if ($2 == "blkstat" && $3 == "before") for (i = 4; i <= NF; i++) sb[r, i - 3] = $i
	else if ($2 == "blkstat" && $3 == "after") for (i = 4; i <= NF; i++) sa[r, i - 3] = $i
	else if ($2 == "virtio-irqs") irqs[r] = $6 - $4
	else if ($2 == "result") {
		res[r] = 1
		for (i = 1; i <= NF; i++) if ($i ~ /^rc/) break
		for (i++; i <= NF && $i ~ /^[0-9]+$/; i++) if ($i != 0) ddfail[r] = 1
		for (i++; i <= NF; i++) {
			split($i, tt, "-")
			if (tt[2] > tt[1]) { np[r]++; mibs[r, np[r]] = ($5 / 1048576) / ((tt[2] - tt[1]) / 1e9) }
		}
	}
	next
}

file_of(FILENAME) == "post.out" {
	r = run_of(FILENAME)
	if ($1 == "mark") {
		nm[r]++; mname[r, nm[r]] = $2; mat[r, $2] = nm[r]
		for (i = 4; i <= NF; i++) {
			split($i, kv, "=")
			cnt[r, $2, kv[1]] = kv[2]
		}
	} else if ($1 == "trace") {
		key = $2; for (i = 3; i < NF; i++) key = key " " $i
		trc[r, key] = $NF; tkeys[key] = 1; traced[r] = 1
	} else if ($1 == "sampler:" && $2 != "done") note[r] = $0
	next
}

# The counter K over the phase that starts at mark M (up to the next mark).
function phase(r, m, k,   i, a, b) {
	i = mat[r, m]
	if (!i || i >= nm[r]) return ""
	a = cnt[r, m, k]; b = cnt[r, mname[r, i + 1], k]
	if (a !~ /^[0-9]+$/ || b !~ /^[0-9]+$/) return ""
	return b - a
}

END {
	split("lkvm qemu", vmms, " ")
	split("read write", modes, " ")
	label["lkvm"] = "lkvm"; label["qemu"] = "QEMU"
	for (r in status) {
		split(r, p, "-"); v = p[1]; m = p[2]
		good = status[r] == 0 && done[r] && (m == "idle" || (res[r] && !ddfail[r] && np[r] > 0))
		if (!good) {
			why = "exit status " status[r]
			if (!done[r]) why = why ", the guest never said done"
			if (ddfail[r]) why = why ", dd failed"
			bad[++nbad] = r ": " why
			continue
		}
		if (m == "idle") { idle_run[v] = r; continue }
		g = v SUBSEP m
		nruns[g]++
		for (i = 1; i <= np[r]; i++) { nx[g]++; x[g, nx[g]] = mibs[r, i] }
		mib = bytes[r] / 1048576; mib_pass[g] = mib
		moved = passes[r] * mib
		# Per MiB of dd: the dd phase less the idle phase (same 1 s sleep).
		split("exits io_exits mmio_exits halt_exits irq_exits insn_emulation irq_injections irq_window_exits", ks, " ")
		for (j in ks) {
			k = ks[j]; a = phase(r, m, k); b = phase(r, "idle", k)
			if (a == "" || b == "") continue
			per[g, k] += (a - b) / moved; nper[g, k]++
			if (!((g, k) in lo) || (a - b) / moved < lo[g, k]) lo[g, k] = (a - b) / moved
			if (!((g, k) in hi) || (a - b) / moved > hi[g, k]) hi[g, k] = (a - b) / moved
		}
		f = m == "read" ? 1 : 5
		reqs[g] += (sa[r, f] - sb[r, f]) / moved
		flushes[g] += (sa[r, 16] - sb[r, 16]) / moved
		virqs[g] += irqs[r] / moved
		if (traced[r]) {
			ntr[g]++; trmib[g] += mib
			for (key in tkeys) trsum[g, key] += trc[r, key]
		}
		if (v == "lkvm" && r in stats_total) { st_sum[m] += stats_total[r]; st_n[m]++; st_moved[m] = moved }
		if (r in note) notes[note[r]] = 1
	}

	print "make bench: guest dd over a raw image on virtio-blk, O_DIRECT, 1 MiB blocks"
	print "where: " where
	if (l1kernel != "") print "       guests: Debian " l1kernel ", 1 vCPU, 256 MiB, same kernel, initramfs and image for both VMMs"
	print "peer:  " qemu_version ", -M q35 -cpu host, virtio-blk-pci (cache=writeback, aio=threads)"
	for (j = 1; j <= 2; j++) for (i = 1; i <= 2; i++) {
		g = vmms[i] SUBSEP modes[j]
		if (nx[g]) {
			n = nx[g]; for (k = 1; k <= n; k++) xs[k] = x[g, k]
			best[g] = xs[1]; for (k = 2; k <= n; k++) if (xs[k] > best[g]) best[g] = xs[k]
			med[g] = median(xs, n)
			line = ""; for (k = 1; k <= n; k++) line = line " " fmt(x[g, k], 0)
			passes_line[g] = line
		}
	}
	g1 = "lkvm" SUBSEP "read"
	printf "runs:  %d rounds (boots of L1), in each one boot per VMM and direction, interleaved;\n       %d timed passes of %d MiB per boot\n", nruns[g1], nx[g1] / (nruns[g1] ? nruns[g1] : 1), mib_pass[g1]
	print ""
	print "Throughput, MiB/s by the guest clock (best and median of all passes)."
	print "Under nested TCG the absolute numbers mean little; the ratio is the result."
	printf "%-7s %10s %8s %10s %8s %12s %8s\n", "", "lkvm best", "median", "QEMU best", "median", "lkvm/QEMU best", "median"
	for (j = 1; j <= 2; j++) {
		m = modes[j]; a = "lkvm" SUBSEP m; b = "qemu" SUBSEP m
		printf "%-7s %10s %8s %10s %8s %14s %8s\n", m, fmt(best[a], 1), fmt(med[a], 1), fmt(best[b], 1), fmt(med[b], 1),
			fmt(ratio(best[a], best[b]), 2), fmt(ratio(med[a], med[b]), 2)
	}
	print "each pass, in run order:"
	for (j = 1; j <= 2; j++) for (i = 1; i <= 2; i++) {
		g = vmms[i] SUBSEP modes[j]
		printf "  %-5s %-6s%s\n", label[vmms[i]], modes[j], passes_line[g] == "" ? " (no good run)" : passes_line[g]
	}

	print ""
	print "Per MiB of dd: counts that do not depend on the machine'"'"'s speed."
	print "VM exits from L1 KVM'"'"'s counters (debugfs), the dd phase less an idle phase"
	print "of the same 1 s sleep; mean over the runs, [min, max] when they differ."
	printf "%-32s %16s %16s %16s %16s\n", "", "lkvm read", "QEMU read", "lkvm write", "QEMU write"
	nrow = split("exits|io_exits+mmio_exits|insn_emulation|halt_exits|irq_exits|irq_window_exits|irq_injections", rows, "|")
	rowname["exits"] = "VM exits, all"
	rowname["io_exits+mmio_exits"] = "  to userspace (port + MMIO)"
	rowname["insn_emulation"] = "  instructions KVM emulated"
	rowname["halt_exits"] = "  HLT"
	rowname["irq_exits"] = "  host interrupts"
	rowname["irq_window_exits"] = "  interrupt windows"
	rowname["irq_injections"] = "interrupts injected"
	for (q = 1; q <= nrow; q++) {
		printf "%-32s", rowname[rows[q]]
		for (j = 1; j <= 2; j++) for (i = 1; i <= 2; i++) {
			g = vmms[i] SUBSEP modes[j]
			nk = split(rows[q], kk, "+"); v = ""; l = ""; h = ""
			for (z = 1; z <= nk; z++) if (nper[g, kk[z]]) {
				v += per[g, kk[z]] / nper[g, kk[z]]; l += lo[g, kk[z]]; h += hi[g, kk[z]]
			}
			s = fmt(v, 2)
			if (v != "" && nruns[g] > 1 && sprintf("%.2f", l) != sprintf("%.2f", h))
				s = s sprintf(" [%.1f,%.1f]", l, h)
			printf " %16s", s
		}
		printf "\n"
	}
	printf "%-32s", "guest block requests"
	for (j = 1; j <= 2; j++) for (i = 1; i <= 2; i++) { g = vmms[i] SUBSEP modes[j]; printf " %16s", nruns[g] ? fmt(reqs[g] / nruns[g], 2) : "-" }
	printf "\n%-32s", "guest flushes"
	for (j = 1; j <= 2; j++) for (i = 1; i <= 2; i++) { g = vmms[i] SUBSEP modes[j]; printf " %16s", nruns[g] ? fmt(flushes[g] / nruns[g], 3) : "-" }
	printf "\n%-32s", "guest virtio interrupts"
	for (j = 1; j <= 2; j++) for (i = 1; i <= 2; i++) { g = vmms[i] SUBSEP modes[j]; printf " %16s", nruns[g] ? fmt(virqs[g] / nruns[g], 2) : "-" }
	printf "\n"

	print ""
	print "lkvm --stats, exits to userspace over the whole run (boot, idle, dd, and the"
	print "result lines the guest prints: one exit or more per console byte), mean:"
	if ("lkvm" in idle_run && idle_run["lkvm"] in stats_total) {
		base = stats_total[idle_run["lkvm"]]
		printf "  boot-only run %d\n", base
		for (j = 1; j <= 2; j++) { m = modes[j]; if (st_n[m]) {
			a = st_sum[m] / st_n[m]
			printf "  %-5s runs   %.0f: +%.0f for %d MiB moved (timed and traced passes), %.2f per MiB\n",
				m, a, a - base, st_moved[m] + mib_pass[g1], (a - base) / (st_moved[m] + mib_pass[g1])
		} }
	} else print "  (no boot-only lkvm run with --stats)"

	n = 0; for (key in tkeys) keys[++n] = key
	for (i = 2; i <= n; i++) for (j = i; j > 1 && keys[j - 1] > keys[j]; j--) { t = keys[j]; keys[j] = keys[j - 1]; keys[j - 1] = t }
	if (n) {
		print ""
		print "What the exits are: one traced pass per run (L1 tracefs kvm_exit, kvm_mmio,"
		print "kvm_msr, kvm_pio, kvm_msi_set_irq), per MiB; the pass starts with a 1 s sleep"
		printf "%-32s %16s %16s %16s %16s\n", "", "lkvm read", "QEMU read", "lkvm write", "QEMU write"
		msr["838"] = "APIC timer count"; msr["6e0"] = "TSC deadline"; msr["80b"] = "APIC EOI"
		msr["830"] = "APIC ICR"; msr["3b"] = "TSC adjust"
		for (q = 1; q <= n; q++) {
			key = keys[q]; shown = key
			split(key, kp, " ")
			if (kp[1] == "pio") { sub(/^pio_/, "", kp[2]); shown = "port " kp[2] " " kp[3] }
			if (kp[1] == "mmio") shown = "mmio " kp[2] " " kp[3] " (" kp[5] " bytes)"
			if (kp[1] == "msr") {
				sub(/^msr_/, "", kp[2])
				shown = "msr " kp[2] " 0x" kp[3] (kp[3] in msr ? " " msr[kp[3]] : "")
			}
			# Rare keys (the console, program start-up) are summed up below.
			mx = 0
			for (j = 1; j <= 2; j++) for (i = 1; i <= 2; i++) {
				g = vmms[i] SUBSEP modes[j]
				if (trmib[g]) { v = trsum[g, key] / trmib[g]; if (v > mx) mx = v }
			}
			if (mx < 0.05 && kp[1] != "exit") continue
			printf "%-32s", substr(shown, 1, 32)
			for (j = 1; j <= 2; j++) for (i = 1; i <= 2; i++) {
				g = vmms[i] SUBSEP modes[j]
				printf " %16s", trmib[g] ? fmt(trsum[g, key] / trmib[g], 2) : "-"
			}
			printf "\n"
		}
		print "(the 2-byte mmio writes are the queue doorbells, each VMM'"'"'s at its own address;"
		print " msi counts the MSIs a VMM signalled with KVM_SIGNAL_MSI or an irqfd)"
	}

	for (k in notes) print "note: " k
	if (nbad) {
		print ""
		print "Runs left out (their console, stderr, l1-dmesg are in round-N/results/NAME/):"
		for (i = 1; i <= nbad; i++) print "  " bad[i]
	}
	if (problems != "") {
		print ""
		print "Rounds (boots of L1) that went wrong (round-N/l1-console*.log tell why):"
		npl = split(problems, pl, "\n")
		for (i = 1; i <= npl; i++) print "  " pl[i]
	}
	missing = 0
	for (j = 1; j <= 2; j++) for (i = 1; i <= 2; i++)
		if (!nx[vmms[i] SUBSEP modes[j]]) { missing = 1; print "report: no good " label[vmms[i]] " " modes[j] " run" > "/dev/stderr" }
	exit missing
}' "${files[@]}"

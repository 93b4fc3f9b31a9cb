# End-to-end tests: the guest kit, the bats suite, and the demo.
# Included by the top Makefile, which defines unit, lkvm and lkvm-static.
#
#   make kit    build the guest kit from Debian packages (cached)
#   make e2e    run the bats suite in tests/e2e
#   make check  unit, then e2e
#   make demo   boot the kit kernel to a busybox shell on this terminal
#   make soak   count the emulated L1's wedges over many L2 boots
#   make kdev   build the kernel a kernel developer boots (cached; boot.bats
#               boots it when it is there)
#
# E2E_PATH=direct|l1 forces how Linux guests run (default: kvm-probe
# decides); BATS_FLAGS adds bats options (e.g. --filter hello).

KIT_DIR   := tests/kit
KIT_OUT   := $(KIT_DIR)/out
KIT_CACHE := $(KIT_DIR)/cache
KIT_BUILD := sh $(KIT_DIR)/build.sh
BATS      ?= bats
BATS_FLAGS ?=

KIT_FILES := $(KIT_OUT)/kvm-probe $(KIT_OUT)/pty-signal $(KIT_OUT)/xfer \
	     $(KIT_OUT)/l2-initrd.cpio $(KIT_OUT)/l1-base.cpio \
	     $(KIT_OUT)/l2-vsock.cpio $(KIT_OUT)/vsock-peer

kit: $(KIT_FILES)

# The only step that downloads; it keeps what is in the cache.
$(KIT_CACHE)/.fetched:
	$(KIT_BUILD) fetch

$(KIT_OUT)/.unpacked: $(KIT_CACHE)/.fetched $(KIT_DIR)/build.sh \
		$(KIT_DIR)/l1-modules.txt $(KIT_DIR)/l2-modules.txt
	$(KIT_BUILD) unpack
	touch $@

$(KIT_OUT)/l2-initrd.cpio: $(KIT_OUT)/.unpacked $(KIT_DIR)/l2-init.sh $(KIT_OUT)/xfer \
		$(wildcard $(KIT_DIR)/l2-bin/* tests/e2e/guest/*.sh)
	$(KIT_BUILD) l2-initrd

# The vsock tests' extras for L2 (socat, the hostile driver).
$(KIT_OUT)/l2-vsock.cpio: $(KIT_OUT)/.unpacked $(KIT_OUT)/vsock-hostile
	$(KIT_BUILD) l2-vsock

$(KIT_OUT)/l1-base.cpio: $(KIT_OUT)/l2-initrd.cpio $(KIT_OUT)/kvm-hold tests/lib/l1-init.sh \
		tests/lib/plan-exec.sh tests/lib/disk.sh tests/lib/driver.sh
	$(KIT_BUILD) l1-base

# Own flags: the probe is a standalone program, not part of lkvm.
$(KIT_OUT)/kvm-probe: $(KIT_DIR)/kvm-probe.c
	@mkdir -p $(KIT_OUT)
	$(CC) -O2 -Wall -Wextra -o $@ $<

# The network tests' transfer tool, static: the same binary runs in L1 and L2.
$(KIT_OUT)/xfer: $(KIT_DIR)/xfer.c
	@mkdir -p $(KIT_OUT)
	$(CC) -O2 -Wall -Wextra -static -o $@ $<

# Static: they run in the emulated L1 (vsock-peer, kvm-hold) and in L2
# (the hostile driver), which have no glibc.
$(KIT_OUT)/vsock-peer $(KIT_OUT)/vsock-hostile $(KIT_OUT)/kvm-hold: $(KIT_OUT)/%: $(KIT_DIR)/%.c
	@mkdir -p $(KIT_OUT)
	$(CC) -static -O2 -Wall -Wextra -o $@ $<

# forkpty is in libc since glibc 2.34; -lutil keeps older ones working.
$(KIT_OUT)/pty-signal: $(KIT_DIR)/pty-signal.c
	@mkdir -p $(KIT_OUT)
	$(CC) -O2 -Wall -Wextra -o $@ $< -lutil

# Then how often the emulated L1 wedged and was run again, from the state
# of every .bats file that ran (tests/lib/e2e-summary.sh).
E2E_STAMP := $(KIT_OUT)/e2e/.started
e2e: lkvm lkvm-static kit
	@mkdir -p $(KIT_OUT)/e2e && touch $(E2E_STAMP)
	@rc=0; $(BATS) $(BATS_FLAGS) tests/e2e || rc=$$?; \
	bash tests/lib/e2e-summary.sh $(E2E_STAMP) $(KIT_OUT)/e2e/*/; exit $$rc

# Not part of check: the build takes 25 minutes on two idle cores. Once
# cached, make check boots it (boot.bats); .ci/run builds it first.
kdev:
	@bash tests/lib/deps.sh kdev
	@nice sh $(KIT_DIR)/kernel.sh >/dev/null

# The Debian packages (tests/lib/deps.sh), then unit, the docs, and e2e
# even if a unit test failed, so one run reports all; check fails if any did.
check:
	@bash tests/lib/deps.sh check
	@rc=0; $(MAKE) unit || rc=1; $(MAKE) doc-check || rc=1; \
	$(MAKE) e2e || rc=1; exit $$rc

# deps.sh first: on a fresh machine it installs (as root) or names the
# Debian packages the build and the kit need.
demo:
	@bash tests/lib/deps.sh demo
	@$(MAKE) --no-print-directory lkvm lkvm-static kit
	bash tests/lib/demo.sh

# How often the emulated L1 wedges: SOAK_BOOTS short L2 boots, wedges per
# 100 (tests/soak/soak.bats). Not part of check: 100 boots take about 20
# minutes here. L1_SMP, L1_MEM, L1_ACCEL and L1_APPEND set L1's machine.
soak: lkvm lkvm-static kit
	@rc=0; $(BATS) tests/soak/soak.bats || rc=$$?; \
	if [ -f $(KIT_OUT)/soak/result.txt ]; then echo; cat $(KIT_OUT)/soak/result.txt; fi; \
	exit $$rc

-include tests/fuzz/fuzz.mk
# make bench (tests/bench) and the tiny host-direct guest (tests/kit/tiny).
-include tests/bench/bench.mk
-include tests/kit/tiny/tiny.mk

.PHONY: kit e2e check demo soak kdev

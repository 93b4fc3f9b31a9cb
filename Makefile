# lkvm: a small KVM host tool for kernel developers.
#
#   make            build ./lkvm
#   make check      unit tests, then the end-to-end suite (boots real Linux)
#   make unit       unit tests only (no /dev/kvm needed)
#   make doc-check  man page and completion match lkvm's help (no KVM)
#   make demo       boot a Debian kernel to a busybox shell
#   make bench      benchmarks against a peer VMM (not part of check)
#   make fuzz       run the fuzz targets for a while
#   make install PREFIX=/usr/local DESTDIR=
#                   bin/lkvm, share/man/man1/lkvm.1 and
#                   share/bash-completion/completions/lkvm

CC      ?= cc
PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ARCH    ?= $(shell uname -m)
CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers
CFLAGS  += -I. -D_GNU_SOURCE -pthread -MMD -MP
LDFLAGS += -pthread
# Warnings are errors in CI (CI=true), or with WERROR=1.
ifneq ($(filter 1,$(WERROR))$(filter true,$(CI)),)
CFLAGS  += -Werror
endif

VERSION := $(shell git describe --always --dirty 2>/dev/null || echo unknown)

# Generic code: everything but the arch folders and main.
CORE_SRCS := $(wildcard kvm/*.c virtio/*.c term/*.c disk/*.c)
CMD_SRCS  := $(wildcard builtin-cmds/*.c)
ifeq ($(ARCH),x86_64)
ARCH_DIR := x86
endif
ifeq ($(ARCH),aarch64)
ARCH_DIR := arm64
endif
ARCH_SRCS := $(wildcard $(ARCH_DIR)/*.c)
# Generic code reaches the arch only through "arch-vm.h" and arch_*().
CFLAGS    += -I$(ARCH_DIR)

LIB_OBJS := $(CORE_SRCS:.c=.o) $(ARCH_SRCS:.c=.o)
# The guest agent's protocol, and the agent itself as a blob (below).
AGENT_OBJS := builtin-cmds/agent/proto.o builtin-cmds/agent/blob.o
OBJS     := main.o $(CMD_SRCS:.c=.o) $(AGENT_OBJS) $(LIB_OBJS)

all: lkvm

lkvm: $(OBJS)
	$(CC) $(LDFLAGS) -o $@ $(OBJS) $(LDLIBS)

# A static build is what goes inside the emulated L1 machine of the tests.
lkvm-static: $(OBJS)
	$(CC) $(LDFLAGS) -static -o $@ $(OBJS) $(LDLIBS)

builtin-cmds/version.o: CFLAGS += -DLKVM_VERSION='"$(VERSION)"'

# The guest agent: a static program for the guest (builtin-cmds/agent/),
# which lkvm carries inside itself (blob.S) and puts in the initramfs for
# `lkvm run -- CMD` and --agent.  Small (-Os, stripped), and built with
# lkvm's warnings but none of its host-only flags.
AGENT      := builtin-cmds/agent/lkvm-agent
AGENT_SRCS := builtin-cmds/agent/agent.c builtin-cmds/agent/proto.c
AGENT_CFLAGS := $(filter-out -O% -g -MMD -MP -pthread,$(CFLAGS)) -Os

$(AGENT): $(AGENT_SRCS) builtin-cmds/agent/proto.h
	$(CC) $(AGENT_CFLAGS) -static -s -o $@ $(AGENT_SRCS)

builtin-cmds/agent/blob.o: builtin-cmds/agent/blob.S $(AGENT)
	$(CC) -c -o $@ $<

# Unit tests: tests/unit/test-NAME.c, linked against the library objects it
# names in tests/unit/test-NAME.mk as "test-NAME-objs := a.o b.o".
-include $(wildcard tests/unit/*.mk)
UNIT_SRCS  := $(wildcard tests/unit/test-*.c)
UNIT_TESTS := $(UNIT_SRCS:.c=)

.SECONDEXPANSION:
tests/unit/test-%: tests/unit/test-%.c tests/unit/unit.h $$(test-%-objs)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(test-$*-objs) $(LDLIBS)

# The layering check (tests/check-layers.sh) counts as one more test, and
# so does each fuzz target's replay (tests/fuzz/fuzz.mk adds them).
unit: $(UNIT_TESTS)
	@pass=0; fail=0; \
	for t in $(UNIT_TESTS) tests/check-layers.sh $(REPLAY_BINS); do \
		if timeout 60 ./$$t; then pass=$$((pass+1)); \
		else echo "FAIL: $$t"; fail=$$((fail+1)); fi; \
	done; \
	echo "unit: $$pass passed, $$fail failed"; test $$fail -eq 0

-include tests/tests.mk

# The man page and the bash completion are checked against ./lkvm's own
# help (tests/doc), so a command or option added without docs fails check.
doc-check: lkvm
	$(BATS) tests/doc

install: lkvm
	install -d "$(DESTDIR)$(BINDIR)" "$(DESTDIR)$(MANDIR)/man1" \
		"$(DESTDIR)$(BASHCOMPDIR)"
	install -m 0755 lkvm "$(DESTDIR)$(BINDIR)/lkvm"
	install -m 0644 builtin-cmds/lkvm.1 "$(DESTDIR)$(MANDIR)/man1/lkvm.1"
	install -m 0644 builtin-cmds/lkvm-completion.bash \
		"$(DESTDIR)$(BASHCOMPDIR)/lkvm"

clean:
	rm -f lkvm lkvm-static $(OBJS) $(OBJS:.o=.d) $(UNIT_TESTS) main.d $(AGENT)
	rm -f tests/unit/*.d

.PHONY: all unit doc-check check install clean demo bench fuzz

-include $(OBJS:.o=.d)

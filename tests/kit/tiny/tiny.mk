# The tiny bzImage guest (tests/kit/tiny/tiny.S) and what runs it on the
# host: tests/e2e/host.bats.  Included by tests/tests.mk.
#
#   make tiny   build tests/kit/out/tiny-bzImage
#   make tsan   build lkvm with ThreadSanitizer (tests/kit/out/lkvm-tsan)
#               and run tests/e2e/host.bats with it, then real Linux
#               guests with virtio disks (tests/tsan/tsan.bats)
#
# The guest is assembled at 0 and is one flat section: objcopy turns the
# object straight into the image, with no link step (it has no relocations;
# its code is RIP-relative).

TINY_DIR := tests/kit/tiny
TINY     := $(KIT_OUT)/tiny-bzImage
OBJCOPY  ?= objcopy

$(TINY): $(TINY_DIR)/tiny.S $(TINY_DIR)/tiny.mk
	@mkdir -p $(KIT_OUT)
	$(CC) -c -o $(KIT_OUT)/tiny.o $<
	$(OBJCOPY) -O binary -j .text $(KIT_OUT)/tiny.o $@

tiny: $(TINY)

# host.bats needs it; adding a prerequisite here leaves the e2e recipe alone.
e2e: $(TINY)

# ThreadSanitizer: the same sources, their own objects, -O1 so reports keep
# their line numbers.  TSan halts at the first report with exit status 66,
# which no host.bats case expects, so a race fails the run.
TSAN_DIR    := $(KIT_OUT)/tsan
TSAN_LKVM   := $(KIT_OUT)/lkvm-tsan
# -Wno-tsan: TSan does not model the two seq_cst fences of virtio/virtq.c
# (the event-index handshake), and gcc says so; under -Werror (CI) that
# would stop the build. The host.bats guests use no virtio anyway.
TSAN_CFLAGS := $(filter-out -O%,$(CFLAGS)) -O1 -g -fsanitize=thread -Wno-tsan
TSAN_OBJS   := $(addprefix $(TSAN_DIR)/,$(OBJS))
TSAN_OPTIONS ?= halt_on_error=1 exitcode=66 second_deadlock_stack=1

$(TSAN_DIR)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(TSAN_CFLAGS) -c -o $@ $<

$(TSAN_DIR)/builtin-cmds/version.o: TSAN_CFLAGS += -DLKVM_VERSION='"$(VERSION)-tsan"'

# The guest agent's blob is no C: the same object as lkvm's.
$(TSAN_DIR)/builtin-cmds/agent/blob.o: builtin-cmds/agent/blob.S $(AGENT)
	@mkdir -p $(@D)
	$(CC) -c -o $@ $<

$(TSAN_LKVM): $(TSAN_OBJS)
	$(CC) $(LDFLAGS) -fsanitize=thread -o $@ $(TSAN_OBJS) $(LDLIBS)

tsan: $(TSAN_LKVM) $(TINY) kit
	E2E_LKVM=$(abspath $(TSAN_LKVM)) TSAN_OPTIONS='$(TSAN_OPTIONS)' \
		$(BATS) $(BATS_FLAGS) tests/e2e/host.bats tests/e2e/migrate-host.bats
	$(BATS) $(BATS_FLAGS) tests/tsan

-include $(TSAN_OBJS:.o=.d)

.PHONY: tiny tsan

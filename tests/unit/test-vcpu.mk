test-vcpu-objs := kvm/vcpu.o kvm/log.o
# The test plays KVM: KVM_RUN from kvm/vcpu.o reaches its __wrap_ioctl().
tests/unit/test-vcpu: LDFLAGS += -Wl,--wrap=ioctl

test-control-proto-objs := kvm/control-proto.o kvm/log.o

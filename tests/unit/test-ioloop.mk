test-ioloop-objs := kvm/ioloop.o kvm/log.o

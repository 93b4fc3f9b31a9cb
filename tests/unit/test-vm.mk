test-vm-objs := kvm/vm.o kvm/fate.o kvm/pause.o kvm/ioloop.o kvm/iobus.o kvm/mem.o kvm/log.o

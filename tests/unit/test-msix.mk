test-msix-objs := kvm/msix.o kvm/pci.o kvm/iobus.o kvm/irq.o kvm/log.o kvm/migrate-stream.o

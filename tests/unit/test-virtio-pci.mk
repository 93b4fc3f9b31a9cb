test-virtio-pci-objs := virtio/pci.o virtio/blk.o virtio/virtio.o virtio/virtq.o virtio/iov.o disk/disk.o disk/raw.o kvm/pci.o kvm/iobus.o kvm/ioloop.o kvm/mem.o kvm/log.o kvm/irq.o

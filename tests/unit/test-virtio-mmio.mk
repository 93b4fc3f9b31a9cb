test-virtio-mmio-objs := virtio/mmio.o virtio/blk.o virtio/virtio.o virtio/virtq.o virtio/iov.o disk/disk.o disk/raw.o kvm/iobus.o kvm/ioloop.o kvm/mem.o kvm/log.o kvm/irq.o kvm/migrate-stream.o

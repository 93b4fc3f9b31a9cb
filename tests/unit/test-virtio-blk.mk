test-virtio-blk-objs := virtio/blk.o virtio/virtio.o virtio/virtq.o virtio/iov.o disk/disk.o disk/raw.o kvm/mem.o kvm/log.o kvm/migrate-stream.o

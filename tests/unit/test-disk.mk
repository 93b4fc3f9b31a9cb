test-disk-objs := disk/disk.o disk/raw.o kvm/log.o

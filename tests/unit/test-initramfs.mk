test-initramfs-objs := builtin-cmds/initramfs.o

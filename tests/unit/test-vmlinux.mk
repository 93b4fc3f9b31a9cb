test-vmlinux-objs := x86/vmlinux.o

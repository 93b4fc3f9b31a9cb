test-bzimage-objs := x86/bzimage.o

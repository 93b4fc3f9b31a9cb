test-boot-objs := x86/boot.o x86/bzimage.o

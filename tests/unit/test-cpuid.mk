test-cpuid-objs := x86/cpuid.o

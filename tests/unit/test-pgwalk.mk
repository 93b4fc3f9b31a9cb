test-pgwalk-objs := x86/pgwalk.o

test-acpi-objs := x86/acpi.o x86/aml.o

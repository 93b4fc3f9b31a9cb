# Scenario reboot: `reboot -f` (the kernel's restart path: ACPI reset
# register, then the keyboard controller, then a triple fault) ends the VM,
# and lkvm exits 0, as kvmtool does.
echo "lkvm-guest: rebooting"
drain-console
reboot -f
echo "lkvm-guest: reboot -f returned"

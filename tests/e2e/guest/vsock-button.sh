# Scenario vsock-button: wait for the ACPI power button, as acpid or
# systemd-logind would, and power off when it is pressed (vsock.bats: lkvm
# stop --graceful without an agent).  The button driver and evdev come in
# the l2-vsock archive.
insmod /lib/modules/button.ko
insmod /lib/modules/evdev.ko
i=0
while [ ! -e /dev/input/event0 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
echo "lkvm-guest: input: $(cat /sys/class/input/event0/device/name 2>/dev/null)"
echo "lkvm-guest: waiting for the power button"
dd if=/dev/input/event0 of=/dev/null bs=24 count=1 2>/dev/null
echo "lkvm-guest: power button pressed"
poweroff -f

#!/bin/sh
# The floors of lkvm, checked over the #include lines (shared/STYLE.md):
#   - kvm/ is the ground floor: it includes nothing from term/, virtio/,
#     disk/, an arch folder or builtin-cmds/, and reaches the arch only
#     through "arch-vm.h";
#   - generic code (kvm/, virtio/, term/, disk/) includes no arch folder
#     and no builtin-cmds/ header;
#   - a device never sees the VM: virtio/ and disk/ files include
#     kvm/vm.h only in a device's module (*-module.c) or a transport.
# Prints each offending line and exits 1; "layers: ok" otherwise.
cd "$(dirname "$0")/.." || exit 2
bad=0

offend() {
	# $1: files, $2: pattern of a forbidden include, $3: why
	for f in $1; do
		[ -f "$f" ] || continue
		grep -Hn "^#include \"$2" "$f" | while read -r l; do
			echo "layers: $l: $3"
		done
	done
}

out=$(
	offend "kvm/*.c kvm/*.h" '\(term\|virtio\|disk\|x86\|arm64\|builtin-cmds\)/' \
		"kvm/ must not know the floors above it"
	offend "kvm/*.c kvm/*.h virtio/*.c virtio/*.h term/*.c term/*.h disk/*.c disk/*.h" \
		'\(x86\|arm64\|builtin-cmds\)/' \
		"generic code reaches the arch only through arch-vm.h"
	for f in virtio/*.c disk/*.c; do
		case $f in
		*-module.c | virtio/transport.c | virtio/pci*.c | virtio/mmio.c) ;;
		*) offend "$f" 'kvm/vm\.h"' "a device never sees the VM" ;;
		esac
	done
)
if [ -n "$out" ]; then
	echo "$out"
	bad=1
else
	echo "layers: ok"
fi
exit $bad

# Scenario blk-read: vda is a 4 MiB disk_pattern image, attached ,ro.
# Print what the guest's virtio_blk driver sees, through the page cache
# and with O_DIRECT, so the host can compare checksums.
echo "lkvm-guest: vda sectors $(cat /sys/block/vda/size) ro $(cat /sys/block/vda/ro)"
echo "lkvm-guest: vda md5 $(md5sum </dev/vda | cut -d ' ' -f 1)"
sum=$(dd if=/dev/vda bs=65536 iflag=direct 2>/dev/null | md5sum | cut -d ' ' -f 1)
echo "lkvm-guest: vda direct md5 $sum"
if echo x | dd of=/dev/vda conv=fsync 2>/dev/null; then
	echo "lkvm-guest: write to read-only vda succeeded"
else
	echo "lkvm-guest: write to read-only vda refused"
fi
poweroff -f

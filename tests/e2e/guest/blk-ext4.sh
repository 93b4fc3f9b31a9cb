# Scenario blk-ext4: vda is an ext4 image made on the host with a file
# "greeting".  Read it, write a file, unmount, mount again and read that.
mkdir -p /mnt
mount -t ext4 /dev/vda /mnt || echo "lkvm-guest: mount failed"
echo "lkvm-guest: greeting: $(cat /mnt/greeting)"
seq 1 20000 >/mnt/numbers
umount /mnt
mount -t ext4 -o ro /dev/vda /mnt
echo "lkvm-guest: numbers md5 $(md5sum </mnt/numbers | cut -d ' ' -f 1)"
umount /mnt
poweroff -f

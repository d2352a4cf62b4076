#!/bin/sh
# mmdebstrap customize hook, run on the HOST (no emulation): fetch the arm64 kernel and busybox with
# the host's apt (chroot lists via $MMDEBSTRAP_APT_CONFIG), copy the modules into the rootfs, run
# the host's depmod, and build a small initramfs. Output: $IMG_OUT/vmlinuz and $IMG_OUT/initrd.img.
#
# The initramfs mounts the root (/dev/vda, ext4) and, when a second disk labelled "tonewall-app"
# is present (the QEMU test ships the application that way, so the cached base image need not be
# rebuilt when the application changes), mounts it read-only at /opt/tonewall and copies its
# `overlay/` tree (units, udev rules, default config) onto the root before systemd starts.
set -eu
ROOT="$1"; OUT="${IMG_OUT:?}"
export APT_CONFIG="$MMDEBSTRAP_APT_CONFIG"
KPKG=$(apt-cache depends linux-image-arm64 | sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -n1)
[ -n "$KPKG" ] || { echo "kernel-initrd: no linux-image package found for arm64" >&2; exit 1; }
W=$(mktemp -d); chmod 755 "$W"; cd "$W"
apt-get download -q "$KPKG" busybox-static >/dev/null
dpkg-deb -x linux-image-*.deb k
dpkg-deb -x busybox-static_*.deb bb
KVER=$(ls k/usr/lib/modules)
mkdir -p "$ROOT/usr/lib/modules"
cp -a "k/usr/lib/modules/$KVER" "$ROOT/usr/lib/modules/"
cp k/boot/config-"$KVER" k/boot/System.map-"$KVER" "$ROOT/boot/" 2>/dev/null || true
cp k/boot/vmlinuz-"$KVER" "$OUT/vmlinuz"
depmod -b "$ROOT" "$KVER"
I=initramfs; mkdir -p $I/bin $I/dev $I/proc $I/sys $I/newroot $I/mod
cp bb/usr/bin/busybox $I/bin/busybox; ln -s busybox $I/bin/sh
M="$ROOT/usr/lib/modules/$KVER/kernel"
for f in lib/crc16 crypto/crc32c_generic fs/mbcache fs/jbd2/jbd2 fs/ext4/ext4 drivers/block/virtio_blk; do
  xz -dc "$M/$f.ko.xz" > "$I/mod/$(basename $f).ko"
done
cat > $I/init <<'INIT'
#!/bin/sh
B=/bin/busybox
$B mount -t proc proc /proc; $B mount -t sysfs sys /sys; $B mount -t devtmpfs dev /dev
for m in crc16 crc32c_generic mbcache jbd2 ext4 virtio_blk; do $B insmod /mod/$m.ko; done
root=/dev/vda; rw=ro
for a in $($B cat /proc/cmdline); do case $a in root=*) root=${a#root=};; rw) rw=rw;; esac; done
i=0; while [ ! -b $root ] && [ $i -lt 100 ]; do $B sleep 0.1; i=$((i+1)); done
$B mount -t ext4 -o $rw $root /newroot || { echo "initrd: cannot mount $root"; exec $B sh; }
if [ -b /dev/vdb ]; then
  $B mkdir -p /newroot/opt/tonewall
  if $B mount -t ext4 -o ro /dev/vdb /newroot/opt/tonewall; then
    [ -d /newroot/opt/tonewall/overlay ] && $B cp -a /newroot/opt/tonewall/overlay/. /newroot/
    echo "initrd: application disk mounted at /opt/tonewall"
  else
    echo "initrd: /dev/vdb present but not mountable"
  fi
fi
$B umount /proc /sys; $B mount --move /dev /newroot/dev
exec $B switch_root /newroot /sbin/init
INIT
chmod +x $I/init
(cd $I && find . | cpio -o -H newc --quiet | gzip -1) > "$OUT/initrd.img"
cd /; rm -rf "$W"

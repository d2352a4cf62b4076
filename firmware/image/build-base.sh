#!/bin/bash
# Builds the arm64 Debian base image (no application): rootfs.img (ext4), vmlinuz, initrd.img in
# $IMG_OUT. Runs mmdebstrap under qemu-user/binfmt; the kernel, depmod and initramfs are done on the
# host by kernel-initrd.sh (doing them under emulation takes minutes).
#
# The base image holds: systemd, udev, Debian's nodejs, the `tonewall` system user in the dialout
# and gpio groups, static networking for QEMU's user network (10.0.2.15/24, no default route, no
# IPv6, blank resolv.conf, no time sync), and an fstab. The application and its units arrive on a
# second disk (see kernel-initrd.sh) or are copied in by build-image.sh --full.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
export IMG_OUT=${IMG_OUT:?IMG_OUT must name the output directory}
ROOT=${ROOT:-$IMG_OUT/rootfs}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SUITE=${SUITE:-trixie}
PKGS=$(grep -v '^#' "$HERE/packages.txt" | paste -sd, -)
mkdir -p "$IMG_OUT"; rm -rf "$ROOT"
mmdebstrap --mode=root --arch=arm64 --variant=apt --include="$PKGS" \
  --aptopt='#clear DPkg::Pre-Install-Pkgs' \
  --dpkgopt='force-unsafe-io' \
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  --customize-hook="$HERE/kernel-initrd.sh" \
  --customize-hook='echo tonewall > "$1/etc/hostname"; printf "127.0.1.1 tonewall\n" >> "$1/etc/hosts"' \
  --customize-hook='printf "/dev/vda / ext4 defaults,noatime 0 1\n" > "$1/etc/fstab"' \
  --customize-hook='chroot "$1" groupadd --system gpio' \
  --customize-hook='chroot "$1" useradd --system --no-create-home --home-dir /var/lib/tonewall --shell /usr/sbin/nologin --groups dialout,gpio tonewall' \
  --customize-hook='mkdir -p "$1/etc/systemd/network" && printf "[Match]\nName=en*\n\n[Network]\nAddress=10.0.2.15/24\nIPv6AcceptRA=no\nLinkLocalAddressing=no\n" > "$1/etc/systemd/network/10-slirp.network"' \
  --customize-hook='chroot "$1" systemctl enable systemd-networkd' \
  --customize-hook='chroot "$1" systemctl mask serial-getty@hvc0.service systemd-networkd-wait-online.service systemd-timesyncd.service' \
  --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*; : > "$1/etc/resolv.conf"' \
  "$SUITE" "$ROOT" "deb $MIRROR $SUITE main"
test -s "$ROOT/etc/systemd/network/10-slirp.network"
grep -q '^tonewall:' "$ROOT/etc/passwd"
mke2fs -q -t ext4 -F -L root -d "$ROOT" "$IMG_OUT/rootfs.img" "${IMG_SIZE:-2G}"
